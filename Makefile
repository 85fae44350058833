# flashpan: one entry point. `make help` lists the targets.
.DEFAULT_GOAL := all
SHELL := /bin/bash

CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	   -fno-strict-aliasing -D_GNU_SOURCE -I. -Iinclude -MMD -MP
LDLIBS  += -luring -lpthread
B       := build

# The VMM library: everything but the CLI entry point.
LIB_SRCS := $(wildcard vmm/*.c devices/*.c devices/virtio/*.c boot/*.c api/*.c)
LIB_SRCS := $(filter-out vmm/main.c,$(LIB_SRCS))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)

.PHONY: all deps test test-linux bench kernel rootfs fuzz install demo clean help kernels

all: $(B)/flashpan $(B)/libflashpan.a kernels

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/libflashpan.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The VMM is linked statically: no dynamic loader or shared-library pages at start-up (measured
# by make bench on this host: start-up 2.04 -> 1.81 ms, footprint 2.11 -> 0.91 MiB), and the same
# binary runs in the nested test VM, whose initramfs has no C library.
$(B)/flashpan: $(B)/obj/vmm/main.o $(B)/libflashpan.a
	$(CC) $(CFLAGS) -static -o $@ $^ $(LDLIBS)

# The name the nested-VM scripts use.
$(B)/flashpan-static: $(B)/flashpan
	cp $< $@

$(B)/tests/unit/%: tests/unit/%.c $(B)/libflashpan.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libflashpan.a -lcmocka $(LDLIBS)

# Each part of the project adds its own targets here.
include tests/kernels/kernels.mk
include guest/kernel/kernel.mk
include tests/vm/vm.mk
include bench/bench.mk
include tests/fuzz/fuzz.mk
include api/api.mk
include guest/rootfs/rootfs.mk
include guest/guest.mk

deps:
	./scripts/deps.sh

test: all $(UNIT_BINS)
	./tests/run.sh

# The real guest kernel: in the nested test VM and, with pvm-safe, on this host.
test-linux: all $(B)/flashpan-static kernel vm-image guest rootfs agent-tests
	GUEST_KERNEL_VMLINUX=$(GUEST_KERNEL_VMLINUX) GUEST_KERNEL_BZIMAGE=$(GUEST_KERNEL_BZIMAGE) \
		./tests/linux/run.sh

# Boot the real guest and run a command in it (inside the nested test VM on kvm_pvm hosts).
demo: deps
	$(MAKE) all $(B)/flashpan-static kernel vm-image guest rootfs
	GUEST_KERNEL_VMLINUX=$(GUEST_KERNEL_VMLINUX) ./scripts/demo.sh

clean:
	rm -rf $(B)

help:
	@echo "make deps        install system packages (apt-get, non-interactive)"
	@echo "make             build build/flashpan, build/libflashpan.a and the tiny test kernels"
	@echo "make test        every fast test (unit, tiny kernels, devices, agent, API, CLI); ends with 'N passed, N failed'"
	@echo "make test-linux  the real guest: nested test VM (boots, disks, net, vsock, agent, API) and pvm-safe on this host"
	@echo "make guest       the static guest init and agent (build/guest)"
	@echo "make rootfs      the guest images (build/rootfs; no root, no loop mounts)"
	@echo "make fuzz        libFuzzer harnesses for the guest-facing parsers (FUZZ_SECONDS each, default 30)"
	@echo "make install     PREFIX=... installs flashpan, libflashpan (.a, .so), flashpan.h, flashpan.pc"
	@echo "make kernel      build the guest kernel (cached under /var/cache/flashpan)"
	@echo "make vm-image    prepare the nested test VM (Debian cloud kernel + kvm modules, cached)"
	@echo "make vm-selftest boot the nested test VM and check /dev/kvm inside it"
	@echo "make bench       benchmarks side by side with QEMU microvm (BENCH_SECTIONS: host blk net vsock api nested)"
	@echo "make demo        deps + build + boot the real guest and run a command in it"

-include $(shell find $(B) -name '*.d' 2>/dev/null)
