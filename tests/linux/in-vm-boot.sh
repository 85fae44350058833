#!/bin/sh
# Runs inside the nested test VM (busybox ash): flashpan boots the guest kernel
# (vmlinux and bzImage, 1 and 2 vCPUs) with the test initramfs; each case must
# reach /init (marker with the right CPU count) and end with status 0.
# Prints one PASS/FAIL line per case.
FP=./flashpan-static
INITRD=initramfs.cpio
for image in vmlinux bzImage; do
	for cpus in 1 2; do
		name="nested-$image-${cpus}cpu"
		start=$(cut -d' ' -f1 /proc/uptime)
		timeout 120 $FP run --kernel "$image" --initrd $INITRD --cpus $cpus --mem 256 \
			--cmdline "console=ttyS0 reboot=k panic=1 quiet" --console "/tmp/$name.log" \
			--boot-timer 2>"/tmp/$name.err"
		rc=$?
		end=$(cut -d' ' -f1 /proc/uptime)
		secs=$(awk "BEGIN { printf \"%.2f\", $end - $start }")
		timer=$(sed -n 's/.*boot-timer: \([0-9.]*\) ms.*/\1/p' "/tmp/$name.err" | head -1)
		if [ $rc -eq 0 ] && grep -q "FLASHPAN-GUEST-INIT-OK cpus=$cpus " "/tmp/$name.log"; then
			echo "PASS $name (${secs} s VMM start to exit; /init signalled the boot timer at ${timer:-?} ms)"
		else
			echo "FAIL $name: exit status $rc after ${secs} s"
			tail -n 15 "/tmp/$name.log" "/tmp/$name.err"
		fi
	done
done
