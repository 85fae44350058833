#!/usr/bin/env bash
# The guest init (guest/init) booted for real, with the images of guest/rootfs/build.sh.
#
#   tests/linux/init-boot.sh            QEMU microvm (TCG) on this host: ~4 s per boot
#   tests/linux/init-boot.sh --nested   flashpan in the nested test VM (tests/vm)
#
# The init is PID 1 with command lines in the guest contract's form; the stub agent
# (guest/rootfs/stub-agent.sh) it execs prints what init set up ("STATE <topic>| ..."),
# and this script checks it: host name and /etc files, pseudo file systems, cgroup
# cpu.max, links and MTU, the overlay root (layer order, writes landing in the upper,
# read back here with debugfs), extra disks ro and rw, and FATAL boots that end the VM.
#
# Needs GUEST_KERNEL_VMLINUX, build/guest/flashpan-init (make guest) and, for --nested,
# build/flashpan-static. Prints PASS/FAIL lines; exit status 0 when all passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${GUEST_KERNEL_VMLINUX:?}"
mode=qemu
[ "${1:-}" = --nested ] && mode=nested
B=build
W=$B/linux/init-boot
INIT=$B/guest/flashpan-init
rm -rf "$W"
mkdir -p "$W/img" "$W/out"
failed=0
pass() { echo "PASS init-$1"; }
fail() { echo "FAIL init-$1"; failed=1; }
[ -x "$INIT" ] || { fail "setup: no $INIT (make guest)"; exit 1; }

# ---- images, with the stub agent whatever build/guest/flashpan-agent is
UPPER_SIZE=16M EXTRA_SIZE=8M guest/rootfs/build.sh "$W/img" "$INIT" guest/rootfs/stub-agent.sh >/dev/null ||
	{ fail "images: guest/rootfs/build.sh"; exit 1; }
mv "$W/img/extra.ext4" "$W/img/extra-ro.ext4"
cp "$W/img/extra-ro.ext4" "$W/img/extra-rw.ext4"
ro_sum=$(sha256sum <"$W/img/extra-ro.ext4")

# ---- the boots
t0=$(date +%s.%N)
out=$W/out
if [ $mode = qemu ]; then
	abs_out=$(realpath "$out")
	(cd "$W/img" && VMM=qemu OUT="$abs_out" KERNEL="$GUEST_KERNEL_VMLINUX" \
		busybox sh "$OLDPWD/tests/linux/in-vm-init-boot.sh") >"$W/vm.log" 2>&1
	cases="nonet overlay net fatal-nodns fatal-reldisk"
else
	[ -x $B/flashpan-static ] || { fail "setup: no $B/flashpan-static"; exit 1; }
	payload=()
	for f in "$W"/img/*; do payload+=(--payload "$f"); done
	cases="nonet overlay fatal-nodns fatal-reldisk" # no NIC back end in the VM yet
	tests/vm/run-in-vm.sh --smp 2 --timeout 600 --out "$out" --payload $B/flashpan-static \
		--payload "$GUEST_KERNEL_VMLINUX" "${payload[@]}" --env "CASES=$cases" \
		-- tests/linux/in-vm-init-boot.sh >"$W/vm.log" 2>&1
fi
printf 'init boots: %.1f s wall (%s)\n' "$(echo "$(date +%s.%N) - $t0" | bc)" \
	"$([ $mode = qemu ] && echo "QEMU TCG on this host" || echo "flashpan in the nested test VM")"

# ---- checks on the consoles
log() { tr -d '\r' <"$out/$1.log" 2>/dev/null; }
state() { # CASE TOPIC: that topic's lines
	log "$1" | sed -n "s/^STATE $2| //p"
}
expect() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1: got '$(echo "$2" | tr '\n' '|')', want '$(echo "$3" | tr '\n' '|')'"
	fi
}
has_lines() { # NAME CASE TOPIC LINE... : every LINE is among the topic's lines
	local name=$1 c=$2 t=$3 missing=
	shift 3
	for l in "$@"; do
		state "$c" "$t" | grep -qxF -- "$l" || missing+="'$l' "
	done
	if [ -z "$missing" ]; then pass "$name"; else fail "$name: $t lacks $missing"; fi
}
booted() { # CASE: the stub agent ran to its end
	if log "$1" | grep -q '^STUB-AGENT end'; then
		pass "$1-agent-ran (init exec'd /opt/matchlock/guest-agent as PID 1)"
		return 0
	fi
	fail "$1-agent-ran: no 'STUB-AGENT end' on the console (VMM exit $(cat "$out/$1.rc" 2>/dev/null)); tail:"
	log "$1" | tail -n 15
	return 1
}
pseudo_fs=("proc /proc proc rw,nosuid,nodev,noexec,relatime" "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime"
	"devpts /dev/pts devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=666"
	"shm /dev/shm tmpfs rw,nosuid,nodev,relatime" "run /run tmpfs rw,nosuid,nodev,relatime,mode=755"
	"tmp /tmp tmpfs rw,nosuid,nodev,relatime" "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime")

for c in $cases; do
	case $c in
	nonet)
		booted nonet || continue
		expect nonet-hostname "$(state nonet hostname) $(state nonet etc-hostname)" "sb-nonet sb-nonet"
		expect nonet-hosts "$(state nonet hosts)" "127.0.0.1 localhost localhost.localdomain sb-nonet
10.0.0.5 api.local
fd00::2 db6"
		expect nonet-resolv "$(state nonet resolv)" "nameserver 8.8.8.8
nameserver 8.8.4.4"
		expect nonet-links-lo-only "$(state nonet links | cut -d' ' -f1)" "lo"
		has_lines nonet-lo-up nonet links "lo mtu=65536 flags=0x9 operstate=unknown"
		has_lines nonet-cpu-max nonet cgroup-files "/sys/fs/cgroup/sandbox/cpu.max 50000 100000"
		expect nonet-agent-cgroup "$(state nonet cgroup)" "0::/sandbox"
		has_lines nonet-mounts nonet mounts "/dev/root / ext4 rw,relatime" "${pseudo_fs[@]}"
		expect nonet-root-writable "$(state nonet writes)" "root rw"
		;;
	overlay)
		booted overlay || continue
		has_lines overlay-root overlay mounts \
			"overlay / overlay rw,relatime,lowerdir=/mnt/lower1:/mnt/lower0,upperdir=/mnt/upper/upper,workdir=/mnt/upper/work" \
			"${pseudo_fs[@]}"
		expect overlay-old-root-gone "$(state overlay mounts | grep -c '^/dev/root ')" 0
		expect overlay-last-lower-on-top "$(state overlay layer) $(state overlay files | grep -c '^/etc/flashpan-lower2$')" "lower2 1"
		has_lines overlay-extra-disks overlay mounts "/dev/vde /data/ro ext4 ro,relatime" "/dev/vdf /scratch ext4 rw,relatime"
		expect overlay-writes "$(state overlay writes | sort)" "/data/ro ro
/scratch rw
root rw"
		has_lines overlay-extra-ro-contents overlay files "/data/ro/flashpan-extra"
		has_lines overlay-cpu-max overlay cgroup-files "/sys/fs/cgroup/sandbox/cpu.max 225000 100000"
		expect overlay-etc "$(state overlay hostname)|$(state overlay resolv)" "sb-overlay|nameserver 8.8.8.8"
		# Read back here from the images the boot wrote.
		up=$out/upper.ext4 rw=$out/extra-rw.ext4
		got=$(debugfs -R 'cat /upper/etc/flashpan-stub-write' "$up" 2>/dev/null)
		got_hosts=$(debugfs -R 'cat /upper/etc/hostname' "$up" 2>/dev/null)
		if [[ $got == written-by-stub* ]] && [ "$got_hosts" = sb-overlay ]; then
			pass "overlay-upper-holds-writes (debugfs: upper.ext4:/upper/etc/{flashpan-stub-write,hostname})"
		else
			fail "overlay-upper-holds-writes: upper.ext4:/upper/etc/flashpan-stub-write='$got', hostname='$got_hosts'"
		fi
		expect overlay-extra-rw-written "$(debugfs -R 'cat /stub-was-here' "$rw" 2>/dev/null)" written-by-stub
		expect overlay-extra-ro-unchanged "$(sha256sum <"$out/extra-ro.ext4")" "$ro_sum"
		fsck=
		for f in "$up" "$rw"; do e2fsck -fn "$f" >/dev/null 2>&1 || fsck+="$(basename "$f") "; done
		expect overlay-fsck-clean "$fsck" ""
		;;
	net)
		booted net || continue
		eth0=$(state net links | sed -n 's/^eth0 mtu=\([0-9]*\) flags=\(0x[0-9a-f]*\) .*/\1 \2/p')
		expect net-eth0-mtu-up "$(echo "$eth0" | cut -d' ' -f1) up=$(($(echo "$eth0" | cut -d' ' -f2) & 1))" "1400 up=1"
		expect net-links "$(state net links | cut -d' ' -f1 | tr '\n' ' ')" "eth0 lo "
		expect net-resolv-all-servers "$(state net resolv)" "nameserver 1.1.1.1
nameserver 8.8.8.8
nameserver 9.9.9.9"
		has_lines net-cpu-max net cgroup-files "/sys/fs/cgroup/sandbox/cpu.max 100000 100000"
		;;
	fatal-*)
		want=$([ $c = fatal-nodns ] && echo "FATAL: matchlock.dns is missing from the kernel command line (want matchlock.dns=<server>[,<server>...])" ||
			echo "FATAL: matchlock.disk.vdb=data: the mount point must be an absolute path")
		rc=$(cat "$out/$c.rc" 2>/dev/null)
		n=$(log $c | grep -cxF -- "$want")
		if [ "$n" = 1 ] && ! log $c | grep -q '^STUB-AGENT' && log $c | grep -q 'Kernel panic' &&
			{ [ "$rc" = 0 ] || [ "$rc" = 5 ]; }; then
			pass "$c (\"$want\" once, kernel panic, VM ended: exit $rc)"
		else
			fail "$c: want '$want' once (got $n), a panic and the VM ended (exit ${rc:-none}); tail:"
			log $c | tail -n 8
		fi
		;;
	esac
done
exit $failed
