// SPDX-License-Identifier: GPL-2.0
/*
 * dsmilctl metrics: the driver's counters and states in the Prometheus text
 * format (version 0.0.4), for node_exporter's textfile collector.
 *
 * Every value is read from the same ioctls as `dsmilctl stats`, `smi
 * status`, `devices` and `chunks` (one snapshot each), named the Prometheus
 * way: counters end in _total, times are in seconds, the SMI latency is a
 * histogram whose le buckets are the driver's log2 buckets.  With -o FILE
 * the text is written to a temporary file in FILE's directory and renamed
 * over FILE, so a collector never reads half of it.  When the driver is not
 * loaded the output is dsmil_up 0 alone (and the exit status 6).
 * Documentation/dsmil-tools.rst lists every metric.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "main.h"

const struct help metrics_help[] = {
	{ "metrics", "dsmilctl metrics [-o FILE]",
"Print the driver's counters and states in the Prometheus text format.\n"
"With -o FILE, write them to FILE atomically (a temporary file in the same\n"
"directory, renamed over FILE): for node_exporter's textfile collector,\n"
"e.g. -o /var/lib/prometheus/node-exporter/dsmil.prom.  When the driver is\n"
"not loaded, writes dsmil_up 0 and exits 6.\n" },
	{ NULL },
};

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

/* A count of microseconds as exact seconds. */
static void seconds(FILE *f, const char *name, uint64_t us)
{
	fprintf(f, "%s %" PRIu64 ".%06" PRIu64 "\n", name, us / 1000000,
		us % 1000000);
}

/* The module's version (/sys/module/dsmil/version), or "". */
static void module_version(char *buf, size_t len)
{
	FILE *v = fopen("/sys/module/dsmil/version", "r");

	buf[0] = '\0';
	if (!v)
		return;
	if (!fgets(buf, len, v))
		buf[0] = '\0';
	buf[strcspn(buf, "\n\"\\")] = '\0';
	fclose(v);
}

/* As `dsmilctl stats` reads them: -1 when the driver has no such file. */
static long long pm_count(const char *name)
{
	char path[64];
	long long v = -1;
	FILE *p;

	snprintf(path, sizeof(path), "/sys/class/misc/dsmil/pm/%s", name);
	p = fopen(path, "r");
	if (!p)
		return -1;
	if (fscanf(p, "%lld", &v) != 1)
		v = -1;
	fclose(p);
	return v;
}

static int write_stats(FILE *f)
{
	struct dsmil_stats st;
	long long sus, res;
	unsigned int r;
	int err;

	memset(&st, 0, sizeof(st));
	err = xioctl(DSMIL_IOC_STATS, &st);
	if (err)
		return fail(err, -1, "reading the driver's counters");
	family(f, "dsmil_ioctls_total", "counter", "ioctl calls on /dev/dsmil.");
	sample(f, "dsmil_ioctls_total", st.ioctls);
	family(f, "dsmil_bad_input_total", "counter",
	       "ioctl calls refused for a malformed argument or command.");
	sample(f, "dsmil_bad_input_total", st.bad_input);
	family(f, "dsmil_denied_total", "counter",
	       "ioctl calls denied by policy (capability, lockdown, allow_writes).");
	sample(f, "dsmil_denied_total", st.denied);
	family(f, "dsmil_transitions_total", "counter",
	       "Accepted device state transitions.");
	sample(f, "dsmil_transitions_total", st.transitions);
	family(f, "dsmil_refusals_total", "counter",
	       "Refused device requests, by reason.");
	for (r = 1; r < DSMIL_REASON_COUNT; r++) {
		char key[32];
		size_t k;

		snprintf(key, sizeof(key), "%s", dsu_reason_name(r));
		for (k = 0; key[k]; k++)
			if (key[k] == '-')
				key[k] = '_';
		fprintf(f, "dsmil_refusals_total{reason=\"%s\"} %" PRIu64 "\n",
			key, (uint64_t)st.refusals[r]);
	}
	sus = pm_count("suspends");
	res = pm_count("resumes");
	if (sus >= 0 && res >= 0) {
		family(f, "dsmil_suspends_total", "counter",
		       "System suspends the driver went through.");
		sample(f, "dsmil_suspends_total", sus);
		family(f, "dsmil_resumes_total", "counter",
		       "System resumes the driver went through.");
		sample(f, "dsmil_resumes_total", res);
	}
	return -1;
}

static int write_smi(FILE *f)
{
	struct dsmil_smi_status st;
	uint64_t count = 0;
	unsigned int b;
	int err;

	memset(&st, 0, sizeof(st));
	err = xioctl(DSMIL_IOC_SMI_STATUS, &st);
	if (err)
		return fail(err, -1, "reading the SMI status");
	/* `dsmilctl smi status --json`'s counters, in its order. */
	const struct {
		const char *name;
		uint64_t v;
		const char *help;
	} ctr[] = {
		{ "requests", st.requests, "Token requests that reached the SMI engine." },
		{ "successes", st.successes, "SMI requests that succeeded." },
		{ "errors", st.errors, "SMI requests the backend failed." },
		{ "timeouts", st.timeouts, "SMI requests that timed out." },
		{ "hangs", st.hangs, "SMI hangs detected." },
		{ "aborts", st.aborts, "SMI requests aborted." },
		{ "abort_failures", st.abort_failures, "SMI aborts that failed." },
		{ "faulted_entries", st.faulted_entries, "Times the SMI backend was marked FAULTED." },
		{ "faulted_rejects", st.faulted_rejects, "Requests refused fast while FAULTED." },
		{ "recoveries", st.recoveries, "Recoveries of the SMI backend." },
		{ "recovery_failures", st.recovery_failures, "Failed recoveries of the SMI backend." },
		{ "retries", st.retries, "Submits retried after a busy refusal." },
		{ "spacing_waits", st.spacing_waits, "Requests that waited for the minimum spacing." },
		{ "refused", st.refused, "Requests refused at the hand-off by the device state." },
		{ "error_status", st.error_status, "Backend answers with an error status." },
		{ "garbage", st.garbage, "Backend answers that made no sense." },
		{ "busy_failures", st.busy_failures, "Requests failed as busy after every retry." },
		{ "submit_failures", st.submit_failures, "Submits the backend refused." },
		{ "cancelled", st.cancelled, "Requests cancelled while queued." },
		{ "queue_timeouts", st.queue_timeouts, "Requests whose deadline passed while queued." },
		{ "abandoned", st.abandoned, "Requests whose caller left before the end." },
		{ "in_doubt", st.in_doubt, "Requests still at the firmware at their deadline." },
		{ "late_successes", st.late_successes, "In-doubt requests that later succeeded." },
		{ "late_failures", st.late_failures, "In-doubt requests that later failed." },
		{ "coalesced", st.coalesced, "Reads that joined an identical read in flight." },
	};
	char name[64];

	family(f, "dsmil_smi_info", "gauge", "The SMI backend in use (label backend).");
	fprintf(f, "dsmil_smi_info{backend=\"%.*s\"} 1\n",
		(int)strnlen((const char *)st.backend, sizeof(st.backend)),
		(const char *)st.backend);
	family(f, "dsmil_smi_faulted", "gauge",
	       "1 while the SMI backend is FAULTED (requests fail fast until recovered).");
	sample(f, "dsmil_smi_faulted", st.state == DSMIL_SMI_FAULTED);
	family(f, "dsmil_smi_consecutive_faults", "gauge",
	       "Consecutive SMI faults (FAULTED at dsmil_smi_fault_limit).");
	sample(f, "dsmil_smi_consecutive_faults", st.consecutive_faults);
	family(f, "dsmil_smi_fault_limit", "gauge",
	       "Consecutive faults that mark the SMI backend FAULTED.");
	sample(f, "dsmil_smi_fault_limit", st.fault_limit);
	family(f, "dsmil_smi_in_flight", "gauge", "SMI requests in flight.");
	sample(f, "dsmil_smi_in_flight", st.in_flight);
	family(f, "dsmil_smi_timeout_seconds", "gauge",
	       "Bound on a caller's wait for one SMI request.");
	seconds(f, "dsmil_smi_timeout_seconds", (uint64_t)st.timeout_ms * 1000);
	for (b = 0; b < sizeof(ctr) / sizeof(ctr[0]); b++) {
		snprintf(name, sizeof(name), "dsmil_smi_%s_total", ctr[b].name);
		family(f, name, "counter", ctr[b].help);
		sample(f, name, ctr[b].v);
	}
	family(f, "dsmil_smi_spacing_wait_seconds_total", "counter",
	       "Time requests waited for the minimum spacing.");
	seconds(f, "dsmil_smi_spacing_wait_seconds_total", st.spacing_wait_us);
	family(f, "dsmil_smi_max_latency_seconds", "gauge",
	       "Longest SMI request so far.");
	seconds(f, "dsmil_smi_max_latency_seconds", st.max_latency_us);
	/*
	 * The driver's bucket b counts latencies in [2^(b-1), 2^b) us (bucket
	 * 0: below 1 us; the last: from 2^(last-1) us on).  Prometheus buckets
	 * are cumulative "<= le": le is 2^b us, and a latency of exactly 2^b
	 * us, which the driver counts in bucket b + 1, is counted here in the
	 * next le.  The driver keeps no sum of latencies: there is no _sum.
	 */
	family(f, "dsmil_smi_latency_seconds", "histogram",
	       "SMI request latency (log2 buckets of the driver; no _sum: the driver keeps none).");
	for (b = 0; b < DSMIL_SMI_HIST_BUCKETS; b++) {
		count += st.latency_hist[b];
		if (b == DSMIL_SMI_HIST_BUCKETS - 1)
			break;
		fprintf(f, "dsmil_smi_latency_seconds_bucket{le=\"%" PRIu64 ".%06" PRIu64 "\"} %" PRIu64 "\n",
			(uint64_t)(1ULL << b) / 1000000, (uint64_t)(1ULL << b) % 1000000, count);
	}
	fprintf(f, "dsmil_smi_latency_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", count);
	sample(f, "dsmil_smi_latency_seconds_count", count);
	return -1;
}

static int write_devices(FILE *f)
{
	static struct dsmil_dev_info devs[DSMIL_NUM_DEVICES];
	unsigned int i, s, n, per_state[DSMIL_DEV_NUM_STATES] = { 0 };
	struct dsmil_dev_list dl;
	char name[16];
	int err;

	memset(devs, 0, sizeof(devs));
	memset(&dl, 0, sizeof(dl));
	dl.buf = (uintptr_t)devs;
	dl.count = DSMIL_NUM_DEVICES;
	err = xioctl(DSMIL_IOC_DEV_LIST, &dl);
	if (err)
		return fail(err, -1, "listing devices");
	n = dl.count < DSMIL_NUM_DEVICES ? dl.count : DSMIL_NUM_DEVICES;
	family(f, "dsmil_device_state", "gauge",
	       "1 for each device in its current state (labels device, group, state).");
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%.*s",
			 (int)strnlen((const char *)devs[i].name, sizeof(devs[i].name)),
			 (const char *)devs[i].name);
		fprintf(f, "dsmil_device_state{device=\"%s\",group=\"%u\",state=\"%s\"} 1\n",
			name, devs[i].group, dsu_state_json(devs[i].state));
		if (devs[i].state < DSMIL_DEV_NUM_STATES)
			per_state[devs[i].state]++;
	}
	family(f, "dsmil_devices", "gauge", "Devices in each state.");
	for (s = 0; s < DSMIL_DEV_NUM_STATES; s++)
		fprintf(f, "dsmil_devices{state=\"%s\"} %u\n", dsu_state_json(s),
			per_state[s]);
	return -1;
}

static int write_mmio(FILE *f)
{
	struct dsmil_mmio_status ms;
	int err;

	memset(&ms, 0, sizeof(ms));
	err = xioctl(DSMIL_IOC_MMIO_STATUS, &ms);
	if (err)
		return fail(err, -1, "reading the MMIO mapper's status");
	const struct {
		const char *name;
		uint64_t v;
		const char *help;
	} ctr[] = {
		{ "dsmil_mmio_maps_total", ms.maps, "Chunks mapped." },
		{ "dsmil_mmio_unmaps_total", ms.unmaps, "Chunks unmapped." },
		{ "dsmil_mmio_evictions_total", ms.evictions, "Chunks evicted to stay under max_resident." },
		{ "dsmil_mmio_map_failures_total", ms.map_failures, "Chunk maps that failed." },
		{ "dsmil_mmio_all_busy_total", ms.all_busy, "Accesses that found every resident chunk busy." },
		{ "dsmil_mmio_hits_total", ms.hits, "Accesses that found their chunk mapped." },
		{ "dsmil_mmio_read_bytes_total", ms.bytes_read, "Bytes read from the region." },
		{ "dsmil_mmio_written_bytes_total", ms.bytes_written, "Bytes written to the region." },
		{ "dsmil_mmio_refused_total", ms.refused, "Region accesses refused." },
	};
	unsigned int i;

	family(f, "dsmil_mmio_resident_chunks", "gauge", "Chunks mapped now.");
	sample(f, "dsmil_mmio_resident_chunks", ms.resident);
	family(f, "dsmil_mmio_max_resident_chunks", "gauge", "Chunks mapped at once at most.");
	sample(f, "dsmil_mmio_max_resident_chunks", ms.max_resident);
	for (i = 0; i < sizeof(ctr) / sizeof(ctr[0]); i++) {
		family(f, ctr[i].name, "counter", ctr[i].help);
		sample(f, ctr[i].name, ctr[i].v);
	}
	return -1;
}

static int write_all(FILE *f, bool up)
{
	struct dsmil_info info;
	char ver[64];
	int rc;

	family(f, "dsmil_up", "gauge",
	       "1 when /dev/dsmil answered, 0 when the driver is not loaded.");
	sample(f, "dsmil_up", up);
	if (!up)
		return -1;
	rc = get_info(&info);
	if (rc >= 0)
		return rc;
	module_version(ver, sizeof(ver));
	family(f, "dsmil_info", "gauge",
	       "The driver: module version, ABI version, SMI and MMIO backends.");
	fprintf(f, "dsmil_info{version=\"%s\",abi=\"%u\",smi_backend=\"%.*s\",mmio_backend=\"%.*s\"} 1\n",
		ver, info.abi_version,
		(int)strnlen((const char *)info.smi_backend, sizeof(info.smi_backend)),
		(const char *)info.smi_backend,
		(int)strnlen((const char *)info.mmio_backend, sizeof(info.mmio_backend)),
		(const char *)info.mmio_backend);
	rc = write_stats(f);
	if (rc < 0)
		rc = write_smi(f);
	if (rc < 0)
		rc = write_devices(f);
	if (rc < 0)
		rc = write_mmio(f);
	return rc;
}

int do_metrics(int argc, char **argv)
{
	char tmp[4096];
	struct args a;
	bool up;
	FILE *f;
	int rc, wrc, fd;

	rc = parse_args("metrics", OPT_OUTPUT, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (ctl.json)
		return usage_error("metrics", "--json: the output is the Prometheus text format");
	/* Not loaded: say so in the output (dsmil_up 0) as well. */
	rc = open_node();
	up = rc < 0;
	if (!a.output) {
		wrc = write_all(stdout, up);
		if (fflush(stdout) || ferror(stdout))
			return fail(errno, -1, "writing the metrics");
		return wrc >= 0 ? wrc : up ? 0 : rc;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", a.output) >= (int)sizeof(tmp))
		return usage_error("metrics", "-o: path too long");
	fd = mkstemp(tmp);
	if (fd < 0)
		return fail(errno, -1, "creating a temporary file beside %s", a.output);
	/* Readable by the collector (node_exporter runs as its own user). */
	f = fdopen(fd, "w");
	if (!f || fchmod(fd, 0644)) {
		rc = fail(errno, -1, "writing %s", tmp);
		unlink(tmp);
		return rc;
	}
	wrc = write_all(f, up);
	if (wrc >= 0) {
		/* A failure halfway leaves the previous file in place. */
		fclose(f);
		unlink(tmp);
		return wrc;
	}
	if (fflush(f) || ferror(f) || fsync(fd) || fclose(f)) {
		rc = fail(errno, -1, "writing %s", tmp);
		unlink(tmp);
		return rc;
	}
	if (rename(tmp, a.output)) {
		rc = fail(errno, -1, "renaming %s to %s", tmp, a.output);
		unlink(tmp);
		return rc;
	}
	return up ? 0 : rc;
}
