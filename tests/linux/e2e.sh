#!/usr/bin/env bash
# make test-linux, end-to-end part (issue 6), host side: flashpan boots the guest kernel with
# flashpan's own guest (init + agent) from the images of `make rootfs` and the command line the
# contract generates (libflashpan's fp_vmm_boot_args), and a host-side C client
# (tests/e2e/e2e_client.c over tests/agent/client.c) drives the agent through the vsock Unix
# socket: exec in every mode, users, files, cancel, TTY, /etc files, overlay, extra disks,
# network and no network. Three boots in one nested-test-VM run (tests/linux/in-vm-e2e.sh).
# Prints PASS/FAIL lines and the wall time; logs and consoles in build/linux/e2e.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
: "${GUEST_KERNEL_VMLINUX:?}"
B=build
W=$B/linux/e2e
rm -rf "$W/out"
mkdir -p "$W/out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t0=$(date +%s.%N)

# ---- builds: the images (and the guest programs they hold), the client, the responder
if ! make -s rootfs >"$tmp/make.log" 2>&1; then
	echo "FAIL e2e-build: make rootfs: $(tail -c 600 "$tmp/make.log")"
	exit 1
fi
[ -x $B/flashpan-static ] && [ -r $B/libflashpan.a ] ||
	{ echo "FAIL e2e-build: no $B/flashpan-static or $B/libflashpan.a (make all $B/flashpan-static)"; exit 1; }
CF="-O2 -g -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -I. -Iinclude -static"
if ! gcc $CF -o "$W/e2e_client" tests/e2e/e2e_client.c tests/agent/client.c guest/agent/base64.c \
	$B/libflashpan.a -ljansson -lpthread -lm 2>"$tmp/cc.err" ||
	! gcc $CF -o "$W/responder" tests/net/responder.c 2>>"$tmp/cc.err"; then
	echo "FAIL e2e-build: $(head -c 600 "$tmp/cc.err")"
	exit 1
fi

# ---- one test-VM run, three boots
payload=()
for f in $B/flashpan-static "$GUEST_KERNEL_VMLINUX" "$W/e2e_client" "$W/responder" \
	$B/rootfs/{rootfs.ext4,lower.erofs,lower2.erofs,upper.ext4,extra.ext4}; do
	payload+=(--payload "$f")
done
t_vm=$(date +%s.%N)
tests/vm/run-in-vm.sh --smp 2 --timeout 480 --out "$W/out" "${payload[@]}" \
	-- tests/linux/in-vm-e2e.sh >"$W/vm.log" 2>&1
rc=$?
vm_secs=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t_vm" | bc)")
grep -aE '^(PASS|FAIL) ' "$W/vm.log" | tr -d '\r'
failed=0
grep -aq '^FAIL ' "$W/vm.log" && failed=1
for c in main overlay verify; do
	if ! grep -aq "^E2E-CASE-DONE $c" "$W/vm.log" || ! grep -aq "^\(PASS\|FAIL\) e2e-$c-vmm-stopped" "$W/vm.log"; then
		echo "FAIL e2e-$c: the test VM (status $rc) ended before case $c finished; see $W/vm.log"
		failed=1
	fi
done
if [ $rc -ne 0 ]; then
	echo "FAIL e2e-vm: tests/vm/run-in-vm.sh exited $rc"
	tail -n 30 "$W/vm.log"
	failed=1
fi
grep -a '^e2e: boot .* s from flashpan start\|^e2e: all boots\|^e2e-[a-z]*: [0-9]* passed' "$W/vm.log" | tr -d '\r'
printf 'e2e: %.1f s wall for the whole section (test VM run %s s: 3 guest boots, VM start/stop and payload included)\n' \
	"$(echo "$(date +%s.%N) - $t0" | bc)" "$vm_secs"
exit $failed
