# guest/: flashpan's own guest programs (issue 6, GUEST-CONTRACT.md).
# `make guest` builds them as static binaries: the guest rootfs has no C library.
#
# The agent: vsock 5000 (exec and files) and 5002 (readiness). It also runs
# on the host for tests (--listen-unix PREFIX; see guest/agent/main.c).
include guest/init/init.mk

AGENT_SRCS := $(wildcard guest/agent/*.c)
AGENT_OBJS := $(AGENT_SRCS:%.c=$(B)/obj/%.o)
AGENT_LIBS := -ljansson -lseccomp -lpthread

.PHONY: guest agent-tests
guest: $(B)/guest/flashpan-agent

$(B)/guest/flashpan-agent: $(AGENT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $^ $(AGENT_LIBS)

# Host-side tests of the agent over Unix sockets (tests/agent.t.sh).
AGENT_TEST_BINS := $(B)/tests/agent/agent_test $(B)/tests/agent/agent_client \
		   $(B)/tests/agent/sandbox_probe

$(B)/tests/agent/agent_test: tests/agent/agent_test.c tests/agent/client.c tests/agent/client.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ tests/agent/agent_test.c tests/agent/client.c guest/agent/base64.c -ljansson -lpthread

$(B)/tests/agent/agent_client: tests/agent/agent_client.c tests/agent/client.c tests/agent/client.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ tests/agent/agent_client.c tests/agent/client.c guest/agent/base64.c -ljansson

$(B)/tests/agent/sandbox_probe: tests/agent/sandbox_probe.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $<

agent-tests: guest $(AGENT_TEST_BINS)
test: agent-tests
