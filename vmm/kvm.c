// SPDX-License-Identifier: MIT
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "vmm/exitcode.h"

/* The identity-map page and the TSS take 4 pages just below the IOAPIC/BIOS area. */
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ULL
#define KVM_TSS_ADDR          0xfeffd000ULL

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_HLT, "KVM_CAP_HLT" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
};

static int vm_check_kvm(struct vm *vm)
{
	int v = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);

	if (v != KVM_API_VERSION) {
		fprintf(stderr, "flashpan: /dev/kvm API version %d, need %d\n", v, KVM_API_VERSION);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			fprintf(stderr, "flashpan: KVM lacks capability %s\n", required_caps[i].name);
			return -ENOTSUP;
		}
	}
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max <= 0)
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max > 0 && vm->cfg.nr_cpus > max) {
		fprintf(stderr, "flashpan: %d vCPUs requested, KVM allows %d\n", vm->cfg.nr_cpus, max);
		return -EINVAL;
	}
	return 0;
}

static int vm_get_supported_cpuid(struct vm *vm)
{
	for (int nent = 128; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			vm->supported_cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG) {
			perror("flashpan: KVM_GET_SUPPORTED_CPUID");
			return -errno;
		}
	}
	return -E2BIG;
}

static int vm_setup_memory(struct vm *vm)
{
	int err = guest_mem_init(&vm->mem, vm->cfg.mem_size, vm->cfg.hugepages);

	if (err) {
		if (vm->cfg.hugepages)
			fprintf(stderr, "flashpan: (huge pages: see /proc/sys/vm/nr_hugepages)\n");
		fprintf(stderr, "flashpan: cannot map %llu MiB of guest memory%s: %s\n",
			(unsigned long long)(vm->cfg.mem_size >> 20),
			vm->cfg.hugepages ? " with huge pages" : "", strerror(-err));
		return err;
	}
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.guest_phys_addr = vm->mem.region[i].gpa,
			.memory_size = vm->mem.region[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)vm->mem.region[i].hva,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
			perror("flashpan: KVM_SET_USER_MEMORY_REGION");
			return -errno;
		}
	}
	return 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity = KVM_IDENTITY_MAP_ADDR;
	int err;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->stop_fd = -1;
	vm->loop.epfd = -1;
	vm->cfg = *cfg;
	atomic_init(&vm->exit_status, -1);

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		err = -errno;
		fprintf(stderr, "flashpan: cannot open /dev/kvm: %s\n", strerror(errno));
		return err;
	}
	err = vm_check_kvm(vm);
	if (err)
		return err;
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0) {
		perror("flashpan: KVM_GET_VCPU_MMAP_SIZE");
		return -EINVAL;
	}
	err = vm_get_supported_cpuid(vm);
	if (err)
		return err;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		err = -errno;
		perror("flashpan: KVM_CREATE_VM");
		return err;
	}
	/*
	 * Memory first: measured on an emulating (kvm_pvm) host, the memory slot
	 * set after the irqchip and PIT sleeps 6-7 ms, set here ~0.2 ms
	 * (bench/kvm_steps.c -o mem-first).
	 */
	err = vm_setup_memory(vm);
	if (err)
		return err;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0) {
		err = -errno;
		perror("flashpan: KVM_SET_TSS_ADDR");
		return err;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		err = -errno;
		perror("flashpan: KVM_CREATE_IRQCHIP");
		return err;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		err = -errno;
		perror("flashpan: KVM_CREATE_PIT2");
		return err;
	}
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0)
		return -errno;
	return loop_init(&vm->loop);
}

void vm_request_stop(struct vm *vm, int status)
{
	int expected = -1;
	uint64_t one = 1;

	if (atomic_compare_exchange_strong(&vm->exit_status, &expected, status)) {
		if (write(vm->stop_fd, &one, sizeof(one)) < 0) {
			/* The counter cannot overflow with one write; nothing to do. */
		}
	}
}

void vm_irq_pulse(struct vm *vm, uint32_t irq)
{
	struct kvm_irq_level l = { .irq = irq, .level = 1 };

	ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
	l.level = 0;
	ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

void vm_destroy(struct vm *vm)
{
	loop_free(&vm->loop);
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
	free(vm->supported_cpuid);
	vm->supported_cpuid = NULL;
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->stop_fd = vm->vm_fd = vm->kvm_fd = -1;
	guest_mem_free(&vm->mem);
}
