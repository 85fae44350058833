/* kvmcheck: proves /dev/kvm works in the nested test VM (static binary, no libraries).
 * Opens /dev/kvm, checks KVM_GET_API_VERSION, creates a VM and one vCPU, and runs a few
 * real-mode instructions in it:
 *     mov al, 0x42 ; out 0x10, al ; add al, 1 ; out 0x10, al ; hlt
 * Expects two KVM_EXIT_IO on port 0x10 with 0x42 and 0x43, then KVM_EXIT_HLT.
 * Prints "kvmcheck: OK ..." and exits 0, or prints what failed and exits 1. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
	printf("kvmcheck: FAIL: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		printf("kvmcheck: FAIL: KVM_GET_API_VERSION = %d, want %d\n", api, KVM_API_VERSION);
		return 1;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	printf("kvmcheck: API version %d, KVM_CREATE_VM ok\n", api);

	const uint8_t code[] = {
		0xb0, 0x42,       /* mov al, 0x42 */
		0xe6, 0x10,       /* out 0x10, al */
		0x04, 0x01,       /* add al, 1 */
		0xe6, 0x10,       /* out 0x10, al */
		0xf4,             /* hlt */
	};
	size_t memsz = 0x10000;
	uint8_t *mem = mmap(NULL, memsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap");
	memcpy(mem + 0x1000, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = memsz, .userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (runsz <= 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, runsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 0x2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	uint8_t seen[2];
	int nout = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 10; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return fail("KVM_RUN");
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != 0x10 || run->io.size != 1 ||
			    nout >= 2) {
				printf("kvmcheck: FAIL: unexpected I/O exit: port 0x%x dir %d size %d\n",
				       run->io.port, run->io.direction, run->io.size);
				return 1;
			}
			seen[nout++] = *((uint8_t *)run + run->io.data_offset);
			printf("kvmcheck: guest wrote 0x%02x to port 0x%x\n", seen[nout - 1], run->io.port);
			break;
		case KVM_EXIT_HLT:
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (nout != 2 || seen[0] != 0x42 || seen[1] != 0x43) {
				printf("kvmcheck: FAIL: hlt after %d port writes\n", nout);
				return 1;
			}
			printf("kvmcheck: OK: real-mode guest ran (out 0x42, out 0x43, hlt) in %.3f ms\n",
			       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
			return 0;
		default:
			printf("kvmcheck: FAIL: unexpected exit reason %u\n", run->exit_reason);
			if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
				printf("kvmcheck: internal error suberror %u\n", run->internal.suberror);
			if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
				printf("kvmcheck: hardware entry failure reason 0x%llx\n",
				       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return 1;
		}
	}
	printf("kvmcheck: FAIL: guest did not halt\n");
	return 1;
}
