# The guest kernel (included by the top Makefile).
#
# `make kernel` builds Debian's linux-source-6.1 with guest/kernel/flashpan.config, or
# does nothing but print the paths when the cached build for the current key exists.
# Other makefiles can use the variables below; depend on $(GUEST_KERNEL_VMLINUX) to get
# the kernel built on demand.

GUEST_KERNEL_SRC_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
GUEST_KERNEL_BUILD   := $(GUEST_KERNEL_SRC_DIR)/build.sh
FLASHPAN_CACHE       ?= /var/cache/flashpan
# sha256(fragment + linux-source version + build.sh), 16 hex digits; empty when
# linux-source-6.1 is not installed (then `make kernel` says so).
GUEST_KERNEL_KEY     := $(shell $(GUEST_KERNEL_BUILD) --key 2>/dev/null)
GUEST_KERNEL_DIR     := $(FLASHPAN_CACHE)/kernel/$(GUEST_KERNEL_KEY)
GUEST_KERNEL_VMLINUX := $(GUEST_KERNEL_DIR)/vmlinux
GUEST_KERNEL_BZIMAGE := $(GUEST_KERNEL_DIR)/bzImage
GUEST_KERNEL_CONFIG  := $(GUEST_KERNEL_DIR)/config
GUEST_MKINITRAMFS    := $(GUEST_KERNEL_SRC_DIR)/mkinitramfs.sh

.PHONY: kernel
kernel:
	@FLASHPAN_CACHE=$(FLASHPAN_CACHE) $(GUEST_KERNEL_BUILD)

$(GUEST_KERNEL_VMLINUX) $(GUEST_KERNEL_BZIMAGE):
	@FLASHPAN_CACHE=$(FLASHPAN_CACHE) $(GUEST_KERNEL_BUILD)
