#!/usr/bin/env bash
# The Machine API end to end with the real guest, in the nested test VM (issue 7):
# tests/api/e2e_api.c (static, linked with build/libflashpan.a) spawns
# /payload/flashpan-static through the library with the guest kernel (make kernel) and
# the rootfs (make rootfs: flashpan-init + flashpan-agent), then the runtime's config
# file boots the same guest and the CLI verbs serve it (tests/linux/in-vm-api-e2e.sh).
#
#   tests/linux/api-e2e.sh            the checks: PASS/FAIL lines, TIME lines; exit 0 when all passed
#   tests/linux/api-e2e.sh --bench    the api benchmark's raw "BENCH r<round> key value" lines
#                                     (bench/run.sh section_api; BENCH_API_ROUNDS, BENCH_API_EXECS)
#
# Needs GUEST_KERNEL_VMLINUX, build/flashpan-static and build/libflashpan.a (make), and
# builds what else it needs: build/tests/api/e2e_api, and the rootfs (make rootfs guest).
# Consoles of the boots: build/linux/api-e2e/out/.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${GUEST_KERNEL_VMLINUX:?}"
MODE=checks
[ "${1:-}" = --bench ] && MODE=bench
B=build
W=$B/linux/api-e2e
[ $MODE = bench ] && W=$B/linux/api-bench
E2E=$B/tests/api/e2e_api
CC=${CC:-gcc}
rm -rf "$W"
mkdir -p "$W/out" "$(dirname "$E2E")"
say() { [ $MODE = checks ] && echo "$@"; [ $MODE = bench ] && echo "$@" >&2; return 0; }

[ -x $B/flashpan-static ] && [ -f $B/libflashpan.a ] || { say "FAIL api-e2e-setup: no $B/flashpan-static or $B/libflashpan.a (make all $B/flashpan-static)"; exit 1; }
make -s rootfs guest >"$W/make.log" 2>&1 || { say "FAIL api-e2e-setup: make rootfs guest: $(tail -n 5 "$W/make.log")"; exit 1; }
if [ ! -x "$E2E" ] || [ tests/api/e2e_api.c -nt "$E2E" ] || [ $B/libflashpan.a -nt "$E2E" ]; then
	$CC -O2 -g -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -D_GNU_SOURCE -I. -Iinclude \
		-static -o "$E2E" tests/api/e2e_api.c $B/libflashpan.a -ljansson -luring -lm -lpthread \
		>"$W/cc.log" 2>&1 || { say "FAIL api-e2e-setup: building $E2E: $(grep -v 'statically linked' "$W/cc.log" | head -5)"; exit 1; }
fi
# The image travels in the test VM's initramfs (RAM); the library copies it per machine.
cp $B/rootfs/rootfs.ext4 "$W/rootfs.ext4"

t0=$(date +%s.%N)
tests/vm/run-in-vm.sh --smp 2 --mem 2048 --timeout 600 --out "$W/out" --env "MODE=$MODE" \
	--env "BENCH_ROUNDS=${BENCH_API_ROUNDS:-3}" --env "BENCH_EXECS=${BENCH_API_EXECS:-100}" \
	--payload $B/flashpan-static --payload "$GUEST_KERNEL_VMLINUX" --payload "$W/rootfs.ext4" \
	--payload "$E2E" -- tests/linux/in-vm-api-e2e.sh >"$W/vm.log" 2>&1
rc=$?
wall=$(printf '%.1f' "$(echo "$(date +%s.%N) - $t0" | bc)")
if [ $MODE = bench ]; then
	grep -E '^BENCH ' "$W/vm.log" | tr -d '\r'
	echo "BENCH all wall_s $wall"
	[ $rc -eq 0 ] || { echo "api bench: the test VM ended with status $rc; see $W/vm.log" >&2; tail -n 20 "$W/vm.log" >&2; }
	exit $rc
fi
grep -E '^(PASS|FAIL|TIME) ' "$W/vm.log" | tr -d '\r'
n=$(grep -cE '^(PASS|FAIL) ' "$W/vm.log")
if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$W/vm.log"; then
	echo "FAIL api-e2e-vm: the test VM ended with status $rc after $n checks; tail:"
	tail -n 30 "$W/vm.log"
fi
echo "api-e2e: $n checks in the nested test VM, $wall s wall (logs in $W)"
exit $rc
