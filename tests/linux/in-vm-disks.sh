#!/bin/sh
# The disk test's two guest boots (tests/linux/disks.sh). Runs inside the nested test VM
# (busybox ash, cwd /payload holding flashpan-static, vmlinux and the five images), or on
# the host with VMM=qemu (QEMU microvm, TCG: the reference run that validates the images
# and the guest /init without flashpan).
#
# Boot 1 checks the disks, writes to the overlay upper and to the rw extra disk; boot 2
# reads back what boot 1 wrote. Each boot: exit status 0 (the guest reset) and every
# expected DISKS-CHECK line "ok". Then the read-only images must be unchanged (sha256 in
# $RO_SUMS: "sha256  file" lines). Leaves extra-rw.ext4, upper.ext4 and the console logs
# in $OUT (default /out) for the host to read. Boot 2 has 2 vCPUs: with flashpan every disk
# must then have 2 queues (VIRTIO_BLK_F_MQ; QEMU's virtio-blk-device has one). Prints PASS/FAIL lines.
VMM=${VMM:-flashpan}
OUT=${OUT:-/out}
KERNEL=${KERNEL:-vmlinux}
mkdir -p "$OUT"

common="root-ext4-rw-vda root-write disks-order-size-ro disks-serial-get-id lower-mount-erofs
upper-mount-ext4 overlay-mount overlay-lower-visible extra-ro-mount extra-ro-read extra-ro-write-refused
extra-ro-blockdev-write-refused extra-ro-rw-mount-refused extra-rw-mount extra-rw-umount"
want1="$common overlay-write-lands-in-upper lower-erofs-write-refused extra-rw-write-sync"
want2="$common overlay-upper-persisted extra-rw-readback-boot1 extra-rw-data-readback extra-rw-write-boot2"
cmdline="console=ttyS0 reboot=k panic=1 root=/dev/vda rw rootfstype=ext4 init=/init"

boot() { # N CPUS: one guest boot; console in /tmp/disks-bootN.log
	n=$1 cpus=$2
	log=/tmp/disks-boot$n.log err=/tmp/disks-boot$n.err
	rm -f "$log" "$err"
	start=$(cut -d' ' -f1 /proc/uptime)
	if [ "$VMM" = qemu ]; then
		# -no-reboot: the guest's reset ends QEMU with status 0.
		timeout 300 qemu-system-x86_64 -M microvm,acpi=off -accel tcg -m 256 -smp $cpus -nodefaults \
			-display none -serial "file:$log" -no-reboot -kernel "$KERNEL" \
			-append "$cmdline disks.boot=$n" -global virtio-mmio.force-legacy=false \
			-drive id=d0,file=rootfs.ext4,format=raw,if=none \
			-device virtio-blk-device,serial=rootfs,drive=d0 \
			-drive id=d1,file=lower.erofs,format=raw,if=none,readonly=on \
			-device virtio-blk-device,serial=lower0,drive=d1 \
			-drive id=d2,file=upper.ext4,format=raw,if=none \
			-device virtio-blk-device,serial=upper,drive=d2 \
			-drive id=d3,file=extra-ro.ext4,format=raw,if=none,readonly=on \
			-device virtio-blk-device,serial=extra-ro,drive=d3 \
			-drive id=d4,file=extra-rw.ext4,format=raw,if=none \
			-device virtio-blk-device,serial=extra-rw,drive=d4 </dev/null >"$err" 2>&1
	else
		timeout 180 ./flashpan-static run --kernel "$KERNEL" --mem 256 --cpus $cpus \
			--cmdline "$cmdline disks.boot=$n" --console "$log" \
			--disk rootfs.ext4,id=rootfs --disk lower.erofs,ro,id=lower0 \
			--disk upper.ext4,id=upper --disk extra-ro.ext4,ro,id=extra-ro \
			--disk extra-rw.ext4,id=extra-rw </dev/null 2>"$err"
	fi
	rc=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	secs=$(awk "BEGIN { printf \"%.2f\", $end - $start }")
	cp "$log" "$OUT/" 2>/dev/null
	cp "$err" "$OUT/" 2>/dev/null
	eval "want=\$want$n"
	bad=0
	grep -aq '^DISKS-CHECK ' "$log" 2>/dev/null || want= # no guest output at all: one FAIL below
	for c in $want; do
		line=$(grep -a "^DISKS-CHECK $c " "$log" 2>/dev/null | tail -n 1 | tr -d '\r')
		case $line in
		"DISKS-CHECK $c ok") ;;
		"") echo "FAIL disks-boot$n $c: no DISKS-CHECK line"; bad=$((bad + 1)) ;;
		*) echo "FAIL disks-boot$n $c: ${line#DISKS-CHECK $c FAIL}"; bad=$((bad + 1)) ;;
		esac
	done
	done_line=$(grep -a '^DISKS-DONE ' "$log" 2>/dev/null | tr -d '\r')
	if [ $rc -ne 0 ] || [ -z "$done_line" ]; then
		echo "FAIL disks-boot$n: $VMM exit status $rc after $secs s (${done_line:-no DISKS-DONE line})"
		bad=$((bad + 1))
	fi
	if [ $bad -eq 0 ]; then
		echo "PASS disks-boot$n ($(grep -ac '^DISKS-CHECK .* ok' "$log") guest checks ok, $VMM exit 0, $secs s VMM start to exit)"
	else
		echo "--- console of boot $n (tail) ---"
		tail -n 25 "$log" 2>/dev/null
		echo "--- $VMM stderr ---"
		tail -n 10 "$err" 2>/dev/null
	fi
}

boot 1 1
boot 2 2
if [ "$VMM" != qemu ]; then
	info=$(grep -a '^DISKS-INFO ' /tmp/disks-boot2.log | tr -d '\r')
	if [ "$info" = "DISKS-INFO cpus=2 queues=vda:2,vdb:2,vdc:2,vdd:2,vde:2" ]; then
		echo "PASS disks-mq (2 vCPUs: 2 queues on each of the 5 disks)"
	else
		echo "FAIL disks-mq: want 2 vCPUs and 2 queues per disk, guest says '${info:-nothing}'"
	fi
fi

if [ -n "${RO_SUMS:-}" ]; then
	if echo "$RO_SUMS" | sha256sum -c >/dev/null 2>&1; then
		echo "PASS disks-ro-images-unchanged (lower.erofs and extra-ro.ext4 byte for byte)"
	else
		echo "FAIL disks-ro-images-unchanged: $(echo "$RO_SUMS" | sha256sum -c 2>&1 | grep -v ': OK$' | tr '\n' ' ')"
	fi
fi
cp extra-rw.ext4 upper.ext4 "$OUT/"
exit 0
