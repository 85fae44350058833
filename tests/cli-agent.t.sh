#!/usr/bin/env bash
# flashpan exec, cp and ls (vmm/cli_agent.c, through libflashpan's fp_machine_attach)
# against the real guest agent running on this host: build/guest/flashpan-agent
# --listen-unix PREFIX (PREFIX_5000, PREFIX_5002), behind tests/api/vsock_proxy.py,
# which speaks the VMM's CONNECT/OK handshake on one Unix socket. So the CLI runs
# exactly the code it runs against a VMM; only the guest is this host (guest paths
# are host paths under $TMP). The same verbs against a real guest: tests/linux/api-e2e.sh.
# One PASS/FAIL/SKIP line per case.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

AGENT=build/guest/flashpan-agent
for f in "$FLASHPAN" "$AGENT"; do
	if [ ! -x "$f" ]; then
		fail cli-agent-build "no $f (run make and make guest)"
		exit 0
	fi
done
command -v python3 >/dev/null || { skip cli-agent "no python3 for the CONNECT/OK proxy"; exit 0; }

S=$TMP/v.sock
G=$TMP/guest
mkdir -p "$G"
"$AGENT" --listen-unix "$TMP/agent" --privileged >"$TMP/agent.log" 2>&1 &
agent_pid=$!
python3 tests/api/vsock_proxy.py "$S" "$TMP/agent" >"$TMP/proxy.log" 2>&1 &
proxy_pid=$!
trap 'kill $agent_pid $proxy_pid 2>/dev/null; wait $agent_pid $proxy_pid 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 100); do
	[ -S "$S" ] && [ -S "$TMP/agent_5000" ] && break
	sleep 0.05
done
if ! [ -S "$S" ] || ! [ -S "$TMP/agent_5000" ]; then
	fail cli-agent-setup "the agent or the proxy did not come up: $(cat "$TMP"/*.log | tail -c 400)"
	exit 0
fi

fp() { timeout -s KILL 30 "$FLASHPAN" "$@"; }
# run NAME CMD... : status in $rc, output in $TMP/NAME.out and .err
run() {
	local name=$1
	shift
	"$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null
	rc=$?
}
# want NAME RC STDOUT [STDERR_PATTERN]
want() {
	local name=$1 wrc=$2 wout=$3 werr=${4:-}
	if [ "$rc" -ne "$wrc" ]; then
		fail "$name" "exit $rc, want $wrc; stderr: $(head -c 300 "$TMP/$name.err" | tr '\n' ' ')"
	elif [ "$(cat "$TMP/$name.out")" != "$wout" ]; then
		fail "$name" "stdout '$(head -c 300 "$TMP/$name.out" | tr '\n' '|')', want '$(echo "$wout" | tr '\n' '|')'"
	elif [ -n "$werr" ] && ! grep -q -- "$werr" "$TMP/$name.err"; then
		fail "$name" "no '$werr' on stderr: $(head -c 300 "$TMP/$name.err" | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

# ---- exec
run exec-echo fp exec --vsock "$S" -- echo hello
want exec-echo 0 hello
if grep -qx 5000 "$S.count" 2>/dev/null; then
	pass "exec-used-connect-handshake (the proxy served CONNECT 5000)"
else
	fail exec-used-connect-handshake "the proxy saw no CONNECT 5000"
fi
run exec-exit-code fp exec --vsock "$S" -- exit 7
want exec-exit-code 7 ""
run exec-words-joined fp exec --vsock "$S" -- echo '$((6*7))' and 'two  words'
want exec-words-joined 0 "42 and two words"
run exec-no-dashdash fp exec --vsock "$S" echo -n x
want exec-no-dashdash 0 x
run exec-stderr fp exec --vsock "$S" -- 'echo out; echo err >&2; exit 3'
want exec-stderr 3 out err
FROM_HOST=h run exec-env-cwd fp exec --vsock "$S" -e FOO=bar=baz -e FROM_HOST -w "$G" -- 'echo $FOO $FROM_HOST; pwd'
want exec-env-cwd 0 "bar=baz h
$G"
run exec-vsock-env env FLASHPAN_VSOCK="$S" "$FLASHPAN" exec -- echo via-env
want exec-vsock-env 0 via-env
if [ "$(id -u)" = 0 ]; then
	run exec-user fp exec --vsock "$S" -u 1234:1235 -- 'id -u; id -g'
	want exec-user 0 "1234
1235"
else
	skip exec-user "needs root"
fi
run exec-not-found fp exec --vsock "$S" -- no-such-command-flashpan
want exec-not-found 127 "" "not found"
run exec-bad-cwd fp exec --vsock "$S" -w /no/such/dir -- true
if [ $rc -eq 126 ] || [ $rc -eq 127 ] && grep -q /no/such/dir "$TMP/exec-bad-cwd.err"; then
	pass "exec-bad-cwd (exit $rc: $(head -c 120 "$TMP/exec-bad-cwd.err"))"
else
	fail exec-bad-cwd "exit $rc, want 126 or 127 with the reason; stderr: $(head -c 300 "$TMP/exec-bad-cwd.err")"
fi

# Streaming: the first line arrives before the command ends.
stamp() { while IFS= read -r l; do echo "$(date +%s.%N) $l"; done; }
"$FLASHPAN" exec --vsock "$S" -- 'echo first; sleep 1.5; echo second' </dev/null 2>/dev/null | stamp >"$TMP/stream.out"
gap=$(awk 'NR == 1 { a = $1 } NR == 2 { printf "%.2f", $1 - a }' "$TMP/stream.out")
if [ "$(cut -d' ' -f2 "$TMP/stream.out" | tr '\n' ' ')" = "first second " ] && awk -v g="$gap" 'BEGIN { exit !(g >= 1.2) }'; then
	pass "exec-streams (second line ${gap} s after the first)"
else
	fail exec-streams "lines $(tr '\n' '|' <"$TMP/stream.out"), gap '${gap}'"
fi

run exec-stdin-default sh -c "echo abc | '$FLASHPAN' exec --vsock '$S' -- 'cat; echo end'"
want exec-stdin-default 0 end
run exec-stdin sh -c "printf 'abc\ndef\n' | '$FLASHPAN' exec --vsock '$S' -i -- 'tr a-z A-Z; exit 4'"
want exec-stdin 4 "ABC
DEF"
head -c 300000 /dev/urandom >"$TMP/big.bin"
"$FLASHPAN" exec --vsock "$S" -i -- cat <"$TMP/big.bin" >"$TMP/big.out" 2>"$TMP/big.err"
rc=$?
if [ $rc -eq 0 ] && cmp -s "$TMP/big.bin" "$TMP/big.out"; then
	pass "exec-stdin-binary (300000 random bytes through cat)"
else
	fail exec-stdin-binary "exit $rc, $(stat -c %s "$TMP/big.out") bytes back; $(head -c 200 "$TMP/big.err")"
fi

run exec-tty fp exec --vsock "$S" -t -- 'tty; stty size; echo to-stderr >&2; exit 5'
if [ $rc -eq 5 ] && grep -q '^/dev/pts/' "$TMP/exec-tty.out" && tr -d '\r' <"$TMP/exec-tty.out" | grep -qx '24 80' &&
	tr -d '\r' <"$TMP/exec-tty.out" | grep -qx to-stderr; then
	pass "exec-tty (a pty, 24x80 without a local terminal, stderr on stdout, exit 5)"
else
	fail exec-tty "exit $rc, output $(tr '\r\n' '~|' <"$TMP/exec-tty.out" | head -c 300)"
fi
if command -v script >/dev/null; then
	# A local terminal (script(1) makes one): its size reaches the guest's pty.
	TERM=dumb timeout -s KILL 30 script -qec "stty rows 33 cols 111; '$FLASHPAN' exec --vsock '$S' -t -- 'stty size'" /dev/null \
		</dev/null >"$TMP/tty2.out" 2>&1
	if tr -d '\r' <"$TMP/tty2.out" | grep -qx '33 111'; then
		pass "exec-tty-size (a local 33x111 terminal gives the guest pty 33x111)"
	else
		fail exec-tty-size "output $(tr '\r\n' '~|' <"$TMP/tty2.out" | head -c 300)"
	fi
else
	skip exec-tty-size "no script(1)"
fi

t0=$(date +%s%N)
run exec-timeout fp exec --vsock "$S" --timeout 0.5 -- 'sleep 40.123'
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $rc -eq 124 ] && [ $ms -lt 5000 ] && grep -q 'did not finish within 500 ms' "$TMP/exec-timeout.err"; then
	pass "exec-timeout (exit 124 after $ms ms)"
else
	fail exec-timeout "exit $rc after $ms ms; $(head -c 200 "$TMP/exec-timeout.err")"
fi

"$FLASHPAN" exec --vsock "$S" -- 'sleep 40.456' </dev/null >/dev/null 2>"$TMP/int.err" &
epid=$!
sleep 0.7
t0=$(date +%s%N)
kill -INT $epid
wait $epid
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
gone=no
for _ in $(seq 80); do # the agent: SIGTERM at once, SIGKILL after 5 s
	pgrep -f 'sleep 40.456' >/dev/null || { gone=yes; break; }
	sleep 0.1
done
if [ $rc -eq 130 ] && [ $ms -lt 2000 ] && [ $gone = yes ] && ! pgrep -f 'sleep 40.123' >/dev/null; then
	pass "exec-sigint (exit 130 after $ms ms; the agent killed the guest command; the timed-out one is gone too)"
else
	fail exec-sigint "exit $rc after $ms ms, command gone: $gone; $(head -c 200 "$TMP/int.err")"
fi

run exec-no-vmm fp exec --vsock "$TMP/nothing.sock" -- true
want exec-no-vmm 125 "" "no such socket"
run exec-no-command fp exec --vsock "$S"
want exec-no-command 125 "" "no command"
run exec-bad-option fp exec --vsock "$S" --bogus -- true
want exec-bad-option 125 "" "unknown option '--bogus'"
run exec-bad-timeout fp exec --vsock "$S" --timeout -1 -- true
want exec-bad-timeout 125 "" "timeout"

# ---- cp
printf 'line one\nline two\n' >"$TMP/src.txt"
chmod 0640 "$TMP/src.txt"
run cp-to-guest fp cp --vsock "$S" "$TMP/src.txt" ":$G/new/sub/file.txt"
if [ $rc -eq 0 ] && cmp -s "$TMP/src.txt" "$G/new/sub/file.txt" && [ "$(stat -c %a "$G/new/sub/file.txt")" = 640 ] &&
	[ "$(stat -c %a "$G/new/sub")" = 755 ]; then
	pass "cp-to-guest (content, mode 0640 kept, parents made 0755)"
else
	fail cp-to-guest "exit $rc; $(head -c 200 "$TMP/cp-to-guest.err"); mode $(stat -c %a "$G/new/sub/file.txt" 2>&1)"
fi
run cp-to-guest-dir fp cp --vsock "$S" --mode 600 "$TMP/src.txt" ":$G/"
if [ $rc -eq 0 ] && cmp -s "$TMP/src.txt" "$G/src.txt" && [ "$(stat -c %a "$G/src.txt")" = 600 ]; then
	pass "cp-to-guest-dir (:DIR/ takes the source's name; --mode 600)"
else
	fail cp-to-guest-dir "exit $rc; $(head -c 200 "$TMP/cp-to-guest-dir.err")"
fi
run cp-stdin-to-guest sh -c "echo from-stdin | '$FLASHPAN' cp --vsock '$S' - ':$G/stdin.txt'"
want cp-stdin-to-guest 0 ""
[ "$(cat "$G/stdin.txt" 2>/dev/null)" = from-stdin ] || fail cp-stdin-content "got '$(cat "$G/stdin.txt" 2>&1)'"
head -c 1048576 /dev/urandom >"$G/rand.bin"
mkdir -p "$TMP/hostdir"
run cp-from-guest fp cp --vsock "$S" ":$G/rand.bin" "$TMP/hostdir"
if [ $rc -eq 0 ] && cmp -s "$G/rand.bin" "$TMP/hostdir/rand.bin"; then
	pass "cp-from-guest (1 MiB of random bytes into a host folder)"
else
	fail cp-from-guest "exit $rc; $(head -c 200 "$TMP/cp-from-guest.err")"
fi
run cp-from-guest-stdout fp cp --vsock "$S" ":$G/new/sub/file.txt" -
want cp-from-guest-stdout 0 "line one
line two"
: >"$G/empty"
run cp-empty fp cp --vsock "$S" ":$G/empty" "$TMP/empty.out"
if [ $rc -eq 0 ] && [ -f "$TMP/empty.out" ] && [ ! -s "$TMP/empty.out" ]; then pass cp-empty; else fail cp-empty "exit $rc"; fi
run cp-missing fp cp --vsock "$S" ":$G/nope" "$TMP/x"
want cp-missing 1 "" "no such file"
run cp-dir-src fp cp --vsock "$S" ":$G/new" "$TMP/x"
want cp-dir-src 1 "" "regular"
head -c $((16 * 1048576 + 1)) /dev/zero >"$TMP/toobig"
run cp-too-big fp cp --vsock "$S" "$TMP/toobig" ":$G/toobig"
want cp-too-big 1 "" "16 MiB"
run cp-two-host fp cp --vsock "$S" "$TMP/src.txt" "$TMP/y"
want cp-two-host 2 "" "exactly one"
run cp-relative fp cp --vsock "$S" "$TMP/src.txt" ":rel"
want cp-relative 2 "" "absolute"
run cp-no-vmm fp cp --vsock "$TMP/nothing.sock" "$TMP/src.txt" ":/x"
want cp-no-vmm 1 "" "no such socket"

# ---- ls
run ls-names fp ls --vsock "$S" ":$G"
want ls-names 0 "empty
new/
rand.bin
src.txt
stdin.txt"
run ls-long fp ls --vsock "$S" -l "$G/new/sub"
if [ $rc -eq 0 ] && grep -Eq '^-rw-r----- +18 [0-9]{4}-[0-9]{2}-[0-9]{2}T[^ ]+ file.txt$' "$TMP/ls-long.out"; then
	pass "ls-long ($(cat "$TMP/ls-long.out"))"
else
	fail ls-long "exit $rc; $(cat "$TMP/ls-long.out" "$TMP/ls-long.err" | head -c 300)"
fi
run ls-dir-long fp ls --vsock "$S" -l "$G"
if grep -Eq '^drwxr-xr-x .* new/$' "$TMP/ls-dir-long.out"; then pass ls-dir-long; else fail ls-dir-long "$(head -c 300 "$TMP/ls-dir-long.out")"; fi
run ls-missing fp ls --vsock "$S" "$G/nope"
want ls-missing 1 "" "no such file"
run ls-usage fp ls --vsock "$S"
want ls-usage 2 "" "GUESTDIR"

# ---- help
for v in exec cp ls; do
	run help-$v fp $v --help
	if [ $rc -eq 0 ] && grep -q "^usage: flashpan $v" "$TMP/help-$v.out" && grep -q "Exit status" "$TMP/help-$v.out"; then
		pass "help-$v"
	else
		fail "help-$v" "exit $rc"
	fi
done
exit 0
