// SPDX-License-Identifier: MIT
#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Index of the first range whose base is greater than addr. */
static int bus_upper_bound(const struct bus *bus, uint64_t addr)
{
	int lo = 0, hi = bus->nr;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (bus->ranges[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_io_fn fn, void *opaque,
		 const char *name)
{
	int i;

	if (len == 0 || base + len - 1 < base)
		return -EINVAL;
	i = bus_upper_bound(bus, base);
	/* The range before must end before base; the range at i must start after our end. */
	if (i > 0 && bus->ranges[i - 1].base + bus->ranges[i - 1].len > base)
		return -EEXIST;
	if (i < bus->nr && bus->ranges[i].base <= base + len - 1)
		return -EEXIST;
	if (bus->nr == bus->cap) {
		int cap = bus->cap ? bus->cap * 2 : 8;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nr - i) * sizeof(*bus->ranges));
	bus->ranges[i] = (struct bus_range){ base, len, fn, opaque, name };
	bus->nr++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	int i = bus_upper_bound(bus, addr);

	if (i == 0)
		return NULL;
	if (addr - bus->ranges[i - 1].base < bus->ranges[i - 1].len)
		return &bus->ranges[i - 1];
	return NULL;
}

bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	const struct bus_range *r = bus_find(bus, addr);

	if (!r) {
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	r->fn(r->opaque, addr - r->base, data, len, is_write);
	return true;
}

void bus_free(struct bus *bus)
{
	free(bus->ranges);
	memset(bus, 0, sizeof(*bus));
}
