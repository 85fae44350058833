# Benchmarks: `make bench`. Included by the top Makefile.
# bench/run.sh runs each section and writes build/bench/<section>.md. BENCH_RUNS=N sets runs per
# variant of the host section.
#   host    start-up, lifecycle, footprint side by side with QEMU microvm on this host's /dev/kvm
#   nested  boot of the guest kernel (make kernel) to /init inside the nested test VM (tests/vm),
#           flashpan vs QEMU microvm; BENCH_NESTED_RUNS / _BUDGET / _SMP2 (see bench/run.sh)
#   blk     virtio-blk IOPS and MB/s (tests/kernels/blkbench.c, request loop at CPL3) vs QEMU
#           microvm (cache=none, writeback) and the host's fio; BENCH_BLK_RUNS / _MS (~3 minutes)
#   net     virtio-net frames/s and MB/s, 64 and 1500 B, both directions (tests/kernels/netbench.c at CPL3)
#           over a socketpair and a TAP in a netns vs QEMU microvm and the host's ceiling (bench/net/netpeer.c);
#           BENCH_NET_RUNS / _MS (~2 minutes)
#   api     the Machine API with the real guest in the nested test VM: create+start to agent ready with
#           the split (VMM, kernel, init, agent), first exec, close, 100 sequential execs (median, p99),
#           the VMM's RSS and descriptors before and after; BENCH_API_ROUNDS / _EXECS (~1 minute)
# Default: host, blk, net, vsock and api. `make bench BENCH_SECTIONS=nested` (or "host nested") runs the nested one
# (about 4 minutes; one run in three so far hung the test VM, see bench/run.sh).
# build/bench/kvm_steps (bench/kvm_steps.c) times a minimal VM's KVM ioctls step by step;
# it is built here and run by hand (see its header).

BENCH_SECTIONS ?= host blk net vsock api

$(B)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

# Static helpers for the nested section (the test VM has no C library).
$(B)/bench/spawn_timer-static: bench/spawn_timer.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $<

$(B)/bench/bootinit: bench/nested/bootinit.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -s -o $@ $<

BENCH_NESTED_DEPS := $(B)/flashpan-static $(B)/bench/spawn_timer-static $(B)/bench/bootinit \
	$(GUEST_KERNEL_VMLINUX)

# api: the Machine API with the real guest in the nested test VM (tests/linux/api-e2e.sh --bench builds
# e2e_api and runs make rootfs guest itself); about 1 minute.
BENCH_API_DEPS := $(B)/flashpan-static $(B)/libflashpan.a $(GUEST_KERNEL_VMLINUX)

bench: $(B)/flashpan kernels $(B)/bench/spawn_timer $(B)/bench/kvm_steps \
		$(if $(filter nested,$(BENCH_SECTIONS)),$(BENCH_NESTED_DEPS)) \
		$(if $(filter api,$(BENCH_SECTIONS)),$(BENCH_API_DEPS))
	GUEST_KERNEL_VMLINUX=$(GUEST_KERNEL_VMLINUX) ./bench/run.sh $(BENCH_SECTIONS)
