#!/usr/bin/env bash
# make test-linux, virtio-net part (issue 4), host side: the guest kernel's own virtio-net driver
# on flashpan, in the nested test VM (guest programs cannot make system calls on an emulating
# host, PLATFORM.md). Builds tests/net/responder.c (static: ARP + ICMP echo responder and
# socketpair launcher), the guest initramfs (busybox; /init below), extracts tun.ko from the test
# VM's cached Debian kernel package (the base initramfs has only the KVM modules), and runs
# tests/linux/in-vm-net.sh in the VM. Prints PASS/FAIL lines; logs in build/linux/net.
#
# The guest's /init configures nothing: eth0 comes up from `ip=` on the command line
# (kernel IP_PNP). fpnet=ping: `ping -c 3 -W 2 192.168.100.1`; fpnet=tcp: busybox nc to
# 192.168.101.1:7000 with /etc/net-up.bin, prints the SHA-256 of the answer.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
: "${GUEST_KERNEL_VMLINUX:?}"
B=build
work=$B/linux/net
mkdir -p "$work"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CF="-O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -static"
if ! gcc $CF -o "$work/responder" tests/net/responder.c 2>"$tmp/cc.err"; then
	echo "FAIL net-build: $(head -c 600 "$tmp/cc.err")"
	exit 1
fi
[ -x $B/flashpan-static ] || { echo "FAIL net-build: no $B/flashpan-static (make build/flashpan-static)"; exit 1; }

# The guest's /init.
cat >"$tmp/init" <<'EOF'
#!/bin/sh
mount -t devtmpfs dev /dev 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sys /sys
mode=$(sed -n 's/.*fpnet=\([a-z]*\).*/\1/p' /proc/cmdline)
echo "NET-GUEST eth0: $(ip -4 addr show dev eth0 | grep inet | tr -s ' ')"
case $mode in
ping)
	ping -c 3 -W 2 192.168.100.1
	echo "NET-GUEST-PING-DONE rc=$?"
	;;
tcp)
	rc=1
	for i in 1 2 3 4 5; do
		nc 192.168.101.1 7000 </etc/net-up.bin >/tmp/got && [ -s /tmp/got ] && { rc=0; break; }
		sleep 1
	done
	echo "NET-GUEST-TCP rc=$rc sha=$(sha256sum </tmp/got | cut -d' ' -f1) bytes=$(wc -c </tmp/got)"
	;;
*) echo "NET-GUEST: no fpnet= mode" ;;
esac
reboot -f
EOF
up_bytes=262144
head -c $up_bytes /dev/urandom >"$tmp/net-up.bin"
head -c 200000 /dev/urandom >"$tmp/down.bin"
up_sha=$(sha256sum <"$tmp/net-up.bin" | cut -d' ' -f1)
resp_sha=$( { echo "$up_sha"; cat "$tmp/down.bin"; } | sha256sum | cut -d' ' -f1)
bash guest/kernel/mkinitramfs.sh "$tmp/i.cpio.gz" "$tmp/init" "$tmp/net-up.bin:/etc/net-up.bin" >/dev/null || exit 1
gunzip -c "$tmp/i.cpio.gz" >"$work/net-initramfs.cpio"

# tun.ko from the test VM's kernel package (same version as its base initramfs).
cache=${FLASHPAN_CACHE:-/var/cache/flashpan}/vm
pkgdir=$(readlink "$cache/current" 2>/dev/null)
deb=$cache/debs/${pkgdir}_amd64.deb
tun_payload=()
if [ -n "$pkgdir" ] && [ -r "$deb" ]; then
	mkdir -p "$tmp/x"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" --wildcards './lib/modules/*/kernel/drivers/net/tun.ko*' 2>/dev/null
	ko=$(find "$tmp/x" -name 'tun.ko*' | head -n 1)
	case $ko in
	*.ko) cp "$ko" "$tmp/tun.ko" ;;
	*.ko.xz) xz -dc "$ko" >"$tmp/tun.ko" ;;
	*.ko.zst) zstd -qdc "$ko" >"$tmp/tun.ko" ;;
	esac
	[ -s "$tmp/tun.ko" ] && tun_payload=(--payload "$tmp/tun.ko")
fi
[ ${#tun_payload[@]} -gt 0 ] || echo "NOTE: no tun.ko found in $deb; net-tap-tcp will fail"

mkdir -p "$tmp/p"
cp "$B/flashpan-static" "$GUEST_KERNEL_VMLINUX" "$work/net-initramfs.cpio" "$work/responder" "$tmp/down.bin" "$tmp/p/"
t0=$(date +%s.%N)
tests/vm/run-in-vm.sh --smp 2 --timeout 600 --env "UP_SHA=$up_sha" --env "RESP_SHA=$resp_sha" \
	--env "UP_BYTES=$up_bytes" --payload "$tmp/p/flashpan-static" --payload "$tmp/p/vmlinux" \
	--payload "$tmp/p/net-initramfs.cpio" --payload "$tmp/p/responder" --payload "$tmp/p/down.bin" \
	"${tun_payload[@]}" -- tests/linux/in-vm-net.sh >"$work/nested.log" 2>&1
rc=$?
grep -E '^(PASS|FAIL) ' "$work/nested.log"
if [ "$(grep -cE '^(PASS|FAIL) ' "$work/nested.log")" -ne 3 ] || [ $rc -ne 0 ]; then
	echo "FAIL nested-net: the test VM ended with status $rc before reporting all 3 cases (log: $work/nested.log)"
	tail -n 30 "$work/nested.log"
	exit 1
fi
printf 'nested net test: %.1f s wall\n' "$(echo "$(date +%s.%N) - $t0" | bc)"
! grep -q '^FAIL ' "$work/nested.log"
