// SPDX-License-Identifier: MIT
/* CPUID filtering per vCPU and per CPU profile, on a synthetic "supported" table. */
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/cpu_profile.h"

#define MAX_ENT 16

static struct kvm_cpuid2 *table(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + MAX_ENT * sizeof(c->entries[0]));
	struct kvm_cpuid_entry2 e[] = {
		{ .function = 0, .eax = 0xd },
		/* POPCNT|CX16|XSAVE|OSXSAVE|AVX|RDRAND|x2APIC, hypervisor clear; EDX with APIC */
		{ .function = 1, .ebx = 0x00000800, .ecx = 0x5c802000 | (1 << 21), .edx = 0x0f8bfbff },
		{ .function = 7, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		  .ebx = (1 << 20) | (1 << 7) | (1 << 5) | (1 << 0), .ecx = (1 << 3) },
		{ .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
		{ .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
		{ .function = 0xd, .index = 0, .eax = 7 },
		{ .function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b },
		{ .function = 0x40000001, .eax = 0xffffff },
		{ .function = 0x80000001, .ecx = (1 << 5) | 1 },
	};

	c->nent = sizeof(e) / sizeof(e[0]);
	memcpy(c->entries, e, sizeof(e));
	return c;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static void test_host_profile_topology(void **state)
{
	struct kvm_cpuid2 *c = table();

	cpuid_filter(c, CPU_PROFILE_HOST, 2, 4);
	/* APIC id 2 in EBX[31:24], 4 logical CPUs in EBX[23:16], hypervisor bit, HTT. */
	assert_int_equal(find(c, 1, 0)->ebx >> 24, 2);
	assert_int_equal((find(c, 1, 0)->ebx >> 16) & 0xff, 4);
	assert_true(find(c, 1, 0)->ecx & (1U << 31));
	assert_true(find(c, 1, 0)->edx & (1U << 28));
	/* x2APIC topology: 1 thread per core, 4 cores, EDX = x2APIC id. */
	assert_int_equal(find(c, 0xb, 0)->ebx, 1);
	assert_int_equal(find(c, 0xb, 1)->ebx, 4);
	assert_int_equal(find(c, 0xb, 1)->eax, 2);
	assert_int_equal(find(c, 0xb, 1)->edx, 2);
	/* Host keeps the features and the KVM paravirt leaves. */
	assert_true(find(c, 1, 0)->ecx & (1 << 23));
	assert_non_null(find(c, 0x40000000, 0));
	assert_non_null(find(c, 0xd, 0));
	free(c);
}

static void test_pvm_safe_masks(void **state)
{
	struct kvm_cpuid2 *c = table();
	uint32_t ecx1, ebx7;

	cpuid_filter(c, CPU_PROFILE_PVM_SAFE, 0, 1);
	ecx1 = find(c, 1, 0)->ecx;
	ebx7 = find(c, 7, 0)->ebx;
	assert_false(ecx1 & (1 << 13)); /* CX16 */
	assert_false(ecx1 & (1 << 23)); /* POPCNT */
	assert_false(ecx1 & (1 << 26)); /* XSAVE */
	assert_false(ecx1 & (1 << 27)); /* OSXSAVE */
	assert_false(ecx1 & (1 << 28)); /* AVX */
	assert_true(ecx1 & (1 << 21));  /* x2APIC stays */
	assert_false(ebx7 & (1 << 20)); /* SMAP */
	assert_false(ebx7 & (1 << 7));  /* SMEP */
	assert_false(ebx7 & (1 << 5));  /* AVX2 */
	assert_true(ebx7 & 1);          /* FSGSBASE stays */
	assert_false(find(c, 7, 0)->ecx & (1 << 3)); /* PKU */
	assert_false(find(c, 0x80000001, 0)->ecx & (1 << 5)); /* ABM */
	/* No paravirt leaves (no hypercalls) and no XSAVE state leaf. */
	assert_null(find(c, 0x40000000, 0));
	assert_null(find(c, 0x40000001, 0));
	assert_null(find(c, 0xd, 0));
	assert_int_equal(c->nent, 6);
	free(c);
}

static void test_profile_names_and_cmdline(void **state)
{
	enum cpu_profile p;

	assert_int_equal(cpu_profile_parse("pvm-safe", &p), 0);
	assert_int_equal(p, CPU_PROFILE_PVM_SAFE);
	assert_int_equal(cpu_profile_parse("host", &p), 0);
	assert_int_equal(p, CPU_PROFILE_HOST);
	assert_int_equal(cpu_profile_parse("fast", &p), -1);
	assert_string_equal(cpu_profile_linux_cmdline(CPU_PROFILE_PVM_SAFE),
			    "noxsave clearcpuid=smap,smep,cx16,popcnt");
	assert_null(cpu_profile_linux_cmdline(CPU_PROFILE_HOST));
	assert_int_not_equal(cpu_profile_resolve(CPU_PROFILE_AUTO), CPU_PROFILE_AUTO);
	assert_int_equal(cpu_profile_resolve(CPU_PROFILE_HOST), CPU_PROFILE_HOST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_profile_topology),
		cmocka_unit_test(test_pvm_safe_masks),
		cmocka_unit_test(test_profile_names_and_cmdline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
