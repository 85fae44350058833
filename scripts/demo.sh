#!/usr/bin/env bash
# make demo: boot the real guest (make kernel + make rootfs) and run a command in it through the
# guest agent over vsock. On an emulating KVM host (kvm_pvm: guest programs cannot make system
# calls, see README) this happens inside the nested test VM (tests/vm); elsewhere directly.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${GUEST_KERNEL_VMLINUX:?}"
CMD=${DEMO_CMD:-'echo "hello from $(hostname): $(uname -sr), $(nproc) vCPU, uid $(id -u)"; cat /etc/os-release 2>/dev/null | head -1; ls /'}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp build/rootfs/rootfs.ext4 "$tmp/rootfs.ext4" # a boot writes to its root disk
cp "$GUEST_KERNEL_VMLINUX" "$tmp/vmlinux"
cp build/flashpan-static "$tmp/flashpan"
printf '%s\n' "$CMD" >"$tmp/command"

# The guest contract's command line for a VM without network (GUEST-CONTRACT.md).
cat >"$tmp/demo.sh" <<'INNER'
#!/bin/sh
# Runs where KVM has hardware semantics: boot, wait for the agent, run the command, stop.
cd "$(dirname "$0")"
sock=/tmp/flashpan-demo.sock
./flashpan run --kernel vmlinux --mem 256 --cpus 1 --console /tmp/demo-console.log \
	--disk rootfs.ext4,id=rootfs --vsock cid=3,uds=$sock \
	--cmdline "console=ttyS0 reboot=k panic=1 acpi=off init=/init hostname=flashpan-demo matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 matchlock.cpus=1 root=/dev/vda rw" &
vmm=$!
i=0
until ./flashpan exec --vsock $sock -- true 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 120 ] || ! kill -0 $vmm 2>/dev/null; then
		echo "demo: the guest agent did not become ready; console tail:"
		tail -n 20 /tmp/demo-console.log
		kill $vmm 2>/dev/null
		exit 1
	fi
	sleep 1
done
echo "demo: guest ready after about $i s; running: $(cat command)"
./flashpan exec --vsock $sock -- "$(cat command)"
rc=$?
echo "demo: the command exited with status $rc"
kill -TERM $vmm
wait $vmm
echo "demo: flashpan exited with status $? (143: stopped by SIGTERM)"
exit $rc
INNER

if [ -d /sys/module/kvm_pvm ]; then
	echo "demo: this host's KVM is kvm_pvm (guest programs cannot make system calls here);"
	echo "demo: running the demo inside the nested test VM (QEMU TCG -cpu max with KVM inside)."
	tests/vm/run-in-vm.sh --payload "$tmp/flashpan" --payload "$tmp/vmlinux" \
		--payload "$tmp/rootfs.ext4" --payload "$tmp/command" -- "$tmp/demo.sh" |
		grep -v '^\[ *[0-9.]*\] \|^@@\|^flashpan-vm:'
else
	sh "$tmp/demo.sh"
fi
