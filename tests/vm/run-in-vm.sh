#!/usr/bin/env bash
# Run a test script inside the nested test VM: QEMU TCG, -cpu max (SVM), Debian's cloud kernel,
# busybox initramfs with kvm.ko/kvm-amd.ko loaded, so /dev/kvm inside behaves like real
# hardware virtualization. See tests/vm/README.md.
#
# usage: tests/vm/run-in-vm.sh [--smp N] [--mem MiB] [--timeout S] [--payload PATH]...
#                              [--env NAME=VALUE]... [--out DIR] [--append ARGS] [--no-kvm]
#                              -- SCRIPT [ARGS]...
#
# stdout: the VM's serial console, streamed.  stderr: this harness's messages.
# exit status: SCRIPT's exit status, or 125 when the harness or the VM failed (timeout, panic,
# /dev/kvm missing, no status reported), or 2 for a usage error.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SMP=${FLASHPAN_VM_SMP:-2}
MEM=${FLASHPAN_VM_MEM:-2048}
TIMEOUT=${FLASHPAN_VM_TIMEOUT:-600}
# Only -cpu max (or another model with svm) gives the VM KVM. Without XSAVE: TCG's max CPU reports an
# XSAVE area size (CPUID 0xD) that does not follow XCR0 for the inner guest, so every inner Linux
# boot printed "XSAVE consistency problem: size 2696 != kernel_size 576" with a register dump, and
# one such boot triple-faulted in the middle of it (CI run, 2026-11-26). With -xsave the inner
# guest uses FXSAVE and boots without the warning.
CPU=${FLASHPAN_VM_CPU:-max,-xsave}
APPEND=
OUT=
NOKVM=0
PAYLOADS=()
ENVS=()

usage() {
	sed -n 's/^# \{0,1\}//; 6,9p' "${BASH_SOURCE[0]}" >&2
	exit 2
}
msg() { echo "run-in-vm: $*" >&2; }
harness_fail() { echo "run-in-vm: test VM: $*" >&2; exit 125; }

while [ $# -gt 0 ]; do
	case $1 in
	--smp) SMP=${2:?}; shift 2 ;;
	--mem) MEM=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--payload) PAYLOADS+=("${2:?}"); shift 2 ;;
	--env) ENVS+=("${2:?}"); shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--append) APPEND=${2:?}; shift 2 ;;
	--no-kvm) NOKVM=1; shift ;;
	--) shift; break ;;
	-h|--help) usage ;;
	*) msg "unknown option: $1"; usage ;;
	esac
done
[ $# -ge 1 ] || { msg "missing -- SCRIPT"; usage; }
SCRIPT=$1; shift
[ -f "$SCRIPT" ] || { msg "no such script: $SCRIPT"; exit 2; }
for n in "$SMP" "$MEM" "$TIMEOUT"; do
	[[ $n =~ ^[0-9]+$ ]] || { msg "not a number: $n"; exit 2; }
done
for p in "${PAYLOADS[@]}"; do
	[ -e "$p" ] || { msg "no such payload: $p"; exit 2; }
done
for e in "${ENVS[@]}"; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { msg "bad --env (want NAME=VALUE): $e"; exit 2; }
done
command -v qemu-system-x86_64 >/dev/null || harness_fail "qemu-system-x86_64 not found (make deps)"

IMG=$("$HERE/prepare.sh" --quick) || harness_fail "could not prepare the VM image (tests/vm/prepare.sh)"

T=$(mktemp -d "${TMPDIR:-/tmp}/flashpan-vm.XXXXXX") || harness_fail "mktemp failed"
QPID='' TPID=''
cleanup() {
	[ -n "$QPID" ] && kill -TERM "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'msg "interrupted; stopping the test VM"; exit 130' INT
trap 'msg "terminated; stopping the test VM"; exit 143' TERM
trap 'exit 129' HUP

# The per-run initramfs: /init, the payload and the command to run. It is appended to the cached
# base (busybox + modules); the kernel unpacks concatenated cpio archives in order.
R=$T/root
mkdir -p "$R/payload"
install -m 755 "$HERE/init.sh" "$R/init"
for p in "${PAYLOADS[@]}"; do
	cp -RL --preserve=mode,timestamps "$p" "$R/payload/" || harness_fail "cannot copy payload $p"
done
name=$(basename "$SCRIPT")
cp -L "$SCRIPT" "$R/payload/$name" || harness_fail "cannot copy $SCRIPT"
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
	for e in "${ENVS[@]}"; do echo "export ${e%%=*}=$(q "${e#*=}")"; done
	printf 'cd /payload && exec sh ./%s' "$(q "$name")"
	for a in "$@"; do printf ' %s' "$(q "$a")"; done
	echo
} >"$R/payload/.flashpan-vm-cmd"
[ -n "$OUT" ] && : >"$R/payload/.flashpan-vm-out"
(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$T/run.cpio" ||
	harness_fail "cpio failed"
cat "$IMG/base.cpio" "$T/run.cpio" >"$T/initrd"
rm -rf "$R" "$T/run.cpio"

KAPPEND="console=ttyS0 panic=1 quiet"
[ $NOKVM = 1 ] && KAPPEND+=" FLASHPAN_VM_NOKVM=1" # unknown key=value parameters become init's env
[ -n "$APPEND" ] && KAPPEND+=" $APPEND"

# Known problem of KVM nested in TCG (see tests/vm/README.md): now and then the test VM's kernel
# reports "soft lockup - CPU#N stuck" in a VMM's vCPU thread and never recovers. The watcher
# below ends such a VM once a thread has been stuck for 50 s, and the run is tried once more.
RETRIES=${FLASHPAN_VM_RETRIES:-1}
# Copy the console to stdout line by line; stop the VM (TERM to timeout, then qemu) once a
# soft lockup has lasted 50 s, or the console has been silent for FLASHPAN_VM_SILENCE seconds
# (default 150; every test script prints at least once per guest boot), and leave $T/hung.
# (A read loop, not awk: mawk block-buffers a pipe.)
SILENCE=${FLASHPAN_VM_SILENCE:-150}
watch_console() {
	local qpid=$1 line why= rc
	while :; do
		IFS= read -r -t "$SILENCE" line
		rc=$?
		if [ $rc -gt 128 ]; then
			why="no console output for $SILENCE s"
			break
		elif [ $rc -ne 0 ]; then
			break # end of the console: qemu is gone
		fi
		printf '%s\n' "$line"
		if [[ $line =~ soft\ lockup\ -\ CPU\#[0-9]+\ stuck\ for\ ([0-9]+)s ]] &&
			[ "${BASH_REMATCH[1]}" -ge 50 ]; then
			why="soft lockup in the test VM's kernel (${line##*stuck for })"
			break
		fi
	done
	if [ -n "$why" ]; then
		echo "$why" >"$T/hung"
		kill -TERM "$qpid" 2>/dev/null
		cat >/dev/null # drain until tail ends with qemu
	fi
}
attempt=0
while :; do
	attempt=$((attempt + 1))
	msg "booting the test VM ($(basename "$IMG"), smp $SMP, ${MEM} MiB, timeout ${TIMEOUT} s, initrd $(du -h "$T/initrd" | cut -f1))"
	start=$(date +%s.%N)
	: >"$T/console"
	# -display none rather than -nographic: the latter also turns on SeaBIOS's serial console,
	# whose escape sequences would land on stdout.
	# timeout(1) puts itself in its own process group, so ^C on a terminal does not reach qemu
	# directly: the traps above stop it (TERM to timeout, which passes it on to qemu).
	timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -M q35 -accel tcg -cpu "$CPU" -m "$MEM" -smp "$SMP" \
		-nodefaults -display none -serial stdio -no-reboot \
		-kernel "$IMG/vmlinuz" -initrd "$T/initrd" -append "$KAPPEND" \
		</dev/null >"$T/console" &
	QPID=$!
	# Stream the console as it is written; drop the --out transfer block and carriage returns.
	# (sed -u: unbuffered, so each line shows as soon as the VM prints it.)
	tail -n +1 -s 0.2 --pid="$QPID" -f "$T/console" |
		sed -u -e 's/\r//g' -e '/@@FLASHPAN-VM-OUT-BEGIN@@/,/@@FLASHPAN-VM-OUT-END@@/d' |
		watch_console "$QPID" &
	TPID=$!
	wait "$QPID"
	qrc=$?
	QPID=
	wait "$TPID" 2>/dev/null
	TPID=
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	if grep -aq '@@FLASHPAN-VM-EXIT' "$T/console" || [ ! -s "$T/hung" ]; then
		break
	fi
	if [ $attempt -gt "$RETRIES" ]; then
		msg "the test VM hung again ($(cat "$T/hung"), attempt $attempt); giving up"
		break
	fi
	msg "the test VM hung after $secs s: $(cat "$T/hung"); a known problem of KVM nested in TCG (tests/vm/README.md); trying once more"
	rm -f "$T/hung"
done

tr -d '\r' <"$T/console" >"$T/console.txt"
[ -s "$T/console.txt" ] && [ -n "$(tail -c1 "$T/console.txt")" ] && echo # end stdout with a newline
if [ -n "${FLASHPAN_VM_LOG:-}" ]; then cp "$T/console.txt" "$FLASHPAN_VM_LOG" || true; fi

status=$(grep -ao '@@FLASHPAN-VM-EXIT [0-9]*@@' "$T/console.txt" | tail -n1 | tr -dc '0-9')
error=$(grep -ao '@@FLASHPAN-VM-ERROR [^@]*@@' "$T/console.txt" | tail -n1 | sed 's/^@@FLASHPAN-VM-ERROR //; s/@@$//')

if [ -n "$OUT" ] && [ -n "$status" ]; then
	mkdir -p "$OUT" || harness_fail "cannot create --out $OUT"
	sed -n '/@@FLASHPAN-VM-OUT-BEGIN@@/,/@@FLASHPAN-VM-OUT-END@@/{/@@/d;p}' "$T/console.txt" |
		base64 -di | tar -C "$OUT" -xzf - ||
		harness_fail "could not unpack the files sent back from /out (console garbled?)"
fi

if [ -n "$error" ]; then
	harness_fail "$error (after $secs s)"
elif [ -n "$status" ]; then
	msg "script exited with status $status (test VM ran $secs s)"
	exit "$status"
elif [ -s "$T/hung" ]; then
	harness_fail "hung: $(cat "$T/hung"), after $secs s (attempt $attempt)"
elif [ $qrc = 124 ] || [ $qrc = 137 ]; then
	harness_fail "timed out after $TIMEOUT s (no status reported)"
elif grep -aq 'Kernel panic' "$T/console.txt"; then
	harness_fail "kernel panic after $secs s (see the console output above)"
else
	harness_fail "ended without reporting a status (qemu exit status $qrc, after $secs s)"
fi
