/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the guest tests of the root tools (dsmilctl_test.c,
 * monitor_test.c): run a tool and capture what it printed, a strict little
 * JSON parser with path lookups, module reloads, privilege drops, and
 * reading the kernel log.  Header only (static inline): tools/build-user
 * builds each C file in tests/guest as its own binary.
 */
#ifndef DSMIL_TOOL_TEST_H
#define DSMIL_TOOL_TEST_H

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "dsmil_ioctl.h"

#define TT_KO		"/lib/dsmil/dsmil.ko"
#define TT_NODE		"/dev/dsmil"
#define TT_SIM		"/sys/kernel/debug/dsmil/sim"
#define TT_MMIO_DBG	"/sys/kernel/debug/dsmil/mmio"
#define TT_WRITES	"/sys/module/dsmil/parameters/allow_writes"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* ------------------------------------------------------------ run a tool */

enum tt_priv {
	TT_ROOT,		/* as we are: root with every capability */
	TT_USER,		/* uid/gid 1000, no capabilities */
	TT_ROOT_NOCAPS,		/* uid 0 without CAP_SYS_ADMIN/CAP_SYS_RAWIO */
};

struct tt_run {
	int status;		/* exit status, or 128 + signal */
	char *out;		/* stdout, NUL-terminated */
	char *err;		/* stderr */
	pid_t pid;		/* the tool's pid (audit entries carry it) */
};

static inline void tt_run_free(struct tt_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* Lose @cap for this process and whatever it executes, staying uid 0. */
static inline int tt_drop_bounding(int cap)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
		return -1;
	if (syscall(SYS_capget, &h, d))
		return -1;
	d[cap / 32].effective &= ~(1U << (cap % 32));
	d[cap / 32].permitted &= ~(1U << (cap % 32));
	d[cap / 32].inheritable &= ~(1U << (cap % 32));
	return syscall(SYS_capset, &h, d) ? -1 : 0;
}

static inline int tt_become(enum tt_priv priv)
{
	switch (priv) {
	case TT_ROOT:
		return 0;
	case TT_USER:
		/* Root to non-root clears every capability set. */
		if (setgroups(0, NULL) || setresgid(1000, 1000, 1000) ||
		    setresuid(1000, 1000, 1000))
			return -1;
		return 0;
	case TT_ROOT_NOCAPS:
		if (tt_drop_bounding(CAP_SYS_ADMIN) ||
		    tt_drop_bounding(CAP_SYS_RAWIO))
			return -1;
		return 0;
	}
	return -1;
}

static inline char *tt_slurp_fd(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;

	if (!buf)
		return NULL;
	for (;;) {
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	return buf;
}

/*
 * Run argv (argv[0] found in PATH) as @priv, stdin from /dev/null, stdout
 * and stderr captured.  stderr goes to a file so a chatty tool cannot block
 * on one pipe while we read the other.
 */
static inline int tt_runv(struct tt_run *r, enum tt_priv priv, char *const argv[])
{
	char errpath[] = "/tmp/tt-err-XXXXXX";
	int pfd[2], efd, st;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	efd = mkstemp(errpath);
	if (efd < 0)
		return -1;
	unlink(errpath);
	if (pipe(pfd)) {
		close(efd);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		dup2(nul, 0);
		dup2(pfd[1], 1);
		dup2(efd, 2);
		close(pfd[0]);
		if (tt_become(priv))
			_exit(120);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	r->pid = pid;
	r->out = tt_slurp_fd(pfd[0]);
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	lseek(efd, 0, SEEK_SET);
	r->err = tt_slurp_fd(efd);
	close(efd);
	return r->out && r->err ? 0 : -1;
}

/* tt_run(&r, TT_ROOT, "dsmilctl", "info", NULL) */
static inline int tt_run(struct tt_run *r, enum tt_priv priv, ...)
{
	char *argv[64];
	va_list ap;
	int n = 0;

	va_start(ap, priv);
	while (n < 63 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return tt_runv(r, priv, argv);
}

/* Split a command line on spaces (no quoting) and run it as root. */
static inline int tt_sh(struct tt_run *r, const char *fmt, ...)
{
	static char line[1024];
	char *argv[64], *tok, *save;
	va_list ap;
	int n = 0;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (tok = strtok_r(line, " ", &save); tok && n < 63;
	     tok = strtok_r(NULL, " ", &save))
		argv[n++] = tok;
	argv[n] = NULL;
	return tt_runv(r, TT_ROOT, argv);
}

/* ------------------------------------------------------------------ JSON */

enum tt_jtype { TJ_NULL, TJ_BOOL, TJ_NUM, TJ_STR, TJ_ARR, TJ_OBJ };

struct tt_json {
	enum tt_jtype type;
	bool b;
	bool is_int;		/* a number without fraction or exponent */
	bool neg;
	uint64_t u;		/* |integer| */
	double d;
	char *s;		/* string value (decoded) */
	int n;			/* array/object members */
	char **keys;		/* object keys */
	struct tt_json **v;	/* members */
};

struct tt_jparser {
	const char *p;
	const char *err;
	int depth;
};

static inline void tt_json_free(struct tt_json *j)
{
	int i;

	if (!j)
		return;
	for (i = 0; i < j->n; i++) {
		if (j->keys)
			free(j->keys[i]);
		tt_json_free(j->v[i]);
	}
	free(j->keys);
	free(j->v);
	free(j->s);
	free(j);
}

static inline void tt_jws(struct tt_jparser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

static inline struct tt_json *tt_jvalue(struct tt_jparser *ps);

static inline char *tt_jstring(struct tt_jparser *ps)
{
	size_t cap = 16, len = 0;
	char *s;

	if (*ps->p != '"') {
		ps->err = "expected a string";
		return NULL;
	}
	ps->p++;
	s = malloc(cap);
	while (s && *ps->p != '"') {
		unsigned char c = *ps->p++;

		if (!c || c < 0x20) {
			ps->err = "control character or end in a string";
			free(s);
			return NULL;
		}
		if (c == '\\') {
			c = *ps->p++;
			switch (c) {
			case '"':
			case '\\':
			case '/':
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case 'u': {
				unsigned int v = 0, i;

				for (i = 0; i < 4; i++) {
					if (!isxdigit((unsigned char)ps->p[i])) {
						ps->err = "bad \\u escape";
						free(s);
						return NULL;
					}
					v = v * 16 + (isdigit((unsigned char)ps->p[i]) ?
						      ps->p[i] - '0' :
						      (tolower(ps->p[i]) - 'a' + 10));
				}
				ps->p += 4;
				/* Our tools only escape single bytes. */
				c = v > 0xff ? '?' : v;
				break;
			}
			default:
				ps->err = "bad escape";
				free(s);
				return NULL;
			}
		}
		if (len + 2 > cap) {
			char *ns = realloc(s, cap *= 2);

			if (!ns) {
				free(s);
				return NULL;
			}
			s = ns;
		}
		s[len++] = c;
	}
	if (!s)
		return NULL;
	ps->p++;
	s[len] = '\0';
	return s;
}

static inline struct tt_json *tt_jnew(enum tt_jtype t)
{
	struct tt_json *j = calloc(1, sizeof(*j));

	if (j)
		j->type = t;
	return j;
}

static inline bool tt_jadd(struct tt_json *j, char *key, struct tt_json *v)
{
	struct tt_json **nv = realloc(j->v, (j->n + 1) * sizeof(*nv));

	if (!nv)
		return false;
	j->v = nv;
	if (j->type == TJ_OBJ) {
		char **nk = realloc(j->keys, (j->n + 1) * sizeof(*nk));

		if (!nk)
			return false;
		j->keys = nk;
		j->keys[j->n] = key;
	}
	j->v[j->n++] = v;
	return true;
}

static inline struct tt_json *tt_jcontainer(struct tt_jparser *ps, bool obj)
{
	struct tt_json *j = tt_jnew(obj ? TJ_OBJ : TJ_ARR);
	char close = obj ? '}' : ']';

	if (!j)
		return NULL;
	if (++ps->depth > 64) {
		ps->err = "nested too deep";
		goto fail;
	}
	ps->p++;
	tt_jws(ps);
	if (*ps->p == close) {
		ps->p++;
		ps->depth--;
		return j;
	}
	for (;;) {
		char *key = NULL;
		struct tt_json *v;

		tt_jws(ps);
		if (obj) {
			int i;

			key = tt_jstring(ps);
			if (!key)
				goto fail;
			for (i = 0; i < j->n; i++)
				if (!strcmp(j->keys[i], key)) {
					ps->err = "duplicate key";
					free(key);
					goto fail;
				}
			tt_jws(ps);
			if (*ps->p != ':') {
				ps->err = "expected ':'";
				free(key);
				goto fail;
			}
			ps->p++;
		}
		v = tt_jvalue(ps);
		if (!v || !tt_jadd(j, key, v)) {
			free(key);
			tt_json_free(v);
			goto fail;
		}
		tt_jws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p == close) {
			ps->p++;
			ps->depth--;
			return j;
		}
		ps->err = obj ? "expected ',' or '}'" : "expected ',' or ']'";
		goto fail;
	}
fail:
	tt_json_free(j);
	return NULL;
}

static inline struct tt_json *tt_jnumber(struct tt_jparser *ps)
{
	const char *start = ps->p;
	struct tt_json *j;
	bool is_int = true;

	if (*ps->p == '-')
		ps->p++;
	if (!isdigit((unsigned char)*ps->p)) {
		ps->err = "bad number";
		return NULL;
	}
	if (*ps->p == '0' && isdigit((unsigned char)ps->p[1])) {
		ps->err = "leading zero";
		return NULL;
	}
	while (isdigit((unsigned char)*ps->p))
		ps->p++;
	if (*ps->p == '.') {
		is_int = false;
		ps->p++;
		if (!isdigit((unsigned char)*ps->p)) {
			ps->err = "bad fraction";
			return NULL;
		}
		while (isdigit((unsigned char)*ps->p))
			ps->p++;
	}
	if (*ps->p == 'e' || *ps->p == 'E') {
		is_int = false;
		ps->p++;
		if (*ps->p == '+' || *ps->p == '-')
			ps->p++;
		if (!isdigit((unsigned char)*ps->p)) {
			ps->err = "bad exponent";
			return NULL;
		}
		while (isdigit((unsigned char)*ps->p))
			ps->p++;
	}
	j = tt_jnew(TJ_NUM);
	if (!j)
		return NULL;
	j->is_int = is_int;
	j->neg = *start == '-';
	j->d = strtod(start, NULL);
	if (is_int)
		j->u = strtoull(start + j->neg, NULL, 10);
	return j;
}

static inline struct tt_json *tt_jvalue(struct tt_jparser *ps)
{
	struct tt_json *j;

	tt_jws(ps);
	switch (*ps->p) {
	case '{':
		return tt_jcontainer(ps, true);
	case '[':
		return tt_jcontainer(ps, false);
	case '"':
		j = tt_jnew(TJ_STR);
		if (j) {
			j->s = tt_jstring(ps);
			if (!j->s) {
				free(j);
				return NULL;
			}
		}
		return j;
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = { "true", "false", "null" };
		int i;

		for (i = 0; i < 3; i++)
			if (!strncmp(ps->p, words[i], strlen(words[i]))) {
				ps->p += strlen(words[i]);
				j = tt_jnew(i == 2 ? TJ_NULL : TJ_BOOL);
				if (j)
					j->b = i == 0;
				return j;
			}
		ps->err = "bad literal";
		return NULL;
	}
	default:
		return tt_jnumber(ps);
	}
}

/*
 * Parse exactly one JSON document (surrounding white space allowed).
 * Returns NULL and sets *err (if given) on any syntax error.
 */
static inline struct tt_json *tt_json_parse(const char *text, const char **err)
{
	struct tt_jparser ps = { .p = text };
	struct tt_json *j;

	if (err)
		*err = NULL;
	if (!text) {
		if (err)
			*err = "no text";
		return NULL;
	}
	j = tt_jvalue(&ps);
	if (j) {
		tt_jws(&ps);
		if (*ps.p) {
			ps.err = "trailing characters after the document";
			tt_json_free(j);
			j = NULL;
		}
	}
	if (!j && err)
		*err = ps.err ? ps.err : "out of memory";
	return j;
}

/*
 * Look a member up by path: "devices[3].state", "kinds.smi-timeout",
 * "[0].kind".  Keys are [A-Za-z0-9_-]+.  NULL when absent.
 */
static inline struct tt_json *tt_jget(struct tt_json *j, const char *path)
{
	const char *p = path;

	while (j && *p) {
		if (*p == '.') {
			p++;
			continue;
		}
		if (*p == '[') {
			char *end;
			long idx = strtol(p + 1, &end, 10);

			if (*end != ']' || j->type != TJ_ARR || idx < 0 || idx >= j->n)
				return NULL;
			j = j->v[idx];
			p = end + 1;
		} else {
			size_t n = strcspn(p, ".[");
			int i;
			struct tt_json *found = NULL;

			if (j->type != TJ_OBJ)
				return NULL;
			for (i = 0; i < j->n; i++)
				if (strlen(j->keys[i]) == n && !strncmp(j->keys[i], p, n))
					found = j->v[i];
			j = found;
			p += n;
		}
	}
	return j;
}

static inline const char *tt_jpathf(const char *fmt, va_list ap)
{
	static char path[256];

	vsnprintf(path, sizeof(path), fmt, ap);
	return path;
}

/* Unsigned integer at path, or ~0 (never a real value in these tests). */
static inline uint64_t tt_jnum(struct tt_json *root, const char *fmt, ...)
{
	struct tt_json *j;
	va_list ap;

	va_start(ap, fmt);
	j = tt_jget(root, tt_jpathf(fmt, ap));
	va_end(ap);
	if (!j || j->type != TJ_NUM || !j->is_int || j->neg)
		return ~0ULL;
	return j->u;
}

/* String at path, or NULL. */
static inline const char *tt_jstr(struct tt_json *root, const char *fmt, ...)
{
	struct tt_json *j;
	va_list ap;

	va_start(ap, fmt);
	j = tt_jget(root, tt_jpathf(fmt, ap));
	va_end(ap);
	return j && j->type == TJ_STR ? j->s : NULL;
}

/* Boolean at path: 0 or 1, or -1 when absent or not a boolean. */
static inline int tt_jbool(struct tt_json *root, const char *fmt, ...)
{
	struct tt_json *j;
	va_list ap;

	va_start(ap, fmt);
	j = tt_jget(root, tt_jpathf(fmt, ap));
	va_end(ap);
	return j && j->type == TJ_BOOL ? j->b : -1;
}

/* Type at path, or -1 when absent. */
static inline int tt_jtype(struct tt_json *root, const char *fmt, ...)
{
	struct tt_json *j;
	va_list ap;

	va_start(ap, fmt);
	j = tt_jget(root, tt_jpathf(fmt, ap));
	va_end(ap);
	return j ? (int)j->type : -1;
}

/* Members of the array/object at path, or -1. */
static inline int tt_jlen(struct tt_json *root, const char *fmt, ...)
{
	struct tt_json *j;
	va_list ap;

	va_start(ap, fmt);
	j = tt_jget(root, tt_jpathf(fmt, ap));
	va_end(ap);
	return j && (j->type == TJ_ARR || j->type == TJ_OBJ) ? j->n : -1;
}

/* ---------------------------------------------------------------- module */

static inline bool tt_loaded(void)
{
	return access("/sys/module/dsmil", F_OK) == 0;
}

static inline int tt_unload(void)
{
	int i;

	/* A reference from a just-exited tool can drop a moment late. */
	for (i = 0; i < 500; i++) {
		if (!tt_loaded())
			return 0;
		if (!syscall(SYS_delete_module, "dsmil", O_NONBLOCK))
			return 0;
		if (errno != EAGAIN && errno != EBUSY && errno != EWOULDBLOCK)
			return -errno;
		usleep(10000);
	}
	return -EBUSY;
}

/* Load the module fresh (state, counters, sim faults all reset). */
static inline int tt_reload(const char *params)
{
	int fd, ret = tt_unload();

	if (ret)
		return ret;
	fd = open(TT_KO, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

static inline int tt_write_file(const char *path, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd, ret = 0;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, strlen(buf)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static inline bool tt_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static inline int tt_open(void)
{
	return open(TT_NODE, O_RDWR | O_CLOEXEC);
}

static inline unsigned int tt_features(void)
{
	struct dsmil_info info;
	int fd = tt_open();
	unsigned int f = 0;

	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (!ioctl(fd, DSMIL_IOC_INFO, &info))
		f = info.features;
	close(fd);
	return f;
}

/* A device's state through the ioctl, or -errno. */
static inline int tt_dev_state(unsigned int id)
{
	struct dsmil_dev_info d;
	int fd = tt_open(), ret;

	if (fd < 0)
		return -errno;
	memset(&d, 0, sizeof(d));
	d.id = id;
	ret = ioctl(fd, DSMIL_IOC_DEV_INFO, &d) ? -errno : d.state;
	close(fd);
	return ret;
}

/* One transition through the ioctl: 0 or -errno. */
static inline int tt_transition(int fd, unsigned int id, unsigned int target)
{
	struct dsmil_transition t;

	memset(&t, 0, sizeof(t));
	t.id = id;
	t.target = target;
	return ioctl(fd, DSMIL_IOC_DEV_TRANSITION, &t) ? -errno : 0;
}

/* OFFLINE -> INITIALIZING -> READY [-> ACTIVE] for each id, in order. */
static inline int tt_bring_up(const unsigned int *ids, int n, bool active)
{
	int fd = tt_open(), i, ret = 0;

	if (fd < 0)
		return -errno;
	for (i = 0; i < n && !ret; i++) {
		ret = tt_transition(fd, ids[i], DSMIL_DEV_INITIALIZING);
		if (!ret)
			ret = tt_transition(fd, ids[i], DSMIL_DEV_READY);
		if (!ret && active)
			ret = tt_transition(fd, ids[i], DSMIL_DEV_ACTIVE);
	}
	close(fd);
	return ret;
}

/* ------------------------------------------------------------ kernel log */

/*
 * A reader of /dev/kmsg positioned at the end now: tt_kmsg_collect() later
 * returns the records logged in between.
 */
static inline int tt_kmsg_open_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Append every new record's first line ("prio,seq,ts,flags;text") to @out
 * (may be NULL); count the kernel's own records whose text starts with
 * "dsmil: " in *@dsmil_lines.  Returns records read, or -1.
 */
static inline int tt_kmsg_collect(int fd, FILE *out, int *dsmil_lines)
{
	char buf[16384];
	int n = 0;

	for (;;) {
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		char *semi, *nl;
		unsigned long prio;

		if (len < 0 && errno == EPIPE)
			continue;	/* overwritten: go on from the oldest */
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return errno == EAGAIN ? n : -1;
		buf[len] = '\0';
		nl = strchr(buf, '\n');
		if (nl)
			*nl = '\0';
		semi = strchr(buf, ';');
		if (!semi)
			continue;
		n++;
		prio = strtoul(buf, NULL, 10);
		if ((prio >> 3) == 0 && !strncmp(semi + 1, "dsmil: ", 7) && dsmil_lines)
			(*dsmil_lines)++;
		if (out)
			fprintf(out, "%s\n", buf);
	}
}

/* The sequence number of the last record in the log (or -1). */
static inline long long tt_kmsg_last_seq(void)
{
	char buf[16384];
	long long last = -1;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		char *p;

		if (len < 0 && (errno == EPIPE || errno == EINTR))
			continue;
		if (len <= 0)
			break;
		buf[len] = '\0';
		p = strchr(buf, ',');
		if (p)
			last = strtoll(p + 1, NULL, 10);
	}
	close(fd);
	return last;
}

static inline uint64_t tt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

#endif /* DSMIL_TOOL_TEST_H */
