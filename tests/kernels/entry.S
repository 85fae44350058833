/* SPDX-License-Identifier: MIT */
/*
 * Entry points shared by every test kernel.
 *
 *  linux_entry64 (ELF e_entry): Linux 64-bit boot protocol. Long mode, paging
 *    on with the loader's identity map, RSI = zero page (struct boot_params).
 *  pvh_entry32 (XEN_ELFNOTE_PHYS32_ENTRY): PVH. 32-bit protected mode, paging
 *    off, EBX = struct hvm_start_info. Builds its own page tables in .bss
 *    (identity, 4 GiB of 2 MiB pages), enables PAE + long mode and jumps to
 *    64-bit code.
 *
 * Both load our own GDT (same selectors as the Linux boot GDT: 0x10 code64,
 * 0x18 data) and call kmain_common(protocol, boot_data). The very first
 * action of each is the boot-timer write (benchmarks time it).
 *
 * The IDT stubs are 16 bytes apart so C can compute a stub's address from its
 * vector; each pushes a zero error code where the CPU pushes none, then the
 * vector, and jumps to isr_common, which builds a struct trap_frame.
 */
#define BOOT_TIMER_PORT  0x440
#define BOOT_TIMER_MAGIC 123
#define SEL_CODE32 0x08
#define SEL_CODE64 0x10
#define SEL_DATA   0x18
#define MSR_EFER   0xc0000080
#define EFER_LME   0x100
#define CR0_PE     0x1
#define CR0_PG     0x80000000
#define CR4_PAE    0x20

	.section .text.entry, "ax"

	.code64
	.globl linux_entry64
linux_entry64:
	cli
	mov	$BOOT_TIMER_PORT, %dx
	mov	$BOOT_TIMER_MAGIC, %al
	out	%al, %dx
	mov	%rsi, %r12
	lea	boot_stack_top(%rip), %rsp
	lgdt	gdt_desc(%rip)
	pushq	$SEL_CODE64
	lea	1f(%rip), %rax
	pushq	%rax
	lretq
1:	mov	$SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	xor	%edi, %edi		/* BOOT_LINUX */
	mov	%r12, %rsi
	call	kmain_common
	jmp	halt_forever

	.code32
	.globl pvh_entry32
pvh_entry32:
	cli
	mov	$BOOT_TIMER_PORT, %dx
	mov	$BOOT_TIMER_MAGIC, %al
	out	%al, %dx
	mov	%ebx, %esi		/* hvm_start_info, kept in esi */
	lgdt	gdt_desc
	ljmp	$SEL_CODE32, $1f
1:	mov	$SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	$boot_stack_top, %esp

	/* PD: 2048 entries of 2 MiB (PS | RW | P) covering 4 GiB. */
	mov	$pvh_pd, %edi
	mov	$0x83, %eax
	mov	$2048, %ecx
2:	mov	%eax, (%edi)
	movl	$0, 4(%edi)
	add	$0x200000, %eax
	add	$8, %edi
	dec	%ecx
	jnz	2b
	/* PDPT: four entries, one per PD page. */
	mov	$pvh_pdpt, %edi
	mov	$(pvh_pd + 3), %eax
	mov	$4, %ecx
3:	mov	%eax, (%edi)
	movl	$0, 4(%edi)
	add	$4096, %eax
	add	$8, %edi
	dec	%ecx
	jnz	3b
	movl	$(pvh_pdpt + 3), pvh_pml4
	movl	$0, pvh_pml4 + 4

	mov	$pvh_pml4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	or	$(CR0_PG | CR0_PE), %eax
	mov	%eax, %cr0
	ljmp	$SEL_CODE64, $pvh_entry64

	.code64
pvh_entry64:
	mov	$SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	lea	boot_stack_top(%rip), %rsp
	mov	$1, %edi		/* BOOT_PVH */
	mov	%esi, %esi		/* zero-extend the start_info address */
	call	kmain_common

	.globl halt_forever
halt_forever:
	cli
	hlt
	jmp	halt_forever

/* ---- interrupt and exception stubs ---- */
	.text
	.p2align 4
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.p2align 4
	.if !(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30)
	pushq	$0
	.endif
	pushq	$vec
	jmp	isr_common
	.set vec, vec + 1
	.endr

isr_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	cld
	call	trap_dispatch
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp
	iretq

/* ---- GDT: null, 0x08 code32, 0x10 code64, 0x18 data (accessed bits preset) ---- */
	.data
	.p2align 4
	.globl gdt
gdt:
	.quad	0
	.quad	0x00cf9b000000ffff
	.quad	0x00af9b000000ffff
	.quad	0x00cf93000000ffff
gdt_end:
	.p2align 3
	.globl gdt_desc
	/* In 32-bit mode lgdt reads limit + the low 4 bytes of the base. */
gdt_desc:
	.word	gdt_end - gdt - 1
	.quad	gdt

/* ---- PVH note (Xen ELF note type 18), laid out like Linux's (.quad desc) ---- */
	.section .note.Xen, "a", @note
	.p2align 2
	.long	4			/* namesz */
	.long	8			/* descsz */
	.long	18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.p2align 2
	.quad	pvh_entry32

	.bss
	.p2align 12
pvh_pml4:	.skip 4096
pvh_pdpt:	.skip 4096
pvh_pd:		.skip 4 * 4096
	.p2align 4
	.skip 16384
	.globl boot_stack_top
boot_stack_top:
