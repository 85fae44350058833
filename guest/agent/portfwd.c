// SPDX-License-Identifier: MIT
/*
 * PortForward (13), GUEST-CONTRACT.md "The exec service on port 5000": the
 * agent connects to {"host","port"} inside the guest (host defaults to
 * 127.0.0.1), answers Ready, or Stderr with the reason, and from then on
 * the connection carries raw bytes both ways, no frames.
 *
 * The host may be an IPv4 or IPv6 address or a name from /etc/hosts. The
 * agent is a static binary without glibc's NSS modules, so it does not
 * resolve names through DNS.
 */
#include "guest/agent/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest/agent/request.h"

struct pump {
	int from, to;
};

static int parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char h[256];

	/* [::1] as in Go's host:port syntax. */
	if (host[0] == '[' && strlen(host) < sizeof(h) + 2 && host[strlen(host) - 1] == ']') {
		snprintf(h, sizeof(h), "%.*s", (int)strlen(host) - 2, host + 1);
		host = h;
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
	return -ENOENT;
}

/* A name from /etc/hosts ("localhost" works without one). */
static int lookup_hosts(const char *name, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	char *line = NULL, *tok, *save, *addr;
	size_t cap = 0;
	int ret = -ENOENT;
	FILE *f;

	f = fopen("/etc/hosts", "re");
	while (f && ret && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "#\n")] = 0;
		addr = strtok_r(line, " \t", &save);
		if (!addr)
			continue;
		while (ret && (tok = strtok_r(NULL, " \t", &save)))
			if (strcasecmp(tok, name) == 0)
				ret = parse_addr(addr, port, ss, len);
	}
	free(line);
	if (f)
		fclose(f);
	if (ret && strcasecmp(name, "localhost") == 0)
		ret = parse_addr("127.0.0.1", port, ss, len);
	return ret;
}

static void *pump_main(void *arg)
{
	struct pump *p = arg;
	char buf[32 * 1024];

	for (;;) {
		ssize_t n = recv(p->from, buf, sizeof(buf), 0), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		while (off < n) {
			ssize_t w = send(p->to, buf + off, n - off, MSG_NOSIGNAL);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				goto done;
			off += w;
		}
	}
done:
	/* Pass the end of one direction on; the other keeps going. */
	shutdown(p->to, SHUT_WR);
	return NULL;
}

static void fail(struct conn *c, const char *msg)
{
	agent_log("port forward: %s", msg);
	frame_write(c, FRAME_STDERR, msg, strlen(msg));
}

void portfwd_serve(struct agent *a, struct conn *c, const char *req, size_t len)
{
	struct portfwd_request r;
	struct sockaddr_storage ss;
	struct pump up, down;
	pthread_t up_thread;
	socklen_t slen;
	char err[512], msg[1024], ebuf[128];
	int fd;

	if (portfwd_request_parse(req, len, &r, err, sizeof(err))) {
		snprintf(msg, sizeof(msg), "invalid port-forward request: %s", err);
		fail(c, msg);
		goto out;
	}
	if (r.port == 0) {
		fail(c, "invalid remote port 0");
		goto out;
	}
	if (parse_addr(r.host, r.port, &ss, &slen) && lookup_hosts(r.host, r.port, &ss, &slen)) {
		snprintf(msg, sizeof(msg), "connect %.256s:%u failed: no address for this name in /etc/hosts",
			 r.host, r.port);
		fail(c, msg);
		goto out;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, slen) < 0) {
		snprintf(msg, sizeof(msg), "connect %.256s:%u failed: %s", r.host, r.port,
			 go_strerror(errno, ebuf, sizeof(ebuf)));
		fail(c, msg);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (frame_write(c, FRAME_READY, NULL, 0) < 0) {
		close(fd);
		goto out;
	}
	up = (struct pump){ .from = c->fd, .to = fd };
	down = (struct pump){ .from = fd, .to = c->fd };
	if (pthread_create(&up_thread, NULL, pump_main, &up)) {
		agent_log("port forward: no thread");
		close(fd);
		goto out;
	}
	pump_main(&down);
	pthread_join(up_thread, NULL);
	close(fd);
out:
	portfwd_request_free(&r);
}
