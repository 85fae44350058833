#!/usr/bin/env bash
# The guest agent (guest/agent/, issue 6) on the host, over Unix sockets: every
# exec mode, files, port forwarding, cancellation, bad input, and the command
# confinement (only when root). One PASS/FAIL/SKIP line per case; the cases
# live in tests/agent/agent_test.c. Built by `make guest agent-tests`.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

AGENT=build/guest/flashpan-agent
for f in "$AGENT" build/tests/agent/agent_test build/tests/agent/sandbox_probe; do
	if [ ! -x "$f" ]; then
		fail agent-build "no $f (run make guest agent-tests)"
		exit 0
	fi
done
timeout -s KILL 300 build/tests/agent/agent_test "$AGENT" "$PWD/build/tests/agent/sandbox_probe" "$TMP"
rc=$?
if [ $rc -gt 1 ]; then
	fail agent-test "agent_test exited $rc; agent logs: $(tail -c 600 "$TMP"/*.log 2>/dev/null | tr '\n' ' ')"
fi
exit 0
