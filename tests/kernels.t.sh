#!/usr/bin/env bash
# Boots each tiny test kernel (tests/kernels/, built into build/kernels/) with
# flashpan and checks what a user would notice: the guest's console output
# and flashpan's exit status. Each kernel boots by the Linux 64-bit boot
# protocol and by PVH where both make sense. One PASS/FAIL/SKIP line per case.
#
# Guest CPL0 code is emulated on kvm_pvm hosts (~5M instructions/s); every
# kernel here needs well under a second, so the 15 s limit only catches hangs.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

T=15

if [ ! -x "$FLASHPAN" ]; then
	fail kernels "no $FLASHPAN (run make)"
	exit 0
fi
if [ ! -f "$KERNELS/hello.elf" ]; then
	fail kernels "no $KERNELS/hello.elf (run make kernels)"
	exit 0
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	skip kernels "/dev/kvm is not usable here"
	exit 0
fi

# boot NAME KERNEL TIMEOUT ARGS... : run_vm with the kernel path filled in.
boot() {
	local name=$1 kernel=$2 t=$3
	shift 3
	run_vm "$name" "$t" run --kernel "$KERNELS/$kernel.elf" "$@"
}

# The guest's console output without the 8250's carriage returns.
out() { tr -d '\r' <"$TMP/$1.out"; }

# field NAME PREFIX : the rest of the first console line starting with PREFIX.
field() { out "$1" | sed -n "s/^$2//p" | head -1; }

# ---- hello, reset, poweroff: exit 0 ----
for p in linux pvh; do
	boot hello-$p hello $T --boot-protocol $p
	expect hello-$p 0 "^hello from flashpan test kernel (protocol: $p)"
	boot reset-$p reset $T --boot-protocol $p
	expect reset-$p 0 "^resetting"
	boot poweroff-$p poweroff $T --boot-protocol $p
	expect poweroff-$p 0 "^powering off"
done

boot boot-timer hello $T --boot-timer
expect boot-timer 0 "boot-timer: .* ms" "^hello from flashpan"

# ---- bootparams: command line, memory map and initrd as the guest sees them ----

# fnv1a32 FILE : the checksum the bootparams kernel computes.
fnv1a32() {
	python3 -c '
import sys
h = 0x811c9dc5
for b in open(sys.argv[1], "rb").read():
	h = ((h ^ b) * 0x01000193) & 0xffffffff
print("%08x" % h)' "$1"
}

# check_bootparams NAME MEM_MIB CMDLINE [INITRD] : checks the kernel's report.
check_bootparams() {
	local name=$1 mem=$2 cmdline=$3 initrd=${4:-} got why=""
	local mem_kib=$((mem * 1024))

	if [ "$rc" -ne 0 ]; then
		fail "$name" "exit status $rc, want 0; stderr: $(tail -c 400 "$TMP/$name.err" | tr '\n' ' ')"
		return
	fi
	got=$(out "$name" | grep -m1 '^cmdline: ')
	[ "$got" = "cmdline: $cmdline" ] || why="command line came back as '${got#cmdline: }'"
	# Usable RAM: everything but at most the 1 KiB EBDA and 384 KiB of
	# legacy holes below 1 MiB; the last usable byte is at --mem, or above
	# 4 GiB when RAM had to skip the 32-bit MMIO hole.
	local total end
	total=$(field "$name" 'ram-total: ' | cut -d' ' -f1)
	end=$(field "$name" 'ram-end: ')
	if [ -z "$total" ] || [ "$total" -gt "$mem_kib" ] || [ "$total" -lt $((mem_kib - 1024)) ]; then
		why="$why; ram-total '$total' KiB for --mem $mem"
	fi
	if [ "$mem" -le 3072 ] && [ "$((end))" -ne $((mem << 20)) ]; then
		why="$why; ram-end $end, want $((mem << 20))"
	fi
	# No two entries overlap, and no RAM lies in the MMIO hole (3-4 GiB:
	# virtio-mmio, IOAPIC, LAPIC).
	local bad
	bad=$(out "$name" | awk '
	function hex(s,  n, i) {	# mawk has no strtonum
		n = 0
		for (i = 3; i <= length(s); i++)
			n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return n
	}
	/^mem: / {
		a = hex($2); s = hex($3); n++
		start[n] = a; stop[n] = a + s
		if ($4 == 1 && a < 4294967296 && a + s > 3221225472) print "RAM in the MMIO hole: " $0
	} END {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (start[i] < stop[j] && start[j] < stop[i]) print "overlap: entries " i " and " j
	}' 2>&1)
	[ -n "$bad" ] && why="$why; memory map: $(echo "$bad" | head -2 | tr '\n' ' ')"
	if [ -n "$initrd" ]; then
		local size
		size=$(stat -c %s "$initrd")
		out "$name" | grep -q "^initrd: addr=0x[0-9a-f]* size=$size " ||
			why="$why; initrd line '$(field "$name" 'initrd: ')', want size=$size"
		out "$name" | grep -q '^initrd ok' || why="$why; checksum: $(out "$name" | grep -m1 '^initrd BAD')"
	else
		out "$name" | grep -q '^initrd: none' || why="$why; an initrd appeared: $(field "$name" 'initrd: ')"
	fi
	if [ -n "$why" ]; then
		fail "$name" "${why#; }"
	else
		pass "$name"
	fi
}

if command -v python3 >/dev/null; then
	# An initrd of an odd size with random contents, and a command line with
	# a random token, double spaces, quotes and '=' inside values.
	head -c $((100001 + RANDOM)) /dev/urandom >"$TMP/initrd.bin"
	sum=$(fnv1a32 "$TMP/initrd.bin")
	for p in linux pvh; do
		cl="tok=$RANDOM$RANDOM  a=b=c q=\"x y\" expect_initrd_sum=$sum end"
		boot bootparams-$p bootparams $T --boot-protocol $p --mem 256 --cmdline "$cl" --initrd "$TMP/initrd.bin"
		check_bootparams bootparams-$p 256 "$cl" "$TMP/initrd.bin"
		cl="big expect_initrd_sum=$sum"
		boot bootparams-4g-$p bootparams $T --boot-protocol $p --mem 4608 --cmdline "$cl" --initrd "$TMP/initrd.bin"
		check_bootparams bootparams-4g-$p 4608 "$cl" "$TMP/initrd.bin"
	done
else
	skip bootparams "no python3 to checksum the initrd"
fi
cl="long $(printf 'x%.0s' {1..2000}) end"
boot bootparams-long-cmdline bootparams $T --mem 64 --cmdline "$cl"
check_bootparams bootparams-long-cmdline 64 "$cl"
boot bootparams-pvh-no-initrd bootparams $T --boot-protocol pvh --mem 32 --cmdline ""
check_bootparams bootparams-pvh-no-initrd 32 ""

# ---- smp: INIT-SIPI-SIPI, a real-mode trampoline at 0x10000 ----
for p in linux pvh; do
	for n in 1 2 4; do
		pats=("^smp: all $n cpus up")
		for ((i = 0; i < n; i++)); do pats+=("^cpu $i up"); done
		boot smp-$p-$n smp $T --boot-protocol $p --cpus $n --cmdline "cpus=$n"
		expect smp-$p-$n 0 "${pats[@]}"
	done
done
boot smp-ipi-each-4 smp $T --cpus 4 --cmdline "cpus=4 sipi=each"
expect smp-ipi-each-4 0 "^cpu 3 up" "^smp: all 4 cpus up"

# ---- timer: PIT through the PIC and LINT0 (ExtINT, set by flashpan), LAPIC timer ----
for p in linux pvh; do
	boot timer-$p timer $T --boot-protocol $p
	expect timer-$p 0 "^lvt0: 700" "^pit: [0-9]* ticks" "^lapic: [0-9]* ticks" "^timer ok"
done

# ---- fault: IDT limit 0, so the first exception triple-faults: exit 4 ----
for p in linux pvh; do
	boot fault-$p fault $T --boot-protocol $p
	expect fault-$p 4 "^faulting"
done
for how in div0 ud2 gp; do
	boot fault-$how fault $T --cmdline "fault=$how"
	expect fault-$how 4 "^faulting"
done

# ---- panic: pvpanic port (and Linux's banner): exit 5 ----
for p in linux pvh; do
	boot panic-$p panic $T --boot-protocol $p
	expect panic-$p 5 "^Kernel panic - not syncing: test"
done
boot panic-pvpanic-port panic $T --cmdline "pvpanic_only=1"
expect panic-pvpanic-port 5 "^panic: reporting through the pvpanic port only"

# ---- pvm-gaps: instructions the VMM must complete on emulating hosts ----
for p in linux pvh; do
	boot pvm-gaps-$p pvm-gaps $T --boot-protocol $p
	expect pvm-gaps-$p 0 "^int3 ok" "^pvm-gaps done"
done
# vmcall: on kvm_pvm no exit reaches the VMM; the vCPU spins inside KVM_RUN
# (measured: 100% system time in the vCPU thread, no output after it).
# (stderr off: bash reports the SIGKILL from timeout there)
{ boot pvm-gaps-vmcall pvm-gaps 4 --cmdline "vmcall=1"; } 2>/dev/null
if [ "$rc" -eq 137 ] && [ -d /sys/module/kvm_pvm ]; then
	skip pvm-gaps-vmcall "vmcall never exits to the VMM on kvm_pvm (vCPU spins in KVM_RUN)"
else
	expect pvm-gaps-vmcall 0 "^vmcall ok rax=-1000" "^pvm-gaps done"
fi
