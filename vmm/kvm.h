/* SPDX-License-Identifier: MIT */
/*
 * The virtual machine: /dev/kvm, the VM file descriptor, guest memory, the
 * in-kernel interrupt controllers and PIT, the I/O buses, the vCPUs and the
 * event loop. One struct vm owns everything and is passed explicitly.
 */
#ifndef FLASHPAN_KVM_H
#define FLASHPAN_KVM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/cpu_profile.h"
#include "vmm/loop.h"
#include "vmm/mem.h"

#define VM_MAX_VCPUS 64

struct vcpu;
struct kvm_cpuid2;
struct virtio_dev;

#define VM_MAX_VIRTIO_DEVS 19 /* one GSI each, 5..23 */

struct vm_config {
	uint64_t mem_size;       /* bytes */
	int nr_cpus;
	bool hugepages;
	enum cpu_profile profile; /* resolved (never AUTO) */
};

struct vm {
	int kvm_fd;
	int vm_fd;
	int run_size;            /* mmap size of struct kvm_run */
	struct vm_config cfg;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct kvm_cpuid2 *supported_cpuid;
	struct vcpu *vcpus;
	int nr_vcpus;
	struct loop loop;        /* run by the main thread */
	int stop_fd;             /* eventfd: written when the VM must stop */
	atomic_int exit_status;  /* -1 while running; first writer wins */
	atomic_bool guest_panicked;
	uint64_t t0_ns;          /* CLOCK_MONOTONIC at VMM start */
	bool boot_timer_print;
	struct virtio_dev *virtio_devs[VM_MAX_VIRTIO_DEVS]; /* in the order they were added */
	int nr_virtio_devs;
};

/*
 * Open /dev/kvm, check the API version and capabilities, create the VM with
 * its memory, irqchip, PIT and TSS. Errors are printed once with context and
 * returned as -errno.
 */
int vm_create(struct vm *vm, const struct vm_config *cfg);
void vm_destroy(struct vm *vm);

/* Ask the VM to stop with `status` (vmm/exitcode.h); safe from any thread. */
void vm_request_stop(struct vm *vm, int status);
/* Assert and deassert an ISA interrupt line on the in-kernel PIC/IOAPIC. */
void vm_irq_pulse(struct vm *vm, uint32_t irq);
/* Nanoseconds of CLOCK_MONOTONIC. */
uint64_t now_ns(void);

#endif
