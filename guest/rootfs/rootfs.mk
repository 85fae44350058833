# The guest images (included by the top Makefile): `make rootfs`.
#
# Built by guest/rootfs/build.sh without root or loop mounts; see there for what
# each image holds. Other makefiles and tests use the variables below. The
# writable images (rootfs, upper, extra) are changed by a boot: tests copy them.

include guest/init/init.mk

ROOTFS_DIR    := $(B)/rootfs
ROOTFS_IMAGE  := $(ROOTFS_DIR)/rootfs.ext4
ROOTFS_LOWER  := $(ROOTFS_DIR)/lower.erofs
ROOTFS_LOWER2 := $(ROOTFS_DIR)/lower2.erofs
ROOTFS_UPPER  := $(ROOTFS_DIR)/upper.ext4
ROOTFS_EXTRA  := $(ROOTFS_DIR)/extra.ext4
# From `make guest`; guest/rootfs/stub-agent.sh stands in while it does not exist.
ROOTFS_AGENT  := $(B)/guest/flashpan-agent
ROOTFS_BUSYBOX ?= /bin/busybox
ROOTFS_STAMP  := $(ROOTFS_DIR)/.stamp

.PHONY: rootfs
rootfs: $(ROOTFS_STAMP)

# Order-only on `guest`: the agent is built first when guest/guest.mk knows how.
$(ROOTFS_STAMP): $(GUEST_INIT_BIN) $(wildcard $(ROOTFS_AGENT)) $(ROOTFS_BUSYBOX) \
		 guest/rootfs/build.sh guest/rootfs/stub-agent.sh | guest
	BUSYBOX=$(ROOTFS_BUSYBOX) guest/rootfs/build.sh $(ROOTFS_DIR) $(GUEST_INIT_BIN) $(ROOTFS_AGENT)
	@touch $@
