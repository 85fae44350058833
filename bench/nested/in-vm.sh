#!/bin/sh
# shellcheck shell=dash
# SPDX-License-Identifier: MIT
# The nested section of `make bench`, inside the nested test VM (tests/vm/run-in-vm.sh; busybox
# ash, no bash). bench/run.sh puts everything into /payload/nested and reads /out back.
#
#   sh ./in-vm.sh RUNS BUDGET_S SMP2_ROUNDS
#
# /payload/nested: flashpan-static, spawn_timer (static), vmlinux, initrd.cpio (uncompressed; its
# /init is bench/nested/bootinit.c), qemu/bin/qemu-system-x86_64 + qemu/lib (every shared library,
# the dynamic loader included) + qemu/share/qemu (qboot).
#
# 1. One probe boot per VMM with the full console (no "quiet") into /out/probe-NAME.log: a warm-up,
#    and the evidence if a VMM does not reach /init. A VMM whose probe fails is left out.
# 2. Up to RUNS rounds, 1 vCPU, 256 MiB; each round runs flashpan and QEMU once, in alternating
#    order; stops early when BUDGET_S seconds of VM time have gone into the rounds.
# 3. SMP2_ROUNDS rounds of the same with 2 vCPUs, if the budget allows.
# spawn_timer lines go to /out/nested.tsv and to the console ("nested-run: LINE"), its complaints
# to /out/errors.log; key=value lines for the report to /out/meta and the console ("nested-meta: ").
# A run that does not end (spawn_timer kills the VMM after PER_RUN_T s) stops the measurements
# with a report of the stuck processes (meta stuck=LABEL); the console copy of the results is what
# bench/run.sh uses when the VM itself never finishes.
set -u
P=/payload/nested
O=/out
RUNS=${1:-20} BUDGET=${2:-240} SMP2_ROUNDS=${3:-2}
PER_RUN_T=30 PROBE_T=90
CL="console=ttyS0 reboot=k panic=1 quiet"
CL_PROBE="console=ttyS0 reboot=k panic=1"
MARKER="flashpan-bench: /init reached"
QEMU=$P/qemu/bin/qemu-system-x86_64

mkdir -p "$O" /lib64
# Debian's QEMU wants its loader at the path compiled into it; the libraries come via LD_LIBRARY_PATH.
[ -e /lib64/ld-linux-x86-64.so.2 ] || ln -s "$P/qemu/lib/ld-linux-x86-64.so.2" /lib64/ld-linux-x86-64.so.2
export LD_LIBRARY_PATH=$P/qemu/lib
: >"$O/nested.tsv"
: >"$O/errors.log"

up() { cut -d. -f1 /proc/uptime; }
meta() { echo "$1=$2" >>"$O/meta"; echo "nested-meta: $1=$2"; }
: >"$O/meta"
meta vm_kernel "$(uname -r)"
meta vm_cpus "$(nproc)"
meta qemu_version "$("$QEMU" -version 2>&1 | head -n1)"

# fp CPUS CMDLINE / qemu CPUS CMDLINE: exec the VMM (call them in a subshell). flashpan: console on
# stdout, boot timer line on stderr.
# shellcheck disable=SC2317 # called by name through probe
fp() {
	exec "$P/flashpan-static" run --kernel "$P/vmlinux" --initrd "$P/initrd.cpio" --mem 256 --cpus "$1" \
		--cmdline "$2" --console stdout --boot-timer
}
# QEMU microvm as lean as it boots this kernel (the host section's options; -cpu host here is the
# outer VM's CPU, as flashpan's KVM_GET_SUPPORTED_CPUID gives). isa-debugcon at 0x440 writes the
# guest's boot-timer byte to stderr (/proc/self/fd/2: devtmpfs has no /dev/stderr, and the chardev
# would silently create a plain file there).
# shellcheck disable=SC2317 # called by name through probe
qemu() {
	exec "$QEMU" -L "$P/qemu/share/qemu" \
		-M microvm,x-option-roms=off,pit=off,pic=off,rtc=off,acpi=off,ioapic2=off \
		-accel kvm -cpu host -m 256 -smp "$1" -nodefaults -no-user-config -display none -no-reboot \
		-serial stdio -device i8042 \
		-chardev file,id=bt,path=/proc/self/fd/2 -device isa-debugcon,iobase=0x440,chardev=bt \
		-kernel "$P/vmlinux" -initrd "$P/initrd.cpio" -append "$2"
}

# probe NAME: one boot with the full console, killed after PROBE_T s; true if /init was reached.
probe() {
	t0=$(cut -d' ' -f1 /proc/uptime)
	("$1" 1 "$CL_PROBE") </dev/null >"$O/probe-$1.log" 2>"$O/probe-$1.err" &
	pid=$!
	(sleep "$PROBE_T"; kill -9 "$pid") 2>/dev/null &
	dog=$!
	wait "$pid"
	rc=$?
	kill "$dog" 2>/dev/null
	t1=$(cut -d' ' -f1 /proc/uptime)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	if grep -q "$MARKER" "$O/probe-$1.log"; then r=ok; else r=fail; fi
	meta "probe_$1" "$r, exit status $rc, ${secs} s, $(wc -c <"$O/probe-$1.err") bytes on stderr"
	echo "nested: probe $1: $r (exit status $rc, $secs s)"
	[ $r = ok ]
}

HAVE_FP=0 HAVE_Q=0
probe fp && HAVE_FP=1
probe qemu && HAVE_Q=1

# spawn_timer must exec the VMM itself (no shell in between, whose start-up would be timed).
# spawn_fp / spawn_q LABEL CPUS: one timed run, its line on stdout (called through timed).
# shellcheck disable=SC2317
spawn_fp() {
	exec "$P/spawn_timer" -l "$1" -T "$PER_RUN_T" -t FLASHPAN_T0_NS -- \
		"$P/flashpan-static" run --kernel "$P/vmlinux" --initrd "$P/initrd.cpio" --mem 256 --cpus "$2" \
		--cmdline "$CL" --console stdout --boot-timer
}
# shellcheck disable=SC2317
spawn_q() {
	exec "$P/spawn_timer" -l "$1" -T "$PER_RUN_T" -- "$QEMU" -L "$P/qemu/share/qemu" \
		-M microvm,x-option-roms=off,pit=off,pic=off,rtc=off,acpi=off,ioapic2=off \
		-accel kvm -cpu host -m 256 -smp "$2" -nodefaults -no-user-config -display none -no-reboot \
		-serial stdio -device i8042 \
		-chardev file,id=bt,path=/proc/self/fd/2 -device isa-debugcon,iobase=0x440,chardev=bt \
		-kernel "$P/vmlinux" -initrd "$P/initrd.cpio" -append "$CL"
}
# timed FUNC LABEL CPUS: run it under a watchdog. spawn_timer kills a VMM after PER_RUN_T s; if
# spawn_timer itself has not returned STUCK_T s later (the VMM unkillable, e.g. stuck in the
# outer VM's KVM), report what the processes are doing and stop the measurements (STUCK=1).
# Every result line also goes to the console ("nested-run: "), so that a VM that never finishes
# still leaves its results in bench/run.sh's hands.
STUCK=0
trap 'STUCK=1' USR1
timed() {
	[ $STUCK = 0 ] || return 0
	echo "nested-start: $2" >/dev/console
	("$1" "$2" "$3") </dev/null >"$O/last.tsv" 2>>"$O/errors.log" &
	pid=$!
	(sleep "$STUCK_T"; kill -USR1 $$) 2>/dev/null &
	dog=$!
	wait "$pid"
	if [ $STUCK = 1 ]; then
		meta stuck "$2"
		echo "nested: run $2 did not end within $STUCK_T s (spawn_timer's limit: $PER_RUN_T s); processes:"
		for d in /proc/[0-9]*; do
			st=$(sed -n 's/^State:\t//p' "$d/status" 2>/dev/null)
			case $st in D*|R*) ;; *) continue ;; esac
			echo "  ${d#/proc/} $(cat "$d/comm" 2>/dev/null) $st wchan=$(cat "$d/wchan" 2>/dev/null)"
			sed 's/^/    /' "$d/stack" 2>/dev/null | head -n 12
		done
		return 0
	fi
	kill "$dog" 2>/dev/null
	cat "$O/last.tsv" >>"$O/nested.tsv"
	sed 's/^/nested-run: /' "$O/last.tsv"
}
STUCK_T=$((PER_RUN_T + 30))
# round I SUFFIX CPUS: both VMMs once, flashpan first in odd rounds, QEMU first in even ones.
round() {
	if [ $(($1 % 2)) = 1 ]; then
		[ $HAVE_FP = 1 ] && timed spawn_fp "fp$2" "$3"
		[ $HAVE_Q = 1 ] && timed spawn_q "q$2" "$3"
	else
		[ $HAVE_Q = 1 ] && timed spawn_q "q$2" "$3"
		[ $HAVE_FP = 1 ] && timed spawn_fp "fp$2" "$3"
	fi
	return 0
}

start=$(up)
i=0
while [ $STUCK = 0 ] && [ $i -lt "$RUNS" ] && [ $(($(up) - start)) -lt "$BUDGET" ]; do
	i=$((i + 1))
	round $i "" 1
done
meta rounds "$i"
meta rounds_secs "$(($(up) - start))"
echo "nested: $i rounds (1 vCPU) in $(($(up) - start)) s"
j=0
while [ $STUCK = 0 ] && [ $j -lt "$SMP2_ROUNDS" ] && [ $(($(up) - start)) -lt "$BUDGET" ]; do
	j=$((j + 1))
	round $j _2cpu 2
done
meta rounds_2cpu "$j"
meta total_secs "$(($(up) - start))"
echo "nested: $j rounds (2 vCPUs); $(wc -l <"$O/nested.tsv") timed runs, $(grep -c 'spawn_timer:' "$O/errors.log") failed"
exit 0
