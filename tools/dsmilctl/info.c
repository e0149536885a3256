// SPDX-License-Identifier: GPL-2.0
/*
 * dsmilctl info, dsmilctl stats: what the driver is and what it counted.
 */
#include <inttypes.h>
#include <string.h>

#include "main.h"

const struct help info_help[] = {
	{ "info", "dsmilctl info [--json]",
"Show the driver's ABI version, features (devices, smi, mmio, writes,\n"
"lockdown), device geometry, MMIO region and chunk geometry and backends.\n" },
	{ "stats", "dsmilctl stats [--json]",
"Show the driver-wide counters: ioctl calls, bad input, denials, transitions\n"
"and refusals by reason.\n" },
	{ NULL },
};

/* ---- info ---------------------------------------------------------------- */

static const struct {
	unsigned int bit;
	const char *name;
} features[] = {
	{ DSMIL_FEAT_DEVICES,	"devices" },
	{ DSMIL_FEAT_SMI,	"smi" },
	{ DSMIL_FEAT_MMIO,	"mmio" },
	{ DSMIL_FEAT_WRITES,	"writes" },
	{ DSMIL_FEAT_LOCKDOWN,	"lockdown" },
	{ DSMIL_FEAT_WRITE_FENCE, "write-fence" },
	{ DSMIL_FEAT_ASYNC,	"async" },
};

int do_info(int argc, char **argv)
{
	struct dsmil_info info;
	struct args a;
	size_t i;
	int rc;

	rc = parse_args("info", 0, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = open_node();
	if (rc >= 0)
		return rc;
	rc = get_info(&info);
	if (rc >= 0)
		return rc;

	if (info.abi_version != DSMIL_ABI_VERSION)
		dsu_err("warning: driver ABI %u, dsmilctl built for ABI %u",
			info.abi_version, (unsigned int)DSMIL_ABI_VERSION);
	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_u64(&j, "abi_version", info.abi_version);
		dsj_u64(&j, "tool_abi_version", DSMIL_ABI_VERSION);
		dsj_arr_begin(&j, "features");
		for (i = 0; i < ARRAY_SIZE(features); i++)
			if (info.features & features[i].bit)
				dsj_str(&j, NULL, features[i].name);
		dsj_arr_end(&j);
		dsj_u64(&j, "num_groups", info.num_groups);
		dsj_u64(&j, "devs_per_group", info.devs_per_group);
		dsj_u64(&j, "num_devices", info.num_devices);
		dsj_u64(&j, "region_base", info.region_base);
		dsj_u64(&j, "region_size", info.region_size);
		dsj_u64(&j, "num_chunks", info.num_chunks);
		dsj_u64(&j, "chunk_size", info.chunk_size);
		dsj_u64(&j, "max_resident", info.max_resident);
		dsj_strn(&j, "smi_backend", (char *)info.smi_backend,
			 sizeof(info.smi_backend));
		dsj_strn(&j, "mmio_backend", (char *)info.mmio_backend,
			 sizeof(info.mmio_backend));
		return json_end(&j);
	}
	printf("dsmil driver, ABI %u (dsmilctl ABI %u)\n", info.abi_version,
	       (unsigned int)DSMIL_ABI_VERSION);
	printf("features:      ");
	for (i = 0; i < ARRAY_SIZE(features); i++)
		if (info.features & features[i].bit)
			printf("%s ", features[i].name);
	printf("\ndevices:       %u (%u groups x %u)\n", info.num_devices,
	       info.num_groups, info.devs_per_group);
	printf("smi backend:   %.*s\n", (int)sizeof(info.smi_backend),
	       (char *)info.smi_backend);
	printf("mmio backend:  %.*s\n", (int)sizeof(info.mmio_backend),
	       (char *)info.mmio_backend);
	if (info.region_base)
		printf("region:        %#" PRIx64 "-%#" PRIx64 " (%" PRIu64 " MiB)\n",
		       (uint64_t)info.region_base,
		       (uint64_t)(info.region_base + info.region_size - 1),
		       (uint64_t)info.region_size >> 20);
	else
		printf("region:        simulated, %" PRIu64 " MiB\n",
		       (uint64_t)info.region_size >> 20);
	printf("chunks:        %u x %u MiB, at most %u mapped at once\n",
	       info.num_chunks, info.chunk_size >> 20, info.max_resident);
	return 0;
}

/* ---- stats --------------------------------------------------------------- */

/*
 * A system-sleep counter of the driver (/sys/class/misc/dsmil/pm/@name),
 * or -1 when the driver has none (an older module).
 */
static long long pm_counter(const char *name)
{
	char path[64];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/misc/dsmil/pm/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

int do_stats(int argc, char **argv)
{
	struct dsmil_stats st;
	long long sus, res;
	unsigned int r;
	struct args a;
	int rc, err;

	rc = parse_args("stats", 0, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = open_node();
	if (rc >= 0)
		return rc;
	memset(&st, 0, sizeof(st));
	err = xioctl(DSMIL_IOC_STATS, &st);
	if (err)
		return fail(err, -1, "reading the driver's counters");
	sus = pm_counter("suspends");
	res = pm_counter("resumes");
	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_u64(&j, "ioctls", st.ioctls);
		dsj_u64(&j, "bad_input", st.bad_input);
		dsj_u64(&j, "denied", st.denied);
		dsj_u64(&j, "transitions", st.transitions);
		dsj_obj_begin(&j, "refusals");
		for (r = 1; r < DSMIL_REASON_COUNT; r++) {
			char key[32];
			size_t k;

			/* JSON keys are snake_case: "verify-failed" -> "verify_failed". */
			snprintf(key, sizeof(key), "%s", dsu_reason_name(r));
			for (k = 0; key[k]; k++)
				if (key[k] == '-')
					key[k] = '_';
			dsj_u64(&j, key, st.refusals[r]);
		}
		dsj_obj_end(&j);
		if (sus >= 0 && res >= 0) {
			dsj_u64(&j, "suspends", sus);
			dsj_u64(&j, "resumes", res);
		}
		return json_end(&j);
	}
	printf("ioctl calls:            %" PRIu64 "\n", (uint64_t)st.ioctls);
	printf("refused for bad input:  %" PRIu64 "\n", (uint64_t)st.bad_input);
	printf("denied by policy:       %" PRIu64 "\n", (uint64_t)st.denied);
	printf("accepted transitions:   %" PRIu64 "\n", (uint64_t)st.transitions);
	printf("refusals by reason:\n");
	for (r = 1; r < DSMIL_REASON_COUNT; r++)
		printf("  %-16s %" PRIu64 "\n", dsu_reason_name(r),
		       (uint64_t)st.refusals[r]);
	if (sus >= 0 && res >= 0)
		printf("system sleeps:          %lld suspends, %lld resumes\n",
		       sus, res);
	return 0;
}
