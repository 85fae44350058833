// SPDX-License-Identifier: MIT
/*
 * Completing instructions KVM could not emulate.
 *
 * On an emulating KVM host (kvm_pvm, see PLATFORM.md) guest code at CPL0 runs
 * in KVM's instruction emulator, which lacks a few instructions a Linux boot
 * executes. Two are completed here the way the hardware would have:
 *   int3 (CC)            advance RIP by one and inject #BP, as a trap
 *   vmcall (0F 01 C1),
 *   vmmcall (0F 01 D9)   no hypercall is implemented: RAX = -KVM_ENOSYS, RIP += 3
 * Anything else is fatal: the registers and instruction bytes are printed and
 * the VMM exits with FP_EXIT_KVM.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/exitcode.h"
#include "vmm/vcpu.h"

#define KVM_ENOSYS 1000

/* Fetch up to 15 instruction bytes at CS:RIP; returns how many were read. */
static int vcpu_fetch_insn(struct vcpu *v, const struct kvm_regs *regs, const struct kvm_sregs *sregs,
			   uint8_t *buf)
{
	struct kvm_run *run = v->run;
	struct kvm_translation tr = { .linear_address = sregs->cs.base + regs->rip };
	uint64_t in_page;
	uint8_t *p;

	if (run->emulation_failure.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) &&
	    run->emulation_failure.insn_size > 0) {
		int n = run->emulation_failure.insn_size;

		if (n > 15)
			n = 15;
		memcpy(buf, run->emulation_failure.insn_bytes, n);
		return n;
	}
	if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
		return 0;
	in_page = 4096 - (tr.physical_address & 4095);
	if (in_page > 15)
		in_page = 15;
	p = guest_mem_ptr(&v->vm->mem, tr.physical_address, in_page);
	if (!p)
		return 0;
	memcpy(buf, p, in_page);
	return (int)in_page;
}

static void vcpu_dump(struct vcpu *v, const struct kvm_regs *r, const struct kvm_sregs *s,
		      const uint8_t *insn, int n)
{
	fprintf(stderr,
		"flashpan: vCPU %d registers:\n"
		"  rip %016llx rsp %016llx rflags %08llx\n"
		"  rax %016llx rbx %016llx rcx %016llx rdx %016llx\n"
		"  rsi %016llx rdi %016llx rbp %016llx\n"
		"  r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n"
		"  r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n"
		"  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %llx\n"
		"  cs %04x base %llx l %d db %d dpl %d  ss %04x dpl %d\n"
		"  instruction bytes:",
		v->index, r->rip, r->rsp, r->rflags, r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi,
		r->rbp, r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, s->cr0, s->cr2,
		s->cr3, s->cr4, s->efer, s->cs.selector, s->cs.base, s->cs.l, s->cs.db, s->cs.dpl,
		s->ss.selector, s->ss.dpl);
	for (int i = 0; i < n; i++)
		fprintf(stderr, " %02x", insn[i]);
	fprintf(stderr, n ? "\n" : " (unreadable)\n");
}

static bool vcpu_inject_breakpoint(struct vcpu *v)
{
	struct kvm_vcpu_events ev;

	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return false;
	ev.exception.injected = 1;
	ev.exception.nr = 3; /* #BP */
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	ev.flags = 0;
	return ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) == 0;
}

bool vcpu_handle_internal_error(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint8_t insn[15];
	int n = 0;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		fprintf(stderr, "flashpan: vCPU %d: KVM internal error %u; registers unreadable: %s\n",
			v->index, run->internal.suberror, strerror(errno));
		vm_request_stop(v->vm, FP_EXIT_KVM);
		return false;
	}
	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		n = vcpu_fetch_insn(v, &regs, &sregs, insn);
		if (n >= 1 && insn[0] == 0xcc) {
			regs.rip += 1;
			if (ioctl(v->fd, KVM_SET_REGS, &regs) == 0 && vcpu_inject_breakpoint(v))
				return true;
		} else if (n >= 3 && insn[0] == 0x0f && insn[1] == 0x01 &&
			   (insn[2] == 0xc1 || insn[2] == 0xd9)) {
			regs.rax = (uint64_t)-KVM_ENOSYS;
			regs.rip += 3;
			if (ioctl(v->fd, KVM_SET_REGS, &regs) == 0)
				return true;
		}
		fprintf(stderr, "flashpan: vCPU %d: KVM could not emulate an instruction\n", v->index);
	} else {
		fprintf(stderr, "flashpan: vCPU %d: KVM internal error, suberror %u\n", v->index,
			run->internal.suberror);
		n = vcpu_fetch_insn(v, &regs, &sregs, insn);
	}
	vcpu_dump(v, &regs, &sregs, insn, n);
	vm_request_stop(v->vm, FP_EXIT_KVM);
	return false;
}
