// SPDX-License-Identifier: MIT
/*
 * flashpan exec, cp and ls: a running machine's guest agent through the
 * Machine API. The machine is attached by its vsock socket
 * (fp_machine_attach), so these verbs work on any VMM started with
 * `flashpan run --vsock cid=C,uds=PATH` or `flashpan --config-file`, and on
 * machines a library user started. Each verb's --help says what it does and
 * its exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "flashpan.h"
#include "vmm/cli_agent.h"

#define VSOCK_ENV "FLASHPAN_VSOCK"

/* exec's own statuses; the command's are 0-255 (see exec_usage). */
#define EXEC_TIMEOUT 124
#define EXEC_FAILED  125
#define EXEC_NOSTART 126
#define EXEC_KILLED  255
/* cp and ls. */
#define FILE_FAILED 1
#define FILE_USAGE  2

static const char exec_usage[] =
	"usage: flashpan exec [--vsock PATH] [options] -- CMD [ARG]...\n"
	"\n"
	"Run a command in the guest of a running machine, through its agent (vsock port 5000).\n"
	"The words CMD ARG... are joined with spaces and run as `sh -c '<the joined words>'`,\n"
	"so quote what the guest's shell should see:  flashpan exec -- 'echo $HOME | wc -c'\n"
	"\n"
	"  --vsock PATH      the VMM's vsock Unix socket (flashpan run --vsock cid=C,uds=PATH,\n"
	"                    or the config file's vsock uds_path); default $" VSOCK_ENV "\n"
	"  -u, --user U      uid, uid:gid or a user name of the guest (default root)\n"
	"  -w, --cwd DIR     working folder in the guest (default /)\n"
	"  -e, --env K=V     an environment variable for the command (repeatable); -e K passes\n"
	"                    this process's value of K\n"
	"  -i, --stdin       send this process's stdin to the command (ExecPipe); without it\n"
	"                    the command's stdin is /dev/null (ExecStream)\n"
	"  -t, --tty         run on a pseudo-terminal in the guest (ExecTTY): stdin is sent,\n"
	"                    a local terminal is in raw mode meanwhile and its size changes are\n"
	"                    passed on; the command's stderr arrives on stdout\n"
	"      --timeout S   kill the command after S seconds (fractions allowed)\n"
	"  -h, --help        this text\n"
	"\n"
	"Output goes to stdout and stderr as it arrives. SIGINT, SIGTERM or SIGHUP closes the\n"
	"connection, and the agent kills the command's process group.\n"
	"\n"
	"Exit status:\n"
	"  0-255  the command's exit status\n"
	"  124    --timeout expired; the command was killed\n"
	"  125    flashpan exec failed: bad options, no VMM or agent at PATH, lost connection\n"
	"  126    the agent could not start the command (its message is printed) and gave\n"
	"         no exit status of its own (it gives 127 for a command not found)\n"
	"  255    the command was killed by a signal (the agent reports -1, not which signal)\n"
	"  128+N  flashpan exec got signal N (SIGHUP 129, SIGINT 130, SIGTERM 143)\n";

static const char cp_usage[] =
	"usage: flashpan cp [--vsock PATH] [--mode OCTAL] SRC DST\n"
	"\n"
	"Copy one regular file between this host and the guest of a running machine. The guest\n"
	"side is written with a leading colon, :GUESTPATH (absolute); the other side is a host\n"
	"path, or - for stdin/stdout (a host file whose name starts with ':' is ./:name).\n"
	"\n"
	"  flashpan cp --vsock v.sock app.conf :/etc/app.conf      host to guest\n"
	"  flashpan cp --vsock v.sock :/var/log/app.log .          guest to host\n"
	"\n"
	"A DST that is a host folder, or a guest path ending in '/', gets SRC's file name.\n"
	"Files move whole, 16 MiB at most (the agent's limit). Guest parent folders are made\n"
	"(0755). Host to guest the mode is --mode, else the host file's permission bits (0644\n"
	"from stdin); guest to host the file is created 0666 minus the umask, or --mode.\n"
	"\n"
	"  --vsock PATH      the VMM's vsock Unix socket; default $" VSOCK_ENV "\n"
	"  -m, --mode OCTAL  permission bits of the new file\n"
	"  -h, --help        this text\n"
	"\n"
	"Exit status: 0 copied; 1 the copy failed (the reason is printed: no such file, too\n"
	"large, not a regular file, no VMM or agent at PATH); 2 bad usage.\n";

static const char ls_usage[] =
	"usage: flashpan ls [--vsock PATH] [-l] GUESTDIR\n"
	"\n"
	"List a folder of the guest of a running machine (the agent's ListFiles): the names\n"
	"sorted, one per line, folders with a trailing '/'. GUESTDIR may also be written\n"
	":GUESTDIR, as in flashpan cp.\n"
	"\n"
	"  --vsock PATH  the VMM's vsock Unix socket; default $" VSOCK_ENV "\n"
	"  -l, --long    mode (as ls -l), size in bytes, modification time (RFC 3339), name\n"
	"  -h, --help    this text\n"
	"\n"
	"Exit status: 0 listed; 1 failed (no such folder, not a folder, no VMM or agent at\n"
	"PATH; the reason is printed); 2 bad usage.\n";

/* ---- common ---- */

static int attach(const char *verb, const char *vsock, struct fp_machine **m)
{
	char err[512];
	int rc;

	if (!vsock || !*vsock)
		vsock = getenv(VSOCK_ENV);
	if (!vsock || !*vsock) {
		fprintf(stderr, "flashpan %s: no --vsock PATH (or $" VSOCK_ENV ")\n", verb);
		return -EINVAL;
	}
	rc = fp_machine_attach(vsock, m, err, sizeof(err));
	if (rc)
		fprintf(stderr, "flashpan %s: %s\n", verb, err);
	return rc;
}

static void print_error(const char *verb, struct fp_machine *m)
{
	char err[2048];

	fprintf(stderr, "flashpan %s: %s\n", verb, fp_machine_error(m, err, sizeof(err)));
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ":PATH" is a guest path; returns PATH or NULL. */
static const char *guest_path(const char *arg)
{
	return arg[0] == ':' ? arg + 1 : NULL;
}

/* ---- exec ---- */

static struct fp_exec_cancel *exec_cancel;
static volatile sig_atomic_t exec_signal;

static void on_exec_signal(int sig)
{
	if (!exec_signal)
		exec_signal = sig;
	fp_exec_cancel(exec_cancel); /* async-signal-safe: an eventfd write */
}

static void out_cb(void *opaque, const void *buf, size_t len)
{
	write_all(STDOUT_FILENO, buf, len);
}

static void err_cb(void *opaque, const void *buf, size_t len)
{
	write_all(STDERR_FILENO, buf, len);
}

/* TTY mode: window size changes of the local terminal, from SIGWINCH to Resize frames. */
struct winch {
	struct fp_exec_session *session; /* set by on_session, read by the thread */
	int sfd, stop_fd, tty_fd;
	pthread_t thread;
	bool running;
};

static void on_session(void *opaque, struct fp_exec_session *s)
{
	struct winch *w = opaque;

	__atomic_store_n(&w->session, s, __ATOMIC_RELEASE);
}

static void *winch_run(void *opaque)
{
	struct winch *w = opaque;

	for (;;) {
		struct pollfd p[2] = { { .fd = w->sfd, .events = POLLIN }, { .fd = w->stop_fd, .events = POLLIN } };
		struct signalfd_siginfo si;
		struct fp_exec_session *s;
		struct winsize ws;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (read(w->sfd, &si, sizeof(si)) < 0)
			continue;
		s = __atomic_load_n(&w->session, __ATOMIC_ACQUIRE);
		if (s && ioctl(w->tty_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
			fp_exec_resize(s, ws.ws_row, ws.ws_col);
	}
	return NULL;
}

static int parse_seconds(const char *s, int64_t *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 1e9)
		return -EINVAL;
	*ms = (int64_t)ceil(v * 1000);
	return 0;
}

int cli_exec(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vsock", required_argument, NULL, 'V' }, { "user", required_argument, NULL, 'u' },
		{ "cwd", required_argument, NULL, 'w' },   { "env", required_argument, NULL, 'e' },
		{ "stdin", no_argument, NULL, 'i' },       { "tty", no_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fp_exec_opts o = { .mode = FP_EXEC_STREAM, .stdin_fd = -1, .on_stdout = out_cb, .on_stderr = err_cb };
	struct winch w = { .sfd = -1, .stop_fd = -1, .tty_fd = -1 };
	struct fp_env_var *env = NULL;
	const char *vsock = NULL;
	struct termios saved;
	bool tty = false, pipe_in = false, raw = false;
	struct fp_exec_result r;
	struct fp_machine *m = NULL;
	struct sigaction sa = { .sa_handler = on_exec_signal };
	char *cmd = NULL;
	size_t nr_env = 0, len = 0;
	int c, rc, status = EXEC_FAILED;
	sigset_t winch_set;

	opterr = 0;
	optind = 1;
	/* '+': options end at the first word of the command, so its own options stay its own. */
	while ((c = getopt_long(argc, argv, "+:u:w:e:ith", longopts, NULL)) != -1) {
		switch (c) {
		case 'V':
			vsock = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'w':
			o.working_dir = optarg;
			break;
		case 'e': {
			struct fp_env_var *n = realloc(env, (nr_env + 1) * sizeof(*env));
			char *eq = strchr(optarg, '=');

			if (!n)
				goto out;
			env = n;
			if (eq == optarg) {
				fprintf(stderr, "flashpan exec: --env '%s': the name is empty\n", optarg);
				goto out;
			}
			if (eq) {
				*eq = 0;
				env[nr_env++] = (struct fp_env_var){ optarg, eq + 1 };
			} else if (getenv(optarg)) {
				env[nr_env++] = (struct fp_env_var){ optarg, getenv(optarg) };
			}
			break;
		}
		case 'i':
			pipe_in = true;
			break;
		case 't':
			tty = true;
			break;
		case 'T':
			if (parse_seconds(optarg, &o.timeout_ms)) {
				fprintf(stderr, "flashpan exec: --timeout '%s': want a number of seconds > 0\n", optarg);
				goto out;
			}
			break;
		case 'h':
			fputs(exec_usage, stdout);
			status = 0;
			goto out;
		case ':':
			fprintf(stderr, "flashpan exec: option '%s' needs a value\nTry 'flashpan exec --help'.\n",
				argv[optind - 1]);
			goto out;
		default:
			fprintf(stderr, "flashpan exec: unknown option '%s'\nTry 'flashpan exec --help'.\n",
				argv[optind - 1]);
			goto out;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "flashpan exec: no command\nTry 'flashpan exec --help'.\n");
		goto out;
	}
	for (int i = optind; i < argc; i++)
		len += strlen(argv[i]) + 1;
	cmd = malloc(len);
	if (!cmd)
		goto out;
	cmd[0] = 0;
	for (int i = optind; i < argc; i++) {
		if (i > optind)
			strcat(cmd, " ");
		strcat(cmd, argv[i]);
	}
	o.env = env;
	o.nr_env = nr_env;
	if (attach("exec", vsock, &m))
		goto out;
	exec_cancel = fp_exec_cancel_new();
	if (!exec_cancel) {
		fprintf(stderr, "flashpan exec: out of descriptors\n");
		goto out;
	}
	o.cancel = exec_cancel;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (tty) {
		struct winsize ws;

		o.mode = FP_EXEC_TTY;
		o.stdin_fd = STDIN_FILENO;
		w.tty_fd = isatty(STDIN_FILENO) ? STDIN_FILENO : isatty(STDOUT_FILENO) ? STDOUT_FILENO : -1;
		if (w.tty_fd >= 0 && ioctl(w.tty_fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
			o.rows = ws.ws_row, o.cols = ws.ws_col;
		if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
			struct termios t = saved;

			cfmakeraw(&t);
			raw = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
		}
		if (w.tty_fd >= 0) {
			/* Blocked before any thread exists, so only the signalfd sees it. */
			sigemptyset(&winch_set);
			sigaddset(&winch_set, SIGWINCH);
			pthread_sigmask(SIG_BLOCK, &winch_set, NULL);
			w.sfd = signalfd(-1, &winch_set, SFD_CLOEXEC);
			w.stop_fd = eventfd(0, EFD_CLOEXEC);
			w.running = w.sfd >= 0 && w.stop_fd >= 0 && pthread_create(&w.thread, NULL, winch_run, &w) == 0;
			o.opaque = &w;
			o.on_session = on_session;
		}
	} else if (pipe_in) {
		o.mode = FP_EXEC_PIPE;
		o.stdin_fd = STDIN_FILENO;
	}
	rc = fp_machine_exec(m, cmd, &o, &r);
	if (w.running) {
		uint64_t one = 1;

		if (write(w.stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(w.thread, NULL);
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	if (rc == 0 || rc == -EREMOTEIO) {
		if (r.error)
			fprintf(stderr, "flashpan exec: %s\n", r.error);
		status = r.exit_code < 0 ? EXEC_KILLED : r.exit_code > 255 ? r.exit_code & 255 : r.exit_code;
		if (r.error && (r.exit_code == 0 || r.exit_code == -1))
			status = EXEC_NOSTART;
	} else if (rc == -ECANCELED && exec_signal) {
		status = 128 + exec_signal;
	} else if (rc == -ETIMEDOUT) {
		print_error("exec", m);
		status = EXEC_TIMEOUT;
	} else {
		print_error("exec", m);
	}
	fp_exec_result_free(&r);
out:
	if (w.sfd >= 0)
		close(w.sfd);
	if (w.stop_fd >= 0)
		close(w.stop_fd);
	fp_exec_cancel_free(exec_cancel);
	exec_cancel = NULL;
	fp_machine_destroy(m);
	free(cmd);
	free(env);
	return status;
}

/* ---- cp ---- */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s && s[1] ? s + 1 : s ? "" : p;
}

static int read_host(const char *path, void **data, size_t *len, mode_t *mode)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	size_t cap = 65536, n = 0;
	struct stat st;
	char *buf;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			if (fd != STDIN_FILENO)
				close(fd);
			return -EISDIR;
		}
		if (S_ISREG(st.st_mode) && fd != STDIN_FILENO)
			*mode = st.st_mode & 07777;
	}
	buf = malloc(cap);
	for (;;) {
		ssize_t r;

		if (!buf) {
			if (fd != STDIN_FILENO)
				close(fd);
			return -ENOMEM;
		}
		if (n > 16u << 20)
			break; /* the agent refuses it; say so without reading on */
		if (n == cap) {
			char *b = realloc(buf, cap * 2);

			if (!b) {
				free(buf);
				buf = NULL;
				continue;
			}
			buf = b;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? -errno : 0;

			if (fd != STDIN_FILENO)
				close(fd);
			if (e) {
				free(buf);
				return e;
			}
			*data = buf;
			*len = n;
			return 0;
		}
		n += (size_t)r;
	}
	free(buf);
	if (fd != STDIN_FILENO)
		close(fd);
	return -EFBIG;
}

static int parse_mode(const char *s, uint32_t *mode)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || end == s || *end || v > 07777)
		return -EINVAL;
	*mode = (uint32_t)v;
	return 0;
}

int cli_cp(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vsock", required_argument, NULL, 'V' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vsock = NULL, *src, *dst, *gsrc, *gdst;
	struct fp_machine *m = NULL;
	uint32_t mode = 0;
	bool have_mode = false;
	char *target = NULL;
	void *data = NULL;
	size_t len = 0;
	int c, rc, status = FILE_USAGE;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'V':
			vsock = optarg;
			break;
		case 'm':
			if (parse_mode(optarg, &mode)) {
				fprintf(stderr, "flashpan cp: --mode '%s': want octal permission bits\n", optarg);
				return FILE_USAGE;
			}
			have_mode = true;
			break;
		case 'h':
			fputs(cp_usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "flashpan cp: option '%s' needs a value\nTry 'flashpan cp --help'.\n",
				argv[optind - 1]);
			return FILE_USAGE;
		default:
			fprintf(stderr, "flashpan cp: unknown option '%s'\nTry 'flashpan cp --help'.\n", argv[optind - 1]);
			return FILE_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "flashpan cp: want SRC and DST\nTry 'flashpan cp --help'.\n");
		return FILE_USAGE;
	}
	src = argv[optind];
	dst = argv[optind + 1];
	gsrc = guest_path(src);
	gdst = guest_path(dst);
	if (!gsrc == !gdst) {
		fprintf(stderr, "flashpan cp: exactly one of SRC and DST must be a guest path (:PATH)\n");
		return FILE_USAGE;
	}
	if ((gsrc && gsrc[0] != '/') || (gdst && gdst[0] != '/')) {
		fprintf(stderr, "flashpan cp: a guest path must be absolute (:/PATH)\n");
		return FILE_USAGE;
	}
	if (attach("cp", vsock, &m))
		return FILE_FAILED;
	status = FILE_FAILED;
	if (gdst) {
		mode_t hmode = 0;

		rc = read_host(src, &data, &len, &hmode);
		if (rc) {
			fprintf(stderr, "flashpan cp: %s: %s\n", src,
				rc == -EFBIG ? "over 16 MiB, the agent's limit" : strerror(-rc));
			goto out;
		}
		if (gdst[strlen(gdst) - 1] == '/') {
			if (!strcmp(src, "-") || !*base_name(src)) {
				fprintf(stderr, "flashpan cp: %s: a guest folder needs a source file name\n", dst);
				goto out;
			}
			if (asprintf(&target, "%s%s", gdst, base_name(src)) < 0)
				goto out;
		} else if (!(target = strdup(gdst))) {
			goto out;
		}
		rc = fp_machine_write_file(m, target, data, len, have_mode ? mode : (uint32_t)hmode);
		if (rc) {
			print_error("cp", m);
			goto out;
		}
	} else {
		struct stat st;
		int fd;

		rc = fp_machine_read_file(m, gsrc, &data, &len);
		if (rc) {
			print_error("cp", m);
			goto out;
		}
		if (!strcmp(dst, "-")) {
			rc = write_all(STDOUT_FILENO, data, len);
			if (rc) {
				fprintf(stderr, "flashpan cp: stdout: %s\n", strerror(-rc));
				goto out;
			}
			status = 0;
			goto out;
		}
		if (stat(dst, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (asprintf(&target, "%s/%s", dst, base_name(gsrc)) < 0)
				goto out;
		} else if (!(target = strdup(dst))) {
			goto out;
		}
		fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (fd < 0 || write_all(fd, data, len) || (have_mode && fchmod(fd, mode)) || close(fd)) {
			fprintf(stderr, "flashpan cp: %s: %s\n", target, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
	}
	status = 0;
out:
	free(data);
	free(target);
	fp_machine_destroy(m);
	return status;
}

/* ---- ls ---- */

/* Go's FileMode as ls -l shows it (the type letters of Go's FileMode.String, in ls's order). */
static void mode_string(uint32_t m, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";

	out[0] = m & (1u << 31) ? 'd' : m & (1u << 27) ? 'l' : m & (1u << 25) ? 'p' : m & (1u << 24) ? 's' :
		 m & (1u << 21) ? 'c' : m & (1u << 26) ? 'b' : '-';
	for (int i = 0; i < 9; i++)
		out[1 + i] = m & (1u << (8 - i)) ? rwx[i] : '-';
	if (m & (1u << 23)) /* setuid */
		out[3] = out[3] == 'x' ? 's' : 'S';
	if (m & (1u << 22)) /* setgid */
		out[6] = out[6] == 'x' ? 's' : 'S';
	if (m & (1u << 20)) /* sticky */
		out[9] = out[9] == 'x' ? 't' : 'T';
	out[10] = 0;
}

int cli_ls(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vsock", required_argument, NULL, 'V' },
		{ "long", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fp_file_info *files = NULL;
	struct fp_machine *m = NULL;
	const char *vsock = NULL, *dir;
	bool long_ = false;
	int c, n;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":lh", longopts, NULL)) != -1) {
		switch (c) {
		case 'V':
			vsock = optarg;
			break;
		case 'l':
			long_ = true;
			break;
		case 'h':
			fputs(ls_usage, stdout);
			return 0;
		case ':':
			fprintf(stderr, "flashpan ls: option '%s' needs a value\nTry 'flashpan ls --help'.\n",
				argv[optind - 1]);
			return FILE_USAGE;
		default:
			fprintf(stderr, "flashpan ls: unknown option '%s'\nTry 'flashpan ls --help'.\n", argv[optind - 1]);
			return FILE_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "flashpan ls: want one GUESTDIR\nTry 'flashpan ls --help'.\n");
		return FILE_USAGE;
	}
	dir = guest_path(argv[optind]) ? guest_path(argv[optind]) : argv[optind];
	if (dir[0] != '/') {
		fprintf(stderr, "flashpan ls: GUESTDIR must be absolute\n");
		return FILE_USAGE;
	}
	if (attach("ls", vsock, &m))
		return FILE_FAILED;
	n = fp_machine_list_files(m, dir, &files);
	if (n < 0) {
		print_error("ls", m);
		fp_machine_destroy(m);
		return FILE_FAILED;
	}
	for (int i = 0; i < n; i++) {
		const struct fp_file_info *f = &files[i];

		if (long_) {
			char ms[11];

			mode_string(f->mode, ms);
			printf("%s %12lld %s %s%s\n", ms, (long long)f->size, f->mod_time, f->name, f->is_dir ? "/" : "");
		} else {
			printf("%s%s\n", f->name, f->is_dir ? "/" : "");
		}
	}
	fp_file_list_free(files, (size_t)n);
	fp_machine_destroy(m);
	return fflush(stdout) ? FILE_FAILED : 0;
}
