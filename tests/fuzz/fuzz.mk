# make fuzz: libFuzzer harnesses for the guest-facing parsers, each run for
# FUZZ_SECONDS (default 30) from a generated seed corpus kept in build/fuzz/corpus.
# Exits non-zero on the first crash; the crashing input is saved as build/fuzz/crash-*.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -I. -Iinclude
FUZZERS      := fuzz_virtq fuzz_blk_req

$(B)/fuzz/fuzz_virtq: tests/fuzz/fuzz_virtq.c devices/virtio/queue.c vmm/mem.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^

$(B)/fuzz/fuzz_blk_req: tests/fuzz/fuzz_blk_req.c devices/virtio/blk_req.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^

$(B)/fuzz/gen_seeds: tests/fuzz/gen_seeds.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -I. -o $@ $<

# Second expansion: harness blocks below add to FUZZERS after this rule is read.
.SECONDEXPANSION:
fuzz: $$(addprefix $(B)/fuzz/,$$(FUZZERS)) $(B)/fuzz/gen_seeds
	$(B)/fuzz/gen_seeds $(B)/fuzz/corpus
	@set -e; for f in $(FUZZERS); do \
		echo "== $$f: $(FUZZ_SECONDS) s"; \
		$(B)/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -timeout=10 \
			-artifact_prefix=$(B)/fuzz/crash-$$f- $(B)/fuzz/corpus/$$f 2>$(B)/fuzz/$$f.log || \
			{ tail -n 40 $(B)/fuzz/$$f.log; echo "FAIL $$f: crash, input saved as $(B)/fuzz/crash-$$f-*"; exit 1; }; \
		grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^#[0-9]+.*DONE' $(B)/fuzz/$$f.log; \
		echo "PASS $$f"; \
	done

# virtio-vsock: packet parser and connection state machine (tests/fuzz/fuzz_vsock.c).
FUZZERS += fuzz_vsock
VSOCK_FUZZ_SRCS := tests/fuzz/fuzz_vsock.c devices/virtio/vsock.c devices/virtio/vsock_conn.c devices/virtio/vsock_mux.c \
		   devices/virtio/queue.c devices/virtio/mmio.c vmm/loop.c vmm/mem.c vmm/bus.c
$(B)/fuzz/fuzz_vsock: $(VSOCK_FUZZ_SRCS) tests/vsock/harness.h
	@mkdir -p $(dir $@) $(B)/fuzz/corpus/fuzz_vsock
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(VSOCK_FUZZ_SRCS) -lpthread

# virtio-net: hostile rings and a hostile peer over a socketpair (tests/fuzz/fuzz_net.c).
FUZZERS += fuzz_net
NET_FUZZ_SRCS := tests/fuzz/fuzz_net.c devices/virtio/net.c devices/virtio/net_rx.c devices/virtio/net_tx.c \
		 devices/virtio/net_backend.c devices/virtio/queue.c devices/virtio/mmio.c vmm/loop.c vmm/mem.c vmm/bus.c
$(B)/fuzz/fuzz_net: $(NET_FUZZ_SRCS) tests/net/fake_driver.h
	@mkdir -p $(dir $@) $(B)/fuzz/corpus/fuzz_net
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(NET_FUZZ_SRCS) -lpthread

# Guest agent: frames and JSON request bodies from the host (tests/fuzz/fuzz_agent.c).
FUZZERS += fuzz_agent
AGENT_FUZZ_SRCS := tests/fuzz/fuzz_agent.c guest/agent/frame.c guest/agent/request.c guest/agent/base64.c
$(B)/fuzz/fuzz_agent: $(AGENT_FUZZ_SRCS) guest/agent/frame.h guest/agent/request.h guest/agent/base64.h
	@mkdir -p $(dir $@) $(B)/fuzz/corpus/fuzz_agent
	@printf '\x01\x00\x00\x00\x56{"command":"echo hi","working_dir":"/tmp","env":{"A":"b"},"stdin":"aGk=","user":"1:2"}' \
		>$(B)/fuzz/corpus/fuzz_agent/exec
	@printf '\x09\x00\x00\x00\x2a{"command":"sh","rows":24,"cols":80,"x":1}\x07\x00\x00\x00\x00' \
		>$(B)/fuzz/corpus/fuzz_agent/tty
	@printf '\x0e\x00\x00\x00\x2b{"path":"/a/b","content":"AAEC","mode":493}' >$(B)/fuzz/corpus/fuzz_agent/write
	@printf '\x0d\x00\x00\x00\x1e{"host":"127.0.0.1","port":80}' >$(B)/fuzz/corpus/fuzz_agent/portfwd
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(AGENT_FUZZ_SRCS) -ljansson -lpthread
