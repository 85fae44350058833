// SPDX-License-Identifier: MIT
/*
 * tsc_khz [MS]: the host's TSC rate in kHz, measured against CLOCK_MONOTONIC_RAW over MS
 * milliseconds (default 200). Guests of KVM without TSC scaling (flashpan and QEMU here both
 * leave it alone) count at this rate; bench/run.sh (section blk) passes it to blkbench as
 * tsc_khz= and converts the kernel's cycle counts with it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 200;
	uint64_t t0, c0, t1, c1;
	struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };

	if (ms <= 0)
		ms = 200;
	t0 = now_ns();
	c0 = rdtsc();
	nanosleep(&d, NULL);
	t1 = now_ns();
	c1 = rdtsc();
	printf("%.0f\n", (double)(c1 - c0) * 1e6 / (double)(t1 - t0));
	return 0;
}
