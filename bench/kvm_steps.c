// SPDX-License-Identifier: MIT
/*
 * kvm_steps: where a minimal VMM's start-up goes, step by step, without strace's overhead.
 *
 *   kvm_steps [-n RUNS] [-m MiB] [-o ORDER]
 *
 * Each run builds the smallest VM flashpan builds (irqchip, PIT, one memory slot, one vCPU),
 * runs a 4-instruction real-mode guest that writes 123 to port 0x440, and tears it down;
 * each step is timed with CLOCK_MONOTONIC (wall) and CLOCK_THREAD_CPUTIME_ID (on-CPU; the
 * difference is time spent asleep, e.g. waiting for an SRCU grace period). Prints per-step
 * medians (and the wall max) in microseconds.
 * ORDER: "flashpan" (default: CREATE_VM, TSS, IRQCHIP, PIT2, memslot, vCPU, KVM_RUN) or
 * "mem-first" (the memory slot right after KVM_CREATE_VM), "no-pit" (no KVM_CREATE_PIT2), or
 * both ("mem-first,no-pit").
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { S_OPEN, S_CPUID, S_CREATE_VM, S_TSS, S_IRQCHIP, S_PIT, S_MMAP, S_MEMSLOT, S_VCPU,
       S_VCPU_SETUP, S_RUN, S_CLOSE_VCPU, S_CLOSE_VM, S_MUNMAP, S_TOTAL_TO_RUN, S_N };
static const char *names[S_N] = {
	"open /dev/kvm", "KVM_GET_SUPPORTED_CPUID", "KVM_CREATE_VM", "SET_TSS+IDENTITY_MAP",
	"KVM_CREATE_IRQCHIP", "KVM_CREATE_PIT2", "mmap guest RAM", "KVM_SET_USER_MEMORY_REGION",
	"KVM_CREATE_VCPU+mmap run", "SET_CPUID2/SREGS/REGS", "KVM_RUN to port exit",
	"close vCPU fd", "close VM fd", "munmap guest RAM", "= open..port exit",
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#define CHECK(x)                                                                    \
	do {                                                                        \
		if ((x) < 0) {                                                      \
			fprintf(stderr, "kvm_steps: %s: %s\n", #x, strerror(errno)); \
			exit(1);                                                    \
		}                                                                   \
	} while (0)

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int runs = 20, c;
	long mem_mib = 128;
	const char *order = "flashpan";
	static const uint8_t code[] = { 0xb0, 123, 0xba, 0x40, 0x04, 0xee, 0xf4 };

	while ((c = getopt(argc, argv, "n:m:o:")) != -1) {
		if (c == 'n')
			runs = atoi(optarg);
		else if (c == 'm')
			mem_mib = atol(optarg);
		else if (c == 'o')
			order = optarg;
		else
			return 2;
	}
	bool mem_first = strstr(order, "mem-first"), no_pit = strstr(order, "no-pit");
	uint64_t (*t)[S_N] = calloc(runs, sizeof(*t)), (*ct)[S_N] = calloc(runs, sizeof(*ct));
	size_t mem = (size_t)mem_mib << 20;

	for (int r = 0; r < runs; r++) {
		uint64_t a = now_ns(), b, start = a, ca = cpu_ns(), cb, cstart = ca;
#define STEP(s) (b = now_ns(), t[r][s] = b - a, a = b, cb = cpu_ns(), ct[r][s] = cb - ca, ca = cb)
		int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		CHECK(kvm);
		STEP(S_OPEN);
		struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) + 256 * sizeof(cpuid->entries[0]));
		cpuid->nent = 256;
		CHECK(ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid));
		STEP(S_CPUID);
		int vm = ioctl(kvm, KVM_CREATE_VM, 0);
		CHECK(vm);
		STEP(S_CREATE_VM);
		uint8_t *ram = NULL;
		struct kvm_userspace_memory_region reg = { .slot = 0, .memory_size = mem };
		if (mem_first) {
			ram = mmap(NULL, mem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			STEP(S_MMAP);
			reg.userspace_addr = (uintptr_t)ram;
			CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg));
			STEP(S_MEMSLOT);
		}
		uint64_t ident = 0xfeffc000;
		CHECK(ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &ident));
		CHECK(ioctl(vm, KVM_SET_TSS_ADDR, 0xfeffd000));
		STEP(S_TSS);
		CHECK(ioctl(vm, KVM_CREATE_IRQCHIP, 0));
		STEP(S_IRQCHIP);
		if (!no_pit) {
			struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
			CHECK(ioctl(vm, KVM_CREATE_PIT2, &pit));
		}
		STEP(S_PIT);
		if (!mem_first) {
			ram = mmap(NULL, mem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			STEP(S_MMAP);
			reg.userspace_addr = (uintptr_t)ram;
			CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &reg));
			STEP(S_MEMSLOT);
		}
		memcpy(ram + 0x1000, code, sizeof(code));
		int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
		CHECK(vcpu);
		int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
		struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
		STEP(S_VCPU);
		CHECK(ioctl(vcpu, KVM_SET_CPUID2, cpuid));
		struct kvm_sregs sregs;
		CHECK(ioctl(vcpu, KVM_GET_SREGS, &sregs));
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		CHECK(ioctl(vcpu, KVM_SET_SREGS, &sregs));
		struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
		CHECK(ioctl(vcpu, KVM_SET_REGS, &regs));
		STEP(S_VCPU_SETUP);
		CHECK(ioctl(vcpu, KVM_RUN, 0));
		STEP(S_RUN);
		t[r][S_TOTAL_TO_RUN] = a - start;
		ct[r][S_TOTAL_TO_RUN] = ca - cstart;
		if (run->exit_reason != KVM_EXIT_IO || run->io.port != 0x440) {
			fprintf(stderr, "kvm_steps: unexpected exit %u\n", run->exit_reason);
			return 1;
		}
		munmap(run, run_size);
		close(vcpu);
		STEP(S_CLOSE_VCPU);
		close(vm);
		STEP(S_CLOSE_VM);
		munmap(ram, mem);
		STEP(S_MUNMAP);
		close(kvm);
		free(cpuid);
	}
	printf("kvm_steps: %d runs, %ld MiB, order %s; microseconds\n", runs, mem_mib, order);
	printf("%-30s %9s %9s %12s\n", "step", "median", "max", "on-CPU med");
	for (int s = 0; s < S_N; s++) {
		uint64_t v[runs], w[runs];

		for (int r = 0; r < runs; r++) {
			v[r] = t[r][s];
			w[r] = ct[r][s];
		}
		qsort(v, runs, sizeof(v[0]), cmp_u64);
		qsort(w, runs, sizeof(w[0]), cmp_u64);
		printf("%-30s %9.1f %9.1f %12.1f\n", names[s], v[runs / 2] / 1e3, v[runs - 1] / 1e3,
		       w[runs / 2] / 1e3);
	}
	free(t);
	free(ct);
	return 0;
}
