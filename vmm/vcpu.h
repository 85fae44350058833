/* SPDX-License-Identifier: MIT */
/*
 * vCPUs: one thread each running KVM_RUN. PIO and MMIO exits are dispatched
 * synchronously through the VM's buses; everything else that ends a run
 * (reset, triple fault, emulation failure) asks the VM to stop.
 */
#ifndef FLASHPAN_VCPU_H
#define FLASHPAN_VCPU_H

#include <pthread.h>
#include <stdbool.h>

#include "boot/boot.h"
#include "vmm/kvm.h"

struct kvm_run;

struct vcpu {
	struct vm *vm;
	int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool running;
	unsigned long nr_exits;
};

/*
 * Create vm->cfg.nr_cpus vCPUs with filtered CPUID, MSRs, FPU and LAPIC
 * LINT0/LINT1; the boot vCPU gets the registers to enter the kernel as
 * `boot` says. Application processors wait for INIT/SIPI in the in-kernel
 * LAPIC. Errors are printed and returned as -errno.
 */
int vcpus_create(struct vm *vm, const struct boot_info *boot);
/* Start one thread per vCPU. */
int vcpus_start(struct vm *vm);
/* Kick every vCPU out of KVM_RUN and join the threads. */
void vcpus_stop(struct vm *vm);
void vcpus_destroy(struct vm *vm);

/* Handle a KVM_EXIT_INTERNAL_ERROR; true when the vCPU may continue. */
bool vcpu_handle_internal_error(struct vcpu *v);

#endif
