#!/usr/bin/env bash
# virtio-blk as a guest sees it, through the tiny test kernels blk-read,
# blk-write, blk-multi and blk-hostile (tests/kernels/blk_*.c, on the polling
# virtio-mmio driver tests/kernels/virtio.c). Checks the guest's console, the
# exit status, flashpan's stderr and the image files on the host. One
# PASS/FAIL/SKIP line per case.
#
# Disk images hold a pattern the kernels recompute: sector S is 32 records
# "<SSSSSSSSSS.RR>\n" (R = 0..31); sectors the kernels write use '[' and ']'.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

T=30

if [ ! -x "$FLASHPAN" ]; then
	fail virtio-blk "no $FLASHPAN (run make)"
	exit 0
fi
if [ ! -f "$KERNELS/blk-read.elf" ]; then
	fail virtio-blk "no $KERNELS/blk-read.elf (run make kernels)"
	exit 0
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	skip virtio-blk "/dev/kvm is not usable here"
	exit 0
fi
if ! "$FLASHPAN" run --help 2>&1 | grep -q -- '--disk'; then
	skip virtio-blk "this flashpan has no --disk option yet"
	exit 0
fi

# image SECTORS [WRITTEN] : the pattern image on stdout; WRITTEN is a comma
# list of sectors that carry the '[' ']' variant.
image() {
	awk -v n="$1" -v w="${2:-}" 'BEGIN {
		k = split(w, ws, ",")
		for (i = 1; i <= k; i++) W[ws[i]] = 1
		for (s = 0; s < n; s++) {
			o = (s in W) ? "[" : "<"; c = (s in W) ? "]" : ">"
			for (r = 0; r < 32; r++) printf "%s%010d.%02d%s\n", o, s, r, c
		}
	}'
}

boot() {
	local name=$1 kernel=$2
	shift 2
	run_vm "$name" "$T" run --kernel "$KERNELS/$kernel.elf" "$@"
}

out() { tr -d '\r' <"$TMP/$1.out"; }

# has NAME LINE... : every LINE is a whole console line; else prints the first missing one.
has() {
	local name=$1 line
	shift
	for line in "$@"; do
		if ! out "$name" | grep -qxF -- "$line"; then
			echo "$line"
			return 1
		fi
	done
}

# check NAME WANT_RC LINE... : exit status and whole console lines.
check() {
	local name=$1 want=$2 miss
	shift 2
	if [ "$rc" -ne "$want" ]; then
		fail "$name" "exit status $rc, want $want; stderr: $(tail -c 400 "$TMP/$name.err" | tr '\n' ' ')"
		return 1
	fi
	if ! miss=$(has "$name" "$@"); then
		fail "$name" "no line '$miss'; console: $(out "$name" | grep -v '^read\|^hostile' | tail -c 500 | tr '\n' '|')"
		return 1
	fi
}

# ---- blk-read: known sectors, capacity, IOERR past the end; both boot protocols ----
# 8195 sectors: 4 MiB and 3 sectors, so the capacity is no round number.
image 8195 >"$TMP/read.img"
for p in linux pvh; do
	boot blk-read-$p blk-read --boot-protocol $p --disk "$TMP/read.img"
	check blk-read-$p 0 "capacity: 8195 sectors" "past-end at-capacity sector=8195 count=1: status ioerr" \
		"interrupt-status: 0x1 0x0" "batch: 21 requests in flight: ok" "blk-read ok" && pass blk-read-$p
done
# Two vCPUs: the device offers VIRTIO_BLK_F_MQ; a driver that does not take it gets one queue.
boot blk-read-cpus2 blk-read --cpus 2 --disk "$TMP/read.img"
check blk-read-cpus2 0 "capacity: 8195 sectors" "blk-read ok" && pass blk-read-cpus2
# A read-only disk reads the same.
boot blk-read-ro blk-read --disk "$TMP/read.img,ro"
check blk-read-ro 0 "capacity: 8195 sectors" "blk-read ok" && pass blk-read-ro

# ---- blk-write: writes, FLUSH, then the whole image is compared on the host ----
image 8195 >"$TMP/write.img"
boot blk-write blk-write --disk "$TMP/write.img"
if check blk-write 0 "flush status=ok" "blk-write ok"; then
	# The sectors the kernel says it wrote, as a comma list.
	written=$(out blk-write | sed -n 's/^write sector=\([0-9]*\) count=\([0-9]*\) .*status=ok$/\1 \2/p' |
		awk '{ for (i = 0; i < $2; i++) printf "%d,", $1 + i }')
	if [ "$(echo "$written" | tr ',' '\n' | grep -c .)" -ne 23 ]; then
		fail blk-write "expected 23 written sectors in the console, got '$written'"
	elif ! image 8195 "$written" | cmp -s - "$TMP/write.img"; then
		fail blk-write "image on the host differs from the expected one: $(image 8195 "$written" |
			cmp - "$TMP/write.img" 2>&1 | head -1)"
	else
		pass blk-write
	fi
fi

# ---- blk-multi: four disks in order, ids, read-only flags, writes refused ----
for k in 0 1 2 3; do
	image $((64 + 8 * k)) >"$TMP/multi$k.img"
	cp "$TMP/multi$k.img" "$TMP/multi$k.orig"
done
cp "$TMP/multi2.img" "$TMP/lower1.img"
boot blk-multi blk-multi --disk "$TMP/multi0.img,id=root" --disk "$TMP/multi1.img,ro,id=lower0" \
	--disk "$TMP/lower1.img,ro" --disk "$TMP/multi3.img,id=data-disk-1234567890"
if check blk-multi 0 \
	"disk 0 vda id=root ro=0 sectors=64" \
	"disk 1 vdb id=lower0 ro=1 sectors=72" \
	"disk 2 vdc id=lower1.img ro=1 sectors=80" \
	"disk 3 vdd id=data-disk-1234567890 ro=0 sectors=88" \
	"disk 0 write status=ok" "disk 1 write status=ioerr" "disk 2 write status=ioerr" "disk 3 write status=ok" \
	"disk 1 write-without-ro-feature status=ioerr" "disk 2 write-without-ro-feature status=ioerr" \
	"blk-multi ok: 4 disks"; then
	why=""
	cmp -s "$TMP/multi1.img" "$TMP/multi1.orig" || why="$why; read-only multi1.img changed"
	cmp -s "$TMP/lower1.img" "$TMP/multi2.orig" || why="$why; read-only lower1.img changed"
	image 64 1 | cmp -s - "$TMP/multi0.img" || why="$why; multi0.img is not the original with sector 1 written"
	image 88 1 | cmp -s - "$TMP/multi3.img" || why="$why; multi3.img is not the original with sector 1 written"
	if [ -n "$why" ]; then
		fail blk-multi "${why#; }"
	else
		pass blk-multi
	fi
fi

# ---- blk-hostile: malformed rings and chains; the device recovers after a reset ----
image 2048 >"$TMP/hostile.img"
cp "$TMP/hostile.img" "$TMP/hostile.orig"
boot blk-hostile blk-hostile --disk "$TMP/hostile.img"
cases=$(out blk-hostile | sed -n 's/^blk-hostile: \([0-9]*\) cases.*/\1/p')
lines=$(grep -c . "$TMP/blk-hostile.err")
if [ "$rc" -ne 0 ]; then
	fail blk-hostile "exit status $rc, want 0; stderr: $(tail -c 400 "$TMP/blk-hostile.err" | tr '\n' ' ')"
elif ! has blk-hostile "blk-hostile ok" >/dev/null; then
	fail blk-hostile "$(out blk-hostile | grep -E 'NOT |BAD|^blk-hostile: [0-9]' | cut -c1-160 | tr '\n' '|')"
elif [ -z "$cases" ] || [ "$cases" -lt 40 ]; then
	fail blk-hostile "expected the case count line, got '$cases'"
elif [ "$lines" -gt "$cases" ]; then
	fail blk-hostile "$lines stderr lines for $cases cases (one per device per case at most)"
elif ! cmp -s "$TMP/hostile.img" "$TMP/hostile.orig"; then
	fail blk-hostile "the image changed (no case writes a valid request)"
else
	pass blk-hostile
fi

# ---- configuration errors a user sees ----
head -c 1000 /dev/zero >"$TMP/odd.img"
boot disk-odd-size hello --disk "$TMP/odd.img"
expect disk-odd-size 2 "not a multiple of 512"
boot disk-missing hello --disk "$TMP/no-such.img"
expect disk-missing 2 "no-such.img"

# Two VMMs must not write one image: the second is refused while the first runs.
timeout -s KILL $T "$FLASHPAN" run --kernel "$KERNELS/idle.elf" --disk "$TMP/read.img" \
	>"$TMP/idle.out" 2>&1 </dev/null &
idle_pid=$!
for _ in $(seq 50); do
	grep -q 'idle: halting' "$TMP/idle.out" 2>/dev/null && break
	sleep 0.1
done
boot disk-locked blk-read --disk "$TMP/read.img"
kill "$idle_pid" 2>/dev/null
wait "$idle_pid" 2>/dev/null
if [ "$rc" -eq 0 ] || ! grep -q "in use" "$TMP/disk-locked.err"; then
	fail disk-locked "a second VMM on a writable image in use: exit $rc, stderr: $(head -c 300 "$TMP/disk-locked.err")"
else
	pass disk-locked
fi
exit 0
