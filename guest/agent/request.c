// SPDX-License-Identifier: MIT
/* JSON request parsing and response encoding with jansson; see request.h. */
#include "guest/agent/request.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "guest/agent/base64.h"

/* encoding/json matches a key exactly first, then without regard to case. */
static json_t *field(json_t *obj, const char *name)
{
	const char *key;
	json_t *v;

	v = json_object_get(obj, name);
	if (v)
		return json_is_null(v) ? NULL : v;
	json_object_foreach(obj, key, v) {
		if (strcasecmp(key, name) == 0)
			return json_is_null(v) ? NULL : v;
	}
	return NULL;
}

static int type_error(char *err, size_t errlen, const char *name, const char *want)
{
	snprintf(err, errlen, "json: cannot unmarshal into field %s of type %s", name, want);
	return -EINVAL;
}

static int get_string(json_t *obj, const char *name, char **out, char *err, size_t errlen)
{
	json_t *v = field(obj, name);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return type_error(err, errlen, name, "string");
	*out = strndup(json_string_value(v), json_string_length(v));
	return *out ? 0 : -ENOMEM;
}

static int get_uint(json_t *obj, const char *name, uint64_t max, uint64_t *out,
		    char *err, size_t errlen)
{
	json_t *v = field(obj, name);
	json_int_t i;

	*out = 0;
	if (!v)
		return 0;
	/* Go refuses 1.5, -1 and out-of-range values for unsigned fields. */
	if (!json_is_integer(v))
		return type_error(err, errlen, name, "unsigned integer");
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return type_error(err, errlen, name, "unsigned integer in range");
	*out = (uint64_t)i;
	return 0;
}

static int get_bytes(json_t *obj, const char *name, uint8_t **out, size_t *out_len, bool *present,
		     char *err, size_t errlen)
{
	json_t *v = field(obj, name);
	size_t bad_at = 0;
	int ret;

	*out = NULL;
	*out_len = 0;
	if (present)
		*present = false;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return type_error(err, errlen, name, "base64 string");
	ret = base64_decode(json_string_value(v), json_string_length(v), out, out_len, &bad_at);
	if (ret == -EINVAL) {
		snprintf(err, errlen, "illegal base64 data at input byte %zu in field %s", bad_at, name);
		return ret;
	}
	if (ret == 0 && present)
		*present = true;
	return ret;
}

static json_t *parse_object(const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr);

	if (!root) {
		snprintf(err, errlen, "invalid request: %s at byte %d", jerr.text, jerr.position);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "invalid request: not a JSON object");
		json_decref(root);
		return NULL;
	}
	return root;
}

static int get_env(json_t *obj, struct exec_request *req, char *err, size_t errlen)
{
	json_t *env = field(obj, "env"), *v;
	const char *key;

	if (!env)
		return 0;
	if (!json_is_object(env))
		return type_error(err, errlen, "env", "object of strings");
	req->env = calloc(json_object_size(env) + 1, sizeof(char *));
	if (!req->env)
		return -ENOMEM;
	json_object_foreach(env, key, v) {
		if (!json_is_string(v))
			return type_error(err, errlen, "env", "object of strings");
		if (asprintf(&req->env[req->n_env], "%s=%s", key, json_string_value(v)) < 0) {
			req->env[req->n_env] = NULL;
			return -ENOMEM;
		}
		req->n_env++;
	}
	return 0;
}

int exec_request_parse(const char *json, size_t len, bool tty, struct exec_request *req,
		       char *err, size_t errlen)
{
	json_t *root, *args;
	uint64_t v;
	int ret;

	memset(req, 0, sizeof(*req));
	root = parse_object(json, len, err, errlen);
	if (!root)
		return -EINVAL;
	ret = get_string(root, "command", &req->command, err, errlen);
	if (!ret && !req->command) {
		req->command = strdup("");
		ret = req->command ? 0 : -ENOMEM;
	}
	if (!ret)
		ret = get_string(root, "working_dir", &req->working_dir, err, errlen);
	if (!ret)
		ret = get_string(root, "user", &req->user, err, errlen);
	if (!ret)
		ret = get_env(root, req, err, errlen);
	if (!ret)
		ret = get_bytes(root, "stdin", &req->stdin_data, &req->stdin_len, &req->has_stdin,
				err, errlen);
	/*
	 * "args" is part of the request type but the contract runs the command
	 * as sh -c <command>, as the runtime's own agent does: args are checked
	 * for type and otherwise ignored.
	 */
	args = field(root, "args");
	if (!ret && args) {
		size_t i;
		json_t *a;

		if (!json_is_array(args))
			ret = type_error(err, errlen, "args", "array of strings");
		json_array_foreach(args, i, a) {
			if (!ret && !json_is_string(a))
				ret = type_error(err, errlen, "args", "array of strings");
		}
	}
	if (!ret && tty) {
		ret = get_uint(root, "rows", UINT16_MAX, &v, err, errlen);
		req->rows = v;
		if (!ret)
			ret = get_uint(root, "cols", UINT16_MAX, &v, err, errlen);
		req->cols = v;
	}
	if (!ret && req->working_dir && !req->working_dir[0]) {
		free(req->working_dir);
		req->working_dir = NULL;
	}
	if (!ret && req->user && !req->user[0]) {
		free(req->user);
		req->user = NULL;
	}
	json_decref(root);
	return ret;
}

void exec_request_free(struct exec_request *req)
{
	size_t i;

	free(req->command);
	free(req->working_dir);
	for (i = 0; i < req->n_env; i++)
		free(req->env[i]);
	free(req->env);
	free(req->stdin_data);
	free(req->user);
	memset(req, 0, sizeof(*req));
}

int portfwd_request_parse(const char *json, size_t len, struct portfwd_request *req,
			  char *err, size_t errlen)
{
	json_t *root;
	uint64_t v = 0;
	int ret;

	memset(req, 0, sizeof(*req));
	root = parse_object(json, len, err, errlen);
	if (!root)
		return -EINVAL;
	ret = get_string(root, "host", &req->host, err, errlen);
	if (!ret)
		ret = get_uint(root, "port", UINT16_MAX, &v, err, errlen);
	req->port = v;
	if (!ret && (!req->host || !req->host[0])) {
		free(req->host);
		req->host = strdup("127.0.0.1");
		if (!req->host)
			ret = -ENOMEM;
	}
	json_decref(root);
	return ret;
}

void portfwd_request_free(struct portfwd_request *req)
{
	free(req->host);
	memset(req, 0, sizeof(*req));
}

int file_request_parse(const char *json, size_t len, struct file_request *req,
		       char *err, size_t errlen)
{
	json_t *root;
	uint64_t v = 0;
	int ret;

	memset(req, 0, sizeof(*req));
	root = parse_object(json, len, err, errlen);
	if (!root)
		return -EINVAL;
	ret = get_string(root, "path", &req->path, err, errlen);
	if (!ret)
		ret = get_bytes(root, "content", &req->content, &req->content_len, NULL, err, errlen);
	if (!ret)
		ret = get_uint(root, "mode", UINT32_MAX, &v, err, errlen);
	req->mode = v;
	if (!ret && !req->path) {
		req->path = strdup("");
		ret = req->path ? 0 : -ENOMEM;
	}
	json_decref(root);
	return ret;
}

void file_request_free(struct file_request *req)
{
	free(req->path);
	free(req->content);
	memset(req, 0, sizeof(*req));
}

/*
 * encoding/json writes invalid UTF-8 as U+FFFD; jansson refuses it. File
 * names and error texts come from the file system, so clean them here.
 */
static json_t *json_string_lossy(const char *s)
{
	size_t n = strlen(s), i = 0, o = 0;
	json_t *j;
	char *buf;

	j = json_stringn(s, n);
	if (j)
		return j;
	buf = malloc(n * 3 + 1);
	if (!buf)
		return NULL;
	while (i < n) {
		unsigned char c = s[i];
		size_t k, need = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 :
				 (c & 0xf8) == 0xf0 ? 3 : 9;
		bool ok = need < 4 && i + need < n;

		for (k = 1; ok && k <= need; k++)
			ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
		if (ok) {
			/* Let jansson judge overlong forms and surrogates. */
			json_t *probe = json_stringn(s + i, need + 1);

			ok = probe != NULL;
			json_decref(probe);
		}
		if (ok) {
			memcpy(buf + o, s + i, need + 1);
			o += need + 1;
			i += need + 1;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	j = json_stringn(buf, o);
	free(buf);
	return j;
}

static int set_bytes(json_t *obj, const char *name, const uint8_t *p, size_t n)
{
	char *b64;
	int ret;

	if (n == 0)
		return 0;
	b64 = malloc(base64_encoded_len(n) + 1);
	if (!b64)
		return -1;
	base64_encode(p, n, b64);
	ret = json_object_set_new(obj, name, json_stringn_nocheck(b64, base64_encoded_len(n)));
	free(b64);
	return ret;
}

static char *dump(json_t *root, size_t *len)
{
	char *s;

	if (!root)
		return NULL;
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (s)
		*len = strlen(s);
	return s;
}

char *exec_result_encode(int exit_code, const uint8_t *out, size_t out_len,
			 const uint8_t *errb, size_t err_len, const char *error, size_t *len)
{
	json_t *root = json_object();

	if (!root)
		return NULL;
	if (json_object_set_new(root, "exit_code", json_integer(exit_code)) ||
	    set_bytes(root, "stdout", out, out_len) || set_bytes(root, "stderr", errb, err_len) ||
	    (error && error[0] && json_object_set_new(root, "error", json_string_lossy(error)))) {
		json_decref(root);
		return NULL;
	}
	return dump(root, len);
}

void format_rfc3339(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	char frac[16] = "";
	size_t n;

	gmtime_r(&ts->tv_sec, &tm);
	if (ts->tv_nsec) {
		snprintf(frac, sizeof(frac), ".%09ld", ts->tv_nsec);
		n = strlen(frac);
		while (frac[n - 1] == '0')
			frac[--n] = 0;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static json_t *file_entry_json(const struct file_entry *f)
{
	json_t *o = json_object();
	char when[64];

	if (!o)
		return NULL;
	format_rfc3339(&f->mtime, when, sizeof(when));
	if (json_object_set_new(o, "name", json_string_lossy(f->name)) ||
	    json_object_set_new(o, "size", json_integer(f->size)) ||
	    json_object_set_new(o, "mode", json_integer(f->mode)) ||
	    json_object_set_new(o, "mod_time", json_string(when)) ||
	    json_object_set_new(o, "is_dir", json_boolean(f->is_dir))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *file_result_encode(const uint8_t *content, size_t content_len,
			 const struct file_entry *files, size_t n_files, const char *error,
			 size_t *len)
{
	json_t *root = json_object(), *arr;
	size_t i;

	if (!root)
		return NULL;
	if (set_bytes(root, "content", content, content_len))
		goto fail;
	if (n_files) {
		arr = json_array();
		if (!arr || json_object_set_new(root, "files", arr))
			goto fail;
		for (i = 0; i < n_files; i++)
			if (json_array_append_new(arr, file_entry_json(&files[i])))
				goto fail;
	}
	if (error && error[0] && json_object_set_new(root, "error", json_string_lossy(error)))
		goto fail;
	return dump(root, len);
fail:
	json_decref(root);
	return NULL;
}

const char *go_strerror(int err, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(err));
	if (buf[0])
		buf[0] = tolower((unsigned char)buf[0]);
	return buf;
}
