// SPDX-License-Identifier: GPL-2.0
/*
 * The guest-test library's part for the tool tests (dsmilctl_test.c,
 * monitor_test.c): run a tool with a given identity and capture what it
 * printed, and a strict little JSON parser with path lookups.  See
 * dsmil_test.h.
 */
#include <ctype.h>
#include <sys/wait.h>

#include "dsmil_test.h"

/* ------------------------------------------------------------ run a tool */

void tt_run_free(struct tt_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

static int tt_become(enum tt_priv priv)
{
	switch (priv) {
	case TT_ROOT:
		return 0;
	case TT_USER:
		return drop_to_user();
	case TT_ROOT_NOCAPS:
		/* Lost for whatever the tool executes, too: bounding set. */
		return drop_cap(CAP_SYS_ADMIN) || drop_cap(CAP_SYS_RAWIO) ? -1 : 0;
	}
	return -1;
}

static char *tt_slurp_fd(int fd)
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
 * stderr goes to a file, so that a chatty tool cannot block on one pipe
 * while we read the other.
 */
int tt_runv(struct tt_run *r, enum tt_priv priv, char *const argv[])
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
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		close(efd);
		return -1;
	}
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

int tt_run(struct tt_run *r, enum tt_priv priv, ...)
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

int tt_sh(struct tt_run *r, const char *fmt, ...)
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

struct tt_jparser {
	const char *p;
	const char *err;
	int depth;
};

void tt_json_free(struct tt_json *j)
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

static void tt_jws(struct tt_jparser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

static struct tt_json *tt_jvalue(struct tt_jparser *ps);

static char *tt_jstring(struct tt_jparser *ps)
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

static struct tt_json *tt_jnew(enum tt_jtype t)
{
	struct tt_json *j = calloc(1, sizeof(*j));

	if (j)
		j->type = t;
	return j;
}

static bool tt_jadd(struct tt_json *j, char *key, struct tt_json *v)
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

static struct tt_json *tt_jcontainer(struct tt_jparser *ps, bool obj)
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

/* One or more digits, else the error @what. */
static bool tt_jdigits(struct tt_jparser *ps, const char *what)
{
	if (!isdigit((unsigned char)*ps->p)) {
		ps->err = what;
		return false;
	}
	while (isdigit((unsigned char)*ps->p))
		ps->p++;
	return true;
}

static struct tt_json *tt_jnumber(struct tt_jparser *ps)
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
		if (!tt_jdigits(ps, "bad fraction"))
			return NULL;
	}
	if (*ps->p == 'e' || *ps->p == 'E') {
		is_int = false;
		ps->p++;
		if (*ps->p == '+' || *ps->p == '-')
			ps->p++;
		if (!tt_jdigits(ps, "bad exponent"))
			return NULL;
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

static struct tt_json *tt_jvalue(struct tt_jparser *ps)
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

struct tt_json *tt_json_parse(const char *text, const char **err)
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

struct tt_json *tt_jget(struct tt_json *j, const char *path)
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

static struct tt_json *tt_jvget(struct tt_json *root, const char *fmt,
				 va_list ap)
{
	char path[256];

	vsnprintf(path, sizeof(path), fmt, ap);
	return tt_jget(root, path);
}

/* @j: the member at the accessor's printf-style path. */
#define TT_JAT(j, root, fmt) do {					\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	j = tt_jvget(root, fmt, ap);					\
	va_end(ap);							\
} while (0)

uint64_t tt_jnum(struct tt_json *root, const char *fmt, ...)
{
	struct tt_json *j;

	TT_JAT(j, root, fmt);
	if (!j || j->type != TJ_NUM || !j->is_int || j->neg)
		return ~0ULL;
	return j->u;
}

const char *tt_jstr(struct tt_json *root, const char *fmt, ...)
{
	struct tt_json *j;

	TT_JAT(j, root, fmt);
	return j && j->type == TJ_STR ? j->s : NULL;
}

int tt_jbool(struct tt_json *root, const char *fmt, ...)
{
	struct tt_json *j;

	TT_JAT(j, root, fmt);
	return j && j->type == TJ_BOOL ? j->b : -1;
}

int tt_jtype(struct tt_json *root, const char *fmt, ...)
{
	struct tt_json *j;

	TT_JAT(j, root, fmt);
	return j ? (int)j->type : -1;
}

int tt_jlen(struct tt_json *root, const char *fmt, ...)
{
	struct tt_json *j;

	TT_JAT(j, root, fmt);
	return j && (j->type == TJ_ARR || j->type == TJ_OBJ) ? j->n : -1;
}
