# Tiny freestanding test kernels: build/kernels/<name>.elf, each bootable by
# the Linux 64-bit boot protocol (ELF entry) and by PVH (Xen ELF note), so
# flashpan and QEMU microvm boot the same file. Included by the top Makefile.

KERNEL_NAMES := hello bootparams smp timer reset fault pvm-gaps panic poweroff idle \
		blk-read blk-write blk-multi blk-hostile blkbench
# virtio-net (tests/net.t.sh): on the polling virtio driver.
KERNEL_NAMES += net-basic netbench
# virtio-vsock (tests/vsock-kernels.t.sh, bench section vsock): on the polling vsock driver.
KERNEL_NAMES += vsock-echo vsock-xfer vsock-rst vsock-hostile vsockbench
KERNEL_ELFS  := $(KERNEL_NAMES:%=$(B)/kernels/%.elf)
KDIR   := tests/kernels
KOBJ   := $(B)/kernels/obj
KCC    ?= gcc
KCFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	   -ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie \
	   -fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none \
	   -mno-red-zone -mno-sse -mno-mmx -mno-avx -mgeneral-regs-only -mcmodel=small \
	   -MMD -MP
KLDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(KDIR)/kernel.ld -Wl,--build-id=none \
	    -Wl,-z,noexecstack -Wl,-z,max-page-size=4096 -Wl,--no-warn-rwx-segments
KCOMMON := $(KOBJ)/entry.o $(KOBJ)/lib.o

kernels: $(KERNEL_ELFS)

$(KOBJ)/%.o: $(KDIR)/%.c
	@mkdir -p $(dir $@)
	$(KCC) $(KCFLAGS) -c $< -o $@

$(KOBJ)/%.o: $(KDIR)/%.S
	@mkdir -p $(dir $@)
	$(KCC) $(KCFLAGS) -c $< -o $@

# Kernel names use '-', source files '_' (pvm-gaps -> pvm_gaps.c).
# blk-* kernels and blkbench also link the virtio driver (virtio.c) and the virtio-blk requests.
kobj_of = $(KOBJ)/$(subst -,_,$(1)).o $(if $(filter smp,$(1)),$(KOBJ)/smp_tramp.o) \
	  $(if $(filter blk-% blkbench,$(1)),$(KOBJ)/virtio.o $(KOBJ)/blk_common.o) \
	  $(if $(filter net-% netbench,$(1)),$(KOBJ)/virtio.o) \
	  $(if $(filter vsock-% vsockbench,$(1)),$(KOBJ)/virtio.o $(KOBJ)/vsock_drv.o) \
	  $(if $(filter %bench,$(1)),$(KOBJ)/ring3.o)

define KERNEL_RULE
$(B)/kernels/$(1).elf: $(call kobj_of,$(1)) $(KCOMMON) $(KDIR)/kernel.ld
	@mkdir -p $$(dir $$@)
	$$(KCC) $$(KCFLAGS) $$(KLDFLAGS) -o $$@ $(call kobj_of,$(1)) $(KCOMMON)
endef
$(foreach k,$(KERNEL_NAMES),$(eval $(call KERNEL_RULE,$(k))))
