#!/usr/bin/env bash
# virtio-net as a guest sees it: the net-basic tiny kernel (tests/kernels/net_basic.c)
# against the host peer tests/net/peer.py, which echoes every frame back and
# closes its end on "BYE". Over a SOCK_DGRAM socketpair, a SOCK_STREAM
# socketpair, and a TAP device in a network namespace this script creates
# (by name, and as an inherited descriptor). Checks the guest's console
# (frames of several sizes both ways, MAC and MTU from config space, link
# down with a config interrupt after the peer closes, transmits completed),
# the peer's verdict, flashpan's exit status and its frame counters; then the
# descriptors --net refuses. One PASS/FAIL/SKIP line per case.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

T=60
K=$KERNELS/net-basic.elf

if [ ! -x "$FLASHPAN" ] || [ ! -f "$K" ]; then
	fail net "no $FLASHPAN or $K (run make)"
	exit 0
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	skip net "/dev/kvm is not usable here"
	exit 0
fi

# peer NAME PEER-ARGS... -- FLASHPAN-ARGS... : runs the kernel behind the peer.
peer() {
	local name=$1
	shift
	timeout -s KILL $((T + 10)) ${IN_NS:-} python3 tests/net/peer.py --timeout $T --out "$TMP/$name.out" \
		--err "$TMP/$name.err" "$@" >"$TMP/$name.peer" 2>&1
	rc=$?
}

# check NAME PATTERN... : exit 0, "peer: ok", "net-basic ok" and every pattern in console or stderr.
check() {
	local name=$1
	shift
	if [ "$rc" -ne 0 ] || ! grep -q '^peer: ok' "$TMP/$name.peer"; then
		fail "$name" "status $rc, $(cat "$TMP/$name.peer" | tr '\n' ' ') console: $(tr -d '\r' <"$TMP/$name.out" | grep -E 'BAD|net:' | tr '\n' ' ') stderr: $(tail -c 300 "$TMP/$name.err" | tr '\n' ' ')"
		return
	fi
	for pat in "net-basic ok" "$@"; do
		if ! tr -d '\r' <"$TMP/$name.out" | cat - "$TMP/$name.err" | grep -q -- "$pat"; then
			fail "$name" "no '$pat'; console: $(tr -d '\r' <"$TMP/$name.out" | tail -n 8 | tr '\n' ' ')"
			return
		fi
	done
	pass "$name"
}

# Default MAC for the default id "flashpan": AA:FC + h=h*31+c over "flashpan", big-endian.
MAC_DEFAULT=aa:fc:60:e4:7a:ad
# ... and for --id vm-1234.
MAC_VM1234=aa:fc:1e:b0:b5:98

for kind in dgram stream; do
	peer $kind-basic --kind $kind -- "$FLASHPAN" run --kernel "$K"
	check $kind-basic "net: mac $MAC_DEFAULT mtu 1500 status 1" "tx+rx 14: ok" "tx+rx 1514: ok" \
		"burst: 20 frames: ok" "too-long 1515: completed" \
		"link: down after [0-9]* frames, config interrupt 1, generation changed" \
		"tx after link down: completed" "link down" "tx 2[89] frames .* 1 long"
	# MTU and MAC from the option; 512-byte receive buffers: frames span mergeable buffers.
	peer $kind-mtu-mrg --kind $kind --mtu 1400 --net-extra ,mac=AA:FC:01:02:03:04 -- \
		"$FLASHPAN" run --kernel "$K" --cmdline "console=ttyS0 net.rxbuf=512"
	check $kind-mtu-mrg "net: mac aa:fc:01:02:03:04 mtu 1400 status 1" "tx+rx 1414: ok" "too-long 1415: completed"
	# Without mergeable buffers every frame lands in one buffer; MAC from --id.
	peer $kind-no-mrg --kind $kind -- "$FLASHPAN" run --kernel "$K" --id vm-1234 \
		--cmdline "console=ttyS0 net.mrg=0 net.rxbuf=1526"
	check $kind-no-mrg "net: mac $MAC_VM1234 mtu 1500 status 1 features 0x100010028" "tx+rx 1514: ok"
done
peer dgram-pvh --kind dgram -- "$FLASHPAN" run --kernel "$K" --boot-protocol pvh
check dgram-pvh "tx+rx 1514: ok"

# ---- TAP in a network namespace of our own ----
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || [ ! -c /dev/net/tun ]; then
	skip net-tap "needs root, iproute2 and /dev/net/tun"
else
	ns=fpnet$$
	if ! ip netns add $ns 2>"$TMP/netns.err"; then
		skip net-tap "ip netns add: $(cat "$TMP/netns.err")"
	else
		trap 'ip netns del $ns 2>/dev/null; rm -rf "$TMP"' EXIT
		for kind in tap tapfd; do
			# A fresh tap per case (the peer deletes it to close); no IPv6 chatter on it.
			if ! ip netns exec $ns sh -c 'sysctl -qw net.ipv6.conf.default.disable_ipv6=1
				ip tuntap add dev fp0 mode tap vnet_hdr && ip link set fp0 up' >"$TMP/tap.err" 2>&1; then
				fail net-$kind "cannot create the tap: $(cat "$TMP/tap.err")"
				continue
			fi
			IN_NS="ip netns exec $ns" peer net-$kind --kind $kind --tap fp0 -- "$FLASHPAN" run --kernel "$K"
			check net-$kind "net: mac $MAC_DEFAULT mtu 1500 status 1" "tx+rx 1514: ok" "burst: 20 frames: ok" \
				"link: down after [0-9]* frames, config interrupt 1" "(tap): rx 27 frames"
		done
		ip netns del $ns
	fi
fi

# ---- descriptors and options --net refuses (exit 2, with the reason) ----
refuse() { # NAME PATTERN ARGS...
	local name=$1 pat=$2
	shift 2
	eval "$FLASHPAN" run --kernel '"$K"' '"$@"' >"$TMP/$name.out" 2>"$TMP/$name.err"
	rc=$?
	if [ $rc -ne 2 ] || ! grep -q -- "$pat" "$TMP/$name.err"; then
		fail "$name" "status $rc, want 2 and '$pat'; stderr: $(tr '\n' ' ' <"$TMP/$name.err")"
	else
		pass "$name"
	fi
}
refuse net-refuse-devnull "character device 1:3, not /dev/net/tun" --net fd=5 5</dev/null
refuse net-refuse-file "regular file" --net fd=5 5<"$K"
refuse net-refuse-pipe "pipe" --net fd=5 5< <(sleep 5)
refuse net-refuse-closed "descriptor 77: Bad file descriptor" --net fd=77
# A SOCK_SEQPACKET socketpair: neither one frame per datagram nor a framed stream.
FLASHPAN_REAL=$FLASHPAN
FLASHPAN="python3 -c 'import socket, os, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
os.set_inheritable(b.fileno(), True)
os.execv(sys.argv[1], sys.argv[1:] + [\"--net\", \"fd=%d\" % b.fileno()])' $FLASHPAN_REAL"
refuse net-refuse-seqpacket "socket of type 5; want SOCK_DGRAM"
FLASHPAN=$FLASHPAN_REAL
refuse net-refuse-option "exactly one of fd=N or tap=NAME" --net mtu=1400
refuse net-refuse-mac "unicast" --net fd=3,mac=01:00:5e:00:00:01
refuse net-refuse-tun-unattached "not attached" --net fd=5 5<>/dev/net/tun
