// SPDX-License-Identifier: MIT
/* A test client of the agent's exec service; see client.h. */
#include "tests/agent/client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "guest/agent/base64.h"

static int read_full(int fd, void *buf, size_t n, int timeout_ms)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (timeout_ms >= 0 && poll(&p, 1, timeout_ms) <= 0)
			return -1;
		r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return got == 0 && r == 0 ? 0 : -1;
		got += r;
	}
	return 1;
}

int client_connect(const char *path, unsigned vsock_port)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char line[64];
	size_t n = 0;
	int fd;

	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
		close(fd);
		return -1;
	}
	if (!vsock_port)
		return fd;
	/* GUEST-CONTRACT.md "vsock": CONNECT <port>\n, then OK <hostport>\n. */
	n = snprintf(line, sizeof(line), "CONNECT %u\n", vsock_port);
	if (write(fd, line, n) != (ssize_t)n)
		goto fail;
	for (n = 0; n < sizeof(line) - 1; n++) {
		if (read_full(fd, line + n, 1, 10000) != 1)
			goto fail;
		if (line[n] == '\n')
			break;
	}
	if (strncmp(line, "OK ", 3) != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

int client_send(int fd, uint8_t type, const void *p, size_t len)
{
	uint8_t hdr[5] = { type, len >> 24, len >> 16, len >> 8, len };
	size_t off = 0;

	if (send(fd, hdr, 5, MSG_NOSIGNAL) != 5)
		return -1;
	while (off < len) {
		ssize_t n = send(fd, (const char *)p + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += n;
	}
	return 0;
}

int client_send_json(int fd, uint8_t type, const char *json)
{
	return client_send(fd, type, json, strlen(json));
}

int client_recv(int fd, uint8_t *type, uint8_t **p, uint32_t *len, int timeout_ms)
{
	uint8_t hdr[5];
	int r = read_full(fd, hdr, 5, timeout_ms);

	*p = NULL;
	if (r <= 0)
		return r;
	*type = hdr[0];
	*len = (uint32_t)hdr[1] << 24 | hdr[2] << 16 | hdr[3] << 8 | hdr[4];
	*p = malloc((size_t)*len + 1);
	if (!*p)
		return -1;
	(*p)[*len] = 0;
	if (*len && read_full(fd, *p, *len, timeout_ms < 0 ? -1 : 30000) != 1) {
		free(*p);
		*p = NULL;
		return -1;
	}
	return 1;
}

static int get_b64(json_t *o, const char *key, uint8_t **out, size_t *len)
{
	json_t *v = json_object_get(o, key);
	size_t bad;

	*out = NULL;
	*len = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	return base64_decode(json_string_value(v), json_string_length(v), out, len, &bad);
}

int exec_result_parse(const uint8_t *json, size_t len, struct exec_result *r)
{
	json_t *o = json_loadb((const char *)json, len, 0, NULL), *v;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (!o || !json_is_object(o))
		goto out;
	v = json_object_get(o, "exit_code");
	if (!json_is_integer(v))
		goto out;
	r->exit_code = json_integer_value(v);
	if (get_b64(o, "stdout", &r->out, &r->out_len) || get_b64(o, "stderr", &r->err, &r->err_len))
		goto out;
	v = json_object_get(o, "error");
	if (json_is_string(v))
		r->error = strdup(json_string_value(v));
	ret = 0;
out:
	json_decref(o);
	return ret;
}

void exec_result_free(struct exec_result *r)
{
	free(r->out);
	free(r->err);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

int client_exec(const char *path, unsigned vsock_port, const char *json, struct exec_result *r)
{
	int fd = client_connect(path, vsock_port), ret = -1;
	uint8_t type, *p = NULL;
	uint32_t len;

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return -1;
	if (client_send_json(fd, 1, json) == 0 && client_recv(fd, &type, &p, &len, 60000) == 1 &&
	    type == 2)
		ret = exec_result_parse(p, len, r);
	free(p);
	close(fd);
	return ret;
}

int client_file(const char *path, unsigned vsock_port, uint8_t type, const char *json,
		struct file_result *r)
{
	int fd = client_connect(path, vsock_port), ret = -1;
	uint8_t t, *p = NULL;
	json_t *o = NULL, *v;
	uint32_t len;

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return -1;
	if (client_send_json(fd, type, json) || client_recv(fd, &t, &p, &len, 60000) != 1 || t != 17)
		goto out;
	o = json_loadb((const char *)p, len, 0, NULL);
	if (!o || get_b64(o, "content", &r->content, &r->content_len))
		goto out;
	v = json_object_get(o, "error");
	if (json_is_string(v))
		r->error = strdup(json_string_value(v));
	v = json_object_get(o, "files");
	if (json_is_array(v))
		r->files = json_incref(v);
	ret = 0;
out:
	json_decref(o);
	free(p);
	close(fd);
	return ret;
}

void file_result_free(struct file_result *r)
{
	free(r->content);
	free(r->error);
	json_decref(r->files);
	memset(r, 0, sizeof(*r));
}

char *b64(const void *p, size_t n)
{
	char *s = malloc(base64_encoded_len(n) + 1);

	if (s)
		base64_encode(p, n, s);
	return s;
}
