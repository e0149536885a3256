// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil-monitor: watch the kernel log for the dsmil driver's incident lines.
 *
 * The driver logs every refusal and fault as one line of the form
 *
 *	dsmil dsmil: <kind>: key=value key=value ...
 *
 * (dev_printk()'s prefix: driver and device name; a few lines, and a KUnit
 * instance's, have the module's "dsmil: " alone: both are read)
 * (Documentation/dsmil-messages.rst lists every kind and its keys).  This
 * tool follows /dev/kmsg record by record, picks those lines out of kernel
 * records only (a line injected by userspace through /dev/kmsg has a
 * non-kernel facility and is ignored), and prints them as they happen or as
 * JSON lines.  --once reads the log since boot and exits with a Nagios-style
 * status computed from thresholds.  When the kernel's ring buffer overruns
 * the reader (read() fails with EPIPE) it says how many records were lost and
 * goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/dsmil_util.h"

#define KMSG_REC_MAX	16384	/* > CONSOLE_EXT_LOG_MAX (8 KiB) */
#define MAX_FIELDS	32
#define MAX_THRESHOLDS	64

/* Nagios plugin status codes, also this tool's exit status. */
enum {
	ST_OK		= 0,
	ST_WARNING	= 1,
	ST_CRITICAL	= 2,
	ST_UNKNOWN	= 3,	/* usage error, cannot read the log */
};

/*
 * Incidents have the strict form; notices are known kinds followed by free
 * text (load messages), shown and counted but never an incident.
 */
enum kind_class { CLASS_INCIDENT, CLASS_NOTICE };

/*
 * Every kind the driver logs, with the keys each line must carry and the
 * ones it may carry.  Documentation/dsmil-messages.rst documents the same
 * table; tests/host/messages-check keeps the two (and the module's format
 * strings) in step.
 */
struct kind {
	const char *name;
	const char *part;
	enum kind_class class;
	const char *required;	/* space-separated keys */
	const char *optional;
	const char *desc;
};

static const struct kind kinds[] = {
	{ "refused-input", "main", CLASS_INCIDENT,
	  "cmd pid why errno", "nr group position token dev",
	  "an ioctl refused for its argument: unknown command, wrong size or direction, bad pointer, non-zero reserved field, bad token, a token the firmware lacks or the kernel's Dell filter refuses" },
	{ "denied", "main", CLASS_INCIDENT,
	  "cmd pid uid needs errno", "",
	  "an ioctl refused by policy: missing capability, kernel lockdown, or writes not allowed" },
	{ "refused-transition", "state", CLASS_INCIDENT,
	  "to reason errno", "dev id from pid uid blocker",
	  "a device state change refused by the state table, a dependency, a dependent or quarantine" },
	{ "device-error", "state", CLASS_INCIDENT,
	  "dev from to reason errno", "demoted",
	  "a device moved to ERROR because its hardware failed" },
	{ "emergency-stop", "state", CLASS_INCIDENT,
	  "group locked", "groups in_doubt pid uid",
	  "a group and the groups depending on it were locked in one step" },
	{ "smi-timeout", "smi", CLASS_INCIDENT,
	  "token op backend dev reason errno", "waited_us",
	  "an SMI request did not finish before its deadline" },
	{ "smi-hang", "smi", CLASS_INCIDENT,
	  "token op backend dev reason errno", "status stuck_us waited_us call_us",
	  "an SMI request's status stayed busy and unchanged past the hang threshold (aborted), or a synchronous call was slower than it (its answer stands)" },
	{ "smi-late", "smi", CLASS_INCIDENT,
	  "token op backend dev id outcome errno", "call_us",
	  "the final outcome of a request whose caller was told it was in doubt (-EINPROGRESS): a synchronous call still running at its deadline, a polled one without a verdict in time, or one whose abort failed (outcome=unknown once a reset ended it)" },
	{ "smi-abort", "smi", CLASS_INCIDENT,
	  "token op backend dev reason result", "errno",
	  "the engine aborted an SMI request at the hardware (result=ok or failed)" },
	{ "smi-error", "smi", CLASS_INCIDENT,
	  "token op backend dev reason errno", "status retries",
	  "an SMI request failed: error status, garbage status, busy at submit, or could not start" },
	{ "smi-faulted", "smi", CLASS_INCIDENT,
	  "backend token dev consecutive limit reason errno", "",
	  "the SMI backend is FAULTED: requests fail at once until a recover command resets it" },
	{ "smi-recovered", "smi", CLASS_INCIDENT,
	  "backend faulted_ms", "",
	  "a FAULTED SMI backend was reset by a recover command" },
	{ "smi-recover-failed", "smi", CLASS_INCIDENT,
	  "backend backoff_ms reset_errno errno", "",
	  "resetting a FAULTED SMI backend failed; the next try must wait backoff_ms" },
	{ "map-failure", "mmio", CLASS_INCIDENT,
	  "chunk phys backend reason errno", "",
	  "a chunk of the MMIO region could not be mapped" },
	{ "refused-access", "state/mmio", CLASS_INCIDENT,
	  "reason errno pid", "dev id access state uid at op offset len size chunk cap wait_ms",
	  "a hardware access refused: the device's state, a range outside the region or window, or every chunk busy" },
	{ "write-mismatch", "audit", CLASS_INCIDENT,
	  "token dev request old written readback pid uid errno", "",
	  "a token write the firmware acknowledged read back with another value than written: the write did not take" },
	{ "loaded", "main", CLASS_NOTICE, "", "",
	  "the module loaded (free text after the kind; not an incident)" },
	{ "unloaded", "main", CLASS_NOTICE, "", "",
	  "the module unloaded (not an incident)" },
	{ "smi", "smi", CLASS_NOTICE, "", "",
	  "a notice of the SMI engine: a refused configuration at load, the dell-smbios backend in use (free text; not an incident)" },
	{ "suspend", "main", CLASS_NOTICE, "", "",
	  "the machine went to sleep: the SMI engine held, every chunk unmapped (not an incident)" },
	{ "resume", "main", CLASS_NOTICE, "", "",
	  "the machine woke: devices with a token back to INITIALIZING to be verified again (not an incident)" },
	{ "kernel", "kernel", CLASS_NOTICE, "", "",
	  "the kernel's own line about the module (taint at first load), not written by dsmil" },
};

/*
 * Lines the kernel itself prints with the module's name in front (see
 * kernel/module/), which therefore also start with "dsmil: ".
 */
static const char *const kernel_lines[] = {
	"module verification failed: ",
	"loading out-of-tree module taints kernel",
	"module license ",
	"disagrees about version of symbol",
	"Unknown symbol ",
	"unknown parameter '",
};

#define NKINDS	ARRAY_SIZE(kinds)
#define KIND_KERNEL	(NKINDS - 1)

/* Pseudo-kinds usable in thresholds and counted in the summary. */
enum {
	PK_ANY = NKINDS,	/* every incident */
	PK_UNKNOWN,		/* a "dsmil: " line of no known kind */
	PK_MALFORMED,		/* a known kind with missing or bad keys */
	PK_OVERRUN,		/* the ring buffer overran the reader */
	PK_COUNT,
};

static const char *const pseudo_kinds[] = {
	[PK_ANY - NKINDS] = "any",
	[PK_UNKNOWN - NKINDS] = "unknown",
	[PK_MALFORMED - NKINDS] = "malformed",
	[PK_OVERRUN - NKINDS] = "overrun",
};

struct field {
	const char *key;
	const char *val;
};

struct record {
	uint64_t seq;
	uint64_t ts_usec;
	int level;		/* -1: not known (text input) */
	bool have_seq;		/* @seq known (a /dev/kmsg record) */
	bool have_ts;		/* @ts_usec known */
	char *text;		/* message text, NUL-terminated */
	const struct kind *kind;
	char kind_word[40];	/* the kind as written, known or not */
	struct field fields[MAX_FIELDS];
	int nfields;
	char problem[160];	/* why the line is malformed, "" if fine */
};

struct threshold {
	int kind;		/* index in kinds[] or PK_* */
	uint64_t limit;
	bool crit;
};

struct opts {
	bool json, once, all, list_kinds;
	const char *input;
	uint64_t count;		/* exit after this many lines; 0: never */
	bool filter[PK_COUNT];
	bool filtering;
	struct threshold th[MAX_THRESHOLDS];
	int nth;
};

struct state {
	uint64_t counts[PK_COUNT];
	uint64_t last_ts[PK_COUNT];
	bool have_ts[PK_COUNT];
	uint64_t printed;
	uint64_t last_seq;
	bool have_last_seq;
	bool overrun_pending;
	uint64_t lost;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static const char *kind_name(int k)
{
	return k < (int)NKINDS ? kinds[k].name : pseudo_kinds[k - NKINDS];
}

static int find_kind(const char *name, size_t len, bool pseudo)
{
	size_t i;

	for (i = 0; i < (pseudo ? PK_COUNT : NKINDS); i++) {
		const char *n = kind_name(i);

		if (strlen(n) == len && !strncmp(n, name, len))
			return i;
	}
	return -1;
}

/* Is @key one of the space-separated words of @list? */
static bool in_list(const char *list, const char *key)
{
	size_t n = strlen(key);
	const char *p = list;

	while ((p = strstr(p, key))) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

static bool valid_key(const char *k, size_t n)
{
	size_t i;

	if (!n || !(k[0] >= 'a' && k[0] <= 'z'))
		return false;
	for (i = 1; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') ||
		      k[i] == '_'))
			return false;
	return true;
}

/* A dsmil line without its prefix: "<kind>: key=value ...". */
static const char *line_body(const char *text)
{
	if (!strncmp(text, "dsmil dsmil: ", 13))
		return text + 13;
	if (!strncmp(text, "dsmil: ", 7))
		return text + 7;
	return text;
}

/*
 * Classify a message text.  Returns false when it is not a dsmil line.
 * Fills @r->kind (NULL: unknown kind), the fields, and @r->problem.
 * Modifies @r->text (fields are cut out of it in place).
 */
static bool classify(struct record *r)
{
	static const char prefix[] = "dsmil: ";
	static const char devprefix[] = "dsmil dsmil: ";
	char *p = r->text, *kw, *tok, *save;
	const char *req;
	size_t kwlen;
	int k;

	r->kind = NULL;
	r->nfields = 0;
	r->problem[0] = '\0';
	r->kind_word[0] = '\0';
	/* dev_printk()'s "driver device: ", or the module's "dsmil: ". */
	if (!strncmp(p, devprefix, sizeof(devprefix) - 1))
		kw = p + sizeof(devprefix) - 1;
	else if (!strncmp(p, prefix, sizeof(prefix) - 1))
		kw = p + sizeof(prefix) - 1;
	else
		return false;
	for (k = 0; k < (int)ARRAY_SIZE(kernel_lines); k++)
		if (!strncmp(kw, kernel_lines[k], strlen(kernel_lines[k]))) {
			r->kind = &kinds[KIND_KERNEL];
			snprintf(r->kind_word, sizeof(r->kind_word), "kernel");
			return true;
		}
	kwlen = strspn(kw, "abcdefghijklmnopqrstuvwxyz0123456789-");
	snprintf(r->kind_word, sizeof(r->kind_word), "%.*s", (int)kwlen, kw);
	/* "dsmil: <kind>" alone, or "dsmil: <kind>: fields". */
	if (!kwlen || (kw[kwlen] && strncmp(kw + kwlen, ": ", 2))) {
		snprintf(r->problem, sizeof(r->problem),
			 "not in the form 'dsmil: <kind>: key=value...'");
		return true;
	}
	k = find_kind(kw, kwlen, false);
	if (k < 0) {
		snprintf(r->problem, sizeof(r->problem), "unknown kind '%s'",
			 r->kind_word);
		return true;
	}
	r->kind = &kinds[k];
	if (!kw[kwlen])
		goto check_required;
	for (tok = strtok_r(kw + kwlen + 2, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		bool kv = eq && valid_key(tok, eq - tok) && eq[1];

		/* A notice is free text: keep what looks like key=value. */
		if (r->kind->class == CLASS_NOTICE) {
			if (kv && r->nfields < MAX_FIELDS) {
				*eq = '\0';
				r->fields[r->nfields].key = tok;
				r->fields[r->nfields].val = eq + 1;
				r->nfields++;
			}
			continue;
		}
		if (!kv) {
			if (!r->problem[0])
				snprintf(r->problem, sizeof(r->problem),
					 "'%.60s' is not key=value", tok);
			continue;
		}
		*eq = '\0';
		if (!in_list(r->kind->required, tok) &&
		    !in_list(r->kind->optional, tok) && !r->problem[0])
			snprintf(r->problem, sizeof(r->problem),
				 "key '%.40s' is not documented for %s", tok,
				 r->kind->name);
		if (r->nfields < MAX_FIELDS) {
			r->fields[r->nfields].key = tok;
			r->fields[r->nfields].val = eq + 1;
			r->nfields++;
		}
	}
check_required:
	/* Every required key present? */
	for (req = r->kind->required; *req && !r->problem[0];) {
		size_t n = strcspn(req, " ");
		int i;
		bool found = false;

		for (i = 0; i < r->nfields; i++)
			if (strlen(r->fields[i].key) == n &&
			    !strncmp(r->fields[i].key, req, n))
				found = true;
		if (!found)
			snprintf(r->problem, sizeof(r->problem),
				 "%s line without key '%.*s'", r->kind->name,
				 (int)n, req);
		req += n;
		req += strspn(req, " ");
	}
	return true;
}

/* ---- output -------------------------------------------------------------- */

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

/*
 * Wall-clock time of a kmsg timestamp, like dmesg -T (approximate).  Returns
 * false, with nothing in @buf, for a timestamp that is no time at all (a
 * saved log may hold anything): past year 9999, where the sum would not fit
 * in 64 bits long before.
 */
static bool wall_time(uint64_t ts_usec, char *buf, size_t len)
{
	struct timespec now, boot;
	int64_t booted, usec;
	time_t s;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	/* When the machine booted, in us since the epoch. */
	booted = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000 -
		 ((int64_t)boot.tv_sec * 1000000 + boot.tv_nsec / 1000);
	if (ts_usec > INT64_MAX ||
	    __builtin_add_overflow(booted, (int64_t)ts_usec, &usec) || usec < 0)
		return false;
	s = usec / 1000000;
	if (!gmtime_r(&s, &tm) || tm.tm_year > 9999 - 1900)
		return false;
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!n)
		return false;
	snprintf(buf + n, len - n, ".%06uZ", (unsigned int)(usec % 1000000));
	return true;
}

static void print_record(const struct opts *o, const struct record *r,
			 const char *orig)
{
	const char *type = !r->kind ? "unknown" :
			   r->kind->class == CLASS_NOTICE ? "notice" :
			   "incident";
	int i;

	if (o->json) {
		struct dsj j;
		char when[48];

		dsj_init(&j, stdout, false);
		dsj_obj_begin(&j, NULL);
		dsj_str(&j, "type", type);
		if (r->kind)
			dsj_str(&j, "kind", r->kind->name);
		else if (r->kind_word[0])
			dsj_str(&j, "kind", r->kind_word);
		else
			dsj_null(&j, "kind");
		if (r->have_seq)
			dsj_u64(&j, "seq", r->seq);
		else
			dsj_null(&j, "seq");
		if (r->have_ts) {
			dsj_u64(&j, "ts_usec", r->ts_usec);
			if (wall_time(r->ts_usec, when, sizeof(when)))
				dsj_str(&j, "time", when);
			else
				dsj_null(&j, "time");
		} else {
			dsj_null(&j, "ts_usec");
			dsj_null(&j, "time");
		}
		if (r->level >= 0)
			dsj_str(&j, "level", level_names[r->level & 7]);
		else
			dsj_null(&j, "level");
		dsj_obj_begin(&j, "fields");
		for (i = 0; i < r->nfields; i++)
			dsj_str(&j, r->fields[i].key, r->fields[i].val);
		dsj_obj_end(&j);
		if (r->problem[0])
			dsj_str(&j, "problem", r->problem);
		else
			dsj_null(&j, "problem");
		dsj_str(&j, "message", orig);
		dsj_obj_end(&j);
		dsj_end(&j);
		return;
	}
	if (r->have_ts)
		printf("[%5" PRIu64 ".%06" PRIu64 "] ", r->ts_usec / 1000000,
		       r->ts_usec % 1000000);
	if (!r->kind)
		printf("unknown: %s\n", orig);
	else if (r->problem[0])
		printf("%s (malformed: %s)\n", line_body(orig), r->problem);
	else
		printf("%s\n", line_body(orig));
	fflush(stdout);
}

static void print_overrun(const struct opts *o, struct state *s,
			  const struct record *next)
{
	bool known = s->have_last_seq && next && next->seq > s->last_seq;
	uint64_t lost = known ? next->seq - s->last_seq - 1 : 0;

	s->counts[PK_OVERRUN]++;
	s->lost += lost;
	if (o->once)	/* reported in the summary */
		return;
	if (o->json) {
		struct dsj j;

		dsj_init(&j, stdout, false);
		dsj_obj_begin(&j, NULL);
		dsj_str(&j, "type", "overrun");
		if (known)
			dsj_u64(&j, "lost", lost);
		else
			dsj_null(&j, "lost");
		if (next)
			dsj_u64(&j, "next_seq", next->seq);
		else
			dsj_null(&j, "next_seq");
		dsj_obj_end(&j);
		dsj_end(&j);
		return;
	}
	if (known)
		printf("dsmil-monitor: the kernel log overran this reader: %" PRIu64
		       " records lost (seq %" PRIu64 "..%" PRIu64 ")\n", lost,
		       s->last_seq + 1, next->seq - 1);
	else
		printf("dsmil-monitor: the kernel log overran this reader: records were lost\n");
	fflush(stdout);
}

/* ---- input --------------------------------------------------------------- */

/*
 * Parse a /dev/kmsg record "prio,seq,ts_usec,flags[,...];text\n[ K=V\n]...".
 * Returns false if it does not look like one.
 */
static bool parse_kmsg(char *buf, struct record *r, uint64_t *facility)
{
	unsigned long long prio, seq, ts;
	char *p = buf, *end, *semi, *nl;

	semi = strchr(buf, ';');
	if (!semi)
		return false;
	errno = 0;
	prio = strtoull(p, &end, 10);
	if (end == p || *end != ',')
		return false;
	p = end + 1;
	seq = strtoull(p, &end, 10);
	if (end == p || *end != ',')
		return false;
	p = end + 1;
	ts = strtoull(p, &end, 10);
	if (end == p || (*end != ',' && *end != ';') || errno)
		return false;
	/* All of it: a saved record's prio may not fit in an int. */
	*facility = prio >> 3;
	r->level = prio & 7;
	r->seq = seq;
	r->ts_usec = ts;
	r->have_seq = true;
	r->have_ts = true;
	r->text = semi + 1;
	nl = strchr(r->text, '\n');
	if (nl)
		*nl = '\0';
	return true;
}

/* Text input: a kmsg record, a dmesg line, a syslog line or the bare text. */
static bool parse_text_line(char *line, struct record *r, uint64_t *facility)
{
	char *p;

	memset(r, 0, sizeof(*r));
	r->level = -1;
	*facility = 0;
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] >= '0' && line[0] <= '9' && parse_kmsg(line, r, facility))
		return true;
	if (!strncmp(line, "dsmil: ", 7) || !strncmp(line, "dsmil dsmil: ", 13)) {
		r->text = line;
		return true;
	}
	/*
	 * "[  12.345678] dsmil dsmil: ..." (dmesg) or "... kernel: dsmil
	 * dsmil: ...", and the same with the module's prefix alone.
	 */
	p = strstr(line, "] dsmil dsmil: ");
	if (!p)
		p = strstr(line, "] dsmil: ");
	if (p) {
		unsigned long long sec, usec;

		if (sscanf(line, "[%llu.%llu]", &sec, &usec) == 2) {
			r->ts_usec = sec * 1000000 + usec;
			r->have_ts = true;
		}
		r->text = p + 2;
		return true;
	}
	p = strstr(line, "kernel: dsmil dsmil: ");
	if (!p)
		p = strstr(line, "kernel: dsmil: ");
	if (p) {
		r->text = p + 8;
		return true;
	}
	return false;
}

static bool wanted(const struct opts *o, const struct record *r)
{
	if (!o->filtering)
		return true;
	if (!r->kind)
		return o->filter[PK_UNKNOWN];
	if (r->problem[0] && o->filter[PK_MALFORMED])
		return true;
	if (o->filter[PK_ANY] && r->kind->class == CLASS_INCIDENT)
		return true;
	return o->filter[r->kind - kinds];
}

static void count(struct state *s, int k, const struct record *r)
{
	s->counts[k]++;
	if (r->have_ts) {
		s->last_ts[k] = r->ts_usec;
		s->have_ts[k] = true;
	}
}

/* Account for one record; returns true when --count is reached. */
static bool handle_record(const struct opts *o, struct state *s,
			  struct record *r, uint64_t facility)
{
	char orig[KMSG_REC_MAX];

	if (s->overrun_pending) {
		s->overrun_pending = false;
		print_overrun(o, s, r->have_seq ? r : NULL);
	}
	if (r->have_seq) {
		s->last_seq = r->seq;
		s->have_last_seq = true;
	}
	/* Only the kernel's own lines: userspace can write to /dev/kmsg. */
	if (facility != 0)
		return false;
	snprintf(orig, sizeof(orig), "%s", r->text);
	if (!classify(r))
		return false;
	if (!wanted(o, r))
		return false;
	if (!r->kind) {
		count(s, PK_UNKNOWN, r);
	} else {
		count(s, r->kind - kinds, r);
		if (r->kind->class == CLASS_INCIDENT)
			count(s, PK_ANY, r);
		if (r->problem[0])
			count(s, PK_MALFORMED, r);
	}
	/* --once prints only the summary. */
	if (!o->once)
		print_record(o, r, orig);
	s->printed++;
	return o->count && s->printed >= o->count;
}

static int read_kmsg(const struct opts *o, struct state *s)
{
	static char buf[KMSG_REC_MAX];
	int flags = O_RDONLY | O_CLOEXEC | (o->once ? O_NONBLOCK : 0);
	int fd = open("/dev/kmsg", flags);

	if (fd < 0) {
		dsu_err("cannot open /dev/kmsg: %s (%s)%s",
			strerror(errno), dsu_errno_name(errno),
			errno == EPERM || errno == EACCES ?
			"; reading the kernel log needs root (or CAP_SYSLOG with dmesg_restrict)" : "");
		return ST_UNKNOWN;
	}
	/* Following: start at the end unless --all asks for the backlog. */
	if (!o->once && !o->all && lseek(fd, 0, SEEK_END) < 0) {
		dsu_err("seeking /dev/kmsg: %s", strerror(errno));
		close(fd);
		return ST_UNKNOWN;
	}
	while (!stop) {
		struct record r;
		uint64_t facility;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE) {
				/*
				 * Overwritten before we read it; the next read
				 * returns the oldest record still there.
				 */
				s->overrun_pending = true;
				continue;
			}
			if (errno == EAGAIN && o->once)
				break;
			dsu_err("reading /dev/kmsg: %s (%s)",
				strerror(errno), dsu_errno_name(errno));
			close(fd);
			return ST_UNKNOWN;
		}
		if (n == 0)
			break;
		buf[n] = '\0';
		memset(&r, 0, sizeof(r));
		if (!parse_kmsg(buf, &r, &facility))
			continue;
		if (handle_record(o, s, &r, facility))
			break;
	}
	if (s->overrun_pending) {
		s->overrun_pending = false;
		print_overrun(o, s, NULL);
	}
	close(fd);
	return ST_OK;
}

static int read_text(const struct opts *o, struct state *s)
{
	FILE *f = strcmp(o->input, "-") ? fopen(o->input, "r") : stdin;
	char *line = NULL;
	size_t cap = 0;

	if (!f) {
		dsu_err("cannot open %s: %s", o->input, strerror(errno));
		return ST_UNKNOWN;
	}
	while (!stop && getline(&line, &cap, f) >= 0) {
		struct record r;
		uint64_t facility;

		if (!parse_text_line(line, &r, &facility))
			continue;
		if (handle_record(o, s, &r, facility))
			break;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return ST_OK;
}

/* ---- summary ------------------------------------------------------------- */

static int evaluate(const struct opts *o, const struct state *s,
		    bool *hit)
{
	int status = ST_OK, i;

	for (i = 0; i < o->nth; i++) {
		const struct threshold *t = &o->th[i];

		hit[i] = s->counts[t->kind] >= t->limit;
		if (!hit[i])
			continue;
		if (t->crit)
			status = ST_CRITICAL;
		else if (status == ST_OK)
			status = ST_WARNING;
	}
	return status;
}

static const char *const status_names[] = {
	"OK", "WARNING", "CRITICAL", "UNKNOWN",
};

static int summary(const struct opts *o, const struct state *s)
{
	bool hit[MAX_THRESHOLDS];
	int status = evaluate(o, s, hit), i;
	size_t k;

	if (o->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_obj_begin(&j, NULL);
		dsj_str(&j, "status", status_names[status]);
		dsj_u64(&j, "exit_code", status);
		dsj_u64(&j, "incidents", s->counts[PK_ANY]);
		dsj_obj_begin(&j, "kinds");
		for (k = 0; k < NKINDS; k++)
			dsj_u64(&j, kinds[k].name, s->counts[k]);
		dsj_obj_end(&j);
		dsj_u64(&j, "unknown", s->counts[PK_UNKNOWN]);
		dsj_u64(&j, "malformed", s->counts[PK_MALFORMED]);
		dsj_u64(&j, "overruns", s->counts[PK_OVERRUN]);
		dsj_u64(&j, "lost_records", s->lost);
		dsj_arr_begin(&j, "thresholds");
		for (i = 0; i < o->nth; i++) {
			dsj_obj_begin(&j, NULL);
			dsj_str(&j, "kind", kind_name(o->th[i].kind));
			dsj_str(&j, "level", o->th[i].crit ? "critical" : "warning");
			dsj_u64(&j, "limit", o->th[i].limit);
			dsj_u64(&j, "count", s->counts[o->th[i].kind]);
			dsj_bool(&j, "reached", hit[i]);
			dsj_obj_end(&j);
		}
		dsj_arr_end(&j);
		dsj_obj_end(&j);
		dsj_end(&j);
		return status;
	}
	/* Nagios: one status line, then details; perfdata after '|'. */
	printf("DSMIL %s - %" PRIu64 " incident%s %s", status_names[status],
	       s->counts[PK_ANY], s->counts[PK_ANY] == 1 ? "" : "s",
	       o->input ? "in the log read" : "since boot");
	for (i = 0; i < o->nth; i++)
		if (hit[i])
			printf(", %s=%" PRIu64 " (%s at %" PRIu64 ")",
			       kind_name(o->th[i].kind), s->counts[o->th[i].kind],
			       o->th[i].crit ? "critical" : "warning",
			       o->th[i].limit);
	printf(" |");
	for (k = 0; k < NKINDS; k++)
		if (kinds[k].class == CLASS_INCIDENT)
			printf(" %s=%" PRIu64, kinds[k].name, s->counts[k]);
	printf("\n");
	printf("%-20s %8s  %s\n", "KIND", "COUNT", "LAST (s since boot)");
	for (k = 0; k < PK_COUNT; k++) {
		if (k == PK_ANY || (k < NKINDS && kinds[k].class != CLASS_INCIDENT))
			continue;
		if (!s->counts[k] && k >= NKINDS)
			continue;
		if (s->have_ts[k])
			printf("%-20s %8" PRIu64 "  %" PRIu64 ".%06" PRIu64 "\n",
			       kind_name(k), s->counts[k],
			       s->last_ts[k] / 1000000, s->last_ts[k] % 1000000);
		else
			printf("%-20s %8" PRIu64 "  -\n", kind_name(k), s->counts[k]);
	}
	if (s->counts[PK_OVERRUN])
		printf("(the log overran the reader %" PRIu64 " times; %" PRIu64
		       " records lost)\n", s->counts[PK_OVERRUN], s->lost);
	return status;
}

static int list_kinds(const struct opts *o)
{
	size_t k;

	if (o->json) {
		struct dsj j;

		dsj_init(&j, stdout, true);
		dsj_arr_begin(&j, NULL);
		for (k = 0; k < NKINDS; k++) {
			char buf[128], *tok, *save;

			dsj_obj_begin(&j, NULL);
			dsj_str(&j, "kind", kinds[k].name);
			dsj_str(&j, "part", kinds[k].part);
			dsj_str(&j, "class", kinds[k].class == CLASS_INCIDENT ?
				"incident" : "notice");
			dsj_arr_begin(&j, "required");
			snprintf(buf, sizeof(buf), "%s", kinds[k].required);
			for (tok = strtok_r(buf, " ", &save); tok;
			     tok = strtok_r(NULL, " ", &save))
				dsj_str(&j, NULL, tok);
			dsj_arr_end(&j);
			dsj_arr_begin(&j, "optional");
			snprintf(buf, sizeof(buf), "%s", kinds[k].optional);
			for (tok = strtok_r(buf, " ", &save); tok;
			     tok = strtok_r(NULL, " ", &save))
				dsj_str(&j, NULL, tok);
			dsj_arr_end(&j);
			dsj_str(&j, "description", kinds[k].desc);
			dsj_obj_end(&j);
		}
		dsj_arr_end(&j);
		dsj_end(&j);
		return ST_OK;
	}
	printf("%-20s %-6s %-10s %s\n", "KIND", "PART", "CLASS", "KEYS ([optional])");
	for (k = 0; k < NKINDS; k++) {
		printf("%-20s %-6s %-10s %s", kinds[k].name, kinds[k].part,
		       kinds[k].class == CLASS_INCIDENT ? "incident" : "notice",
		       kinds[k].required);
		if (*kinds[k].optional)
			printf("%s[%s]", *kinds[k].required ? " " : "",
			       kinds[k].optional);
		printf("\n    %s\n", kinds[k].desc);
	}
	printf("Pseudo-kinds for --warn/--crit/--kind: any (all incidents), unknown,\n"
	       "malformed, overrun.\n");
	return ST_OK;
}

/* ---- command line -------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: dsmil-monitor [--json] [--all] [--kind KIND]... [--count N]\n"
"       dsmil-monitor --once [--json] [--warn KIND=N]... [--crit KIND=N]...\n"
"       dsmil-monitor --input FILE [--once] [--json] [...]\n"
"       dsmil-monitor --list-kinds [--json]\n"
"\n"
"Watch the kernel log (/dev/kmsg) for the dsmil driver's incident lines\n"
"('dsmil: <kind>: key=value ...', see Documentation/dsmil-messages.rst).\n"
"\n"
"  (default)          follow the log and print each dsmil line as it comes\n"
"  -a, --all          first print the lines already in the log (since boot)\n"
"  -j, --json         one JSON object per line (with --once: one document)\n"
"  -k, --kind KIND    only this kind (repeatable; also any, unknown, malformed)\n"
"  -n, --count N      exit after printing N lines\n"
"  -1, --once         read the log since boot, print a summary by kind and exit\n"
"                     with a Nagios status from the thresholds\n"
"  -w, --warn KIND=N  WARNING when KIND occurred at least N times (repeatable,\n"
"                     comma-separated lists allowed)\n"
"  -c, --crit KIND=N  CRITICAL when KIND occurred at least N times\n"
"  -i, --input FILE   read saved log text instead of /dev/kmsg (- for stdin):\n"
"                     raw /dev/kmsg records, dmesg or syslog lines; implies\n"
"                     reading to the end (use --once for the summary)\n"
"  -l, --list-kinds   the kinds this monitor knows, with their keys\n"
"  -h, --help         this text\n"
"\n"
"KIND is a kind from --list-kinds or: any (every incident), unknown (a dsmil\n"
"line of no known kind), malformed (a known kind with bad or missing keys),\n"
"overrun (the ring buffer overran the reader).\n"
"\n"
"Exit status (--once, Nagios): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN\n"
"(usage error or the log cannot be read).  Following: 0 when stopped by\n"
"SIGINT/SIGTERM or after --count lines, 3 on error.\n"
"\n"
"Example (Nagios/Icinga check):\n"
"  dsmil-monitor --once --warn smi-timeout=1,smi-hang=1 --crit smi-faulted=1\n");
}

static int add_thresholds(struct opts *o, const char *spec, bool crit)
{
	char buf[512], *tok, *save;

	/* Cut short, "x=12345" could become "x=12": refuse instead. */
	if (strlen(spec) >= sizeof(buf)) {
		dsu_err("threshold list '%.32s...' is longer than %zu bytes; give several --warn/--crit",
			spec, sizeof(buf) - 1);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		uint64_t n;
		int k;

		if (!eq) {
			dsu_err("threshold '%s' is not KIND=N", tok);
			return -1;
		}
		k = find_kind(tok, eq - tok, true);
		if (k < 0 || (k < (int)NKINDS && kinds[k].class != CLASS_INCIDENT)) {
			dsu_err("unknown incident kind '%.*s' (see --list-kinds)",
				(int)(eq - tok), tok);
			return -1;
		}
		if (dsu_parse_u64(eq + 1, UINT32_MAX, &n) || !n) {
			dsu_err("threshold count '%s' is not a number >= 1", eq + 1);
			return -1;
		}
		if (o->nth == MAX_THRESHOLDS) {
			dsu_err("too many thresholds");
			return -1;
		}
		o->th[o->nth].kind = k;
		o->th[o->nth].limit = n;
		o->th[o->nth].crit = crit;
		o->nth++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,	   NULL, 'j' },
		{ "all",	no_argument,	   NULL, 'a' },
		{ "once",	no_argument,	   NULL, '1' },
		{ "kind",	required_argument, NULL, 'k' },
		{ "count",	required_argument, NULL, 'n' },
		{ "warn",	required_argument, NULL, 'w' },
		{ "crit",	required_argument, NULL, 'c' },
		{ "input",	required_argument, NULL, 'i' },
		{ "list-kinds",	no_argument,	   NULL, 'l' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char shortopts[] = ":ja1k:n:w:c:i:lh";
	char msg[96];
	struct opts o;
	struct state s;
	struct sigaction sa;
	int c, k, rc;

	dsu_prog = "dsmil-monitor";
	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts,
				NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = true;
			break;
		case 'a':
			o.all = true;
			break;
		case '1':
			o.once = true;
			break;
		case 'k':
			k = find_kind(optarg, strlen(optarg), true);
			if (k < 0) {
				dsu_err("unknown kind '%s' (see --list-kinds)",
					optarg);
				return ST_UNKNOWN;
			}
			o.filter[k] = true;
			o.filtering = true;
			break;
		case 'n':
			if (dsu_parse_u64(optarg, UINT64_MAX, &o.count) || !o.count) {
				dsu_err("--count '%s' is not a number >= 1",
					optarg);
				return ST_UNKNOWN;
			}
			break;
		case 'w':
		case 'c':
			if (add_thresholds(&o, optarg, c == 'c'))
				return ST_UNKNOWN;
			break;
		case 'i':
			o.input = optarg;
			break;
		case 'l':
			o.list_kinds = true;
			break;
		case 'h':
			usage(stdout);
			return ST_OK;
		default:	/* '?', ':' */
			dsu_err("%s", dsu_getopt_error(c, argv, shortopts, msg,
							sizeof(msg)));
			usage(stderr);
			return ST_UNKNOWN;
		}
	}
	if (optind < argc) {
		dsu_err("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return ST_UNKNOWN;
	}
	if (o.list_kinds)
		return list_kinds(&o);
	if (o.nth && !o.once) {
		dsu_err("--warn/--crit apply to --once");
		return ST_UNKNOWN;
	}
	if (o.once && o.count) {
		dsu_err("--count does not apply to --once");
		return ST_UNKNOWN;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: read() returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	rc = o.input ? read_text(&o, &s) : read_kmsg(&o, &s);
	if (rc != ST_OK)
		return rc;
	if (o.once)
		return summary(&o, &s);
	return ST_OK;
}
