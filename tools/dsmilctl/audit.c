// SPDX-License-Identifier: GPL-2.0
/*
 * dsmilctl audit [--writes]: the driver's audit trail of transitions, and
 * its write audit (who wrote what where, before and after).
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "main.h"

const struct help audit_help[] = {
	{ "audit", "dsmilctl audit [--since SEQ] [--writes] [--json]",
"Show the driver's audit trail: the last 256 transitions, accepted and\n"
"refused, with time, pid, uid, device, states, result and reason.\n"
"--writes shows the write audit instead: the last 256 token and MMIO\n"
"writes, with time, request id, pid, uid, command, what was written where,\n"
"the value before and the value read back (tokens), how far the write got\n"
"and its result; a read-back that contradicts the write is a mismatch.\n"
"--since SEQ shows entries with sequence number >= SEQ.  Needs CAP_SYS_ADMIN.\n" },
	{ NULL },
};

/* ---- audit --------------------------------------------------------------- */

static void format_time(uint64_t ns, char *buf, size_t len, bool iso)
{
	time_t s = ns / 1000000000ULL;
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, len, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03u%s",
		 (unsigned int)(ns % 1000000000ULL / 1000000), iso ? "Z" : "");
}

static const char *const wrec_kinds[] = {
	[DSMIL_WREC_TOKEN] = "token",
	[DSMIL_WREC_MMIO] = "mmio",
	[DSMIL_WREC_MMIO_BULK] = "mmio-bulk",
};

static const char *const wrec_stages[] = {
	[DSMIL_WREC_AT_REFUSED] = "refused",
	[DSMIL_WREC_AT_OLD] = "read-before",
	[DSMIL_WREC_AT_WRITE] = "write",
	[DSMIL_WREC_AT_READBACK] = "read-back",
	[DSMIL_WREC_AT_LATE] = "late",
};

static const char *wrec_name(const char *const *names, size_t n, unsigned int i)
{
	return i < n && names[i] ? names[i] : "unknown";
}

/* A u64 field, or null when its flag says it is not valid. */
static void json_u64_if(struct dsj *j, const char *key, bool valid, uint64_t v)
{
	if (valid)
		dsj_u64(j, key, v);
	else
		dsj_null(j, key);
}

static void json_write_record(struct dsj *j, const struct dsmil_write_record *e)
{
	bool token = e->kind == DSMIL_WREC_TOKEN;
	char when[40];

	format_time(e->time_ns, when, sizeof(when), true);
	dsj_obj_begin(j, NULL);
	dsj_u64(j, "seq", e->seq);
	dsj_u64(j, "time_ns", e->time_ns);
	dsj_str(j, "time", when);
	dsj_u64(j, "request_id", e->request_id);
	dsj_u64(j, "pid", e->pid);
	dsj_u64(j, "uid", e->uid);
	dsj_strn(j, "comm", (const char *)e->comm, sizeof(e->comm));
	dsj_str(j, "kind", wrec_name(wrec_kinds, ARRAY_SIZE(wrec_kinds), e->kind));
	dsj_str(j, "stage", wrec_name(wrec_stages, ARRAY_SIZE(wrec_stages),
				      e->stage));
	if (e->device < DSMIL_NUM_DEVICES)
		json_device_ref(j, "device", e->device);
	else
		dsj_null(j, "device");
	json_u64_if(j, "token", token, e->token);
	json_u64_if(j, "offset", !token, e->offset);
	json_u64_if(j, "length", !token, e->length);
	json_u64_if(j, "done", !token, e->done);
	dsj_bool(j, "device_scoped", e->flags & DSMIL_WREC_F_DEVICE);
	dsj_bool(j, "activate", e->flags & DSMIL_WREC_F_ACTIVATE);
	json_u64_if(j, "old_value", e->flags & DSMIL_WREC_F_OLD, e->old_value);
	json_u64_if(j, "value", e->flags & DSMIL_WREC_F_VALUE, e->value);
	json_u64_if(j, "readback", e->flags & DSMIL_WREC_F_READBACK,
		    e->readback);
	dsj_bool(j, "mismatch", e->flags & DSMIL_WREC_F_MISMATCH);
	dsj_bool(j, "concurrent", e->flags & DSMIL_WREC_F_CONCURRENT);
	dsj_bool(j, "unknown", e->flags & DSMIL_WREC_F_UNKNOWN);
	dsj_bool(j, "ok", !e->error);
	if (e->error)
		dsj_str(j, "errno", dsu_errno_name(e->error));
	else
		dsj_null(j, "errno");
	if (e->readback_error)
		dsj_str(j, "readback_errno", dsu_errno_name(e->readback_error));
	else
		dsj_null(j, "readback_errno");
	dsj_obj_end(j);
}

/* "0x1234" when the flag says the value is there, else "-". */
static void hex_if(char *buf, size_t len, bool valid, uint64_t v)
{
	if (valid)
		snprintf(buf, len, "%#" PRIx64, v);
	else
		snprintf(buf, len, "-");
}

static void print_write_record(const struct dsmil_write_record *e)
{
	char when[40], name[16], what[64], old[24], val[24], rb[24], res[96];
	size_t n;

	format_time(e->time_ns, when, sizeof(when), false);
	if (e->device < DSMIL_NUM_DEVICES)
		dsu_device_name(e->device, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "raw");
	if (e->kind == DSMIL_WREC_TOKEN)
		snprintf(what, sizeof(what), "token %#06x %s", e->token, name);
	else
		snprintf(what, sizeof(what), "%s %s %#" PRIx64 "+%" PRIu64,
			 e->kind == DSMIL_WREC_MMIO ? "mmio" : "bulk", name,
			 (uint64_t)e->offset, (uint64_t)e->length);
	hex_if(old, sizeof(old), e->flags & DSMIL_WREC_F_OLD, e->old_value);
	if (e->flags & DSMIL_WREC_F_ACTIVATE)
		snprintf(val, sizeof(val), "activate");
	else
		hex_if(val, sizeof(val), e->flags & DSMIL_WREC_F_VALUE, e->value);
	hex_if(rb, sizeof(rb), e->flags & DSMIL_WREC_F_READBACK, e->readback);

	n = snprintf(res, sizeof(res), "%s", e->error ?
		     dsu_errno_name(e->error) : "ok");
	if (e->flags & DSMIL_WREC_F_MISMATCH)
		n += snprintf(res + n, sizeof(res) - n, " MISMATCH");
	if (e->stage != DSMIL_WREC_AT_READBACK &&
	    e->stage != DSMIL_WREC_AT_WRITE)
		n += snprintf(res + n, sizeof(res) - n, " (%s)",
			      wrec_name(wrec_stages, ARRAY_SIZE(wrec_stages),
					e->stage));
	if (e->kind != DSMIL_WREC_TOKEN && e->error && e->done)
		n += snprintf(res + n, sizeof(res) - n, " done=%" PRIu64,
			      (uint64_t)e->done);
	if (e->readback_error)
		n += snprintf(res + n, sizeof(res) - n, " read-back %s",
			      dsu_errno_name(e->readback_error));
	if (e->flags & DSMIL_WREC_F_CONCURRENT)
		n += snprintf(res + n, sizeof(res) - n, " (concurrent)");
	if (e->flags & DSMIL_WREC_F_UNKNOWN)
		snprintf(res + n, sizeof(res) - n, " outcome unknown");
	printf("%-6" PRIu64 " %-23s %-6" PRIu64 " %-7u %-5u %-15.16s %-30s %-10s %-10s %-10s %s\n",
	       (uint64_t)e->seq, when, (uint64_t)e->request_id, e->pid,
	       e->uid, (const char *)e->comm, what, old, val, rb, res);
}

/* audit --writes: the write audit. */
static int audit_writes(uint64_t since)
{
	static struct dsmil_write_record ents[DSMIL_WRITE_AUDIT_DEPTH];
	struct dsmil_write_audit_read ar;
	unsigned int i;
	int err;

	memset(&ar, 0, sizeof(ar));
	ar.buf = (uintptr_t)ents;
	ar.count = DSMIL_WRITE_AUDIT_DEPTH;
	ar.since_seq = since;
	err = xioctl(DSMIL_IOC_WRITE_AUDIT_READ, &ar);
	if (err)
		return fail(err, -1, "reading the write audit");
	if (ar.count > DSMIL_WRITE_AUDIT_DEPTH)
		ar.count = DSMIL_WRITE_AUDIT_DEPTH;

	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_u64(&j, "next_seq", ar.next_seq);
		dsj_u64(&j, "dropped", ar.dropped);
		dsj_u64(&j, "mismatches", ar.mismatches);
		dsj_u64(&j, "reads", ar.reads);
		dsj_arr_begin(&j, "entries");
		for (i = 0; i < ar.count; i++)
			json_write_record(&j, &ents[i]);
		dsj_arr_end(&j);
		return json_end(&j);
	}
	printf("%-6s %-23s %-6s %-7s %-5s %-15s %-30s %-10s %-10s %-10s %s\n",
	       "SEQ", "TIME (UTC)", "REQ", "PID", "UID", "COMMAND", "WRITE",
	       "BEFORE", "WRITTEN", "READ BACK", "RESULT");
	for (i = 0; i < ar.count; i++)
		print_write_record(&ents[i]);
	if (!ar.count)
		printf("(no entries)\n");
	if (ar.dropped)
		printf("%" PRIu64 " older entries were overwritten (the write audit keeps %d)\n",
		       (uint64_t)ar.dropped, DSMIL_WRITE_AUDIT_DEPTH);
	if (ar.mismatches)
		printf("%" PRIu64 " write-mismatch incident%s since load\n",
		       (uint64_t)ar.mismatches, ar.mismatches == 1 ? "" : "s");
	return 0;
}

int do_audit(int argc, char **argv)
{
	static struct dsmil_audit_entry ents[DSMIL_AUDIT_DEPTH];
	struct dsmil_audit_read ar;
	uint64_t since = 0;
	unsigned int i;
	struct args a;
	int rc, err;

	rc = parse_args("audit", OPT_SINCE | OPT_WRITES, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (a.since) {
		rc = arg_u64(&a, "sequence number", a.since, UINT64_MAX, &since);
		if (rc >= 0)
			return rc;
	}
	rc = open_node();
	if (rc >= 0)
		return rc;
	if (a.writes)
		return audit_writes(since);
	memset(&ar, 0, sizeof(ar));
	ar.buf = (uintptr_t)ents;
	ar.count = DSMIL_AUDIT_DEPTH;
	ar.since_seq = since;
	err = xioctl(DSMIL_IOC_AUDIT_READ, &ar);
	if (err)
		return fail(err, -1, "reading the audit trail");
	if (ar.count > DSMIL_AUDIT_DEPTH)
		ar.count = DSMIL_AUDIT_DEPTH;

	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_u64(&j, "next_seq", ar.next_seq);
		dsj_u64(&j, "dropped", ar.dropped);
		dsj_arr_begin(&j, "entries");
		for (i = 0; i < ar.count; i++) {
			const struct dsmil_audit_entry *e = &ents[i];
			char when[40], name[16];

			format_time(e->time_ns, when, sizeof(when), true);
			dsu_device_name(e->device, name, sizeof(name));
			dsj_obj_begin(&j, NULL);
			dsj_u64(&j, "seq", e->seq);
			dsj_u64(&j, "time_ns", e->time_ns);
			dsj_str(&j, "time", when);
			dsj_u64(&j, "pid", e->pid);
			dsj_u64(&j, "uid", e->uid);
			dsj_u64(&j, "device", e->device);
			dsj_str(&j, "name", name);
			dsj_str(&j, "from", dsu_state_json(e->from));
			dsj_str(&j, "to", dsu_state_json(e->to));
			dsj_bool(&j, "ok", !e->error);
			if (e->error)
				dsj_str(&j, "errno", dsu_errno_name(e->error));
			else
				dsj_null(&j, "errno");
			dsj_str(&j, "reason", dsu_reason_name(e->reason));
			dsj_str(&j, "source", dsu_source_name(e->source));
			dsj_obj_end(&j);
		}
		dsj_arr_end(&j);
		return json_end(&j);
	}
	printf("%-6s %-23s %-7s %-5s %-9s %-29s %-10s %-14s %s\n", "SEQ",
	       "TIME (UTC)", "PID", "UID", "DEVICE", "TRANSITION", "RESULT",
	       "REASON", "SOURCE");
	for (i = 0; i < ar.count; i++) {
		const struct dsmil_audit_entry *e = &ents[i];
		char when[40], name[16], tr[40];

		format_time(e->time_ns, when, sizeof(when), false);
		dsu_device_name(e->device, name, sizeof(name));
		snprintf(tr, sizeof(tr), "%s -> %s", dsu_state_name(e->from),
			 dsu_state_name(e->to));
		printf("%-6" PRIu64 " %-23s %-7u %-5u %-9s %-29s %-10s %-14s %s\n",
		       (uint64_t)e->seq, when, e->pid, e->uid, name, tr,
		       e->error ? dsu_errno_name(e->error) : "ok",
		       e->reason ? dsu_reason_name(e->reason) : "-",
		       dsu_source_name(e->source));
	}
	if (!ar.count)
		printf("(no entries)\n");
	if (ar.dropped)
		printf("%" PRIu64 " older entries were overwritten (the trail keeps %d)\n",
		       (uint64_t)ar.dropped, DSMIL_AUDIT_DEPTH);
	return 0;
}
