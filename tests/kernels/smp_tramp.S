/* SPDX-License-Identifier: MIT */
/*
 * AP start-up trampoline. The BSP copies smp_tramp_start..smp_tramp_end to
 * TRAMP_BASE (0x10000; SIPI vector 0x10 starts the AP at 1000:0000 in real
 * mode), fills the data slots at the end and sends INIT-SIPI-SIPI. Each AP:
 * 16-bit -> lgdt (the kernel's GDT) -> 32-bit protected mode -> CR3 = the
 * BSP's page tables, PAE, EFER.LME, paging -> 64-bit, takes a stack index
 * with lock xadd and calls the C entry in the slot. Position-dependent: every
 * address is computed for the copy at TRAMP_BASE.
 */
#define TRAMP_BASE 0x10000
#define T(sym) (TRAMP_BASE + (sym) - smp_tramp_start)

	.section .rodata
	.globl smp_tramp_start, smp_tramp_end, smp_tramp_data
	.code16
smp_tramp_start:
	cli
	mov	%cs, %ax
	mov	%ax, %ds
	lgdtl	tramp_gdtr - smp_tramp_start
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$0x08, $T(tramp32)

	.code32
tramp32:
	mov	$0x18, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	T(tramp_cr3), %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$0x20, %eax		/* PAE */
	mov	%eax, %cr4
	mov	$0xc0000080, %ecx	/* EFER */
	rdmsr
	or	$0x100, %eax		/* LME */
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax	/* PG | PE */
	mov	%eax, %cr0
	ljmp	$0x10, $T(tramp64)

	.code64
tramp64:
	mov	$1, %eax
	lock xadd %eax, T(tramp_next)	/* 0, 1, 2...: this AP's stack slot */
	inc	%eax
	shl	$13, %rax		/* 8 KiB stacks; the slot's top */
	add	T(tramp_stacks), %rax
	mov	%rax, %rsp
	mov	T(tramp_entry), %rax
	call	*%rax
1:	cli
	hlt
	jmp	1b

	.p2align 3
tramp_gdtr:
	.word	31
	.long	gdt
	.p2align 3
smp_tramp_data:			/* struct smp_tramp_data in smp.c */
tramp_cr3:	.quad 0
tramp_stacks:	.quad 0
tramp_entry:	.quad 0
tramp_next:	.long 0
		.long 0
smp_tramp_end:
