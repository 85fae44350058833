#!/bin/sh
# Inside the nested test VM (tests/linux/api-e2e.sh; busybox ash, cwd /payload with
# flashpan-static, vmlinux, rootfs.ext4 and e2e_api):
#  1. tests/api/e2e_api.c: the Machine API with the real guest (PASS/FAIL lines).
#  2. The runtime's config file (Firecracker-style JSON, as tests/config-file.t.sh writes it)
#     boots the real guest with `flashpan --config-file`; then `flashpan exec/cp/ls --vsock`
#     serve it (the CLI verbs attach to the running VMM by its socket).
# Consoles go to /out (brought back by --out). Exits 0 when all passed.
MODE=${MODE:-checks}
mkdir -p /out
failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; failed=1; }
ms() { cut -d' ' -f1 /proc/uptime | awk '{ printf "%d", $1 * 1000 }'; }

# The api benchmark (bench/run.sh section_api): BENCH_ROUNDS machine lifecycles, one after the
# other, each with BENCH_EXECS sequential execs; "BENCH r<round> key value" lines.
if [ "$MODE" = bench ]; then
	r=0
	while [ $r -lt "${BENCH_ROUNDS:-3}" ]; do
		./e2e_api --vmm ./flashpan-static --kernel vmlinux --rootfs rootfs.ext4 --out /out \
			--bench "${BENCH_EXECS:-100}" >/tmp/bench.txt 2>&1 || failed=1
		sed "s/^BENCH /BENCH r$r /" /tmp/bench.txt
		r=$((r + 1))
	done
	exit $failed
fi

./e2e_api --vmm ./flashpan-static --kernel vmlinux --rootfs rootfs.ext4 --out /out || failed=1

# ---- 2. config file
cp rootfs.ext4 /tmp/cf-root.ext4
cat >/tmp/cf.json <<EOF
{
  "boot-source": {
    "kernel_image_path": "/payload/vmlinux",
    "boot_args": "console=ttyS0 reboot=k panic=1 acpi=off init=/init hostname=vm-cf matchlock.workspace=/workspace matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 matchlock.cpus=1"
  },
  "drives": [
    {
      "drive_id": "rootfs",
      "path_on_host": "/tmp/cf-root.ext4",
      "is_root_device": true,
      "is_read_only": false
    }
  ],
  "machine-config": {
    "vcpu_count": 1,
    "mem_size_mib": 256
  },
  "network-interfaces": [],
  "vsock": {
    "guest_cid": 3,
    "uds_path": "/tmp/cf.sock"
  }
}
EOF
t0=$(ms)
./flashpan-static --config-file /tmp/cf.json --api-sock /tmp/cf-api.sock </dev/null >/out/config-file.log 2>&1 &
vmm=$!
ready=
while [ $(($(ms) - t0)) -lt 90000 ] && kill -0 $vmm 2>/dev/null; do
	# The readiness port first (as the runtime does), then exec.
	if ./flashpan-static exec --vsock /tmp/cf.sock -- true >/dev/null 2>&1; then
		ready=$(($(ms) - t0))
		break
	fi
	sleep 0.1
done
if [ -n "$ready" ]; then
	echo "TIME config file: flashpan --config-file to the first successful flashpan exec: $ready ms"
	out=$(./flashpan-static exec --vsock /tmp/cf.sock -- 'hostname; cat /proc/cmdline' 2>&1)
	case $out in
	vm-cf*"matchlock.dns=8.8.8.8,8.8.4.4 ip=off matchlock.no_network=1 matchlock.cpus=1 root=/dev/vda rw virtio_mmio.device="*)
		pass "config-file-exec (hostname vm-cf; the guest's command line is boot_args + root=/dev/vda rw + devices)" ;;
	*) fail "config-file-exec: got '$out'" ;;
	esac
	./flashpan-static exec --vsock /tmp/cf.sock -- 'exit 9'
	rc=$?
	[ $rc = 9 ] && pass "cli-exec-exit-code (9 from the guest)" || fail "cli-exec-exit-code: $rc"
	out=$(echo piped | ./flashpan-static exec --vsock /tmp/cf.sock -i -- 'tr a-z A-Z' 2>&1)
	[ "$out" = PIPED ] && pass "cli-exec-stdin" || fail "cli-exec-stdin: '$out'"
	out=$(./flashpan-static exec --vsock /tmp/cf.sock -t -- 'tty' 2>&1 | tr -d '\r')
	case $out in /dev/pts/*) pass "cli-exec-tty ($out)" ;; *) fail "cli-exec-tty: '$out'" ;; esac
	./flashpan-static exec --vsock /tmp/cf.sock --timeout 1 -- 'sleep 30'
	rc=$?
	[ $rc = 124 ] && pass "cli-exec-timeout (124)" || fail "cli-exec-timeout: $rc"
	head -c 200000 /dev/urandom >/tmp/rand.bin
	if ./flashpan-static cp --vsock /tmp/cf.sock /tmp/rand.bin :/root/in/rand.bin &&
		./flashpan-static cp --vsock /tmp/cf.sock :/root/in/rand.bin /tmp/back.bin && cmp /tmp/rand.bin /tmp/back.bin; then
		pass "cli-cp-both-ways (200000 random bytes to the guest and back)"
	else
		fail "cli-cp-both-ways"
	fi
	out=$(./flashpan-static ls --vsock /tmp/cf.sock :/root/in 2>&1)
	[ "$out" = rand.bin ] && pass "cli-ls" || fail "cli-ls: '$out'"
	out=$(./flashpan-static exec --vsock /tmp/cf.sock -- 'md5sum < /root/in/rand.bin' | cut -d' ' -f1)
	[ "$out" = "$(md5sum </tmp/rand.bin | cut -d' ' -f1)" ] && pass "cli-cp-seen-by-exec" || fail "cli-cp-seen-by-exec: '$out'"
	./flashpan-static cp --vsock /tmp/cf.sock :/no/such /tmp/x 2>/tmp/cp.err
	rc=$?
	[ $rc = 1 ] && grep -q 'no such file' /tmp/cp.err && pass "cli-cp-missing (1: $(cat /tmp/cp.err))" ||
		fail "cli-cp-missing: $rc $(cat /tmp/cp.err)"
	# SIGTERM: the VMM tears the guest down, exits 128+15 and removes its socket.
	kill -TERM $vmm
	wait $vmm
	rc=$?
	[ $rc = 143 ] && [ ! -e /tmp/cf.sock ] && pass "config-file-vm-sigterm (VMM exit 143, socket removed)" ||
		fail "config-file-vm-sigterm: VMM exit $rc, socket $(ls /tmp/cf.sock 2>&1)"
else
	fail "config-file-boot: no successful exec within 90 s; console tail: $(tail -n 15 /out/config-file.log | tr '\n' '|')"
	kill -9 $vmm 2>/dev/null
fi
exit $failed
