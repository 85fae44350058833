// SPDX-License-Identifier: MIT
/*
 * The machine's private rootfs: the guest writes to its root file system, so
 * each machine boots a copy of the image. A reflink (FICLONE) shares the
 * blocks copy-on-write and costs nothing; where the file system cannot
 * (ext4, tmpfs), only the data segments are copied (SEEK_DATA/SEEK_HOLE)
 * and the holes stay holes, so a mostly empty 1 GiB image copies quickly.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/machine.h"

static int copy_range(int in, int out, off_t off, off_t end)
{
	static const size_t chunk = 1 << 20;

	while (off < end) {
		size_t want = (size_t)(end - off) < chunk ? (size_t)(end - off) : chunk;
		loff_t ioff = off, ooff = off;
		ssize_t n = copy_file_range(in, &ioff, out, &ooff, want, 0);

		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
			char *buf = malloc(want);

			if (!buf)
				return -ENOMEM;
			n = pread(in, buf, want, off);
			if (n > 0 && pwrite(out, buf, (size_t)n, off) != n)
				n = -1;
			free(buf);
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the source shrank under us */
		off += n;
	}
	return 0;
}

static int sparse_copy(int in, int out, off_t size)
{
	off_t data = 0, hole;
	int rc;

	if (ftruncate(out, size) < 0)
		return -errno;
	while (data < size) {
		data = lseek(in, data, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : -errno; /* ENXIO: only a hole is left */
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = size;
		if ((rc = copy_range(in, out, data, hole)))
			return rc;
		data = hole;
	}
	return 0;
}

int rootfs_copy(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
	struct stat st;

	if (in < 0)
		return -errno;
	if (fstat(in, &st) < 0) {
		rc = -errno;
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		goto out;
	}
	if (ioctl(out, FICLONE, in) == 0)
		goto out;
	rc = sparse_copy(in, out, st.st_size);
out:
	if (out >= 0)
		close(out);
	close(in);
	if (rc && out >= 0)
		unlink(dst);
	return rc;
}
