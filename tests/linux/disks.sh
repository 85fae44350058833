#!/usr/bin/env bash
# The Linux end-to-end disk test (issue 3, make test-linux), host side.
#
#   tests/linux/disks.sh            flashpan in the nested test VM (tests/vm)
#   tests/linux/disks.sh --qemu     the same two boots under QEMU microvm (TCG) on this host:
#                                   the reference that validates the images and the guest /init
#
# Builds five small images without root or loop mounts (mke2fs -d, mkfs.erofs), in the
# guest contract's order: vda rootfs.ext4 (busybox-static + /init = rootfs-init.sh), vdb
# lower.erofs (ro), vdc upper.ext4, vdd extra-ro.ext4 (ro), vde extra-rw.ext4. The guest
# kernel boots twice from them (in-vm-disks.sh): boot 1 mounts the ext4 root, the erofs
# lower + ext4 upper as overlayfs, vdd read-only and vde read-write, writes to vde, syncs and
# resets; boot 2 reads it back. The VM sends extra-rw.ext4 and upper.ext4 back (--out; sparse
# ext4 images compress to a few tens of KiB), and this script reads the files the guest wrote
# out of the images itself, with debugfs (no mount, no root), and runs e2fsck -fn on them.
#
# Needs GUEST_KERNEL_VMLINUX and build/flashpan-static. Prints PASS/FAIL lines (run.sh counts
# them); exit status 0 when all passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${GUEST_KERNEL_VMLINUX:?}"
mode=nested
[ "${1:-}" = --qemu ] && mode=qemu
B=build
W=$B/linux/disks
rm -rf "$W"
mkdir -p "$W/img" "$W/out"
tmp=$(mktemp -d "$B/linux/disks-tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL disks-$1"; exit 1; }
failed=0
secs_since() { printf '%.1f' "$(echo "$(date +%s.%N) - $1" | bc)"; }

# ---------------------------------------------------------------- images
t0=$(date +%s.%N)
busybox=${BUSYBOX:-/bin/busybox}
file -L "$busybox" | grep -q 'statically linked' || fail "images: $busybox is not static (busybox-static)"
nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
img=$W/img
mkext4() { # IMAGE SIZE LABEL [DIR]
	mke2fs -q -F -t ext4 -b 4096 -L "$3" -E root_owner=0:0 ${4:+-d "$4"} "$1" "$2" >/dev/null ||
		fail "images: mke2fs $1"
}

# vdb: the overlay lower (erofs)
mkdir -p "$tmp/lower/etc"
echo "FROM-LOWER $nonce" >"$tmp/lower/etc/from-lower"
echo "ORIGINAL $nonce" >"$tmp/lower/etc/copy-me"
mkfs.erofs --quiet --all-root "$img/lower.erofs" "$tmp/lower" >/dev/null || fail "images: mkfs.erofs"
# vdc: the overlay upper (ext4, upper/ and work/)
mkdir -p "$tmp/upper/upper" "$tmp/upper/work"
mkext4 "$img/upper.ext4" 16M upper "$tmp/upper"
# vdd, vde: the extra disks
mkdir -p "$tmp/extra-ro"
echo "EXTRA-RO $nonce" >"$tmp/extra-ro/ro-file.txt"
mkext4 "$img/extra-ro.ext4" 8M extra-ro "$tmp/extra-ro"
mkext4 "$img/extra-rw.ext4" 12M extra-rw
# vda: the root file system
R=$tmp/rootfs
mkdir -p "$R"/{bin,dev,proc,sys,tmp,root,etc,mnt,run}
chmod 1777 "$R/tmp"
ln -s bin "$R/sbin"
mkdir -p "$R/usr" && ln -s ../bin "$R/usr/bin" && ln -s ../bin "$R/usr/sbin"
cp "$busybox" "$R/bin/busybox"
chmod 0755 "$R/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$R/bin/$applet"
done
install -m 0755 tests/linux/rootfs-init.sh "$R/init"
echo "ROOTFS $nonce" >"$R/etc/rootfs-marker"
# Copied to vde by the guest in boot 1 (many requests in flight). Every line differs (a
# misplaced or stale block shows), yet it compresses ~15:1 for the trip back over the console.
awk -v n="$nonce" 'BEGIN { for (i = 0; i < 65536; i++) printf "%09d %s flashpan\n", i, n }' >"$R/etc/data.bin"
cp "$R/etc/data.bin" "$tmp/data.bin"
rootfs_size=24M
{
	echo "NONCE=$nonce"
	i=0
	for d in vda:rootfs:0 vdb:lower0:1 vdc:upper:0 vdd:extra-ro:1 vde:extra-rw:0; do
		IFS=: read -r dev id ro <<<"$d"
		case $dev in
		vda) bytes=$((24 << 20)) ;;
		vdb) bytes=$(stat -c %s "$img/lower.erofs") ;;
		vdc) bytes=$(stat -c %s "$img/upper.ext4") ;;
		vdd) bytes=$(stat -c %s "$img/extra-ro.ext4") ;;
		vde) bytes=$(stat -c %s "$img/extra-rw.ext4") ;;
		esac
		echo "SIZE_$dev=$((bytes / 512)) SERIAL_$dev=$id RO_$dev=$ro"
	done
} >"$R/etc/disks-expect"
mkext4 "$img/rootfs.ext4" $rootfs_size rootfs "$R"
[ "$(stat -c %s "$img/rootfs.ext4")" -eq $((24 << 20)) ] || fail "images: rootfs.ext4 size"
ro_sums=$(cd "$img" && sha256sum lower.erofs extra-ro.ext4)
echo "disk images built in $(secs_since "$t0") s ($(du -sh --apparent-size "$img" | cut -f1) in $img: $(cd "$img" && ls -s --block-size=K | tail -n +2 | awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }'))"

# ---------------------------------------------------------------- the two boots
t0=$(date +%s.%N)
out=$W/out
if [ $mode = qemu ]; then
	abs_out=$(realpath "$out")
	(cd "$img" && VMM=qemu OUT="$abs_out" KERNEL="$GUEST_KERNEL_VMLINUX" RO_SUMS="$ro_sums" \
		busybox sh "$OLDPWD/tests/linux/in-vm-disks.sh") >"$tmp/vm.log" 2>&1
	vm_rc=$?
	what="QEMU microvm TCG on this host"
else
	[ -x $B/flashpan-static ] || fail "setup: no $B/flashpan-static"
	cp "$B/flashpan-static" "$GUEST_KERNEL_VMLINUX" "$tmp/"
	tests/vm/run-in-vm.sh --smp 2 --timeout 600 --out "$out" \
		--payload "$tmp/flashpan-static" --payload "$tmp/vmlinux" \
		--payload "$img/rootfs.ext4" --payload "$img/lower.erofs" --payload "$img/upper.ext4" \
		--payload "$img/extra-ro.ext4" --payload "$img/extra-rw.ext4" \
		--env "RO_SUMS=$ro_sums" -- tests/linux/in-vm-disks.sh >"$tmp/vm.log" 2>&1
	vm_rc=$?
	what="nested test VM"
fi
cp "$tmp/vm.log" "$W/vm.log"
grep -E '^(PASS|FAIL) ' "$tmp/vm.log"
grep -q '^FAIL ' "$tmp/vm.log" && failed=1
if grep -q '^FAIL ' "$tmp/vm.log"; then
	sed -n '/^--- /,/^\(PASS\|FAIL\) /p' "$tmp/vm.log" | grep -vE '^(PASS|FAIL) ' | head -n 80
fi
if [ "$(grep -cE '^(PASS|FAIL) disks-boot[12]( |:)' "$tmp/vm.log")" -lt 2 ] || [ $vm_rc -ne 0 ]; then
	failed=1
	echo "FAIL disks-vm: the $what ended with status $vm_rc before reporting both boots (log: $W/vm.log)"
	tail -n 30 "$tmp/vm.log"
fi
echo "disk test boots: $(secs_since "$t0") s wall in the $what (start and stop included)"

# ---------------------------------------------------------------- read the images here
rw=$out/extra-rw.ext4 up=$out/upper.ext4
if [ ! -s "$rw" ] || [ ! -s "$up" ]; then
	echo "FAIL disks-host-readback: the images did not come back from the $what"
	exit 1
fi
dbg() { debugfs -R "$2" "$1" 2>/dev/null; }
got=$(dbg "$rw" 'cat /flashpan-disk-test.txt')
got2=$(dbg "$rw" 'cat /boot2.txt')
if [[ $got == "FLASHPAN-DISK-TEST nonce=$nonce boot=1 uptime="* ]] &&
	[[ $got2 == "FLASHPAN-DISK-TEST nonce=$nonce boot=2 uptime="* ]]; then
	echo "PASS disks-host-readback (debugfs on extra-rw.ext4 here: \"$got\", and boot 2's file)"
else
	failed=1
	echo "FAIL disks-host-readback: /flashpan-disk-test.txt in extra-rw.ext4 = '$got', /boot2.txt = '$got2' (nonce $nonce)"
fi
dbg "$rw" "dump /data.bin $tmp/data.back" >/dev/null
if cmp -s "$tmp/data.bin" "$tmp/data.back"; then
	echo "PASS disks-host-data (2.3 MB copied by the guest from vda to vde: identical in extra-rw.ext4)"
else
	failed=1
	echo "FAIL disks-host-data: /data.bin in extra-rw.ext4 differs from the original ($(stat -c %s "$tmp/data.back" 2>/dev/null || echo missing) bytes)"
fi
got=$(dbg "$up" 'cat /upper/etc/written-by-guest')
if [ "$got" = "OVERLAY-WRITE $nonce" ]; then
	echo "PASS disks-host-overlay-upper (the file written in the merged view is in upper.ext4:/upper/etc)"
else
	failed=1
	echo "FAIL disks-host-overlay-upper: /upper/etc/written-by-guest in upper.ext4 = '$got'"
fi
fsck_bad=
for f in "$rw" "$up"; do
	e2fsck -fn "$f" >"$tmp/fsck.log" 2>&1 || fsck_bad+="$(basename "$f"): $(tail -n 3 "$tmp/fsck.log" | tr '\n' ' ') "
done
if [ -z "$fsck_bad" ]; then
	echo "PASS disks-host-fsck (e2fsck -fn: extra-rw.ext4 and upper.ext4 clean after sync + reset)"
else
	failed=1
	echo "FAIL disks-host-fsck: $fsck_bad"
fi
exit $failed
