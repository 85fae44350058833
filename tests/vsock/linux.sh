#!/usr/bin/env bash
# make test-linux, vsock part (issue 5): the real guest kernel's virtio-vsock
# driver against flashpan, in the nested test VM (guest user space cannot make
# system calls on an emulating host, PLATFORM.md). Builds the static guest
# helper and host client, the guest initramfs, runs tests/vsock/in-vm-vsock.sh.
# Prints PASS/FAIL lines; logs in build/linux/vsock.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${GUEST_KERNEL_VMLINUX:?}"
B=build
work=$B/linux/vsock
mkdir -p "$work"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CF="-O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -I. -static"
if ! gcc $CF -o "$work/guest_vsock" tests/vsock/guest_vsock.c 2>"$tmp/cc.err" ||
	! gcc $CF -o "$work/vsock_client" tests/vsock/vsock_client.c 2>>"$tmp/cc.err"; then
	echo "FAIL nested-vsock-build: $(head -c 600 "$tmp/cc.err")"
	exit 1
fi
bash guest/kernel/mkinitramfs.sh "$tmp/i.cpio.gz" tests/vsock/guest-init.sh \
	"$work/guest_vsock:/bin/guest_vsock" >/dev/null || exit 1
gunzip -c "$tmp/i.cpio.gz" >"$work/vsock-initramfs.cpio"
mkdir -p "$tmp/p"
cp "$B/flashpan-static" "$GUEST_KERNEL_VMLINUX" "$work/vsock-initramfs.cpio" "$work/vsock_client" "$tmp/p/"
conns=${VSOCK_NESTED_CONNS:-1000}
t0=$(date +%s.%N)
tests/vm/run-in-vm.sh --smp 2 --timeout 900 --env VSOCK_CONNS="$conns" \
	--payload "$tmp/p/flashpan-static" --payload "$tmp/p/vmlinux" --payload "$tmp/p/vsock-initramfs.cpio" \
	--payload "$tmp/p/vsock_client" -- tests/vsock/in-vm-vsock.sh >"$work/nested.log" 2>&1
rc=$?
grep -E '^(PASS|FAIL) ' "$work/nested.log"
if [ "$(grep -cE '^(PASS|FAIL) ' "$work/nested.log")" -ne 5 ] || [ $rc -ne 0 ]; then
	echo "FAIL nested-vsock: the test VM ended with status $rc before reporting all 5 cases"
	tail -n 30 "$work/nested.log"
	exit 1
fi
printf 'nested vsock test: %.1f s wall\n' "$(echo "$(date +%s.%N) - $t0" | bc)"
! grep -q '^FAIL ' "$work/nested.log"
