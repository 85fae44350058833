#!/usr/bin/env bash
# Runs every fast test and ends with one line "N passed, N failed[, N skipped]".
#
# Unit tests are cmocka binaries under build/tests/unit; their summaries are
# counted. Every tests/*.t.sh script prints one line per case:
#   PASS <name> | FAIL <name>: <why> | SKIP <name>: <why>
# and is counted the same way. A script that dies without reporting counts as
# one failure.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 skip=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for bin in build/tests/unit/test_*; do
	[ -x "$bin" ] || continue
	CMOCKA_MESSAGE_OUTPUT=STDOUT timeout 120 "$bin" >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	if [ -z "$p" ] && [ -z "$f" ]; then
		echo "FAIL $(basename "$bin"): exited $rc without a summary"
		cat "$log"
		fail=$((fail + 1))
		continue
	fi
	[ "${f:-0}" -gt 0 ] && grep -E '^\[  (FAILED|ERROR)  \]|^\[ *LINE *\]|error|Failure' "$log"
	echo "unit $(basename "$bin"): ${p:-0} passed, ${f:-0} failed"
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
done

for script in tests/*.t.sh; do
	[ -f "$script" ] || continue
	echo "== $script"
	bash "$script" 2>&1 | tee "$log"
	st=${PIPESTATUS[0]}
	p=$(grep -c '^PASS ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	s=$(grep -c '^SKIP ' "$log")
	if [ "$st" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $script: exited $st"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done

if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
