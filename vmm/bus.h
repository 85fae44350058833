/* SPDX-License-Identifier: MIT */
/*
 * A bus maps address ranges (I/O ports or guest-physical MMIO addresses) to
 * device handlers. Ranges are kept sorted and never overlap, so a lookup is a
 * binary search, whatever the number of devices.
 */
#ifndef FLASHPAN_BUS_H
#define FLASHPAN_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * A handler is called with the offset inside its range. `data` holds `len`
 * bytes (1, 2, 4 or 8), little-endian as the guest sees them: for a read the
 * handler fills it, for a write it consumes it.
 */
typedef void (*bus_io_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_io_fn fn;
	void *opaque;
	const char *name;
};

struct bus {
	struct bus_range *ranges; /* sorted by base */
	int nr, cap;
};

/* Register [base, base + len); -EEXIST if it overlaps a range, -EINVAL if empty. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_io_fn fn, void *opaque,
		 const char *name);
/* The range holding addr, or NULL. */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr);
/*
 * Dispatch an access. Returns false when no device claims the address (a read
 * then returns all ones, like an empty ISA/PCI bus).
 */
bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);
void bus_free(struct bus *bus);

#endif
