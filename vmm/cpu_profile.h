/* SPDX-License-Identifier: MIT */
/*
 * CPU profiles: what the guest's CPUID says, and what a Linux guest must be
 * told on its command line, so that it only uses instructions the host's KVM
 * can run.
 *
 *   host      KVM_GET_SUPPORTED_CPUID, filtered per vCPU (APIC id, topology,
 *             hypervisor bit); KVM paravirt leaves kept.
 *   pvm-safe  as host, and also hides what KVM's instruction emulator cannot
 *             execute on an emulating (kvm_pvm) host: CX16, POPCNT, the XSAVE
 *             family and everything that needs it (AVX*, FMA, F16C, PKU),
 *             SMEP/SMAP, INVPCID, RDRAND/RDSEED; drops the KVM paravirt
 *             leaves (0x40000000+) so the guest makes no hypercalls; and for a
 *             Linux guest appends PVM_SAFE_LINUX_CMDLINE, because on such a
 *             host CPUID masks alone do not hide XSAVE and SMAP.
 *   auto      pvm-safe when /sys/module/kvm_pvm exists, else host.
 */
#ifndef FLASHPAN_CPU_PROFILE_H
#define FLASHPAN_CPU_PROFILE_H

#include <stdint.h>

struct kvm_cpuid2;

enum cpu_profile {
	CPU_PROFILE_AUTO,
	CPU_PROFILE_HOST,
	CPU_PROFILE_PVM_SAFE,
};

#define PVM_SAFE_LINUX_CMDLINE "noxsave clearcpuid=smap,smep,cx16,popcnt"

/* "auto", "host" or "pvm-safe"; -1 for anything else. */
int cpu_profile_parse(const char *s, enum cpu_profile *out);
const char *cpu_profile_name(enum cpu_profile p);
/* Resolve auto against this host. */
enum cpu_profile cpu_profile_resolve(enum cpu_profile p);
/* Words to add to a Linux guest's command line, or NULL. */
const char *cpu_profile_linux_cmdline(enum cpu_profile p);

/*
 * Rewrite `cpuid` (a copy of KVM_GET_SUPPORTED_CPUID) in place for vCPU
 * `index` of `nr_cpus`: APIC ids, topology (one thread per core, one
 * socket), hypervisor bit, and the profile's masks. Entries may be removed.
 */
void cpuid_filter(struct kvm_cpuid2 *cpuid, enum cpu_profile p, uint32_t index, uint32_t nr_cpus);

#endif
