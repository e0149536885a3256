// SPDX-License-Identifier: GPL-2.0
/*
 * dsmilctl mmio read|write|dump, chunks: the MMIO region (or a device's
 * window) and the chunk mapper behind it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "main.h"

#define DUMP_BLOCK	(1U << 20)

const struct help mmio_help[] = {
	{ "mmio", "dsmilctl mmio read|write|dump ...",
"Access the DSMIL MMIO region (or one device's 4 KiB window with --device).\n"
"See 'mmio read --help', 'mmio write --help', 'mmio dump --help'.\n" },
	{ "mmio read", "dsmilctl mmio read OFFSET [--width N] [--device DEV] [--json]",
"Read 1, 2, 4 or 8 bytes (--width, default 4) at OFFSET, naturally aligned.\n"
"With --device, OFFSET is inside the device's 4 KiB window and the device\n"
"must be READY or ACTIVE.  Needs CAP_SYS_RAWIO; refused under lockdown.\n" },
	{ "mmio write", "dsmilctl mmio write OFFSET VALUE [--width N] [--device DEV] [--json]",
"Write VALUE (it must fit in --width bytes, default 4) at OFFSET.  Needs\n"
"CAP_SYS_RAWIO, allow_writes, no lockdown; with --device the device must be\n"
"ACTIVE and not quarantined.\n" },
	{ "mmio dump", "dsmilctl mmio dump OFFSET LEN [-o FILE] [--device DEV] [--json]",
"Read LEN bytes (suffix K, M or G allowed) from OFFSET.  With -o FILE the raw\n"
"bytes go to FILE (- for stdout), else a hex dump goes to stdout.  Progress\n"
"is shown on stderr when it is a terminal.  --json prints a summary and\n"
"needs -o.  Needs CAP_SYS_RAWIO; refused under lockdown.\n" },
	{ "chunks", "dsmilctl chunks [--verbose] [--json]",
"Draw the MMIO region's chunks: '#' resident (mapped now), '+' idle (mapped\n"
"before, unmapped now), '.' never mapped; with the counts, the resident cap\n"
"and the mapper's counters.  --verbose adds a line per chunk ever mapped.\n" },
	{ NULL },
};

/* ---- mmio ---------------------------------------------------------------- */

struct mmio_target {
	bool device;
	unsigned int id;
	uint64_t limit;		/* size of the region or the window */
};

/* Parse --device and learn the limit offsets are checked against. */
static int mmio_target(const struct args *a, struct mmio_target *t)
{
	struct dsmil_info info;
	int rc;

	memset(t, 0, sizeof(*t));
	if (a->device) {
		rc = arg_device(a, a->device, &t->id);
		if (rc >= 0)
			return rc;
		t->device = true;
		t->limit = DSMIL_WINDOW_SIZE;
		return -1;
	}
	/* The region's size is the driver's configuration: ask it. */
	rc = open_node();
	if (rc >= 0)
		return rc;
	rc = get_info(&info);
	if (rc >= 0)
		return rc;
	t->limit = info.region_size;
	return -1;
}

static int arg_width(const struct args *a, unsigned int *width)
{
	uint64_t w = 4;
	int rc;

	if (a->width) {
		rc = arg_u64(a, "width", a->width, 8, &w);
		if (rc >= 0)
			return rc;
	}
	if (w != 1 && w != 2 && w != 4 && w != 8)
		return usage_error(a->path, "width must be 1, 2, 4 or 8 bytes, not %s",
				   a->width);
	*width = w;
	return -1;
}

static int check_range(const struct args *a, const struct mmio_target *t,
		       uint64_t off, uint64_t len)
{
	if (off >= t->limit || len > t->limit - off)
		return usage_error(a->path,
				   "%#" PRIx64 "+%#" PRIx64 " is outside the %s (%#" PRIx64 " bytes)",
				   off, len, t->device ? "device window" : "region",
				   t->limit);
	return -1;
}

static void where_text(const struct mmio_target *t, uint64_t off, char *buf,
		       size_t len)
{
	char name[16];

	if (!t->device) {
		snprintf(buf, len, "offset %#" PRIx64, off);
		return;
	}
	dsu_device_name(t->id, name, sizeof(name));
	snprintf(buf, len, "%s window offset %#" PRIx64, name, off);
}

static int mmio_rw(bool write, int argc, char **argv)
{
	const char *path = write ? "mmio write" : "mmio read";
	struct mmio_target t;
	struct dsmil_mmio_rw rw;
	unsigned int width = 4;
	uint64_t off = 0, value = 0;
	char where[64], hint[96] = "";
	struct args a;
	int rc, err;

	rc = parse_args(path, OPT_WIDTH | OPT_DEVICE, write ? 2 : 1,
			write ? 2 : 1, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = arg_u64(&a, "offset", a.pos[0], UINT64_MAX, &off);
	if (rc >= 0)
		return rc;
	rc = arg_width(&a, &width);
	if (rc >= 0)
		return rc;
	if (off % width)
		return usage_error(path, "offset %#" PRIx64 " is not aligned to the width (%u)",
				   off, width);
	if (write) {
		rc = arg_u64(&a, "value", a.pos[1],
			     width == 8 ? UINT64_MAX : (1ULL << (8 * width)) - 1,
			     &value);
		if (rc >= 0)
			return rc;
	}
	rc = mmio_target(&a, &t);
	if (rc >= 0)
		return rc;
	rc = check_range(&a, &t, off, width);
	if (rc >= 0)
		return rc;
	rc = open_node();
	if (rc >= 0)
		return rc;

	memset(&rw, 0, sizeof(rw));
	rw.offset = off;
	rw.width = width;
	rw.value = value;
	if (t.device) {
		rw.flags = DSMIL_MMIO_F_DEVICE;
		rw.device = t.id;
	}
	where_text(&t, off, where, sizeof(where));
	err = xioctl(write ? DSMIL_IOC_MMIO_WRITE : DSMIL_IOC_MMIO_READ, &rw);
	if (err) {
		bool quarantined = false;

		if (t.device && (err == ENODEV || err == EPERM))
			quarantined = state_hint(t.id, hint, sizeof(hint));
		ctl.tail = hint;
		return fail_code(eperm_code(err, quarantined), err, -1,
				 "%s %u bytes at %s",
				 write ? "writing" : "reading", width, where);
	}
	if (!write)
		value = rw.value;
	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_str(&j, "op", write ? "write" : "read");
		dsj_u64(&j, "offset", off);
		dsj_u64(&j, "width", width);
		dsj_u64(&j, "value", value);
		if (t.device)
			json_device_ref(&j, "device", t.id);
		else
			dsj_null(&j, "device");
		return json_end(&j);
	}
	printf("%s%s %#0*" PRIx64 "\n", where, write ? " <-" : ":",
	       (int)(2 + 2 * width), value);
	return 0;
}

/* hexdump -C style, identical lines squeezed to '*'. */
struct hexdump {
	uint64_t addr;
	uint8_t prev[16];
	bool have_prev, starred;
};

static void hexdump_line(struct hexdump *h, const uint8_t *p, size_t n)
{
	size_t i;

	if (n == 16 && h->have_prev && !memcmp(p, h->prev, 16)) {
		if (!h->starred)
			puts("*");
		h->starred = true;
		h->addr += 16;
		return;
	}
	h->starred = false;
	printf("%08" PRIx64 " ", h->addr);
	for (i = 0; i < 16; i++) {
		if (i == 8)
			putchar(' ');
		if (i < n)
			printf(" %02x", p[i]);
		else
			printf("   ");
	}
	printf("  |");
	for (i = 0; i < n; i++)
		putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
	printf("|\n");
	memcpy(h->prev, p, n);
	h->have_prev = n == 16;
	h->addr += n;
}

static int mmio_dump(int argc, char **argv)
{
	struct mmio_target t;
	struct hexdump hd;
	uint64_t off, len, done = 0, shown_ms = 0;
	bool progress, raw_stdout;
	uint8_t *buf = NULL;
	FILE *out = NULL;
	char where[64], hint[96] = "";
	struct args a;
	int rc, err = 0;

	rc = parse_args("mmio dump", OPT_OUTPUT | OPT_DEVICE, 2, 2, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = arg_u64(&a, "offset", a.pos[0], UINT64_MAX, &off);
	if (rc >= 0)
		return rc;
	rc = dsu_parse_size(a.pos[1], UINT64_MAX, &len);
	if (rc)
		return usage_error("mmio dump",
				   "length '%s' is not a size (decimal or 0x hex, optional K/M/G)",
				   a.pos[1]);
	if (!len)
		return usage_error("mmio dump", "length must not be 0");
	if (ctl.json && !a.output)
		return usage_error("mmio dump",
				   "--json needs -o FILE (the bytes go to FILE, the summary to stdout)");
	raw_stdout = a.output && !strcmp(a.output, "-");
	if (ctl.json && raw_stdout)
		return usage_error("mmio dump",
				   "--json with -o - would mix the bytes and the summary");
	rc = mmio_target(&a, &t);
	if (rc >= 0)
		return rc;
	rc = check_range(&a, &t, off, len);
	if (rc >= 0)
		return rc;
	rc = open_node();
	if (rc >= 0)
		return rc;

	buf = malloc(DUMP_BLOCK);
	if (!buf)
		return fail(ENOMEM, -1, "allocating a buffer");
	if (a.output && !raw_stdout) {
		out = fopen(a.output, "wb");
		if (!out) {
			err = errno;
			free(buf);
			return fail_code(DSU_EXIT_OTHER, err, -1,
					 "cannot write %s", a.output);
		}
	} else if (raw_stdout) {
		out = stdout;
	}
	/* Long dumps show progress, only to a person watching. */
	progress = isatty(STDERR_FILENO) && len >= 4 * DUMP_BLOCK;
	memset(&hd, 0, sizeof(hd));
	hd.addr = off;

	while (done < len) {
		struct dsmil_mmio_bulk b;
		uint64_t n = len - done < DUMP_BLOCK ? len - done : DUMP_BLOCK;
		size_t i;

		memset(&b, 0, sizeof(b));
		b.offset = off + done;
		b.length = n;
		b.buf = (uintptr_t)buf;
		if (t.device) {
			b.flags = DSMIL_MMIO_F_DEVICE;
			b.device = t.id;
		}
		err = xioctl(DSMIL_IOC_MMIO_BULK_READ, &b);
		if (!err && b.done != n)
			err = EINTR;	/* short: a signal stopped it */
		if (err)
			break;
		if (out) {
			if (fwrite(buf, 1, n, out) != n) {
				err = errno ? errno : EIO;
				if (progress)
					fputc('\n', stderr);
				if (out != stdout)
					fclose(out);
				free(buf);
				return fail_code(DSU_EXIT_OTHER, err, -1,
						 "writing %s", a.output);
			}
		} else {
			for (i = 0; i < n; i += 16)
				hexdump_line(&hd, buf + i, n - i < 16 ? n - i : 16);
		}
		done += n;
		/* A few updates a second are enough for a person. */
		if (progress && (done == len || dsu_now_ms() - shown_ms >= 200)) {
			shown_ms = dsu_now_ms();
			fprintf(stderr, "\rdump: %" PRIu64 " / %" PRIu64 " KiB (%3u%%)",
				done >> 10, len >> 10, (unsigned int)(done * 100 / len));
		}
	}
	if (progress)
		fputc('\n', stderr);
	if (!out && !err)
		printf("%08" PRIx64 "\n", hd.addr);
	free(buf);
	if (out && out != stdout && fclose(out) && !err) {
		err = errno;
		return fail_code(DSU_EXIT_OTHER, err, -1, "writing %s",
				 a.output);
	}
	if (err) {
		where_text(&t, off + done, where, sizeof(where));
		if (t.device && (err == ENODEV || err == EPERM))
			state_hint(t.id, hint, sizeof(hint));
		ctl.tail = hint;
		return fail(err, -1, "dump stopped after %" PRIu64 " of %" PRIu64
			    " bytes, reading at %s", done, len, where);
	}
	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_u64(&j, "offset", off);
		dsj_u64(&j, "length", len);
		dsj_u64(&j, "bytes", done);
		dsj_str(&j, "file", a.output);
		if (t.device)
			json_device_ref(&j, "device", t.id);
		else
			dsj_null(&j, "device");
		json_end(&j);
	}
	return 0;
}

static int mmio_read(int argc, char **argv)
{
	return mmio_rw(false, argc, argv);
}

static int mmio_write(int argc, char **argv)
{
	return mmio_rw(true, argc, argv);
}

static const struct cmd mmio_cmds[] = {
	{ "read", mmio_read },
	{ "write", mmio_write },
	{ "dump", mmio_dump },
	{ NULL },
};

int do_mmio(int argc, char **argv)
{
	return cmd_select("mmio", mmio_cmds, argc, argv);
}

/* ---- chunks -------------------------------------------------------------- */

enum chunk_state { CH_NEVER, CH_IDLE, CH_RESIDENT };

static const char *const chunk_state_json[] = {
	[CH_NEVER] = "never_mapped", [CH_IDLE] = "idle", [CH_RESIDENT] = "resident",
};

static enum chunk_state chunk_state(const struct dsmil_mmio_status *ms,
				    unsigned int i)
{
	if (ms->resident_map[i / 64] & (1ULL << (i % 64)))
		return CH_RESIDENT;
	if (ms->ever_mapped[i / 64] & (1ULL << (i % 64)))
		return CH_IDLE;
	return CH_NEVER;
}

int do_chunks(int argc, char **argv)
{
	static struct dsmil_chunk_stat cs[DSMIL_MAX_CHUNKS];
	struct dsmil_mmio_status ms;
	unsigned int i, n, count[3] = { 0 };
	struct args a;
	int rc, err;

	rc = parse_args("chunks", OPT_VERBOSE, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = open_node();
	if (rc >= 0)
		return rc;
	memset(&ms, 0, sizeof(ms));
	memset(cs, 0, sizeof(cs));
	ms.chunk_buf = (uintptr_t)cs;
	ms.chunk_count = DSMIL_MAX_CHUNKS;
	err = xioctl(DSMIL_IOC_MMIO_STATUS, &ms);
	if (err)
		return fail(err, -1, "reading the MMIO mapper's status");
	n = ms.num_chunks < DSMIL_MAX_CHUNKS ? ms.num_chunks : DSMIL_MAX_CHUNKS;
	for (i = 0; i < n; i++)
		count[chunk_state(&ms, i)]++;

	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_u64(&j, "region_base", ms.region_base);
		dsj_u64(&j, "region_size", ms.region_size);
		dsj_u64(&j, "chunk_size", ms.chunk_size);
		dsj_u64(&j, "num_chunks", ms.num_chunks);
		dsj_u64(&j, "max_resident", ms.max_resident);
		dsj_u64(&j, "idle_unmap_ms", ms.idle_ms);
		dsj_u64(&j, "busy_wait_ms", ms.busy_wait_ms);
		dsj_u64(&j, "bookkeeping_bytes", ms.bookkeeping);
		dsj_u64(&j, "resident", count[CH_RESIDENT]);
		dsj_u64(&j, "idle", count[CH_IDLE]);
		dsj_u64(&j, "never_mapped", count[CH_NEVER]);
		dsj_obj_begin(&j, "counters");
		dsj_u64(&j, "maps", ms.maps);
		dsj_u64(&j, "unmaps", ms.unmaps);
		dsj_u64(&j, "evictions", ms.evictions);
		dsj_u64(&j, "map_failures", ms.map_failures);
		dsj_u64(&j, "all_busy", ms.all_busy);
		dsj_u64(&j, "hits", ms.hits);
		dsj_u64(&j, "bytes_read", ms.bytes_read);
		dsj_u64(&j, "bytes_written", ms.bytes_written);
		dsj_u64(&j, "refused", ms.refused);
		dsj_obj_end(&j);
		dsj_arr_begin(&j, "chunks");
		for (i = 0; i < n; i++) {
			const struct dsmil_chunk_stat *s = NULL;

			if (i < ms.chunk_count && cs[i].index == i)
				s = &cs[i];
			dsj_obj_begin(&j, NULL);
			dsj_u64(&j, "index", i);
			dsj_str(&j, "state", chunk_state_json[chunk_state(&ms, i)]);
			dsj_u64(&j, "users", s ? s->users : 0);
			dsj_u64(&j, "maps", s ? s->maps : 0);
			dsj_u64(&j, "hits", s ? s->hits : 0);
			dsj_u64(&j, "idle_ms", s ? s->idle_ms : 0);
			dsj_u64(&j, "bytes_read", s ? s->bytes_read : 0);
			dsj_u64(&j, "bytes_written", s ? s->bytes_written : 0);
			dsj_obj_end(&j);
		}
		dsj_arr_end(&j);
		return json_end(&j);
	}
	if (ms.region_base)
		printf("region %#" PRIx64 ", ", (uint64_t)ms.region_base);
	else
		printf("simulated region, ");
	printf("%" PRIu64 " MiB in %u chunks of %u MiB; at most %u mapped at once\n\n",
	       (uint64_t)ms.region_size >> 20, ms.num_chunks, ms.chunk_size >> 20,
	       ms.max_resident);
	for (i = 0; i < n; i += 30) {
		unsigned int k, end = i + 30 < n ? i + 30 : n;

		printf("  %3u-%-3u |", i, end - 1);
		for (k = i; k < end; k++)
			putchar(".+#"[chunk_state(&ms, k)]);
		printf("|%*s %5" PRIu64 " MiB\n", (int)(30 - (end - i)), "",
		       (uint64_t)ms.chunk_size * end >> 20);
	}
	printf("\n  # resident %u (cap %u)   + idle %u   . never mapped %u\n",
	       count[CH_RESIDENT], ms.max_resident, count[CH_IDLE],
	       count[CH_NEVER]);
	printf("  maps %" PRIu64 "  hits %" PRIu64 "  unmaps %" PRIu64
	       "  evictions %" PRIu64 "  map failures %" PRIu64
	       "  all busy %" PRIu64 "\n",
	       (uint64_t)ms.maps, (uint64_t)ms.hits, (uint64_t)ms.unmaps,
	       (uint64_t)ms.evictions, (uint64_t)ms.map_failures,
	       (uint64_t)ms.all_busy);
	printf("  read %" PRIu64 " bytes  written %" PRIu64 " bytes  refused %"
	       PRIu64 "  idle chunks unmapped after %u ms\n",
	       (uint64_t)ms.bytes_read, (uint64_t)ms.bytes_written,
	       (uint64_t)ms.refused, ms.idle_ms);
	if (a.verbose) {
		printf("\n  %-5s %-12s %-6s %-8s %-10s %-12s %-12s %s\n", "CHUNK",
		       "STATE", "USERS", "MAPS", "HITS", "READ", "WRITTEN",
		       "IDLE MS");
		for (i = 0; i < n && i < ms.chunk_count; i++) {
			if (cs[i].index != i || chunk_state(&ms, i) == CH_NEVER)
				continue;
			printf("  %-5u %-12s %-6u %-8" PRIu64 " %-10" PRIu64 " %-12"
			       PRIu64 " %-12" PRIu64 " %" PRIu64 "\n",
			       i, chunk_state_json[chunk_state(&ms, i)], cs[i].users,
			       (uint64_t)cs[i].maps, (uint64_t)cs[i].hits,
			       (uint64_t)cs[i].bytes_read,
			       (uint64_t)cs[i].bytes_written,
			       (uint64_t)cs[i].idle_ms);
		}
	}
	return 0;
}
