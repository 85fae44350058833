# libflashpan: the Machine API (include/flashpan.h, api/*.c) as a shared
# library next to the static one, its pkg-config file, and `make install`.
# The api/ sources are part of LIB_SRCS (the static library); the shared one
# holds only them (the machine spawns the VMM binary, it does not link the
# VMM), compiled again with -fPIC and exporting only FP_API symbols.
LDLIBS += -ljansson -lm

FP_VERSION   := 0.1.0
FP_SONAME    := libflashpan.so.0
PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
BINDIR       ?= $(PREFIX)/bin

PIC_OBJS := $(patsubst %.c,$(B)/pic/%.o,$(wildcard api/*.c))

$(B)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(B)/libflashpan.so: $(PIC_OBJS)
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(FP_SONAME) -Wl,--as-needed -o $@ $^ -ljansson -lpthread -lm

$(B)/flashpan.pc: flashpan.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(FP_VERSION)|g' $< >$@

all: $(B)/libflashpan.so

install: $(B)/flashpan $(B)/libflashpan.a $(B)/libflashpan.so $(B)/flashpan.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 0755 $(B)/flashpan $(DESTDIR)$(BINDIR)/flashpan
	install -m 0644 $(B)/libflashpan.a $(DESTDIR)$(LIBDIR)/libflashpan.a
	install -m 0755 $(B)/libflashpan.so $(DESTDIR)$(LIBDIR)/libflashpan.so.$(FP_VERSION)
	ln -sf libflashpan.so.$(FP_VERSION) $(DESTDIR)$(LIBDIR)/$(FP_SONAME)
	ln -sf $(FP_SONAME) $(DESTDIR)$(LIBDIR)/libflashpan.so
	install -m 0644 include/flashpan.h $(DESTDIR)$(INCLUDEDIR)/flashpan.h
	install -m 0644 $(B)/flashpan.pc $(DESTDIR)$(LIBDIR)/pkgconfig/flashpan.pc
