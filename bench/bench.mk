# Benchmarks: `make bench`. Included by the top Makefile.
# bench/run.sh runs each section (host: start-up, lifecycle, footprint side by side with
# QEMU microvm) and writes build/bench/<section>.md. BENCH_RUNS=N sets runs per variant.
# build/bench/kvm_steps (bench/kvm_steps.c) times a minimal VM's KVM ioctls step by step;
# it is built here and run by hand (see its header).

BENCH_SECTIONS ?= host

$(B)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

bench: $(B)/flashpan kernels $(B)/bench/spawn_timer $(B)/bench/kvm_steps
	./bench/run.sh $(BENCH_SECTIONS)
