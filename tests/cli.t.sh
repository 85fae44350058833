#!/usr/bin/env bash
# The command line: help, option validation, malformed kernel images and
# console targets. Bad input must give exit status 2 and a message, never a
# crash (a status of 128 or more from a signal).
cd "$(dirname "$0")/.."
. tests/lib.sh
HELLO=$KERNELS/hello.elf

run() { # NAME ARGS... -> $rc, $TMP/NAME.out, $TMP/NAME.err
	local name=$1
	shift
	timeout -s KILL 30 "$FLASHPAN" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
	rc=$?
}

# bad NAME PATTERN ARGS...: expects exit 2 and PATTERN on stderr
bad() {
	local name=$1 pat=$2
	shift 2
	run "$name" "$@"
	if [ "$rc" -ne 2 ]; then
		fail "$name" "exit status $rc, want 2; stderr: $(head -c 300 "$TMP/$name.err")"
	elif ! grep -q -- "$pat" "$TMP/$name.err"; then
		fail "$name" "stderr lacks '$pat': $(head -c 300 "$TMP/$name.err")"
	else
		pass "$name"
	fi
}

run help run --help
if [ $rc -eq 0 ] && grep -q 'Exit status' "$TMP/help.out" && grep -q 'pvm-safe' "$TMP/help.out" &&
	grep -q -- '--boot-protocol' "$TMP/help.out"; then pass cli-help; else fail cli-help "rc=$rc"; fi

bad cli-no-args 'usage' 
bad cli-unknown-command "unknown command" start
bad cli-unknown-option "unknown option '--frobnicate'" run --kernel "$HELLO" --frobnicate
bad cli-missing-kernel "--kernel PATH is required" run
bad cli-kernel-not-found "cannot read kernel" run --kernel /nonexistent/vmlinux
bad cli-initrd-not-found "cannot read initrd" run --kernel "$HELLO" --initrd /nonexistent
bad cli-cpus-zero "--cpus must be" run --kernel "$HELLO" --cpus 0
bad cli-cpus-65 "--cpus must be" run --kernel "$HELLO" --cpus 65
bad cli-cpus-text "--cpus must be" run --kernel "$HELLO" --cpus two
bad cli-mem-odd "--mem must be" run --kernel "$HELLO" --mem 127
bad cli-mem-tiny "--mem must be" run --kernel "$HELLO" --mem 8
bad cli-profile "--cpu-profile must be" run --kernel "$HELLO" --cpu-profile fast
bad cli-protocol "--boot-protocol must be" run --kernel "$HELLO" --boot-protocol efi
bad cli-console-dir "cannot open console file" run --kernel "$HELLO" --console /nonexistent/dir/log
bad cli-missing-value "needs a value" run --kernel

# Malformed kernel images: each refused with a message and status 2.
: >"$TMP/empty"
head -c 4096 /dev/urandom >"$TMP/random"
head -c 100 "$HELLO" >"$TMP/trunc-ehdr"
head -c 2000 "$HELLO" >"$TMP/trunc-body"
mkdir -p "$TMP/dir"
bad image-empty "kernel" run --kernel "$TMP/empty"
bad image-random "kernel" run --kernel "$TMP/random"
bad image-truncated-header "kernel" run --kernel "$TMP/trunc-ehdr"
bad image-truncated-body "kernel" run --kernel "$TMP/trunc-body"
bad image-directory "kernel" run --kernel "$TMP/dir"
# The same ELF with its note's type zeroed no longer has a PVH entry.
cp "$HELLO" "$TMP/nopvh.elf"
note_off=$(readelf -lW "$HELLO" | awk '$1 == "NOTE" { print $2; exit }')
dd if=/dev/zero of="$TMP/nopvh.elf" bs=1 seek=$((note_off + 8)) count=4 conv=notrunc status=none
bad image-pvh-missing-note "XEN_ELFNOTE_PHYS32_ENTRY" run --kernel "$TMP/nopvh.elf" --boot-protocol pvh
bad cmdline-too-long "command line" run --kernel "$HELLO" --cmdline "$(head -c 70000 /dev/zero | tr '\0' x)"
bad initrd-too-big "initrd" run --kernel "$HELLO" --mem 16 --initrd <(head -c $((20 << 20)) /dev/zero)

# Console targets.
run console-file run --kernel "$HELLO" --console "$TMP/console.log"
if [ $rc -eq 0 ] && grep -q 'hello from flashpan' "$TMP/console.log" && ! grep -q hello "$TMP/console-file.out"; then
	pass console-file
else
	fail console-file "rc=$rc; file: $(head -c 200 "$TMP/console.log" 2>/dev/null)"
fi
run console-none run --kernel "$HELLO" --console none
if [ $rc -eq 0 ] && [ ! -s "$TMP/console-none.out" ]; then pass console-none; else fail console-none "rc=$rc"; fi

# Console input through a pipe reaches the guest without errors, and a closed pipe is fine.
echo hi | timeout -s KILL 30 "$FLASHPAN" run --kernel "$HELLO" >"$TMP/pipe.out" 2>"$TMP/pipe.err"
rc=$?
if [ $rc -eq 0 ] && grep -q 'hello from' "$TMP/pipe.out" && [ ! -s "$TMP/pipe.err" ]; then
	pass console-stdin-pipe
else
	fail console-stdin-pipe "rc=$rc err=$(head -c 200 "$TMP/pipe.err")"
fi

# SIGTERM and SIGINT stop a running guest: status 128+N, no vCPU thread left behind.
for sig in TERM INT; do
	name=signal-$sig
	"$FLASHPAN" run --kernel "$KERNELS/idle.elf" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null &
	pid=$!
	for _ in $(seq 100); do grep -q 'idle: halting' "$TMP/$name.out" && break; sleep 0.05; done
	kill -s "$sig" "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"
		fail "$name" "still running 5 s after SIG$sig"
		continue
	fi
	wait "$pid"
	rc=$?
	want=$((128 + $(kill -l "$sig")))
	if [ "$rc" -eq "$want" ] && grep -q 'idle: halting' "$TMP/$name.out"; then
		pass "$name"
	else
		fail "$name" "exit status $rc, want $want; $(head -c 200 "$TMP/$name.err")"
	fi
done

# --hugepages: more than the free huge pages is a host-side error (1) with a message, not a crash.
free_huge=$(awk '/^HugePages_Free/ { print $2 }' /proc/meminfo)
hp_size_kb=$(awk '/^Hugepagesize/ { print $2 }' /proc/meminfo)
if [ "${hp_size_kb:-0}" -eq 2048 ]; then
	want_mib=$(( (free_huge + 8) * 2 ))
	run hugepages-short run --kernel "$HELLO" --hugepages --mem "$want_mib"
	if [ $rc -eq 1 ] && grep -q 'huge pages' "$TMP/hugepages-short.err"; then
		pass hugepages-short
	else
		fail hugepages-short "rc=$rc, want 1: $(head -c 200 "$TMP/hugepages-short.err")"
	fi
	if [ "$free_huge" -ge 8 ]; then
		run hugepages run --kernel "$HELLO" --hugepages --mem 16
		expect hugepages 0 'hello from'
	else
		skip hugepages "only $free_huge free 2 MiB huge pages (set /proc/sys/vm/nr_hugepages to try)"
	fi
else
	skip hugepages "huge page size is ${hp_size_kb:-unknown} KiB, not 2 MiB"
fi

# More virtio devices than GSIs: a configuration error, found before anything starts.
dd if=/dev/zero of="$TMP/small.img" bs=4096 count=1 status=none
many=()
for _ in $(seq 19); do many+=(--disk "$TMP/small.img,ro"); done
bad cli-too-many-devices "at most 19 virtio devices" run --kernel "$HELLO" "${many[@]}" --vsock "cid=3,uds=$TMP/v.sock"
