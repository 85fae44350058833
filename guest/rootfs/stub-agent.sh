#!/bin/sh
# Stand-in for the guest agent (/opt/matchlock/guest-agent) while the real one
# (build/guest/flashpan-agent) does not exist, and the agent of the init boot
# test (tests/linux/init-boot.sh). The init execs it as PID 1: it prints what
# init set up, one "STATE <topic>| <line>" per line, then resets the VM (reboot=k
# on the command line; QEMU -no-reboot and flashpan end on the reset).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
state() { # TOPIC: stdin, prefixed
	sed "s/^/STATE $1| /"
}
echo "STUB-AGENT begin pid=$$"
echo "$(hostname)" | state hostname
state etc-hostname </etc/hostname
state hosts </etc/hosts
state resolv </etc/resolv.conf
awk '{ print $1, $2, $3, $4 }' /proc/mounts | state mounts
state cgroup </proc/self/cgroup
for f in /sys/fs/cgroup/sandbox/cpu.max /sys/fs/cgroup/cgroup.subtree_control; do
	echo "$f $(cat "$f" 2>&1)"
done | state cgroup-files
for l in /sys/class/net/*; do
	echo "$(basename "$l") mtu=$(cat "$l/mtu") flags=$(cat "$l/flags") operstate=$(cat "$l/operstate")"
done | state links
cat /etc/flashpan-layer 2>&1 | state layer
ls /etc/flashpan-lower2 2>&1 | state files
# Writes: the root (the overlay upper when the overlay is on) and each disk.
echo "written-by-stub $(cut -d' ' -f1 /proc/uptime)" >/etc/flashpan-stub-write 2>&1 &&
	echo "root rw" | state writes || echo "root ro" | state writes
for m in $(awk '$1 ~ /^\/dev\/vd/ && $2 != "/" { print $2 }' /proc/mounts); do
	if touch "$m/.stub-probe" 2>/dev/null; then
		echo "$m rw" | state writes
		rm -f "$m/.stub-probe"
		echo "written-by-stub" >"$m/stub-was-here"
	else
		echo "$m ro" | state writes
	fi
	ls "$m" | sed "s|^|$m/|" | state files
done
ls -l /dev/console /dev/ptmx /dev/pts /dev/shm 2>&1 | state dev
env | sort | state env
echo "STUB-AGENT end"
sync
reboot -f
sleep 5
