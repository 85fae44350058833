# Helpers for tests/*.t.sh. Each case prints exactly one PASS/FAIL/SKIP line.
FLASHPAN=${FLASHPAN:-build/flashpan}
KERNELS=${KERNELS:-build/kernels}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

# run_vm NAME TIMEOUT ARGS... : runs flashpan, leaves output in $TMP/NAME.out and status in $rc
run_vm() {
	local name=$1 t=$2
	shift 2
	timeout -s KILL "$t" "$FLASHPAN" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
	rc=$?
}

# expect NAME WANT_RC PATTERN... : checks $rc and that every pattern is in the output
expect() {
	local name=$1 want=$2
	shift 2
	if [ "$rc" -ne "$want" ]; then
		fail "$name" "exit status $rc, want $want; stderr: $(tail -c 600 "$TMP/$name.err" | tr '\n' ' ')"
		return
	fi
	for pat in "$@"; do
		if ! grep -q -- "$pat" "$TMP/$name.out" "$TMP/$name.err"; then
			fail "$name" "no '$pat' in output: $(tail -c 600 "$TMP/$name.out" | tr '\n' ' ')"
			return
		fi
	done
	pass "$name"
}
