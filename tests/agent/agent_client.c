// SPDX-License-Identifier: MIT
/*
 * agent_client: a command-line client of the exec service, for shell tests
 * and by hand, against the agent's test socket or a VMM's vsock socket.
 *
 *   agent_client [--vsock PORT] SOCKET exec COMMAND [--user U] [--cwd D] [--env K=V]...
 *       Exec (1): the command's stdout and stderr on ours; exits with its
 *       code (255 for -1); an "error" is printed as "agent_client: error: ..."
 *   agent_client [--vsock PORT] SOCKET pipe COMMAND
 *       ExecPipe (12): our stdin to the command, its output to ours.
 *   agent_client [--vsock PORT] SOCKET write PATH MODE   (content on stdin)
 *   agent_client [--vsock PORT] SOCKET read PATH         (content on stdout)
 *   agent_client [--vsock PORT] SOCKET list PATH         (name size mode is_dir mod_time)
 *
 * With --vsock PORT, SOCKET is a VMM's vsock Unix socket and the client
 * sends CONNECT PORT first (GUEST-CONTRACT.md "vsock"); 5000 is the agent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tests/agent/client.h"

static void usage(void)
{
	fprintf(stderr, "usage: agent_client [--vsock PORT] SOCKET exec|pipe|write|read|list ARGS...\n");
	exit(2);
}

static uint8_t *slurp(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0, r;
	uint8_t *buf = malloc(cap);

	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	*len = n;
	return buf;
}

static int do_exec(const char *sock, unsigned port, int argc, char **argv, bool pipe_mode)
{
	json_t *req = json_pack("{s:s}", "command", argv[0]), *env = json_object();
	struct exec_result r;
	uint8_t type, *p;
	uint32_t len;
	char *s;
	int i, fd, code = 255;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--user"))
			json_object_set_new(req, "user", json_string(argv[i + 1]));
		else if (!strcmp(argv[i], "--cwd"))
			json_object_set_new(req, "working_dir", json_string(argv[i + 1]));
		else if (!strcmp(argv[i], "--env") && strchr(argv[i + 1], '=')) {
			char *k = strdup(argv[i + 1]), *v = strchr(k, '=');

			*v++ = 0;
			json_object_set_new(env, k, json_string(v));
			free(k);
		} else {
			usage();
		}
	}
	if (json_object_size(env))
		json_object_set(req, "env", env);
	s = json_dumps(req, JSON_COMPACT);
	if (!pipe_mode) {
		if (client_exec(sock, port, s, &r)) {
			fprintf(stderr, "agent_client: no result\n");
			return 255;
		}
		fwrite(r.out, 1, r.out_len, stdout);
		fwrite(r.err, 1, r.err_len, stderr);
		if (r.error)
			fprintf(stderr, "agent_client: error: %s\n", r.error);
		return r.exit_code < 0 ? 255 : r.exit_code;
	}
	fd = client_connect(sock, port);
	if (fd < 0 || client_send_json(fd, 12, s))
		return 255;
	{
		size_t n;
		uint8_t *in = slurp(stdin, &n);

		if (n)
			client_send(fd, 7, in, n);
		client_send(fd, 7, NULL, 0);
		free(in);
	}
	while (client_recv(fd, &type, &p, &len, -1) == 1) {
		if (type == 3)
			fwrite(p, 1, len, stdout);
		else if (type == 4)
			fwrite(p, 1, len, stderr);
		else if (type == 10 && len == 4)
			code = (int32_t)((uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]);
		free(p);
	}
	return code < 0 ? 255 : code;
}

int main(int argc, char **argv)
{
	struct file_result f;
	unsigned port = 0;
	const char *sock, *op;
	char *json = NULL;
	size_t i;

	if (argc > 2 && !strcmp(argv[1], "--vsock")) {
		port = atoi(argv[2]);
		argv += 2;
		argc -= 2;
	}
	if (argc < 4)
		usage();
	sock = argv[1];
	op = argv[2];
	if (!strcmp(op, "exec") || !strcmp(op, "pipe"))
		return do_exec(sock, port, argc - 3, argv + 3, !strcmp(op, "pipe"));
	if (!strcmp(op, "write") && argc == 5) {
		size_t n;
		uint8_t *data = slurp(stdin, &n);
		char *enc = b64(data, n);
		json_t *o = json_pack("{s:s,s:s,s:I}", "path", argv[3], "content", enc, "mode",
				      (json_int_t)strtoul(argv[4], NULL, 8));

		json = json_dumps(o, JSON_COMPACT);
		if (client_file(sock, port, 14, json, &f))
			return 255;
	} else if ((!strcmp(op, "read") || !strcmp(op, "list")) && argc == 4) {
		json_t *o = json_pack("{s:s}", "path", argv[3]);

		json = json_dumps(o, JSON_COMPACT);
		if (client_file(sock, port, op[0] == 'r' ? 15 : 16, json, &f))
			return 255;
	} else {
		usage();
	}
	if (f.error) {
		fprintf(stderr, "agent_client: error: %s\n", f.error);
		return 1;
	}
	fwrite(f.content, 1, f.content_len, stdout);
	if (f.files) {
		json_t *e;

		json_array_foreach((json_t *)f.files, i, e)
			printf("%s %lld %llo %d %s\n", json_string_value(json_object_get(e, "name")),
			       json_integer_value(json_object_get(e, "size")),
			       json_integer_value(json_object_get(e, "mode")),
			       json_is_true(json_object_get(e, "is_dir")),
			       json_string_value(json_object_get(e, "mod_time")));
	}
	return 0;
}
