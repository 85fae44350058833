#!/bin/busybox sh
# shellcheck shell=dash
# /init of the nested test VM (busybox ash). run-in-vm.sh puts it into every run's initramfs.
# Loads KVM, runs /payload/.flashpan-vm-cmd in /payload, sends /out back if asked (base64 tar.gz), reports its status on the console as
#   @@FLASHPAN-VM-EXIT <status>@@
# or a harness failure as
#   @@FLASHPAN-VM-ERROR <reason>@@
# and powers off.
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=dumb
mkdir -p /proc /sys /tmp /run /root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
ip link set lo up 2>/dev/null
hostname flashpan-vm

fail() {
	echo "flashpan-vm: $1"
	echo "---- dmesg (tail) ----"
	dmesg | tail -n 25
	echo "----------------------"
	echo "@@FLASHPAN-VM-ERROR $1@@"
	poweroff -f
	sleep 10
}

# KVM
if [ "${FLASHPAN_VM_NOKVM:-0}" != 1 ]; then
	insmod /lib/modules/irqbypass.ko || fail "insmod irqbypass.ko failed"
	insmod /lib/modules/kvm.ko || fail "insmod kvm.ko failed"
	if grep -qw svm /proc/cpuinfo; then
		insmod /lib/modules/kvm-amd.ko || fail "insmod kvm-amd.ko failed"
	elif grep -qw vmx /proc/cpuinfo; then
		insmod /lib/modules/kvm-intel.ko || fail "insmod kvm-intel.ko failed"
	else
		fail "CPU has neither svm nor vmx (qemu needs -cpu max)"
	fi
	[ -c /dev/kvm ] || fail "/dev/kvm did not appear after insmod"
fi

[ -f /payload/.flashpan-vm-cmd ] || fail "no /payload/.flashpan-vm-cmd in the initramfs"
read -r up _ </proc/uptime
echo "flashpan-vm: $(uname -r), $(nproc) CPUs, $(sed -n 's/MemTotal: *//p' /proc/meminfo), /dev/kvm $([ -c /dev/kvm ] && echo ready || echo absent); script starts at ${up} s uptime"
mkdir -p /out
cd /payload || fail "no /payload"
sh /payload/.flashpan-vm-cmd </dev/null
rc=$?
read -r up _ </proc/uptime
echo
echo "flashpan-vm: script ended at ${up} s uptime"
if [ -f /payload/.flashpan-vm-out ]; then
	# Files the script left in /out go back to the host (run-in-vm.sh --out DIR).
	echo "@@FLASHPAN-VM-OUT-BEGIN@@"
	tar -C /out -czf - . | base64
	echo "@@FLASHPAN-VM-OUT-END@@"
fi
echo "@@FLASHPAN-VM-EXIT $rc@@"
poweroff -f
sleep 10
