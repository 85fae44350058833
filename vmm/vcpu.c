// SPDX-License-Identifier: MIT
#include "vmm/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "boot/layout.h"
#include "boot/pagetables.h"
#include "vmm/cpu_profile.h"
#include "vmm/exitcode.h"

/* A vCPU thread is kicked out of KVM_RUN with this signal (its handler does nothing). */
#define SIG_VCPU_KICK SIGUSR1

#define MSR_IA32_TSC            0x10
#define MSR_IA32_SYSENTER_CS    0x174
#define MSR_IA32_SYSENTER_ESP   0x175
#define MSR_IA32_SYSENTER_EIP   0x176
#define MSR_IA32_MISC_ENABLE    0x1a0
#define MSR_MTRR_DEF_TYPE       0x2ff
#define MSR_STAR                0xc0000081
#define MSR_LSTAR               0xc0000082
#define MSR_CSTAR               0xc0000083
#define MSR_SYSCALL_MASK        0xc0000084
#define MSR_KERNEL_GS_BASE      0xc0000102

#define X86_CR0_PE   0x1
#define X86_CR0_ET   0x10
#define X86_CR0_PG   0x80000000
#define X86_CR4_PAE  0x20
#define EFER_LME     0x100
#define EFER_LMA     0x400

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

static int vcpu_set_cpuid(struct vcpu *v)
{
	struct vm *vm = v->vm;
	size_t sz = sizeof(struct kvm_cpuid2) + vm->supported_cpuid->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = malloc(sz);
	int err = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, vm->supported_cpuid, sz);
	cpuid_filter(c, vm->cfg.profile, v->index, vm->cfg.nr_cpus);
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0) {
		err = -errno;
		fprintf(stderr, "flashpan: vCPU %d: KVM_SET_CPUID2: %s\n", v->index, strerror(errno));
	}
	free(c);
	return err;
}

/* The MSR values a Linux boot expects (as Firecracker and kvmtool set them). */
static int vcpu_set_msrs(struct vcpu *v)
{
	static const struct {
		uint32_t index;
		uint64_t data;
	} boot_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },  { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },             { MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },      { MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, 1 },  /* fast string operations */
		{ MSR_MTRR_DEF_TYPE, (1 << 11) | 6 }, /* MTRRs on, default write-back */
	};
	const int n = sizeof(boot_msrs) / sizeof(boot_msrs[0]);
	/* struct kvm_msrs ends in a flexible array: give it room for n entries. */
	union {
		struct kvm_msrs hdr;
		uint8_t room[sizeof(struct kvm_msrs) + sizeof(boot_msrs) / sizeof(boot_msrs[0]) *
						       sizeof(struct kvm_msr_entry)];
	} msrs = { .hdr.nmsrs = n };
	int set;

	for (int i = 0; i < n; i++) {
		msrs.hdr.entries[i].index = boot_msrs[i].index;
		msrs.hdr.entries[i].data = boot_msrs[i].data;
	}
	set = ioctl(v->fd, KVM_SET_MSRS, &msrs.hdr);
	if (set < 0) {
		fprintf(stderr, "flashpan: vCPU %d: KVM_SET_MSRS: %s\n", v->index, strerror(errno));
		return -errno;
	}
	if (set < n) {
		/* KVM stops at the first MSR it refuses; name it, then go on without it. */
		fprintf(stderr, "flashpan: vCPU %d: KVM refused MSR 0x%x; continuing\n", v->index,
			boot_msrs[set].index);
	}
	return 0;
}

static int vcpu_set_lapic_and_fpu(struct vcpu *v)
{
	struct kvm_lapic_state lapic;
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	uint32_t *lint0, *lint1;

	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		goto fail;
	/* LINT0 delivers the 8259's ExtINT, LINT1 delivers NMI (MP spec, virtual wire mode). */
	lint0 = (uint32_t *)&lapic.regs[APIC_LVT_LINT0];
	lint1 = (uint32_t *)&lapic.regs[APIC_LVT_LINT1];
	*lint0 = (*lint0 & ~0x700U) | (APIC_MODE_EXTINT << 8);
	*lint1 = (*lint1 & ~0x700U) | (APIC_MODE_NMI << 8);
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		goto fail;
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "flashpan: vCPU %d: LAPIC/FPU setup: %s\n", v->index, strerror(errno));
	return -errno;
}

/* Registers for the boot vCPU: long mode for the Linux entry, flat 32-bit for PVH. */
static int vcpu_set_boot_regs(struct vcpu *v, const struct boot_info *boot)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 0x2, .rsp = BOOT_STACK_TOP, .rbp = BOOT_STACK_TOP,
				 .rip = boot->entry };
	bool pvh = boot->protocol == BOOT_PROTO_PVH;
	struct kvm_segment data = boot_segment(BOOT_SEL_DATA);

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		goto fail;
	sregs.cs = boot_segment(pvh ? BOOT_SEL_CODE32 : BOOT_SEL_CODE64);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = boot_segment(BOOT_SEL_TSS);
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = BOOT_GDT_ENTRIES * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	if (pvh) {
		/* PVH boot ABI: 32-bit protected mode, paging off, EBX = hvm_start_info. */
		sregs.cr4 = 0;
		sregs.efer = 0;
		regs.rbx = boot->boot_data;
	} else {
		/* Linux boot protocol, 64-bit: long mode, identity paging, RSI = zero page. */
		sregs.cr3 = BOOT_PML4_ADDR;
		sregs.cr4 = X86_CR4_PAE;
		sregs.cr0 |= X86_CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
		regs.rsi = boot->boot_data;
	}
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "flashpan: vCPU %d: setting boot registers: %s\n", v->index, strerror(errno));
	return -errno;
}

int vcpus_create(struct vm *vm, const struct boot_info *boot)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };
	int err;

	/* No SA_RESTART: the kick must make KVM_RUN return EINTR. */
	sigaction(SIG_VCPU_KICK, &sa, NULL);
	err = boot_write_gdt_and_pagetables(&vm->mem);
	if (err) {
		fprintf(stderr, "flashpan: guest memory too small for the boot page tables\n");
		return err;
	}
	vm->vcpus = calloc(vm->cfg.nr_cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (int i = 0; i < vm->cfg.nr_cpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->index = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
		if (v->fd < 0) {
			fprintf(stderr, "flashpan: KVM_CREATE_VCPU %d: %s\n", i, strerror(errno));
			return -errno;
		}
		vm->nr_vcpus++;
		v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			fprintf(stderr, "flashpan: mmap of vCPU %d run area: %s\n", i, strerror(errno));
			return -errno;
		}
		err = vcpu_set_cpuid(v);
		if (!err)
			err = vcpu_set_msrs(v);
		if (!err)
			err = vcpu_set_lapic_and_fpu(v);
		if (!err && i == 0)
			err = vcpu_set_boot_regs(v, boot);
		if (err)
			return err;
	}
	return 0;
}

static void vcpu_handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* String I/O (rep ins/outs) hands us `count` back-to-back elements. */
	for (uint32_t i = 0; i < run->io.count; i++) {
		bus_access(&v->vm->pio, run->io.port, data, run->io.size, is_write);
		data += run->io.size;
	}
}

static void vcpu_handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;

	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len, run->mmio.is_write);
}

static bool vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(v);
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; the guest halted for good. */
		vm_request_stop(v->vm, FP_EXIT_OK);
		return false;
	case KVM_EXIT_SHUTDOWN:
		fprintf(stderr, "flashpan: vCPU %d: guest triple fault (shutdown)\n", v->index);
		vm_request_stop(v->vm, FP_EXIT_TRIPLE_FAULT);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_CRASH) {
			vm_request_stop(v->vm, FP_EXIT_PANIC);
		} else {
			vm_request_stop(v->vm, atomic_load(&v->vm->guest_panicked) ? FP_EXIT_PANIC
										  : FP_EXIT_OK);
		}
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		return vcpu_handle_internal_error(v);
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		fprintf(stderr, "flashpan: vCPU %d: VM entry failed, reason 0x%llx\n", v->index,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vm_request_stop(v->vm, FP_EXIT_KVM);
		return false;
	default:
		fprintf(stderr, "flashpan: vCPU %d: unhandled KVM exit %u\n", v->index, run->exit_reason);
		vm_request_stop(v->vm, FP_EXIT_KVM);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%d", v->index);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (atomic_load(&vm->exit_status) < 0) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			fprintf(stderr, "flashpan: vCPU %d: KVM_RUN: %s\n", v->index, strerror(errno));
			vm_request_stop(vm, FP_EXIT_KVM);
			break;
		}
		v->nr_exits++;
		if (!vcpu_handle_exit(v))
			break;
	}
	return NULL;
}

int vcpus_start(struct vm *vm)
{
	sigset_t set, old;
	int err = 0;

	/* Threads start with the kick signal blocked and unblock it themselves. */
	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (int i = 0; i < vm->nr_vcpus; i++) {
		err = -pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (err) {
			fprintf(stderr, "flashpan: cannot start vCPU thread %d: %s\n", i, strerror(-err));
			break;
		}
		vm->vcpus[i].running = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

void vcpus_stop(struct vm *vm)
{
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->running)
			continue;
		/* immediate_exit covers a kick that lands just before KVM_RUN is entered. */
		v->run->immediate_exit = 1;
		pthread_kill(v->thread, SIG_VCPU_KICK);
	}
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->running)
			continue;
		/* A vCPU may be inside a long emulated instruction; kick until it leaves. */
		for (;;) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10 * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			if (pthread_timedjoin_np(v->thread, NULL, &ts) != ETIMEDOUT)
				break;
			pthread_kill(v->thread, SIG_VCPU_KICK);
		}
		v->running = false;
	}
}

void vcpus_destroy(struct vm *vm)
{
	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->run)
			munmap(v->run, vm->run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
}
