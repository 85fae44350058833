# The guest init (PID 1 of a sandbox VM): build/guest/flashpan-init, static.
# Included once (guarded) by guest/rootfs/rootfs.mk and/or guest/guest.mk.
ifndef GUEST_INIT_MK
GUEST_INIT_MK := 1

GUEST_INIT_BIN  := $(B)/guest/flashpan-init
GUEST_INIT_SRCS := $(wildcard guest/init/*.c)
GUEST_INIT_OBJS := $(GUEST_INIT_SRCS:%.c=$(B)/obj/%.o)
# The pure part (command line -> struct, struct -> file contents): also linked
# into the host's unit test.
GUEST_INIT_PURE := guest/init/cmdline.c guest/init/render.c

.PHONY: guest guest-init
guest: $(GUEST_INIT_BIN)
guest-init: $(GUEST_INIT_BIN)

$(GUEST_INIT_BIN): $(GUEST_INIT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $^ -lm

# Overrides the generic unit-test rule of the top Makefile: the parser lives
# in guest/init/, not in libflashpan.a.
$(B)/tests/unit/test_guest_init: tests/unit/test_guest_init.c $(GUEST_INIT_PURE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka -lm

endif
