/* SPDX-License-Identifier: MIT */
/*
 * A host-side client of the exec service (GUEST-CONTRACT.md, "The exec
 * service on port 5000"), for tests: frames over a Unix socket, either the
 * agent's own test socket or a VMM's vsock socket (CONNECT <port> first).
 */
#ifndef TESTS_AGENT_CLIENT_H
#define TESTS_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* vsock_port > 0: the path is a VMM's vsock socket; do the CONNECT handshake. */
int client_connect(const char *path, unsigned vsock_port);

int client_send(int fd, uint8_t type, const void *p, size_t len);
int client_send_json(int fd, uint8_t type, const char *json);

/*
 * One frame: 1 with *p malloc'd (NUL-terminated), 0 on a clean end of
 * stream, -1 on an error or when nothing came within timeout_ms (-1: none).
 */
int client_recv(int fd, uint8_t *type, uint8_t **p, uint32_t *len, int timeout_ms);

struct exec_result {
	int exit_code;
	uint8_t *out, *err;
	size_t out_len, err_len;
	char *error;
};

int exec_result_parse(const uint8_t *json, size_t len, struct exec_result *r);
void exec_result_free(struct exec_result *r);

/* Exec (1): sends json, waits for the ExecResult. 0 or -1. */
int client_exec(const char *path, unsigned vsock_port, const char *json, struct exec_result *r);

/* A FileResult's fields; files stays a jansson array (json_t *) as void *. */
struct file_result {
	uint8_t *content;
	size_t content_len;
	char *error;
	void *files;
};

int client_file(const char *path, unsigned vsock_port, uint8_t type, const char *json,
		struct file_result *r);
void file_result_free(struct file_result *r);

/* Standard base64 for request bodies; malloc'd. */
char *b64(const void *p, size_t n);

#endif
