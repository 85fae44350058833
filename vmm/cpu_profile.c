// SPDX-License-Identifier: MIT
#include "vmm/cpu_profile.h"

#include <linux/kvm.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define BIT(n) (1U << (n))

int cpu_profile_parse(const char *s, enum cpu_profile *out)
{
	if (!strcmp(s, "auto"))
		*out = CPU_PROFILE_AUTO;
	else if (!strcmp(s, "host"))
		*out = CPU_PROFILE_HOST;
	else if (!strcmp(s, "pvm-safe"))
		*out = CPU_PROFILE_PVM_SAFE;
	else
		return -1;
	return 0;
}

const char *cpu_profile_name(enum cpu_profile p)
{
	switch (p) {
	case CPU_PROFILE_HOST:
		return "host";
	case CPU_PROFILE_PVM_SAFE:
		return "pvm-safe";
	default:
		return "auto";
	}
}

enum cpu_profile cpu_profile_resolve(enum cpu_profile p)
{
	if (p != CPU_PROFILE_AUTO)
		return p;
	return access("/sys/module/kvm_pvm", F_OK) == 0 ? CPU_PROFILE_PVM_SAFE : CPU_PROFILE_HOST;
}

const char *cpu_profile_linux_cmdline(enum cpu_profile p)
{
	return p == CPU_PROFILE_PVM_SAFE ? PVM_SAFE_LINUX_CMDLINE : NULL;
}

/* Number of bits needed to hold n - 1 distinct ids (x2APIC topology shift). */
static uint32_t id_bits(uint32_t n)
{
	uint32_t bits = 0;

	while ((1U << bits) < n)
		bits++;
	return bits;
}

/* CPUID.1 ECX bits KVM's emulator cannot execute, or that imply XSAVE (SDM vol. 2, CPUID). */
#define PVM_LEAF1_ECX (BIT(12) /* FMA */ | BIT(13) /* CX16 */ | BIT(23) /* POPCNT */ | \
		       BIT(26) /* XSAVE */ | BIT(27) /* OSXSAVE */ | BIT(28) /* AVX */ | \
		       BIT(29) /* F16C */ | BIT(30) /* RDRAND */)
/* CPUID.(7,0) EBX: AVX2, SMEP, INVPCID, AVX-512 family, RDSEED, SMAP. */
#define PVM_LEAF7_EBX (BIT(5) | BIT(7) | BIT(10) | BIT(16) | BIT(17) | BIT(18) | BIT(20) | \
		       BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31))
/* CPUID.(7,0) ECX: AVX-512 extensions, PKU/OSPKE (XSAVE-managed), VAES, VPCLMULQDQ. */
#define PVM_LEAF7_ECX (BIT(1) | BIT(3) | BIT(4) | BIT(6) | BIT(9) | BIT(10) | BIT(11) | \
		       BIT(12) | BIT(14))
/* CPUID.(7,0) EDX: AVX-512 4VNNIW/4FMAPS, AMX, AVX512_FP16. */
#define PVM_LEAF7_EDX (BIT(2) | BIT(3) | BIT(22) | BIT(23) | BIT(24) | BIT(25))
/* CPUID.(7,1) EAX: AVX-VNNI, AVX512_BF16. */
#define PVM_LEAF7_1_EAX (BIT(4) | BIT(5))

static void cpuid_remove(struct kvm_cpuid2 *cpuid, uint32_t i)
{
	memmove(&cpuid->entries[i], &cpuid->entries[i + 1],
		(cpuid->nent - i - 1) * sizeof(cpuid->entries[0]));
	cpuid->nent--;
}

void cpuid_filter(struct kvm_cpuid2 *cpuid, enum cpu_profile p, uint32_t index, uint32_t nr_cpus)
{
	bool pvm = p == CPU_PROFILE_PVM_SAFE;
	uint32_t apic_id = index;

	for (uint32_t i = 0; i < cpuid->nent;) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (pvm && (e->function == 0xd || (e->function >= 0x40000000 && e->function < 0x40000100))) {
			cpuid_remove(cpuid, i);
			continue;
		}
		switch (e->function) {
		case 1:
			/* EBX[31:24] initial APIC id, EBX[23:16] logical processors per package. */
			e->ebx = (e->ebx & 0x0000ffff) | (apic_id << 24) | ((nr_cpus & 0xff) << 16);
			e->ecx |= BIT(31); /* hypervisor present */
			if (nr_cpus > 1)
				e->edx |= BIT(28); /* HTT: the EBX[23:16] count is valid */
			if (pvm)
				e->ecx &= ~PVM_LEAF1_ECX;
			break;
		case 4:
			/* EAX[31:26]: cores per package - 1; EAX[25:14]: threads sharing (1). */
			e->eax &= 0x3fff;
			e->eax |= ((nr_cpus - 1) & 0x3f) << 26;
			break;
		case 6:
			e->ecx &= ~BIT(3); /* no energy/performance bias MSR */
			break;
		case 7:
			if (pvm && e->index == 0) {
				e->ebx &= ~PVM_LEAF7_EBX;
				e->ecx &= ~PVM_LEAF7_ECX;
				e->edx &= ~PVM_LEAF7_EDX;
			} else if (pvm && e->index == 1) {
				e->eax &= ~PVM_LEAF7_1_EAX;
			}
			break;
		case 0xa:
			/* No architectural PMU. */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			/* Extended topology: level 0 = SMT (1 thread), level 1 = core. */
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1 << 8) | 0;
			} else if (e->index == 1) {
				e->eax = id_bits(nr_cpus);
				e->ebx = nr_cpus;
				e->ecx = (2 << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			e->edx = apic_id;
			break;
		case 0x80000001:
			if (pvm)
				e->ecx &= ~BIT(5); /* ABM (LZCNT/POPCNT on AMD) */
			break;
		case 0x80000008:
			/* AMD: ECX[7:0] cores - 1, ECX[15:12] APIC id size. */
			e->ecx = (e->ecx & ~0xf0ffU) | (id_bits(nr_cpus) << 12) | ((nr_cpus - 1) & 0xff);
			break;
		case 0x8000001e:
			/* AMD extended APIC id; one thread per core, core id = APIC id. */
			e->eax = apic_id;
			e->ebx = (e->ebx & ~0xffffU) | apic_id;
			e->ecx = 0;
			break;
		}
		i++;
	}
}
