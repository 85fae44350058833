#!/bin/sh
# Runs inside the nested test VM (busybox ash): flashpan boots the guest kernel
# with --vsock; the guest runs tests/vsock/guest-init.sh. From here (the VM's
# host side): wait until the guest's echo server answers, then VSOCK_CONNS
# concurrent echo connections, one 4 MiB echo, and the peer of the guest's own
# connections to host port 5001 (PATH_5001). One PASS/FAIL line per case.
FP=./flashpan-static
C=./vsock_client
uds=/tmp/v.sock
n=${VSOCK_CONNS:-200}
$C serve ${uds}_5001 4 1048576 300 >/tmp/serve.log 2>&1 &
serve_pid=$!
$FP run --kernel vmlinux --initrd vsock-initramfs.cpio --mem 512 --console /tmp/guest.log \
	--cmdline "console=ttyS0 reboot=k panic=1 quiet VSOCK_ECHO_N=$((n + 2))" \
	--vsock cid=3,uds=$uds 2>/tmp/fp.err &
fp_pid=$!
start=$(cut -d' ' -f1 /proc/uptime)
up=0
for i in $(seq 120); do
	# Until the guest listens, its RST closes the client without an OK line.
	if $C echo $uds 5000 1 16 5 >/tmp/probe.log 2>&1; then up=1; break; fi
	sleep 1
done
ready=$(awk "BEGIN { printf \"%.1f\", $(cut -d' ' -f1 /proc/uptime) - $start }")
if [ $up = 1 ]; then
	echo "PASS nested-vsock-guest-listens (CONNECT/OK to the guest's port 5000 after ${ready} s; $(sed -n 's/.*CONNECT to OK: //p' /tmp/probe.log))"
	if $C echo $uds 5000 "$n" 65536 240 >/tmp/echo.log 2>&1; then
		echo "PASS nested-vsock-echo-$n-concurrent ($(sed -n 's/^vsock_client echo: //p' /tmp/echo.log))"
	else
		echo "FAIL nested-vsock-echo-$n-concurrent: $(cat /tmp/echo.log)"
	fi
	if $C echo $uds 5000 1 4194304 120 >/tmp/bulk.log 2>&1; then
		echo "PASS nested-vsock-echo-bulk-4MiB ($(sed -n 's/^vsock_client echo: //p' /tmp/bulk.log))"
	else
		echo "FAIL nested-vsock-echo-bulk-4MiB: $(cat /tmp/bulk.log)"
	fi
else
	echo "FAIL nested-vsock-guest-listens: no OK from guest port 5000 within ${ready} s: $(cat /tmp/probe.log)"
	tail -n 20 /tmp/guest.log /tmp/fp.err
fi
wait $serve_pid
serve_rc=$?
if [ $serve_rc = 0 ]; then
	echo "PASS nested-vsock-guest-initiated ($(sed -n 's/^vsock_client serve: //p' /tmp/serve.log))"
else
	echo "FAIL nested-vsock-guest-initiated: $(tr '\n' ' ' </tmp/serve.log)"
fi
# The guest resets once its echo server has served everything.
i=0
while kill -0 $fp_pid 2>/dev/null && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
kill $fp_pid 2>/dev/null
wait $fp_pid
fp_rc=$?
if [ $fp_rc = 0 ] && grep -q "guest_vsock: echo served $((n + 2)) connections on port 5000, 0 failed" /tmp/guest.log &&
	grep -q "guest_vsock: exchange 4/4" /tmp/guest.log && [ ! -e $uds ]; then
	echo "PASS nested-vsock-guest-side (the guest saw $((n + 2)) echo connections and 4 exchanges succeed; flashpan exit 0, socket removed)"
else
	echo "FAIL nested-vsock-guest-side: flashpan exit $fp_rc; guest: $(grep -a 'guest_vsock\|VSOCK' /tmp/guest.log | tr '\n' ' '); $(tail -c 300 /tmp/fp.err)"
fi
