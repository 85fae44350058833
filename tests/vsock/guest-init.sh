#!/bin/sh
# /init of the vsock test initramfs (runs in the real guest, busybox): an echo
# server on vsock port 5000 for VSOCK_ECHO_N connections (from the kernel
# command line), and 4 guest-initiated exchanges of 1 MiB with host port 5001;
# then reset. Results go to the console as "guest_vsock: ..." lines.
mount -t proc proc /proc
mount -t devtmpfs dev /dev 2>/dev/null
/bin/guest_vsock echo 5000 "${VSOCK_ECHO_N:-1}" &
echo_pid=$!
/bin/guest_vsock exchange 5001 4 1048576
wait $echo_pid
echo "VSOCK-GUEST-DONE"
reboot -f
