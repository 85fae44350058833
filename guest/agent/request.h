/* SPDX-License-Identifier: MIT */
/*
 * The JSON bodies of the exec service (GUEST-CONTRACT.md, "The exec service
 * on port 5000"), read and written the way Go's encoding/json does it on the
 * host: absent and null fields are zero values, unknown fields are ignored,
 * field names match exactly or else case-insensitively, []byte is padded
 * base64, and a value of the wrong type is an error.
 */
#ifndef AGENT_REQUEST_H
#define AGENT_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Exec, ExecStream, ExecPipe and (with rows and cols) ExecTTY. */
struct exec_request {
	char *command;
	char *working_dir;	/* NULL when absent or empty */
	char **env;		/* "KEY=VALUE", n_env of them */
	size_t n_env;
	uint8_t *stdin_data;
	size_t stdin_len;
	bool has_stdin;
	char *user;		/* NULL when absent or empty */
	uint16_t rows, cols;
};

struct portfwd_request {
	char *host;		/* defaults to 127.0.0.1 */
	uint16_t port;
};

/* WriteFile, ReadFile and ListFiles. */
struct file_request {
	char *path;
	uint8_t *content;
	size_t content_len;
	uint32_t mode;
};

struct file_entry {
	char *name;
	int64_t size;
	uint32_t mode;		/* Go os.FileMode bits */
	struct timespec mtime;
	bool is_dir;
};

/*
 * Parsers return 0, or -EINVAL with a message in err, or -ENOMEM. The
 * request is zeroed first and must be freed even after an error.
 */
int exec_request_parse(const char *json, size_t len, bool tty, struct exec_request *req,
		       char *err, size_t errlen);
void exec_request_free(struct exec_request *req);

int portfwd_request_parse(const char *json, size_t len, struct portfwd_request *req,
			  char *err, size_t errlen);
void portfwd_request_free(struct portfwd_request *req);

int file_request_parse(const char *json, size_t len, struct file_request *req,
		       char *err, size_t errlen);
void file_request_free(struct file_request *req);

/*
 * Encoders return a malloc'd JSON text (length in *len) or NULL when out of
 * memory. Empty fields are omitted, as the contract's table says.
 */
char *exec_result_encode(int exit_code, const uint8_t *out, size_t out_len,
			 const uint8_t *errb, size_t err_len, const char *error, size_t *len);
char *file_result_encode(const uint8_t *content, size_t content_len,
			 const struct file_entry *files, size_t n_files, const char *error,
			 size_t *len);

/* RFC 3339 with trimmed nanoseconds, UTC: Go's time.Time JSON form. */
void format_rfc3339(const struct timespec *ts, char *buf, size_t len);

/* Go's error text for an errno: strerror with a lower-case first letter. */
const char *go_strerror(int err, char *buf, size_t len);

#endif
