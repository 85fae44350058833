#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# flashpan benchmarks, side by side with QEMU microvm. `make bench` runs this.
#
#   bench/run.sh [SECTION...]     sections: host (default)
#
# Each section prints a markdown table to stdout and writes it to build/bench/SECTION.md.
# Environment: BENCH_RUNS (runs per variant, default 25, at least 20 for the report),
# FLASHPAN (default build/flashpan), QEMU (default qemu-system-x86_64), BENCH_OUT (build/bench).
#
# Method (host section): bench/spawn_timer.c forks and execs the VMM once per run, variants
# interleaved round-robin (rotated every round) so that host noise hits all of them alike;
# only medians of the same invocation are compared. See bench/spawn_timer.c for what is timed.
# The VAR_* arrays are read through a nameref in run_rounds.
# shellcheck disable=SC2034
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-25}
FLASHPAN=${FLASHPAN:-build/flashpan}
QEMU=${QEMU:-qemu-system-x86_64}
OUT=${BENCH_OUT:-build/bench}
SPAWN=$OUT/spawn_timer
KERNELS=build/kernels

mkdir -p "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/flashpan-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$FLASHPAN" ] || die "$FLASHPAN missing (run make)"
[ -x "$SPAWN" ] || die "$SPAWN missing (run make bench)"
[ -r /dev/kvm ] || die "/dev/kvm is not usable"
HAVE_QEMU=1
command -v "$QEMU" >/dev/null 2>&1 || { HAVE_QEMU=0; echo "bench: $QEMU not found; QEMU columns will be n/a" >&2; }

# ---- helpers --------------------------------------------------------------------------------
# Columns of spawn_timer's output lines.
C_OUT=3 C_ERR=4 C_EXIT=5 C_RSS=6 C_GUEST=7 C_BT=8 C_STATUS=9

# median FILE LABEL EXPR: median over successful runs of LABEL of the awk expression EXPR
# (in $N columns), ignoring runs where a referenced value is -1. Prints "" if none.
median() {
	awk -F'\t' -v l="$2" '$1 == l && $'$C_STATUS' == 0 { v = '"$3"'; if (v >= 0) print v }' "$1" |
		sort -g | awk '{ a[NR] = $1 } END {
			if (NR == 0) exit
			if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
count_ok() { awk -F'\t' -v l="$2" '$1 == l && $'$C_STATUS' == 0' "$1" | wc -l; }
count_all() { awk -F'\t' -v l="$2" '$1 == l' "$1" | wc -l; }

# fmt_ms US / fmt_mib KIB: "" stays "n/a".
fmt_ms() { [ -n "$1" ] && awk -v v="$1" 'BEGIN { printf "%.3f ms", v / 1000 }' || echo "n/a"; }
fmt_mib() { [ -n "$1" ] && awk -v v="$1" 'BEGIN { printf "%.2f MiB", v / 1024 }' || echo "n/a"; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }' || echo "n/a"; }
# le A B: A <= B (numbers); empty A is false.
le() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# run_rounds FILE NAME...: RUNS rounds; each round runs every variant NAME once, the order
# rotated by one per round. A variant is a bash array VAR_<NAME> holding spawn_timer options
# then -- and the command.
run_rounds() {
	local file=$1; shift
	local names=("$@") n=$# i j k
	for ((i = 0; i < RUNS; i++)); do
		for ((j = 0; j < n; j++)); do
			k=$(( (i + j) % n ))
			local -n v="VAR_${names[k]}"
			"$SPAWN" -l "${names[k]}" "${v[@]}" >>"$file" || true
			unset -n v
		done
	done
}

# ---- section: host ------------------------------------------------------------------------------
# QEMU microvm, as lean as it boots these kernels: no option ROMs, PIT, PIC, RTC, ACPI or second
# IOAPIC; qboot (the default firmware) loads the PVH kernel. "-cpu host" alone aborts on this
# kvm_pvm host (KVM refuses MSR 0x10a, IA32_ARCH_CAPABILITIES), hence -arch-capabilities.
# The i8042 makes QEMU reset the way flashpan does (the test kernels' reset() writes 0xfe to port
# 0x64; without an i8042 they spin and triple-fault). isa-debugcon at 0x440 writes the guest's
# boot-timer byte to stderr, which the harness timestamps like flashpan's --boot-timer line.
qemu_cmd() { # KERNEL MEM_MIB
	echo "$QEMU" -M microvm,x-option-roms=off,pit=off,pic=off,rtc=off,acpi=off,ioapic2=off \
		-accel kvm -cpu host,-arch-capabilities -m "$2" -smp 1 -nodefaults -no-user-config \
		-display none -no-reboot -serial stdio -device i8042 \
		-chardev file,id=bt,path=/dev/stderr -device isa-debugcon,iobase=0x440,chardev=bt \
		-kernel "$1"
}

section_host() {
	local f=$TMP/host.tsv md=$OUT/host.md
	: >"$f"
	local hello=$KERNELS/hello.elf reset=$KERNELS/reset.elf
	if [ ! -r "$hello" ] || [ ! -r "$reset" ]; then die "test kernels missing (run make)"; fi

	# Start-up (hello kernel): first port write and first console byte.
	VAR_fp_pvh=(-t FLASHPAN_T0_NS -- "$FLASHPAN" run --kernel "$hello" --mem 128 --boot-protocol pvh --boot-timer)
	VAR_fp_linux=(-t FLASHPAN_T0_NS -- "$FLASHPAN" run --kernel "$hello" --mem 128 --boot-protocol linux --boot-timer)
	# Lifecycle (reset kernel): spawn to exit.
	VAR_fp_life=(-- "$FLASHPAN" run --kernel "$reset" --mem 128 --boot-protocol pvh --boot-timer)
	# Footprint: stopped at the first console byte to read the guest mapping's resident size.
	VAR_fp_fp128=(-s -m 128 -- "$FLASHPAN" run --kernel "$reset" --mem 128 --boot-protocol pvh)
	VAR_fp_fp1g=(-s -m 1024 -- "$FLASHPAN" run --kernel "$reset" --mem 1024 --boot-protocol pvh)
	local names=(fp_pvh fp_linux fp_life fp_fp128 fp_fp1g)
	if [ "$HAVE_QEMU" = 1 ]; then
		local qh q128 q1g
		read -ra qh <<<"$(qemu_cmd "$hello" 128)"
		read -ra q128 <<<"$(qemu_cmd "$reset" 128)"
		read -ra q1g <<<"$(qemu_cmd "$reset" 1024)"
		VAR_q_pvh=(-- "${qh[@]}")
		VAR_q_life=(-- "${q128[@]}")
		VAR_q_fp128=(-s -m 128 -- "${q128[@]}")
		VAR_q_fp1g=(-s -m 1024 -- "${q1g[@]}")
		names+=(q_pvh q_life q_fp128 q_fp1g)
	fi
	# The harness's own floor for ru_maxrss (the forked child before exec), with a static no-op.
	# shellcheck disable=SC2016
	printf '.globl _start\n_start: mov $60, %%eax\n xor %%edi, %%edi\n syscall\n' >"$TMP/noop.S"
	local floor=""
	if ${CC:-cc} -nostdlib -static -o "$TMP/noop" "$TMP/noop.S" 2>/dev/null; then
		VAR_noop=(-- "$TMP/noop")
		names+=(noop)
	fi

	local t_start=$SECONDS
	run_rounds "$f" "${names[@]}"
	local secs=$((SECONDS - t_start))
	[ -n "${VAR_noop+x}" ] && floor=$(median "$f" noop "\$$C_RSS")

	# Medians.
	local fpw_pvh fpw_lin qw fpo_pvh fpo_lin qo bt_pvh bt_lin fl ql
	fpw_pvh=$(median "$f" fp_pvh "\$$C_ERR");   fpw_lin=$(median "$f" fp_linux "\$$C_ERR")
	fpo_pvh=$(median "$f" fp_pvh "\$$C_OUT");   fpo_lin=$(median "$f" fp_linux "\$$C_OUT")
	bt_pvh=$(median "$f" fp_pvh "\$$C_BT");     bt_lin=$(median "$f" fp_linux "\$$C_BT")
	fl=$(median "$f" fp_life "\$$C_EXIT")
	qw=$(median "$f" q_pvh "\$$C_ERR");         qo=$(median "$f" q_pvh "\$$C_OUT")
	ql=$(median "$f" q_life "\$$C_EXIT")
	local fr128 fr1g qr128 qr1g fg128 fg1g qg128 qg1g ff128 ff1g qf128 qf1g
	local foot="\$$C_GUEST < 0 ? -1 : \$$C_RSS - \$$C_GUEST"
	ff128=$(median "$f" fp_fp128 "$foot");  ff1g=$(median "$f" fp_fp1g "$foot")
	qf128=$(median "$f" q_fp128 "$foot");   qf1g=$(median "$f" q_fp1g "$foot")
	fr128=$(median "$f" fp_fp128 "\$$C_RSS"); fr1g=$(median "$f" fp_fp1g "\$$C_RSS")
	qr128=$(median "$f" q_fp128 "\$$C_RSS");  qr1g=$(median "$f" q_fp1g "\$$C_RSS")
	fg128=$(median "$f" fp_fp128 "\$$C_GUEST"); fg1g=$(median "$f" fp_fp1g "\$$C_GUEST")
	qg128=$(median "$f" q_fp128 "\$$C_GUEST");  qg1g=$(median "$f" q_fp1g "\$$C_GUEST")

	# Targets (from the issue): start-up <= 2 ms and <= 1/5 of QEMU's; footprint <= 2 MiB.
	startup_verdict() { # FP_US Q_US
		local a=MISS b=MISS
		le "$1" 2000 && a=PASS
		[ -n "$2" ] && le "$1" "$(awk -v q="$2" 'BEGIN { print q / 5 }')" && b=PASS
		[ -z "$2" ] && b="n/a"
		echo "<= 2 ms: $a; <= QEMU/5: $b"
	}
	foot_verdict() { le "$1" 2048 && echo "<= 2 MiB: PASS" || echo "<= 2 MiB: MISS"; }

	local fails=0 lbl
	for lbl in "${names[@]}"; do
		fails=$((fails + $(count_all "$f" "$lbl") - $(count_ok "$f" "$lbl")))
	done

	{
		echo "## Host benchmarks: flashpan vs QEMU microvm"
		echo
		echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)," \
			"kvm backend: $( [ -d /sys/module/kvm_pvm ] && echo 'kvm_pvm (guest CPL0 emulated)' || echo 'hardware')."
		echo "Medians of $RUNS runs per variant, variants interleaved; ${secs} s. Failed runs (excluded): $fails."
		echo
		echo "| metric | flashpan median | QEMU microvm median | ratio | target |"
		echo "| --- | --- | --- | --- | --- |"
		echo "| start-up: spawn to first port-0x440 write, PVH | $(fmt_ms "$fpw_pvh") | $(fmt_ms "$qw") | $(ratio "$fpw_pvh" "$qw") | $(startup_verdict "$fpw_pvh" "$qw") |"
		echo "| start-up: same, flashpan Linux 64-bit entry (QEMU: PVH) | $(fmt_ms "$fpw_lin") | $(fmt_ms "$qw") | $(ratio "$fpw_lin" "$qw") | $(startup_verdict "$fpw_lin" "$qw") |"
		echo "| start-up: flashpan's own --boot-timer (FLASHPAN_T0_NS), PVH / Linux | $(fmt_ms "$bt_pvh") / $(fmt_ms "$bt_lin") | n/a | | |"
		echo "| spawn to first console byte, PVH | $(fmt_ms "$fpo_pvh") | $(fmt_ms "$qo") | $(ratio "$fpo_pvh" "$qo") | |"
		echo "| spawn to first console byte, flashpan Linux entry (QEMU: PVH) | $(fmt_ms "$fpo_lin") | $(fmt_ms "$qo") | $(ratio "$fpo_lin" "$qo") | |"
		echo "| lifecycle: spawn to exit, reset kernel, 128 MiB | $(fmt_ms "$fl") | $(fmt_ms "$ql") | $(ratio "$fl" "$ql") | |"
		echo "| footprint: peak RSS - guest-resident, 128 MiB guest | $(fmt_mib "$ff128") | $(fmt_mib "$qf128") | $(ratio "$ff128" "$qf128") | $(foot_verdict "$ff128") |"
		echo "| footprint: peak RSS - guest-resident, 1 GiB guest | $(fmt_mib "$ff1g") | $(fmt_mib "$qf1g") | $(ratio "$ff1g" "$qf1g") | $(foot_verdict "$ff1g") |"
		echo "| peak RSS (ru_maxrss), 128 MiB / 1 GiB | $(fmt_mib "$fr128") / $(fmt_mib "$fr1g") | $(fmt_mib "$qr128") / $(fmt_mib "$qr1g") | | |"
		echo "| guest-RAM mapping resident, 128 MiB / 1 GiB | $(fmt_mib "$fg128") / $(fmt_mib "$fg1g") | $(fmt_mib "$qg128") / $(fmt_mib "$qg1g") | | |"
		echo
		echo "Method: bench/spawn_timer takes CLOCK_MONOTONIC, forks and execs the VMM (stdin /dev/null, stdout"
		echo "and stderr on pipes) and timestamps the first byte on each pipe. Port write: the guest kernels'"
		echo "first instruction writes 123 to port 0x440; flashpan (--boot-timer) then writes a line to stderr,"
		echo "QEMU (isa-debugcon at 0x440, chardev on stderr) writes the byte itself. Console byte: the kernel's"
		echo "first line on COM1. Lifecycle: wait4() return. Footprint: ru_maxrss of the VMM minus the resident"
		echo "size of its guest-RAM mapping (from /proc/PID/smaps while the VMM is stopped at the first console"
		echo "byte); peak RSS includes shared-library pages. ru_maxrss also covers the forked child before exec:"
		echo "that floor, measured with a static no-op program, is $(fmt_mib "$floor")."
		echo "QEMU: \`$(qemu_cmd KERNEL MiB)\`"
	} >"$md"
	cat "$md"
}

[ $# -gt 0 ] || set -- host
for s in "$@"; do
	declare -F "section_$s" >/dev/null || die "unknown section '$s' (known: host)"
	"section_$s"
done
