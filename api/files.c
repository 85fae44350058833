// SPDX-License-Identifier: MIT
/*
 * WriteFile, ReadFile, ListFiles through the agent's port 5000: one request
 * frame, one FileResult frame back (`content`, `files`, `error`, each omitted
 * when empty; GUEST-CONTRACT.md).
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/machine.h"
#include "api/wire.h"

#define FILE_TIMEOUT_MS 60000

/* Send one request, return the FileResult as JSON (caller decrefs), or NULL with *rc set. */
static json_t *file_request(struct fp_machine *m, uint8_t type, json_t *req, const char *what, const char *path,
			    int *rc)
{
	char *body = json_dumps(req, JSON_COMPACT);
	uint8_t rtype, *payload = NULL;
	json_t *res = NULL, *err;
	uint32_t len;
	int fd;

	json_decref(req);
	if (!body) {
		*rc = machine_fail(m, -ENOMEM, "%s %s: out of memory", what, path);
		return NULL;
	}
	fd = fp_machine_dial_vsock(m, FP_VSOCK_PORT_EXEC);
	if (fd < 0) {
		free(body);
		*rc = fd;
		return NULL;
	}
	*rc = wire_send(fd, type, body, strlen(body));
	free(body);
	while (!*rc) {
		*rc = wire_recv(fd, -1, mono_ms() + FILE_TIMEOUT_MS, &rtype, &payload, &len);
		if (*rc || rtype == WIRE_FILE_RESULT)
			break;
		free(payload);
		payload = NULL;
	}
	close(fd);
	if (*rc) {
		machine_fail(m, *rc, "%s %s: %s", what, path,
			     *rc == -ECONNRESET ? "the guest closed the connection" : strerror(-*rc));
		return NULL;
	}
	res = json_loads((const char *)payload, 0, NULL);
	free(payload);
	if (!json_is_object(res)) {
		json_decref(res);
		*rc = machine_fail(m, -EPROTO, "%s %s: the agent's answer is not a JSON object", what, path);
		return NULL;
	}
	err = json_object_get(res, "error");
	if (json_is_string(err) && *json_string_value(err)) {
		const char *e = json_string_value(err);

		/* The agent's words; the errno is the closest of the usual ones. */
		*rc = strstr(e, "no such file") || strstr(e, "No such file") ? -ENOENT :
		      strstr(e, "ermission denied")                          ? -EACCES :
		      strstr(e, "is a directory") || strstr(e, "not a regular") ? -EISDIR :
		      strstr(e, "too large") || strstr(e, "16 MiB")             ? -EFBIG :
										    -EIO;
		machine_fail(m, *rc, "%s %s: %s", what, path, e);
		json_decref(res);
		return NULL;
	}
	return res;
}

int fp_machine_write_file(struct fp_machine *m, const char *path, const void *data, size_t len, uint32_t mode)
{
	char *b64 = b64_encode(data, len);
	json_t *req = json_object(), *res;
	int rc;

	if (!b64 || !req) {
		free(b64);
		json_decref(req);
		return machine_fail(m, -ENOMEM, "write %s: out of memory", path);
	}
	json_object_set_new(req, "path", json_string(path));
	json_object_set_new(req, "content", json_string(b64));
	json_object_set_new(req, "mode", json_integer(mode));
	free(b64);
	res = file_request(m, WIRE_WRITE_FILE, req, "write", path, &rc);
	json_decref(res);
	return res ? 0 : rc;
}

int fp_machine_read_file(struct fp_machine *m, const char *path, void **data, size_t *len)
{
	json_t *req = json_object(), *res, *content;
	uint8_t *buf;
	int rc;

	*data = NULL;
	*len = 0;
	if (!req)
		return machine_fail(m, -ENOMEM, "read %s: out of memory", path);
	json_object_set_new(req, "path", json_string(path));
	res = file_request(m, WIRE_READ_FILE, req, "read", path, &rc);
	if (!res)
		return rc;
	content = json_object_get(res, "content");
	if (!content || json_is_null(content)) {
		rc = 0; /* an empty file: content omitted */
		buf = calloc(1, 1);
		*len = 0;
	} else if (!json_is_string(content) || b64_decode(json_string_value(content), &buf, len)) {
		buf = NULL;
	}
	json_decref(res);
	if (!buf)
		return machine_fail(m, -EPROTO, "read %s: the agent's content is not base64", path);
	*data = buf;
	return 0;
}

void fp_file_list_free(struct fp_file_info *files, size_t n)
{
	for (size_t i = 0; files && i < n; i++) {
		free(files[i].name);
		free(files[i].mod_time);
	}
	free(files);
}

int fp_machine_list_files(struct fp_machine *m, const char *path, struct fp_file_info **files)
{
	json_t *req = json_object(), *res, *arr, *f;
	struct fp_file_info *list;
	size_t i, n;
	int rc;

	*files = NULL;
	if (!req)
		return machine_fail(m, -ENOMEM, "list %s: out of memory", path);
	json_object_set_new(req, "path", json_string(path));
	res = file_request(m, WIRE_LIST_FILES, req, "list", path, &rc);
	if (!res)
		return rc;
	arr = json_object_get(res, "files");
	n = json_is_array(arr) ? json_array_size(arr) : 0;
	list = calloc(n + 1, sizeof(*list));
	if (!list) {
		json_decref(res);
		return machine_fail(m, -ENOMEM, "list %s: out of memory", path);
	}
	json_array_foreach(arr, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));
		const char *mt = json_string_value(json_object_get(f, "mod_time"));

		list[i].name = strdup(name ? name : "");
		list[i].mod_time = strdup(mt ? mt : "");
		list[i].size = json_integer_value(json_object_get(f, "size"));
		list[i].mode = (uint32_t)json_integer_value(json_object_get(f, "mode"));
		list[i].is_dir = json_is_true(json_object_get(f, "is_dir"));
		if (!list[i].name || !list[i].mod_time) {
			json_decref(res);
			fp_file_list_free(list, i + 1);
			return machine_fail(m, -ENOMEM, "list %s: out of memory", path);
		}
	}
	json_decref(res);
	*files = list;
	return (int)n;
}
