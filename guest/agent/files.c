// SPDX-License-Identifier: MIT
/*
 * WriteFile (14), ReadFile (15) and ListFiles (16), each answered by one
 * FileResult (17) {content, files, error}, GUEST-CONTRACT.md "The exec
 * service on port 5000". Error texts follow Go's os package ("open PATH:
 * no such file or directory"), as the runtime's agent produced them.
 */
#include "guest/agent/agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/agent/request.h"

/* Go's os.FileMode bits (io/fs), for ListFiles' "mode". */
#define GO_MODE_DIR (1u << 31)
#define GO_MODE_SYMLINK (1u << 27)
#define GO_MODE_DEVICE (1u << 26)
#define GO_MODE_NAMED_PIPE (1u << 25)
#define GO_MODE_SOCKET (1u << 24)
#define GO_MODE_SETUID (1u << 23)
#define GO_MODE_SETGID (1u << 22)
#define GO_MODE_CHAR_DEVICE (1u << 21)
#define GO_MODE_STICKY (1u << 20)

/* os.fillFileStatFromSys: permission bits plus the type and special bits. */
static uint32_t go_file_mode(mode_t m)
{
	uint32_t g = m & 0777;

	switch (m & S_IFMT) {
	case S_IFBLK:
		g |= GO_MODE_DEVICE;
		break;
	case S_IFCHR:
		g |= GO_MODE_DEVICE | GO_MODE_CHAR_DEVICE;
		break;
	case S_IFDIR:
		g |= GO_MODE_DIR;
		break;
	case S_IFIFO:
		g |= GO_MODE_NAMED_PIPE;
		break;
	case S_IFLNK:
		g |= GO_MODE_SYMLINK;
		break;
	case S_IFSOCK:
		g |= GO_MODE_SOCKET;
		break;
	}
	if (m & S_ISUID)
		g |= GO_MODE_SETUID;
	if (m & S_ISGID)
		g |= GO_MODE_SETGID;
	if (m & S_ISVTX)
		g |= GO_MODE_STICKY;
	return g;
}

/* os.FileMode to open(2) permissions (os.syscallMode). */
static mode_t unix_mode(uint32_t g)
{
	mode_t m = g & 0777;

	if (g & GO_MODE_SETUID)
		m |= S_ISUID;
	if (g & GO_MODE_SETGID)
		m |= S_ISGID;
	if (g & GO_MODE_STICKY)
		m |= S_ISVTX;
	return m;
}

static void reply(struct conn *c, const uint8_t *content, size_t content_len,
		  const struct file_entry *files, size_t n_files, const char *error)
{
	size_t len;
	char *json = file_result_encode(content, content_len, files, n_files, error, &len);

	if (!json) {
		agent_log("files: out of memory encoding the result");
		return;
	}
	if (frame_write(c, FRAME_FILE_RESULT, json, len) < 0)
		agent_log("files: the host left before the result");
	free(json);
}

static void reply_errno(struct conn *c, const char *op, const char *path, int err)
{
	char msg[PATH_MAX + 256], ebuf[128];

	snprintf(msg, sizeof(msg), "%s %s: %s", op, path, go_strerror(err, ebuf, sizeof(ebuf)));
	reply(c, NULL, 0, NULL, 0, msg);
}

/* os.MkdirAll(dir, 0755). Returns 0 or -errno, with the failing path. */
static int mkdir_all(char *dir, char *failed, size_t len)
{
	struct stat st;
	char *p, c;

	if (!dir[0] || (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)))
		return 0;
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		c = *p;
		*p = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			snprintf(failed, len, "%s", dir);
			*p = c;
			return -errno;
		}
		*p = c;
		if (!c)
			break;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(failed, len, "%s", dir);
		return -ENOTDIR;
	}
	return 0;
}

static void write_file(struct conn *c, struct file_request *r)
{
	char *dir, *slash, failed[PATH_MAX];
	size_t off = 0;
	int fd, ret;

	dir = strdup(r->path);
	if (!dir)
		return reply(c, NULL, 0, NULL, 0, "out of memory");
	slash = strrchr(dir, '/');
	if (slash) {
		slash[slash == dir ? 1 : 0] = 0;
		ret = mkdir_all(dir, failed, sizeof(failed));
		free(dir);
		if (ret)
			return reply_errno(c, "mkdir", failed, -ret);
	} else {
		free(dir);
	}
	/* os.WriteFile: create with the mode (umask applies), truncate. */
	fd = open(r->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		  r->mode ? unix_mode(r->mode) : 0644);
	if (fd < 0)
		return reply_errno(c, "open", r->path, errno);
	while (off < r->content_len) {
		ssize_t n = write(fd, r->content + off, r->content_len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = errno;
			close(fd);
			return reply_errno(c, "write", r->path, ret);
		}
		off += n;
	}
	if (close(fd) < 0)
		return reply_errno(c, "close", r->path, errno);
	reply(c, NULL, 0, NULL, 0, NULL);
}

static void read_file(struct conn *c, struct file_request *r)
{
	char msg[PATH_MAX + 128];
	uint8_t *buf = NULL, *nb;
	size_t got = 0, cap;
	struct stat st;
	ssize_t n;
	int fd, e;

	/* O_NONBLOCK: opening a FIFO must not hang the connection. */
	fd = open(r->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return reply_errno(c, "open", r->path, errno);
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return reply_errno(c, "stat", r->path, e);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(msg, sizeof(msg), "read_file only supports regular files: %s", r->path);
		return reply(c, NULL, 0, NULL, 0, msg);
	}
	if (st.st_size > FILE_MAX_BYTES)
		goto too_big;
	fcntl(fd, F_SETFL, 0);
	/* One byte more than the size: a file that grew since the stat shows. */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf)
		goto oom;
	for (;;) {
		if (got == cap) {
			if (cap > FILE_MAX_BYTES)
				goto too_big;
			cap = cap * 2 > FILE_MAX_BYTES + 1 ? FILE_MAX_BYTES + 1 : cap * 2;
			nb = realloc(buf, cap);
			if (!nb)
				goto oom;
			buf = nb;
		}
		n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			free(buf);
			close(fd);
			return reply_errno(c, "read", r->path, e);
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	reply(c, buf, got, NULL, 0, NULL);
	free(buf);
	return;
oom:
	free(buf);
	close(fd);
	return reply(c, NULL, 0, NULL, 0, "out of memory");
too_big:
	free(buf);
	close(fd);
	snprintf(msg, sizeof(msg), "read_file exceeds %u bytes: %s", FILE_MAX_BYTES, r->path);
	reply(c, NULL, 0, NULL, 0, msg);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct file_entry *)a)->name, ((const struct file_entry *)b)->name);
}

/* os.ReadDir plus Info(): lstat each entry, sort by name, skip vanished ones. */
static void list_files(struct conn *c, struct file_request *r)
{
	struct file_entry *files = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;

	d = opendir(r->path);
	if (!d)
		return reply_errno(c, "open", r->path, errno);
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (n == cap) {
			struct file_entry *nf;

			cap = cap ? cap * 2 : 64;
			nf = realloc(files, cap * sizeof(*files));
			if (!nf)
				goto oom;
			files = nf;
		}
		files[n].name = strdup(de->d_name);
		if (!files[n].name)
			goto oom;
		files[n].size = st.st_size;
		files[n].mode = go_file_mode(st.st_mode);
		files[n].mtime = st.st_mtim;
		files[n].is_dir = S_ISDIR(st.st_mode);
		n++;
	}
	closedir(d);
	qsort(files, n, sizeof(*files), by_name);
	reply(c, NULL, 0, files, n, NULL);
	goto out;
oom:
	closedir(d);
	reply(c, NULL, 0, NULL, 0, "out of memory");
out:
	for (i = 0; i < n; i++)
		free(files[i].name);
	free(files);
}

void files_serve(struct agent *a, struct conn *c, uint8_t type, const char *req, size_t len)
{
	struct file_request r;
	char err[512];
	int ret;

	ret = file_request_parse(req, len, &r, err, sizeof(err));
	if (ret) {
		reply(c, NULL, 0, NULL, 0, ret == -ENOMEM ? "out of memory" : err);
		file_request_free(&r);
		return;
	}
	if (type == FRAME_WRITE_FILE)
		write_file(c, &r);
	else if (type == FRAME_READ_FILE)
		read_file(c, &r);
	else
		list_files(c, &r);
	file_request_free(&r);
}
