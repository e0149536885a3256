// SPDX-License-Identifier: GPL-2.0
/*
 * dsmilctl token read|write, smi status|recover|result: the SMI tokens and
 * the engine that carries requests to them.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "main.h"

const struct help smi_help[] = {
	{ "token", "dsmilctl token read G POSITION | token write G POSITION VALUE",
"Read or write the SMI token of group G (0..5) at POSITION (power, memory,\n"
"storage, sensor; the token is 0x480 + 12 * G + position, owned by device\n"
"DSMIL<G>D<position>).  See 'token read --help', 'token write --help'.\n" },
	{ "token read", "dsmilctl token read G POSITION | token read --all [--json]",
"Read a token.  Needs CAP_SYS_RAWIO and the owning device READY or ACTIVE.\n"
"--all reads every token the firmware has, all in flight together (the\n"
"driver's asynchronous requests), one line each in token order, with a\n"
"progress line on a terminal; a token that cannot be read says why on its\n"
"line.  A read that timed out still queued behind the others (nothing was\n"
"sent) is submitted again, up to 3 times in all.  Exit 0 when every one\n"
"was read, else the status of the first failure.\n" },
	{ "token write", "dsmilctl token write G POSITION VALUE [--json]",
"Write VALUE (0..0xffffffff) to a token.  Needs CAP_SYS_RAWIO, the\n"
"allow_writes module parameter, no kernel lockdown and the owning device\n"
"ACTIVE and not quarantined.  The driver reads the token first, writes it\n"
"and reads it back ('audit --writes' shows all three); a read-back that\n"
"differs from VALUE fails the write (EIO, exit 5).\n" },
	{ "smi", "dsmilctl smi status | smi recover | smi result ID",
"The SMI engine.  See 'smi status --help', 'smi recover --help',\n"
"'smi result --help'.\n" },
	{ "smi status", "dsmilctl smi status [--json]",
"Show the SMI backend, its state (OK or FAULTED), its settings, its counters\n"
"and a log2 histogram of request latency.\n" },
	{ "smi recover", "dsmilctl smi recover [--json]",
"Reset a FAULTED SMI backend so requests reach it again.  After a failed\n"
"recovery the driver makes the next try wait (exponential backoff): a try\n"
"too early is refused (EAGAIN, exit 4).  Needs CAP_SYS_ADMIN and\n"
"CAP_SYS_RAWIO.\n" },
	{ "smi result", "dsmilctl smi result ID [--json]",
"How token request ID ended.  A token read or write whose outcome was not\n"
"known when it returned (exit 7, EINPROGRESS: the firmware call was still\n"
"running at the deadline, or its abort failed) names its request id; the\n"
"driver keeps the final outcome of its last 64 requests.  Exit 7 while the\n"
"request has not ended, 1 (ENOENT) for an id it does not keep.  An\n"
"outcome 'unknown' means a reset ended it after its abort failed: whether a\n"
"write was applied is not known.  Needs CAP_SYS_RAWIO.\n" },
	{ NULL },
};

/* ---- token --------------------------------------------------------------- */

static int token_cmd(bool write, int argc, char **argv)
{
	const char *path = write ? "token write" : "token read";
	struct dsmil_token_req tr;
	unsigned int g = 0, dev;
	uint64_t value = 0;
	char name[16], hint[160] = "";
	struct args a;
	int rc, pos, err;

	rc = parse_args(path, 0, write ? 3 : 2, write ? 3 : 2, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = arg_group(&a, a.pos[0], &g);
	if (rc >= 0)
		return rc;
	pos = dsu_parse_position(a.pos[1]);
	if (pos < 0)
		return usage_error(path,
				   "unknown token position '%s' (power, memory, storage, sensor)",
				   a.pos[1]);
	if (write) {
		rc = arg_u64(&a, "value", a.pos[2], UINT32_MAX, &value);
		if (rc >= 0)
			return rc;
	}
	dev = g * DSMIL_DEVS_PER_GROUP + pos;
	dsu_device_name(dev, name, sizeof(name));

	rc = open_node();
	if (rc >= 0)
		return rc;
	memset(&tr, 0, sizeof(tr));
	tr.group = g;
	tr.position = pos;
	tr.value = value;
	err = xioctl(write ? DSMIL_IOC_TOKEN_WRITE : DSMIL_IOC_TOKEN_READ, &tr);
	if (err) {
		bool quarantined = false;

		if (err == ENODEV || err == EPERM || err == ETIMEDOUT)
			quarantined = state_hint(dev, hint, sizeof(hint));
		if (err == EINPROGRESS && tr.request_id)
			snprintf(hint, sizeof(hint),
				 "; request %" PRIu64 " may still complete: 'dsmilctl smi result %" PRIu64 "' tells how it ended",
				 (uint64_t)tr.request_id, (uint64_t)tr.request_id);
		ctl.tail = hint;
		return fail_code(eperm_code(err, quarantined), err, -1,
				 "%s token %#06x (group %u %s, device %s)",
				 write ? "writing" : "reading",
				 DSMIL_TOKEN_BASE + DSMIL_DEVS_PER_GROUP * g + pos,
				 g, dsu_position_name(pos), name);
	}
	if (!write)
		value = tr.value;
	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_str(&j, "op", write ? "write" : "read");
		dsj_u64(&j, "group", g);
		dsj_str(&j, "position", dsu_position_name(pos));
		dsj_u64(&j, "token", tr.token);
		json_device_ref(&j, "device", dev);
		dsj_u64(&j, "value", value);
		dsj_u64(&j, "duration_ns", tr.duration_ns);
		return json_end(&j);
	}
	printf("%s token %#06x (group %u %s, %s) %s %#010" PRIx64 " (%" PRIu64 ")  [%.1f us]\n",
	       write ? "wrote" : "read", tr.token, g, dsu_position_name(pos), name,
	       write ? "<-" : "=", value, value, tr.duration_ns / 1000.0);
	return 0;
}

/* One token of 'token read --all'. */
struct token_slot {
	unsigned int group, pos, dev;
	uint64_t id;		/* the submit's; 0: never submitted */
	unsigned int tries;	/* submits made */
	int err;		/* positive errno, or 0 */
	bool done;
	uint32_t value;
	uint64_t duration_ns;
};

static void token_all_progress(unsigned int done, unsigned int n)
{
	fprintf(stderr, "\rreading tokens: %u/%u", done, n);
	fflush(stderr);
}

static void token_all_line(const struct token_slot *t)
{
	unsigned int tok = DSMIL_TOKEN_BASE + DSMIL_DEVS_PER_GROUP * t->group +
			   t->pos;
	char name[16];

	dsu_device_name(t->dev, name, sizeof(name));
	if (t->err)
		printf("token %#06x (group %u %s, %s): %s (%s)\n", tok, t->group,
		       dsu_position_name(t->pos), name, strerror(t->err),
		       dsu_errno_name(t->err));
	else
		printf("token %#06x (group %u %s, %s) = %#010" PRIx32 " (%" PRIu32 ")  [%.1f us]\n",
		       tok, t->group, dsu_position_name(t->pos), name, t->value,
		       t->value, t->duration_ns / 1000.0);
}

/* Submit the read of @t: 0 or the positive errno (then @t is done). */
static int token_all_submit(struct token_slot *t)
{
	struct dsmil_token_submit s = {
		.group = t->group, .position = t->pos,
		.op = DSMIL_TOKEN_OP_READ,
	};
	int err = xioctl(DSMIL_IOC_TOKEN_SUBMIT, &s);

	t->tries++;
	if (err) {
		t->err = err;
		t->done = true;
		return err;
	}
	t->id = s.id;
	return 0;
}

/*
 * A read that timed out still queued, behind the others of the table,
 * never reached the firmware (DSMIL_TOKEN_C_UNSENT): it is submitted again,
 * at most this many times in all.
 */
#define TOKEN_ALL_TRIES	3

/*
 * Take the completion records there are; returns how many reads ended
 * (resubmitted ones not counted), or -errno.
 */
static int token_all_collect(struct token_slot *t, unsigned int n)
{
	struct dsmil_token_completion r[DSMIL_NUM_GROUPS * 4];
	unsigned int i, k;
	int ended = 0;
	ssize_t got;

	got = read(ctl.fd, r, sizeof(r));
	if (got < 0)
		return -errno;
	for (k = 0; k < got / sizeof(r[0]); k++)
		for (i = 0; i < n; i++) {
			if (t[i].id != r[k].id || t[i].done)
				continue;
			if (r[k].error == ETIMEDOUT &&
			    (r[k].flags & DSMIL_TOKEN_C_UNSENT) &&
			    t[i].tries < TOKEN_ALL_TRIES &&
			    !token_all_submit(&t[i]))
				continue;	/* in flight again */
			t[i].done = true;
			if (!t[i].err)
				t[i].err = r[k].error;
			t[i].value = r[k].value;
			t[i].duration_ns = r[k].duration_ns;
			ended++;
		}
	return ended;
}

/*
 * token read --all: every token the firmware has, submitted at once
 * (DSMIL_IOC_TOKEN_SUBMIT), the records read as they come.
 */
static int token_read_all(void)
{
	struct token_slot t[DSMIL_NUM_GROUPS * 4];
	unsigned int n = 0, pending = 0, done = 0, i, g, p;
	bool progress = isatty(STDERR_FILENO);
	struct dsmil_info info;
	int rc, err, first = 0;

	_Static_assert(DSMIL_NUM_GROUPS * 4 <= DSMIL_ASYNC_MAX,
		       "every token in flight at once");

	rc = get_info(&info);
	if (rc >= 0)
		return rc;
	if (!(info.features & DSMIL_FEAT_ASYNC))
		return fail_code(DSU_EXIT_OTHER, EOPNOTSUPP, -1,
				 "this driver has no asynchronous token requests");
	for (g = 0; g < DSMIL_NUM_GROUPS; g++)
		for (p = 0; p < DSMIL_DEVS_PER_GROUP; p += 3) {
			unsigned int dev = g * DSMIL_DEVS_PER_GROUP + p;
			struct dsmil_dev_info di;

			/* Present: a token the firmware has and may be sent. */
			if (!get_dev(dev, &di) &&
			    di.flags & (DSMIL_DEVF_TOKEN_ABSENT |
					DSMIL_DEVF_TOKEN_FILTERED))
				continue;
			t[n++] = (struct token_slot){
				.group = g, .pos = p, .dev = dev,
			};
		}

	/* The table (24) is well below the per-file limit (64). */
	for (i = 0; i < n; i++) {
		if (token_all_submit(&t[i]))
			done++;
		else
			pending++;
	}
	if (progress)
		token_all_progress(done, n);
	while (pending) {
		struct pollfd pf = { .fd = ctl.fd, .events = POLLIN };

		if (poll(&pf, 1, -1) < 0) {
			err = errno;
			if (err == EINTR)
				continue;
			if (progress)
				fputc('\n', stderr);
			return fail(err, -1, "waiting for token completions");
		}
		rc = token_all_collect(t, n);
		if (rc < 0 && rc != -EAGAIN) {
			if (progress)
				fputc('\n', stderr);
			return fail(-rc, -1, "reading token completions");
		}
		if (rc > 0) {
			pending -= rc;
			done += rc;
		}
		if (progress)
			token_all_progress(done, n);
	}
	if (progress)
		fprintf(stderr, "\r%*s\r", 40, "");

	for (i = 0; i < n && !first; i++)
		first = t[i].err;
	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_arr_begin(&j, "tokens");
		for (i = 0; i < n; i++) {
			dsj_obj_begin(&j, NULL);
			dsj_u64(&j, "group", t[i].group);
			dsj_str(&j, "position", dsu_position_name(t[i].pos));
			dsj_u64(&j, "token", DSMIL_TOKEN_BASE +
				DSMIL_DEVS_PER_GROUP * t[i].group + t[i].pos);
			json_device_ref(&j, "device", t[i].dev);
			if (t[i].err) {
				dsj_str(&j, "error", dsu_errno_name(t[i].err));
			} else {
				dsj_u64(&j, "value", t[i].value);
				dsj_u64(&j, "duration_ns", t[i].duration_ns);
			}
			dsj_obj_end(&j);
		}
		dsj_arr_end(&j);
		json_end(&j);
	} else {
		for (i = 0; i < n; i++)
			token_all_line(&t[i]);
	}
	return first ? dsu_exit_for_errno(first) : 0;
}

static int token_read(int argc, char **argv)
{
	struct args a;
	int rc, i;

	/* --all anywhere: the whole table; else one token as ever. */
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--all"))
			break;
	if (i == argc)
		return token_cmd(false, argc, argv);
	rc = parse_args("token read", OPT_ALL, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = open_node();
	if (rc >= 0)
		return rc;
	return token_read_all();
}

static int token_write(int argc, char **argv)
{
	return token_cmd(true, argc, argv);
}

static const struct cmd token_cmds[] = {
	{ "read", token_read },
	{ "write", token_write },
	{ NULL },
};

int do_token(int argc, char **argv)
{
	return cmd_select("token", token_cmds, argc, argv);
}

/* ---- smi ----------------------------------------------------------------- */

static const char *smi_state_json(unsigned int s)
{
	return s == DSMIL_SMI_OK ? "ok" : s == DSMIL_SMI_FAULTED ? "faulted" :
	       "unknown";
}

static int smi_status(int argc, char **argv)
{
	struct dsmil_smi_status st;
	struct args a;
	unsigned int b;
	uint64_t max = 0;
	int rc, err;

	rc = parse_args("smi status", 0, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = open_node();
	if (rc >= 0)
		return rc;
	memset(&st, 0, sizeof(st));
	err = xioctl(DSMIL_IOC_SMI_STATUS, &st);
	if (err)
		return fail(err, -1, "reading the SMI status");
	const struct {
		const char *name;
		uint64_t v;
	} ctr[] = {
		{ "requests", st.requests }, { "successes", st.successes },
		{ "errors", st.errors }, { "timeouts", st.timeouts },
		{ "hangs", st.hangs }, { "aborts", st.aborts },
		{ "abort_failures", st.abort_failures },
		{ "faulted_entries", st.faulted_entries },
		{ "faulted_rejects", st.faulted_rejects },
		{ "recoveries", st.recoveries },
		{ "recovery_failures", st.recovery_failures },
		{ "retries", st.retries }, { "spacing_waits", st.spacing_waits },
		{ "refused", st.refused },
		{ "error_status", st.error_status }, { "garbage", st.garbage },
		{ "busy_failures", st.busy_failures },
		{ "submit_failures", st.submit_failures },
		{ "cancelled", st.cancelled },
		{ "queue_timeouts", st.queue_timeouts },
		{ "abandoned", st.abandoned },
		{ "spacing_wait_us", st.spacing_wait_us },
		{ "max_latency_us", st.max_latency_us },
		{ "in_doubt", st.in_doubt },
		{ "late_successes", st.late_successes },
		{ "late_failures", st.late_failures },
		{ "coalesced", st.coalesced },
	};

	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_strn(&j, "backend", (char *)st.backend, sizeof(st.backend));
		dsj_str(&j, "state", smi_state_json(st.state));
		dsj_u64(&j, "consecutive_faults", st.consecutive_faults);
		dsj_u64(&j, "timeout_ms", st.timeout_ms);
		dsj_u64(&j, "hang_ms", st.hang_ms);
		dsj_u64(&j, "min_interval_us", st.min_interval_us);
		dsj_u64(&j, "fault_limit", st.fault_limit);
		dsj_u64(&j, "busy_retries", st.busy_retries);
		dsj_u64(&j, "in_flight", st.in_flight);
		dsj_u64(&j, "recover_backoff_ms", st.recover_backoff_ms);
		dsj_u64(&j, "recover_wait_ms", st.recover_wait_ms);
		dsj_obj_begin(&j, "counters");
		for (b = 0; b < ARRAY_SIZE(ctr); b++)
			dsj_u64(&j, ctr[b].name, ctr[b].v);
		dsj_obj_end(&j);
		dsj_arr_begin(&j, "latency_hist");
		for (b = 0; b < DSMIL_SMI_HIST_BUCKETS; b++) {
			dsj_obj_begin(&j, NULL);
			dsj_u64(&j, "min_us", b ? 1ULL << (b - 1) : 0);
			if (b == DSMIL_SMI_HIST_BUCKETS - 1)
				dsj_null(&j, "below_us");
			else
				dsj_u64(&j, "below_us", 1ULL << b);
			dsj_u64(&j, "count", st.latency_hist[b]);
			dsj_obj_end(&j);
		}
		dsj_arr_end(&j);
		return json_end(&j);
	}
	printf("backend:     %.*s\n", (int)sizeof(st.backend), (char *)st.backend);
	printf("state:       %s", st.state == DSMIL_SMI_FAULTED ? "FAULTED" :
	       st.state == DSMIL_SMI_OK ? "OK" : "unknown");
	if (st.state == DSMIL_SMI_FAULTED)
		printf(" (requests fail at once; 'dsmilctl smi recover' resets it%s)",
		       st.recover_backoff_ms ? ", after the backoff" : "");
	printf("\nfaults:      %u in a row (FAULTED at %u)\n",
	       st.consecutive_faults, st.fault_limit);
	if (st.recover_backoff_ms)
		printf("backoff:     %" PRIu64 " ms after the last failed recovery, %"
		       PRIu64 " ms left before the next try\n",
		       (uint64_t)st.recover_backoff_ms,
		       (uint64_t)st.recover_wait_ms);
	printf("settings:    timeout %u ms, hang %u ms, min interval %u us, %u busy retries\n",
	       st.timeout_ms, st.hang_ms, st.min_interval_us, st.busy_retries);
	printf("in flight:   %u\n", st.in_flight);
	printf("counters:\n");
	for (b = 0; b < ARRAY_SIZE(ctr); b++)
		printf("  %-18s %" PRIu64 "\n", ctr[b].name, ctr[b].v);
	for (b = 0; b < DSMIL_SMI_HIST_BUCKETS; b++)
		if (st.latency_hist[b] > max)
			max = st.latency_hist[b];
	printf("latency (requests by duration):\n");
	if (!max)
		printf("  (none yet)\n");
	for (b = 0; max && b < DSMIL_SMI_HIST_BUCKETS; b++) {
		unsigned int bar;

		if (!st.latency_hist[b])
			continue;
		bar = (unsigned int)((st.latency_hist[b] * 40 + max - 1) / max);
		if (b == DSMIL_SMI_HIST_BUCKETS - 1)
			printf("  >= %7llu us", 1ULL << (b - 1));
		else
			printf("  < %8llu us", 1ULL << b);
		printf(" %10" PRIu64 " %.*s\n", (uint64_t)st.latency_hist[b],
		       (int)bar, "########################################");
	}
	return 0;
}

static int smi_recover(int argc, char **argv)
{
	struct dsmil_smi_status st;
	struct args a;
	int rc, err;

	rc = parse_args("smi recover", 0, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = open_node();
	if (rc >= 0)
		return rc;
	err = xioctl(DSMIL_IOC_SMI_RECOVER, NULL);
	if (err == EAGAIN) {
		char hint[96] = "";

		memset(&st, 0, sizeof(st));
		if (!xioctl(DSMIL_IOC_SMI_STATUS, &st))
			snprintf(hint, sizeof(hint),
				 "; the backoff after a failed recovery has %" PRIu64 " ms left",
				 (uint64_t)st.recover_wait_ms);
		ctl.tail = hint;
		return fail(err, -1, "SMI recover");
	}
	if (err)
		return fail(err, -1, "SMI recover");
	memset(&st, 0, sizeof(st));
	err = xioctl(DSMIL_IOC_SMI_STATUS, &st);
	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_bool(&j, "recovered", true);
		if (err)
			dsj_null(&j, "state");
		else
			dsj_str(&j, "state", smi_state_json(st.state));
		return json_end(&j);
	}
	printf("SMI backend recovered%s%s\n", err ? "" : "; state ",
	       err ? "" : st.state == DSMIL_SMI_OK ? "OK" : "FAULTED");
	return 0;
}

/* The ending of a DSMIL_IOC_SMI_RESULT record, in words. */
static const char *smi_result_word(const struct dsmil_smi_result *res)
{
	if (res->flags & DSMIL_SMI_RESULT_F_UNKNOWN)
		return "unknown";
	return res->error ? "failed" : "success";
}

static int smi_result(int argc, char **argv)
{
	struct dsmil_smi_result res;
	bool write;
	struct args a;
	uint64_t id;
	int rc, err;

	rc = parse_args("smi result", 0, 1, 1, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = arg_u64(&a, "request id", a.pos[0], UINT64_MAX, &id);
	if (rc >= 0)
		return rc;
	if (!id)
		return usage_error(a.path, "request id 0 is never given");
	rc = open_node();
	if (rc >= 0)
		return rc;
	memset(&res, 0, sizeof(res));
	res.request_id = id;
	err = xioctl(DSMIL_IOC_SMI_RESULT, &res);
	if (err == ENOENT)
		ctl.tail = "; the driver keeps the outcomes of its last 64 token requests";
	if (err)
		return fail(err, -1, "request %" PRIu64, id);
	write = res.flags & DSMIL_SMI_RESULT_F_WRITE;
	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_u64(&j, "request_id", id);
		dsj_u64(&j, "token", res.token);
		dsj_str(&j, "op", write ? "write" : "read");
		dsj_str(&j, "outcome", smi_result_word(&res));
		if (res.error) {
			dsj_str(&j, "errno", dsu_errno_name(res.error));
			dsj_i64(&j, "errno_value", res.error);
		} else {
			dsj_null(&j, "errno");
			dsj_null(&j, "errno_value");
		}
		dsj_u64(&j, "value", res.value);
		dsj_u64(&j, "duration_ns", res.duration_ns);
		dsj_bool(&j, "in_doubt", res.flags & DSMIL_SMI_RESULT_F_IN_DOUBT);
		dsj_bool(&j, "abandoned",
			 res.flags & DSMIL_SMI_RESULT_F_ABANDONED);
		return json_end(&j);
	}
	printf("request %" PRIu64 ": token %#06x %s, %s", id, res.token,
	       write ? "write" : "read", smi_result_word(&res));
	if (res.error)
		printf(" (%s, %s)", dsu_errno_name(res.error),
		       strerror(res.error));
	else if (!write || res.value)
		printf(", value %#010x", res.value);
	printf(" after %.1f ms%s%s\n", res.duration_ns / 1e6,
	       res.flags & DSMIL_SMI_RESULT_F_IN_DOUBT ?
	       "; its caller was told it was in doubt" : "",
	       res.flags & DSMIL_SMI_RESULT_F_ABANDONED ?
	       "; its caller had left" : "");
	if (res.flags & DSMIL_SMI_RESULT_F_UNKNOWN)
		printf("a reset ended it after its abort failed: whether %s is not known\n",
		       write ? "the write was applied" : "the firmware answered");
	return 0;
}

static const struct cmd smi_cmds[] = {
	{ "status", smi_status },
	{ "recover", smi_recover },
	{ "result", smi_result },
	{ NULL },
};

int do_smi(int argc, char **argv)
{
	return cmd_select("smi", smi_cmds, argc, argv);
}
