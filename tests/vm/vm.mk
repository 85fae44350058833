# The nested test VM (tests/vm/README.md): QEMU TCG with -cpu max (SVM), Debian's cloud kernel with
# kvm.ko/kvm-amd.ko, so /dev/kvm inside has real hardware-virtualization semantics.
#
#   make vm-image      download/extract the kernel package and build the base initramfs (cached
#                      under $(FLASHPAN_CACHE)/vm, default /var/cache/flashpan/vm)
#   make vm-selftest   boot the VM and check /dev/kvm with build/vm/kvmcheck
#
# Other targets run a script inside with:
#   $(VM_RUN) [--smp N] [--mem MiB] [--timeout S] [--payload PATH]... -- SCRIPT [ARGS]
# Exit status: the script's, or 125 for a harness/VM failure.

VM_RUN      := tests/vm/run-in-vm.sh
VM_KVMCHECK := $(B)/vm/kvmcheck

.PHONY: vm-image vm-selftest

vm-image:
	tests/vm/prepare.sh >/dev/null

$(VM_KVMCHECK): tests/vm/kvmcheck.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -std=gnu11 -Wall -Wextra -Werror -o $@ $<

vm-selftest: vm-image $(VM_KVMCHECK)
	$(VM_RUN) --payload $(VM_KVMCHECK) -- tests/vm/selftest.sh
