#!/usr/bin/env bash
# virtio-vsock, host side (issue 5). One PASS/FAIL/SKIP line per case.
#  - fake_guest (tests/vsock/fake_guest.c: the device with a fake guest driver
#    that echoes, no KVM) behind flashpan's real Unix-socket back end, and
#    vsock_client as the host: 1,000 concurrent echo connections, one bulk
#    transfer, CONNECT-to-OK latency.
#  - flashpan itself: --vsock option errors, a live socket refused (exit 2), a
#    stale one replaced, the socket removed on exit, clients refused while the
#    guest has no vsock driver.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

B=build/tests/vsock
mkdir -p "$B"
CFLAGS_T="-O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -I."
if ! gcc $CFLAGS_T -o "$B/fake_guest" tests/vsock/fake_guest.c build/libflashpan.a -lpthread 2>"$TMP/cc.err" ||
	! gcc $CFLAGS_T -o "$B/vsock_client" tests/vsock/vsock_client.c 2>>"$TMP/cc.err"; then
	fail vsock-build "$(head -c 600 "$TMP/cc.err")"
	exit 0
fi

# ---- fake guest ----
uds=$TMP/v.sock
"$B/fake_guest" --uds "$uds" --seconds 300 >"$TMP/fg.out" 2>"$TMP/fg.err" &
fg_pid=$!
for _ in $(seq 50); do [ -S "$uds" ] && break; sleep 0.1; done

# client NAME CONNS BYTES: echo test through the fake guest.
client() {
	local name=$1
	if timeout 120 "$B/vsock_client" echo "$uds" 5000 "$2" "$3" 100 >"$TMP/$name.out" 2>&1; then
		pass "$name ($(sed -n 's/^vsock_client echo: //p' "$TMP/$name.out"))"
	else
		fail "$name" "$(tail -c 600 "$TMP/$name.out")"
	fi
}
if [ -S "$uds" ]; then
	client vsock-echo-1000-concurrent 1000 65536
	client vsock-echo-bulk-8MiB 1 8388608
	client vsock-connect-latency 1 16
else
	fail vsock-fake-guest "the fake guest never listened on $uds: $(cat "$TMP/fg.err")"
fi
kill -TERM $fg_pid 2>/dev/null
wait $fg_pid
fg_rc=$?
summary=$(sed -n 's/^fake_guest: accepted/accepted/p' "$TMP/fg.out")
if [ $fg_rc -eq 0 ] && [ ! -e "$uds" ] && echo "$summary" | grep -q 'accepted 1002, closed cleanly 1002, reset 0'; then
	pass "vsock-fake-guest-clean ($summary; socket removed)"
else
	fail vsock-fake-guest-clean "status $fg_rc; $summary; $(tail -c 400 "$TMP/fg.err")"
fi

# ---- flashpan ----
if [ ! -x "$FLASHPAN" ] || [ ! -f "$KERNELS/idle.elf" ]; then
	fail vsock-cli "no $FLASHPAN or $KERNELS/idle.elf (run make)"
	exit 0
fi
run_vm vsock-bad-option 10 run --kernel "$KERNELS/idle.elf" --vsock cid=2,uds="$TMP/x.sock"
expect vsock-bad-option 2 'cid must be'
run_vm vsock-missing-uds 10 run --kernel "$KERNELS/idle.elf" --vsock cid=3
expect vsock-missing-uds 2 'both cid=C and uds=PATH'
: >"$TMP/file.sock"
run_vm vsock-not-a-socket 10 run --kernel "$KERNELS/idle.elf" --vsock cid=3,uds="$TMP/file.sock"
expect vsock-not-a-socket 2 'not a socket'

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	skip vsock-flashpan "/dev/kvm is not usable here"
	exit 0
fi
# A stale socket file (nobody listens) is replaced.
uds=$TMP/vm.sock
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$uds"
"$FLASHPAN" run --kernel "$KERNELS/idle.elf" --console none --vsock cid=3,uds="$uds" \
	</dev/null >"$TMP/vm.out" 2>"$TMP/vm.err" &
vm_pid=$!
for _ in $(seq 50); do
	python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])" "$uds" 2>/dev/null && break
	sleep 0.1
done
if kill -0 $vm_pid 2>/dev/null; then
	pass vsock-stale-socket-replaced
else
	fail vsock-stale-socket-replaced "flashpan exited: $(cat "$TMP/vm.err")"
fi
# A second VM on the same live socket: exit 2, the first keeps its socket.
run_vm vsock-live-socket-refused 10 run --kernel "$KERNELS/idle.elf" --console none --vsock cid=3,uds="$uds"
expect vsock-live-socket-refused 2 'is in use'
# The guest (a tiny kernel) has no vsock driver: a client is closed at once, without an OK line.
got=$(timeout 5 python3 -c "
import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'CONNECT 5000\n'); print(repr(s.recv(64)))" "$uds" 2>&1)
if [ "$got" = "b''" ]; then
	pass vsock-no-driver-refuses
else
	fail vsock-no-driver-refuses "client got $got"
fi
kill -TERM $vm_pid
wait $vm_pid
rc=$?
if [ $rc -eq 143 ] && [ ! -e "$uds" ]; then
	pass vsock-socket-removed-on-exit
else
	fail vsock-socket-removed-on-exit "status $rc (want 143); socket file $( [ -e "$uds" ] && echo still there || echo gone)"
fi
