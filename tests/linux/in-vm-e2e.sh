#!/bin/sh
# The end-to-end boots of tests/linux/e2e.sh, inside the nested test VM (busybox ash, cwd
# /payload: flashpan-static, vmlinux, e2e_client, responder and the images of `make rootfs`).
#
# Three boots in a row, each configured by ./e2e_client from a struct fp_vm_config: the
# command line is libflashpan's fp_vmm_boot_args(), the disks fp_config_disks() in guest
# order. flashpan runs with --vsock cid=3,uds=/tmp/e2e.sock (and, when the case has a
# network, --net fd=3 from ./responder, which answers ARP and ping for 192.168.100.1);
# `./e2e_client run CASE` waits for the agent's readiness (CONNECT 5002) and drives it,
# printing PASS/FAIL lines. Then flashpan gets SIGTERM and must exit 143 and remove its socket.
#   main     ext4 root, no network, unprivileged, extra.ext4 rw at /data (writes a token)
#   overlay  lower.erofs + lower2.erofs + upper.ext4, network, privileged, extra.ext4 rw
#            (reads the token back, writes it to /etc in the overlay, unmounts /data)
#   verify   upper.ext4 (rw) and extra.ext4 (ro) as extra disks: the overlay's write is in
#            the upper, the token still on the extra disk
# (A read-only ext4 mount needs a clean journal; a SIGTERM'd VMM leaves it dirty: see
# tests/e2e/e2e_client.c.)
# The images are used in place: /payload is this VM's RAM, a fresh copy every run.
# Consoles and VMM messages go to /out (brought back by run-in-vm.sh --out).
FP=./flashpan-static
C=./e2e_client
OUT=${OUT:-/out}
CASES=${CASES:-main overlay verify}
uds=/tmp/e2e.sock
mkdir -p "$OUT"
token=e2e-$(cat /proc/sys/kernel/random/uuid)

up() { cut -d' ' -f1 /proc/uptime; }
since() { awk "BEGIN { printf \"%.1f\", $(up) - $1 }"; }
# The flashpan process: the background job itself, or the responder's child.
vmm_pid() { # JOBPID NET
	[ "$2" = 1 ] || { echo "$1"; return; }
	for p in /proc/[0-9]*; do
		[ "$(cut -d' ' -f4 "$p/stat" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
	done
}

t_all=$(up)
for c in $CASES; do
	cmdline=$($C cmdline $c) disks=$($C disks $c) vcpus=$($C vcpus $c) net=$($C net $c)
	echo "e2e: boot $c: --cpus $vcpus $disks"
	echo "e2e: boot $c: --cmdline \"$cmdline\""
	start=$(up)
	if [ "$net" = 1 ]; then
		./responder --gw 192.168.100.1 --timeout 300 -- $FP run --kernel vmlinux --mem 256 --cpus "$vcpus" \
			--id e2e-$c --net fd=@FD@ --vsock cid=3,uds=$uds --console "$OUT/$c.console" \
			--cmdline "$cmdline" $disks </dev/null >"$OUT/$c.vmm.out" 2>"$OUT/$c.vmm.err" &
	else
		$FP run --kernel vmlinux --mem 256 --cpus "$vcpus" --id e2e-$c --vsock cid=3,uds=$uds \
			--console "$OUT/$c.console" --cmdline "$cmdline" $disks </dev/null >"$OUT/$c.vmm.out" \
			2>"$OUT/$c.vmm.err" &
	fi
	job=$!
	$C run $c $uds "$token" $job
	client_rc=$?
	checks=$(since "$start")
	vmm=$(vmm_pid $job $net)
	if [ -z "$vmm" ] || ! kill -0 "$vmm" 2>/dev/null; then
		wait $job
		echo "FAIL e2e-$c-vmm-stopped: flashpan had already ended (status $?) before the SIGTERM"
		tail -n 25 "$OUT/$c.console" "$OUT/$c.vmm.err"
		continue
	fi
	kill -TERM "$vmm"
	wait $job
	rc=$?
	if [ $rc = 143 ] && [ ! -e $uds ]; then
		echo "PASS e2e-$c-vmm-stopped (SIGTERM: flashpan exit 143, vsock socket removed; boot + checks ${checks} s)"
	else
		echo "FAIL e2e-$c-vmm-stopped: flashpan exit $rc (want 143), socket $([ -e $uds ] && echo left behind || echo removed)"
		tail -n 10 "$OUT/$c.vmm.err"
	fi
	if [ $client_rc != 0 ]; then
		echo "e2e: $c: console tail:"
		tail -n 25 "$OUT/$c.console"
	fi
	echo "e2e: boot $c: $(since "$start") s from flashpan start to its exit"
done
echo "e2e: all boots: $(since "$t_all") s of test-VM time"
exit 0
