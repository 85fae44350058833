#!/usr/bin/env bash
# virtio-vsock as a guest driver sees it (issue 5, "Tests"): the tiny kernels
# tests/kernels/vsock_{echo,xfer,rst,hostile}.c on the polling driver
# tests/kernels/vsock_drv.c, with the host side played by
# tests/vsock/vsock_client.c (echo) and tests/vsock/vk_host.c (everything else).
# Each case checks the guest's console, the host helpers' verdicts, flashpan's
# exit status (0: the kernel reset) and that its stderr stays short (guest
# errors are logged once). One PASS/FAIL/SKIP line per case.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

B=build/tests/vsock
mkdir -p "$B"
CFLAGS_T="-O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE"
for k in vsock-echo vsock-xfer vsock-rst vsock-hostile; do
	if [ ! -f "$KERNELS/$k.elf" ] || [ ! -x "$FLASHPAN" ]; then
		fail vsock-kernels "no $FLASHPAN or $KERNELS/$k.elf (run make)"
		exit 0
	fi
done
if ! gcc $CFLAGS_T -o "$B/vsock_client" tests/vsock/vsock_client.c 2>"$TMP/cc.err" ||
	! gcc $CFLAGS_T -o "$B/vk_host" tests/vsock/vk_host.c 2>>"$TMP/cc.err"; then
	fail vsock-kernels-build "$(head -c 600 "$TMP/cc.err")"
	exit 0
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	skip vsock-kernels "/dev/kvm is not usable here"
	exit 0
fi

MAX_ERR_LINES=3

# start NAME KERNEL [FLASHPAN ARGS...]: flashpan in the background, guest CID 9, socket $TMP/NAME.sock.
start() {
	local name=$1 k=$2
	shift 2
	uds=$TMP/$name.sock
	timeout -s KILL 90 "$FLASHPAN" run --kernel "$KERNELS/$k.elf" --vsock cid=9,uds="$uds" "$@" \
		</dev/null >"$TMP/$name.out" 2>"$TMP/$name.err" &
	vm_pid=$!
	for _ in $(seq 50); do [ -S "$uds" ] && break; sleep 0.1; done
}

# finish NAME HOSTS_OK PATTERN...: waits for flashpan; exit 0, host helpers ok, patterns in the console.
finish() {
	local name=$1 hosts_ok=$2 lines
	shift 2
	wait $vm_pid
	rc=$?
	lines=$(wc -l <"$TMP/$name.err")
	if [ "$rc" -ne 0 ]; then
		fail "$name" "flashpan exit status $rc; stderr: $(tail -c 400 "$TMP/$name.err" | tr '\n' ' '); console: $(tr -d '\r' <"$TMP/$name.out" | tail -n 5 | tr '\n' ' ')"
		return
	fi
	if [ "$hosts_ok" != 1 ]; then
		fail "$name" "host side: $(cat "$TMP/$name".host* 2>/dev/null | grep -v ': ok' | tr '\n' ' '); console: $(tr -d '\r' <"$TMP/$name.out" | grep -E 'BAD' | tr '\n' ' ')"
		return
	fi
	if [ "$lines" -gt $MAX_ERR_LINES ]; then
		fail "$name" "flashpan's stderr has $lines lines: $(head -n 5 "$TMP/$name.err" | tr '\n' ' ')"
		return
	fi
	for pat in "$@"; do
		if ! tr -d '\r' <"$TMP/$name.out" | grep -q -- "$pat"; then
			fail "$name" "no '$pat'; console: $(tr -d '\r' <"$TMP/$name.out" | grep -E 'BAD|ok' | tail -n 6 | tr '\n' ' ')"
			return
		fi
	done
	pass "$name"
}

# wait_console NAME PATTERN: up to 20 s for the guest to print PATTERN.
wait_console() {
	for _ in $(seq 200); do
		tr -d '\r' <"$TMP/$1.out" | grep -q -- "$2" && return 0
		sleep 0.1
	done
	return 1
}

# (a) echo of host-initiated connections: 4 at once, 1 MiB each, both boot protocols.
for proto in linux pvh; do
	name=vsock-kernel-echo-$proto
	start $name vsock-echo --boot-protocol $proto --cmdline "console=ttyS0 vsock.conns=4"
	ok=1
	# vsock_client does not retry: a CONNECT before the driver is up is refused.
	wait_console $name "vsock: cid" || echo "the driver never came up" >"$TMP/$name.host"
	timeout 60 "$B/vsock_client" echo "$uds" 5000 4 1048576 50 >"$TMP/$name.host" 2>&1 || ok=0
	finish $name $ok "protocol: $proto" "vsock: cid 9 " "vsock-echo ok: 4 connections, 4194304 bytes"
done

# (b, c, d) guest- and host-initiated, several MiB both ways checked, half-close in both orders.
name=vsock-kernel-xfer-4MiB
start $name vsock-xfer --cmdline "console=ttyS0 vsock.bytes=4194304"
ok=1
"$B/vk_host" xfer listen "${uds}_6000" 4194304 11 send-first >"$TMP/$name.host1" 2>&1 || ok=0
"$B/vk_host" xfer connect "$uds" 5001 4194304 21 recv-first >"$TMP/$name.host2" 2>&1 || ok=0
finish $name $ok "guest-initiated, host half-closes first: sent 4194304 got 4194304 checked" \
	"host-initiated, guest half-closes first: sent 4194304 got 4194304 checked" "vsock-xfer ok"

# (d) RST both ways, the host aborting mid-stream, a REQUEST nobody listens to, either side.
name=vsock-kernel-rst
start $name vsock-rst
ok=1
"$B/vk_host" reset-expect "${uds}_6002" >"$TMP/$name.host4" 2>&1 &
h4=$!
"$B/vk_host" rst-expect "$uds" 5002 >"$TMP/$name.host1" 2>&1 || ok=0
"$B/vk_host" abort "$uds" 5003 1048576 >"$TMP/$name.host2" 2>&1 || ok=0
"$B/vk_host" refused "$uds" 5999 >"$TMP/$name.host3" 2>&1 || ok=0
wait $h4 || ok=0
grep -q 'ok 65536 bytes' "$TMP/$name.host4" || ok=0
finish $name $ok "rst-after-accept: sent" "host-abort: got [0-9]* bytes checked" "connect-refused: RST: ok" \
	"guest-rst: sent 65536 then RST" "request-to-closed-port: answered RST: ok" "vsock-rst ok"

# (e) bogus headers, storms, then a good connection; flashpan still running and quiet.
name=vsock-kernel-hostile
start $name vsock-hostile
ok=1
"$B/vk_host" xfer listen "${uds}_6003" 262144 51 send-first >"$TMP/$name.host1" 2>&1 || ok=0
finish $name $ok "bogus wrong-src-cid: RST" "bogus len-beyond-descriptor: RST" "bogus len-over-64KiB: RST" \
	"bogus rw-no-connection: RST" "bogus rst-no-connection: no reply" "bogus short-header/write-only: no reply" \
	"storm credit-update-no-connection: 2000 sent, 2000 RST back" "CREDIT_REQUEST answered" \
	"good: sent 262144 got 262144 checked: ok" "vsock-hostile ok"
if [ -e "$uds" ]; then
	fail vsock-kernel-socket-removed "$uds still there after flashpan exited"
else
	pass vsock-kernel-socket-removed
fi
