#!/bin/sh
# /init of the test initramfs: signal the boot timer, print a marker with the
# CPU count, reset. Runs in the guest (busybox).
mount -t devtmpfs dev /dev 2>/dev/null
mount -t proc proc /proc
# Boot timer: byte 123 to I/O port 0x440 (1088) through /dev/port.
printf '\173' | dd of=/dev/port bs=1 seek=1088 count=1 2>/dev/null
echo "FLASHPAN-GUEST-INIT-OK cpus=$(grep -c '^processor' /proc/cpuinfo) uptime=$(cut -d' ' -f1 /proc/uptime)"
reboot -f
