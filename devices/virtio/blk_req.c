// SPDX-License-Identifier: MIT
#include "devices/virtio/blk_req.h"

#include <endian.h>
#include <string.h>

#define BLK_HDR_BYTES   16
#define BLK_RANGE_BYTES 16

/* Copy up to `len` bytes out of the iovecs, skipping the first `skip`. */
static size_t iov_to_buf(const struct iovec *iov, unsigned int nr, uint64_t skip, void *dst, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < nr && done < len; i++) {
		size_t n;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - skip;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)dst + done, (const uint8_t *)iov[i].iov_base + skip, n);
		done += n;
		skip = 0;
	}
	return done;
}

size_t blk_iov_from_buf(const struct iovec *iov, unsigned int nr, const void *src, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < nr && done < len; i++) {
		size_t n = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		if (n)
			memcpy(iov[i].iov_base, (const uint8_t *)src + done, n);
		done += n;
	}
	return done;
}

void blk_iov_advance(struct iovec **iov, uint16_t *nr, uint64_t n)
{
	while (*nr && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*nr)--;
	}
	if (*nr && n) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

/* [sector, sector + nr_sectors) inside the disk, written so that nothing overflows. */
static bool in_capacity(const struct blk_limits *lim, uint64_t sector, uint64_t nr_sectors)
{
	return sector <= lim->capacity && nr_sectors <= lim->capacity - sector;
}

/* The status byte is the last device-writable byte (§5.2.6); take it off the data. */
static uint8_t *take_status(struct virtq_chain *c)
{
	for (int i = c->nr_out + c->nr_in - 1; i >= c->nr_out; i--) {
		struct iovec *v = &c->iov[i];

		if (v->iov_len) {
			v->iov_len--;
			return (uint8_t *)v->iov_base + v->iov_len;
		}
	}
	return NULL;
}

static int parse_ranges(struct blk_req *r, const struct blk_limits *lim)
{
	uint64_t n = r->data_len / BLK_RANGE_BYTES;

	if (r->data_len == 0 || r->data_len % BLK_RANGE_BYTES || n > BLK_MAX_RANGES)
		return VIRTIO_BLK_S_IOERR;
	r->nr_ranges = (uint16_t)n;
	for (unsigned int i = 0; i < n; i++) {
		struct {
			uint64_t sector;
			uint32_t num_sectors;
			uint32_t flags;
		} raw;
		struct blk_range *g = &r->range[i];

		/* One copy: the guest may change its buffers while we look at them. */
		iov_to_buf(r->data, r->nr_data, (uint64_t)i * BLK_RANGE_BYTES, &raw, sizeof(raw));
		g->sector = le64toh(raw.sector);
		g->nr_sectors = le32toh(raw.num_sectors);
		g->flags = le32toh(raw.flags);
		/* §5.2.6.2: reserved flags, or UNMAP on a DISCARD, are unsupported. */
		if ((g->flags & ~VIRTIO_BLK_WZ_F_UNMAP) ||
		    (r->type == VIRTIO_BLK_T_DISCARD && (g->flags & VIRTIO_BLK_WZ_F_UNMAP)))
			return VIRTIO_BLK_S_UNSUPP;
		if (g->nr_sectors > BLK_MAX_RANGE_SECTORS || !in_capacity(lim, g->sector, g->nr_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

int blk_req_parse(struct virtq_chain *c, const struct blk_limits *lim, struct blk_req *r)
{
	struct {
		uint32_t type;
		uint32_t reserved;
		uint64_t sector;
	} hdr;
	struct iovec *out = c->iov, *in = c->iov + c->nr_out;
	uint16_t nr_out = c->nr_out;
	uint64_t out_data, in_data;

	memset(r, 0, sizeof(*r));
	r->status = take_status(c);
	if (!r->status)
		return BLK_REQ_NO_STATUS;
	if (c->out_len < BLK_HDR_BYTES)
		return VIRTIO_BLK_S_IOERR;
	iov_to_buf(out, nr_out, 0, &hdr, sizeof(hdr));
	blk_iov_advance(&out, &nr_out, BLK_HDR_BYTES);
	r->type = le32toh(hdr.type);
	r->sector = le64toh(hdr.sector);
	out_data = c->out_len - BLK_HDR_BYTES;
	in_data = c->in_len - 1;

	/* Data flows one way per type: device-writable for IN and GET_ID, readable otherwise. */
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		if (out_data)
			return VIRTIO_BLK_S_IOERR;
		r->data = in;
		r->nr_data = c->nr_in;
		r->data_len = in_data;
		break;
	case VIRTIO_BLK_T_OUT:
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
	case VIRTIO_BLK_T_FLUSH:
		if (in_data)
			return VIRTIO_BLK_S_IOERR;
		r->data = out;
		r->nr_data = nr_out;
		r->data_len = out_data;
		break;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (r->type == VIRTIO_BLK_T_OUT && lim->read_only)
			return VIRTIO_BLK_S_IOERR;
		if (r->data_len % BLK_SECTOR_SIZE ||
		    !in_capacity(lim, r->sector, r->data_len >> BLK_SECTOR_SHIFT))
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		return r->data_len ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
		if (!lim->discard)
			return VIRTIO_BLK_S_UNSUPP;
		return lim->read_only ? VIRTIO_BLK_S_IOERR : parse_ranges(r, lim);
	default: /* VIRTIO_BLK_T_WRITE_ZEROES */
		if (!lim->write_zeroes)
			return VIRTIO_BLK_S_UNSUPP;
		return lim->read_only ? VIRTIO_BLK_S_IOERR : parse_ranges(r, lim);
	}
}
