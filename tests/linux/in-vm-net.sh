#!/bin/sh
# Runs inside the nested test VM (busybox ash), from tests/linux/net.sh: the guest kernel's own
# virtio-net driver on flashpan. The guest's eth0 is configured by the kernel from `ip=` on the
# command line; its /init (net-guest-init.sh) does the rest and resets. One PASS/FAIL line per case.
#
#  net-ping-dgram, net-ping-stream: ./responder creates a socketpair (SOCK_DGRAM / SOCK_STREAM),
#    answers ARP and ICMP echo for 192.168.100.1 on one end, flashpan gets `--net fd=3` on the
#    other; the guest (192.168.100.2) runs `ping -c 3 -W 2 192.168.100.1`. No frame leaves the pair.
#  net-tap-tcp (if tun.ko loads): a TAP device fp0 (192.168.101.1/24) in a network namespace made
#    here (unshare -n); busybox nc listens on it, flashpan runs `--net tap=fp0`, the guest
#    (192.168.101.2) connects and sends /etc/net-up.bin; the listener answers with the SHA-256 of
#    what it got and then down.bin. Checked: both directions byte for byte (UP_SHA, RESP_SHA).
FP=./flashpan-static
BASE="console=ttyS0 reboot=k panic=1 quiet"
T=${NET_GUEST_TIMEOUT:-150}

secs_since() { awk "BEGIN { printf \"%.1f\", $(cut -d' ' -f1 /proc/uptime) - $1 }"; }

for kind in dgram stream; do
	name=net-ping-$kind
	opt=
	[ $kind = stream ] && opt=--stream
	start=$(cut -d' ' -f1 /proc/uptime)
	./responder $opt --gw 192.168.100.1 --timeout $T -- $FP run --kernel vmlinux --initrd net-initramfs.cpio \
		--mem 256 --id net-$kind --net fd=@FD@ --console /tmp/$name.log \
		--cmdline "$BASE ip=192.168.100.2::192.168.100.1:255.255.255.0::eth0:off fpnet=ping" \
		>/tmp/$name.out 2>/tmp/$name.err
	rc=$?
	secs=$(secs_since "$start")
	tr -d '\r' </tmp/$name.log >/tmp/$name.clean
	result=$(grep -a 'packets transmitted' /tmp/$name.clean | head -n 1)
	counters=$(grep -a '^responder:' /tmp/$name.err | tail -n 1)
	echo "--- $name: guest ping output"
	grep -a '^PING\|bytes from\|packets transmitted\|round-trip\|NET-GUEST' /tmp/$name.clean
	echo "$counters"
	if [ $rc -eq 0 ] && echo "$result" | grep -q '3 packets received, 0% packet loss' &&
		grep -aq 'NET-GUEST-PING-DONE rc=0' /tmp/$name.clean &&
		echo "$counters" | grep -q 'echo-reply 3 bad-csum 0'; then
		echo "PASS $name (\"$result\"; ${counters#responder: }; ${secs} s boot to exit)"
	else
		echo "FAIL $name: flashpan/responder exit $rc after ${secs} s; ping: '$result'; $counters"
		tail -n 25 /tmp/$name.clean /tmp/$name.err
	fi
done

# ---- TAP in a network namespace, TCP both ways ----
name=net-tap-tcp
if ! [ -c /dev/net/tun ] && ! insmod ./tun.ko 2>/tmp/insmod.err; then
	echo "FAIL $name: insmod tun.ko: $(cat /tmp/insmod.err)"
	exit 0
fi
[ -c /dev/net/tun ] || { sleep 1; }
if ! [ -c /dev/net/tun ]; then
	echo "FAIL $name: no /dev/net/tun after insmod tun.ko"
	exit 0
fi
cat >/tmp/serve.sh <<'EOF'
head -c "$UP_BYTES" >/tmp/recv.bin
sha256sum </tmp/recv.bin | cut -d' ' -f1
cat /payload/down.bin
EOF
start=$(cut -d' ' -f1 /proc/uptime)
# shellcheck disable=SC2016
unshare -n sh -c '
	ip link set lo up
	tunctl -t fp0 >/tmp/tunctl.out 2>&1 || { echo "tunctl failed: $(cat /tmp/tunctl.out)"; exit 90; }
	ip addr add 192.168.101.1/24 dev fp0 && ip link set fp0 up || exit 91
	nc -l -p 7000 -e sh /tmp/serve.sh &
	nc_pid=$!
	'"$FP"' run --kernel vmlinux --initrd net-initramfs.cpio --mem 256 --id net-tap --net tap=fp0 \
		--console /tmp/tap.log --cmdline "'"$BASE"' ip=192.168.101.2::192.168.101.1:255.255.255.0::eth0:off fpnet=tcp" \
		2>/tmp/tap.err &
	fp_pid=$!
	i=0
	while kill -0 $fp_pid 2>/dev/null && [ $i -lt '"$T"' ]; do sleep 1; i=$((i + 1)); done
	kill -9 $fp_pid 2>/dev/null
	wait $fp_pid
	rc=$?
	kill $nc_pid 2>/dev/null
	exit $rc
' >/tmp/tapns.out 2>&1
rc=$?
secs=$(secs_since "$start")
tr -d '\r' </tmp/tap.log >/tmp/tap.clean
got=$(sed -n 's/.*NET-GUEST-TCP rc=0 sha=\([0-9a-f]*\) bytes=\([0-9]*\).*/\1 \2/p' /tmp/tap.clean | head -n 1)
recv_sha=$(sha256sum </tmp/recv.bin 2>/dev/null | cut -d' ' -f1)
echo "--- $name: guest"
grep -a 'NET-GUEST' /tmp/tap.clean
if [ $rc -eq 0 ] && [ "$recv_sha" = "$UP_SHA" ] && [ "${got%% *}" = "$RESP_SHA" ]; then
	echo "PASS $name (guest to host $UP_BYTES bytes and host to guest ${got#* } bytes over TCP on a TAP in a netns, SHA-256 equal both ways; ${secs} s)"
else
	echo "FAIL $name: flashpan exit $rc after ${secs} s; host received sha ${recv_sha:-none} (want $UP_SHA); guest got '${got:-nothing}' (want $RESP_SHA)"
	cat /tmp/tapns.out
	tail -n 25 /tmp/tap.clean /tmp/tap.err
fi
