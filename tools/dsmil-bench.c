// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil-bench: the driver's performance figures, each measured against its
 * reference in the same run, with min / median / max over repeats.
 *
 *   P1  token read (sim backend, zero latency, zero SMI spacing) against
 *       the floor: an unknown command on /dev/dsmil (-ENOTTY)    <= 1.5x
 *   P2  16 MiB bulk reads through the driver (iomem backend on the
 *       ivshmem BAR) against mmap() of the BAR's sysfs resource2 + memcpy
 *                                                    throughput >= 0.8x
 *   P2w 16 MiB bulk writes through the driver (allow_writes=1, the raw
 *       region past the device windows) against memcpy into the same
 *       mapping of the BAR                           throughput >= 0.9x
 *   P3  two consecutive full sweeps of the 360 MiB region, max_resident=8
 *       against max_resident=90                                 <= 1.25x
 *       and the mapper's bookkeeping for 90 chunks              <= 16 KiB
 *   P4  with the SMI sim stuck busy, a read's return time against the
 *       configured timeout                       <= 1.1 x timeout + 2 ms
 *       with the backend FAULTED, a read against the floor        <= 10x
 *   P5  two threads reading two different chunks against one thread,
 *       divided by the speedup two independent busy loops get  >= 0.8
 *   P6  8 threads each reading the 4 tokens of group 0 in turn, the sim
 *       at 1 ms per call: SMIs per 1000 reads, from the sim's own call
 *       count (1000 without single-flight reads)                <= 150
 *   P7  token read through dsmil's dell-smbios backend against the
 *       in-tree /dev/wmi/dell-smbios ioctl reading the same location, same
 *       firmware (only with it: tools/dsmil-vm --dell-firmware)  <= 1.1x
 *
 * Runs as root in the guest, normally on Debian's own kernel (lockdep and
 * KASAN distort timing): tools/dsmil-vm --kernel 6.12 -- dsmil-bench.  It
 * reloads dsmil.ko with the parameters each figure needs and leaves it
 * loaded with defaults.  Targets are reported (PASS/MISS), not asserted:
 * the exit status is 0 unless the tool itself failed.
 *
 * Every function but main() is static: tools/Makefile links tools/lib into
 * every tool, and this one with the guest-test library
 * (tests/guest/lib/dsmil_test.c) too, for module loads, knobs and ioctls.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <linux/wmi.h>

#include "tests/guest/lib/dsmil_test.h"

#define MAX_REPEATS	64
#define BAR_GUARD	(64ULL << 20)	/* region starts 64 MiB into the BAR */

static unsigned int repeats = 7;
static bool verbose;

/* ------------------------------------------------------------ helpers */

static void note(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "# ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* (Re)load dsmil.ko with @params and open it. */
static int reload(const char *params)
{
	int ret, fd;

	ret = dsmil_reload_wait(params, 10000);
	if (ret)
		dsu_die("reloading %s %s: %s", dsmil_ko(), params, strerror(-ret));
	fd = dsmil_open();
	if (fd < 0)
		dsu_die("open " DSMIL_DEV ": %s", strerror(errno));
	note("loaded dsmil.ko %s", params);
	return fd;
}

static void knob(const char *name, const char *val)
{
	int ret = sim_knob_write(name, "%s", val);

	if (ret)
		dsu_die(DSMIL_SIM_DIR "/%s: %s", name, strerror(-ret));
}

/* Bring device @id to READY from wherever it is (SMI verification included). */
static void dev_ready(int fd, unsigned int id)
{
	int ret = dev_bring_up(fd, id, false);

	if (ret)
		dsu_die("device %u -> READY: %s", id, strerror(-ret));
}

static void smi_get(int fd, struct dsmil_smi_status *s)
{
	int ret = smi_status(fd, s);

	if (ret)
		dsu_die("SMI_STATUS: %s", strerror(-ret));
}

/* Back to a healthy backend: faults off, recovered (waiting out backoff). */
static void smi_heal(int fd)
{
	struct dsmil_smi_status s;
	uint64_t end = now_ns() + 15000000000ULL;
	int ret;

	knob("reset", "1");
	for (;;) {
		smi_get(fd, &s);
		if (s.state == DSMIL_SMI_OK && !s.in_flight)
			return;
		if (now_ns() > end)
			dsu_die("SMI backend did not recover");
		ret = smi_recover(fd);
		if (ret && ret != -EAGAIN && ret != -EBUSY)
			dsu_die("SMI_RECOVER: %s", strerror(-ret));
		usleep(20000);
	}
}

/* ------------------------------------------------------------ statistics */

struct series {
	double v[MAX_REPEATS];
	unsigned int n;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void add(struct series *s, double v)
{
	if (s->n < MAX_REPEATS)
		s->v[s->n++] = v;
}

static double med(const struct series *s)
{
	double t[MAX_REPEATS];

	memcpy(t, s->v, s->n * sizeof(double));
	qsort(t, s->n, sizeof(double), cmp_double);
	return s->n % 2 ? t[s->n / 2] : (t[s->n / 2 - 1] + t[s->n / 2]) / 2;
}

static double smin(const struct series *s)
{
	double m = s->v[0];
	unsigned int i;

	for (i = 1; i < s->n; i++)
		if (s->v[i] < m)
			m = s->v[i];
	return m;
}

static double smax(const struct series *s)
{
	double m = s->v[0];
	unsigned int i;

	for (i = 1; i < s->n; i++)
		if (s->v[i] > m)
			m = s->v[i];
	return m;
}

/* One printed row. */
struct row {
	const char *id, *what, *unit;
	struct series meas, ref;
	const char *ref_what;
	double figure;		/* the ratio compared with the target */
	const char *target;	/* text */
	bool pass, known;
	bool info;		/* context for another row: no target */
	char note[96];
};

#define MAX_ROWS 16
static struct row rows[MAX_ROWS];
static unsigned int nrows;

static struct row *new_row(const char *id, const char *what,
			   const char *ref_what, const char *unit,
			   const char *target)
{
	struct row *r = &rows[nrows++];

	memset(r, 0, sizeof(*r));
	r->id = id;
	r->what = what;
	r->ref_what = ref_what;
	r->unit = unit;
	r->target = target;
	return r;
}

/* A number in a few significant digits, without exponents. */
static void fmtv(char *buf, size_t len, double v)
{
	if (v >= 1000 || v <= -1000)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 100 || v <= -100)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.3g", v);
}

static void fmt3(char *buf, size_t len, const struct series *s)
{
	char a[16], b[16], c[16];

	if (!s->n) {
		snprintf(buf, len, "-");
		return;
	}
	fmtv(a, sizeof(a), smin(s));
	fmtv(b, sizeof(b), med(s));
	fmtv(c, sizeof(c), smax(s));
	snprintf(buf, len, "%s/%s/%s", a, b, c);
}

static void print_table(void)
{
	unsigned int i, pass = 0, miss = 0, unknown = 0;
	char m[48], r[48], f[16];

	printf("\n%-4s %-42s %-5s %-22s %-18s %-22s %-7s %-12s %s\n", "fig",
	       "measured", "unit", "min/median/max", "reference",
	       "min/median/max", "figure", "target", "result");
	for (i = 0; i < nrows; i++) {
		const struct row *w = &rows[i];

		fmt3(m, sizeof(m), &w->meas);
		fmt3(r, sizeof(r), &w->ref);
		fmtv(f, sizeof(f), w->figure);
		printf("%-4s %-42s %-5s %-22s %-18s %-22s %-7s %-12s %s%s%s\n",
		       w->id, w->what, w->unit, m, w->ref_what, r, f, w->target,
		       w->info ? "info" : !w->known ? "UNKNOWN" :
		       w->pass ? "PASS" : "MISS",
		       w->note[0] ? "  " : "", w->note);
		if (w->info)
			continue;
		if (!w->known)
			unknown++;
		else if (w->pass)
			pass++;
		else
			miss++;
	}
	printf("\ntargets: %u PASS, %u MISS, %u UNKNOWN (%u repeats each)\n",
	       pass, miss, unknown, repeats);
}

/* ------------------------------------------------------------ the floor */

/* The cheapest round trip into the driver: an unknown command. */
static double floor_us(int fd, unsigned int ops)
{
	uint64_t t0 = now_ns();
	unsigned int i;

	for (i = 0; i < ops; i++)
		if (ioctl(fd, _IO(DSMIL_IOC_MAGIC, 0x0f), 0) != -1 || errno != ENOTTY)
			dsu_die("floor ioctl did not get -ENOTTY");
	return (now_ns() - t0) / 1e3 / ops;
}

/* ------------------------------------------------------------------ P7 */

#define DELL_DEV	"/dev/wmi/dell-smbios"
#define DELL_TOKENS	"/sys/devices/platform/dell-smbios.0/tokens"

/* One class 0 read of @loc through the in-tree ioctl; 0 or -1. */
static int wmi_token_read(int fd, struct dell_wmi_smbios_buffer *b,
			  uint64_t len, unsigned int loc)
{
	memset(b, 0, len);
	b->length = len;
	b->std.cmd_class = CLASS_TOKEN_READ;
	b->std.cmd_select = SELECT_TOKEN_STD;
	b->std.input[0] = loc;
	if (ioctl(fd, DELL_WMI_SMBIOS_CMD, b))
		return -1;
	return (int32_t)b->std.output[0] ? -1 : 0;
}

static void p7(void)
{
	struct row *r;
	struct dell_wmi_smbios_buffer *b;
	struct dsmil_token_req t;
	unsigned int loc = 0, k, i;
	const unsigned int ops = 50;
	uint64_t len = 0, t0;
	char path[128];
	FILE *f;
	int wfd, fd;

	wfd = open(DELL_DEV, O_RDONLY);
	if (wfd < 0) {
		printf("dsmil-bench: P7 skipped: no %s (boot with --dell-firmware)\n",
		       DELL_DEV);
		return;
	}
	/* The buffer size the interface wants, and DSMIL0D0's location. */
	if (read(wfd, &len, sizeof(len)) != sizeof(len) || len < sizeof(*b) ||
	    len > 1 << 20)
		dsu_die("P7: %s: no buffer size", DELL_DEV);
	snprintf(path, sizeof(path), DELL_TOKENS "/%04x_location",
		 (unsigned int)DSMIL_TOKEN_BASE);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%x", &loc) != 1)
		dsu_die("P7: no location for token %#x in %s",
		    (unsigned int)DSMIL_TOKEN_BASE, path);
	fclose(f);
	b = calloc(1, len);
	if (!b)
		dsu_die("out of memory");
	r = new_row("P7", "token read via dell-smbios (DSMIL0D0)",
		    "/dev/wmi/dell-smbios", "us", "<= 1.1x");
	fd = reload("smi_backend=dell-smbios smi_min_interval_us=0");
	dev_ready(fd, 0);
	for (k = 0; k < repeats; k++) {
		t0 = now_ns();
		for (i = 0; i < ops; i++)
			if (wmi_token_read(wfd, b, len, loc))
				dsu_die("P7: %s read of %#x failed", DELL_DEV, loc);
		add(&r->ref, (now_ns() - t0) / 1e3 / ops);
		t0 = now_ns();
		for (i = 0; i < ops; i++) {
			memset(&t, 0, sizeof(t));
			if (dsmil_ioc(fd, DSMIL_IOC_TOKEN_READ, &t))
				dsu_die("P7 token read: %s", strerror(errno));
		}
		add(&r->meas, (now_ns() - t0) / 1e3 / ops);
	}
	r->figure = med(&r->meas) / med(&r->ref);
	r->known = true;
	r->pass = r->figure <= 1.1;
	close(fd);
	close(wfd);
	free(b);
}

/* ------------------------------------------------------------------ P1 */

static void p1(void)
{
	struct row *r = new_row("P1", "token read (sim, 0 latency, 0 spacing)",
				"-ENOTTY floor", "us", "<= 1.5x");
	struct row *b = new_row("P1b", "token read refused by device state",
				"-ENOTTY floor", "us", "-");
	struct dsmil_token_req t;
	double fl;
	const unsigned int ops = 2000;
	unsigned int k, i;
	uint64_t t0;
	int fd;

	/*
	 * smi_min_interval_us=0: the Dell spacing (100 us by default) would
	 * measure the spacing, not the driver.
	 */
	fd = reload("smi_min_interval_us=0");
	dev_ready(fd, 0);
	for (k = 0; k < repeats; k++) {
		fl = floor_us(fd, ops);
		add(&r->ref, fl);
		t0 = now_ns();
		for (i = 0; i < ops; i++) {
			memset(&t, 0, sizeof(t));
			if (dsmil_ioc(fd, DSMIL_IOC_TOKEN_READ, &t))
				dsu_die("P1 token read: %s", strerror(errno));
		}
		add(&r->meas, (now_ns() - t0) / 1e3 / ops);
		/*
		 * The same ioctl stopped by the state check (DSMIL0D6 is not
		 * READY): dispatch, capability, copy in and out, the state
		 * check and the refusal's bookkeeping, but no SMI engine.
		 * How much of P1 the engine is, measured in the same run.
		 */
		add(&b->ref, fl);
		t0 = now_ns();
		for (i = 0; i < ops; i++) {
			memset(&t, 0, sizeof(t));
			t.position = DSMIL_TOKEN_STORAGE;
			if (ioctl(fd, DSMIL_IOC_TOKEN_READ, &t) != -1 ||
			    errno != ENODEV)
				dsu_die("P1b: token read of DSMIL0D6 was not refused with ENODEV");
		}
		add(&b->meas, (now_ns() - t0) / 1e3 / ops);
	}
	r->figure = med(&r->meas) / med(&r->ref);
	r->known = true;
	r->pass = r->figure <= 1.5;
	b->figure = med(&b->meas) / med(&b->ref);
	b->info = true;
	snprintf(b->note, sizeof(b->note), "P1 without the SMI engine");
	close(fd);
}

/* ------------------------------------------------------------------ P2 */

struct bar {
	__u64 phys, size;
	char res[300];		/* sysfs resource2 file */
};

static bool find_bar(struct bar *b)
{
	char dev[256];

	if (bar_info(&b->phys, &b->size) || bar_sysfs_dir(dev, sizeof(dev)))
		return false;
	snprintf(b->res, sizeof(b->res), "%s/resource2", dev);
	return b->size >= BAR_GUARD + DSMIL_DEFAULT_REGION_SIZE;
}

static int load_bar(const struct bar *b, const char *extra)
{
	char p[160];

	snprintf(p, sizeof(p), "mmio_base=%#llx %s",
		 (unsigned long long)(b->phys + BAR_GUARD), extra);
	return reload(p);
}

static uint64_t bulk_read(int fd, uint64_t off, uint64_t len, void *buf)
{
	__u64 done;
	int ret = mmio_bulk(fd, DSMIL_IOC_MMIO_BULK_READ, off, buf, len, 0, 0,
			    &done);

	if (ret)
		dsu_die("bulk read %#llx+%llu: %s", (unsigned long long)off,
		    (unsigned long long)len, strerror(-ret));
	return done;
}

static uint64_t bulk_write(int fd, uint64_t off, uint64_t len, void *buf)
{
	__u64 done;
	int ret = mmio_bulk(fd, DSMIL_IOC_MMIO_BULK_WRITE, off, buf, len, 0, 0,
			    &done);

	if (ret)
		dsu_die("bulk write %#llx+%llu: %s", (unsigned long long)off,
		    (unsigned long long)len, strerror(-ret));
	return done;
}

static void p2(const struct bar *b, uint8_t *buf)
{
	struct row *r = new_row("P2", "bulk read, 16 MiB calls, via the driver",
				"mmap+memcpy", "MB/s", ">= 0.8x");
	const uint64_t len = DSMIL_BULK_MAX;
	const unsigned int ops = 4;
	volatile uint8_t sink;
	unsigned int k, i;
	uint8_t *map;
	uint64_t t0;
	int fd;

	/*
	 * The reference reads the first 16 MiB of the BAR, in the guard below
	 * the region: the same memory behind the same device, but a range the
	 * driver does not claim.  With CONFIG_IO_STRICT_DEVMEM (Debian's
	 * kernels) request_mem_region() revokes user mappings of the range it
	 * claims, sysfs resource files included: reading the region itself
	 * through resource2 while the driver holds it ends in SIGBUS.
	 */
	map = bar_map(len, false);
	if (!map)
		dsu_die("mmap %s: %s", b->res, strerror(errno));
	fd = load_bar(b, "");
	bulk_read(fd, 0, len, buf);	/* map the chunks once */
	for (k = 0; k < repeats; k++) {
		t0 = now_ns();
		for (i = 0; i < ops; i++)
			memcpy(buf, map, len);
		sink = buf[len - 1];
		add(&r->ref, ops * len / 1e6 / ((now_ns() - t0) / 1e9));
		t0 = now_ns();
		for (i = 0; i < ops; i++)
			if (bulk_read(fd, 0, len, buf) != len)
				dsu_die("short bulk read");
		add(&r->meas, ops * len / 1e6 / ((now_ns() - t0) / 1e9));
	}
	(void)sink;
	r->figure = med(&r->meas) / med(&r->ref);
	r->known = true;
	r->pass = r->figure >= 0.8;
	munmap(map, len);
	close(fd);
}

/* ----------------------------------------------------------------- P2w */

static void p2w(const struct bar *b, uint8_t *buf)
{
	struct row *r = new_row("P2w", "bulk write, 16 MiB calls, via the driver",
				"mmap+memcpy", "MB/s", ">= 0.9x");
	const uint64_t len = DSMIL_BULK_MAX;
	/* Chunks 1-4: the raw region, past the device windows in chunk 0. */
	const uint64_t off = DSMIL_CHUNK_SIZE;
	const unsigned int ops = 4;
	unsigned int k, i;
	uint8_t *map;
	uint64_t t0, x = 0x2b2b;
	int fd;

	/* The reference writes the guard below the region, as P2 reads it. */
	map = bar_map(len, true);
	if (!map)
		dsu_die("mmap %s for writing: %s", b->res, strerror(errno));
	for (i = 0; i < len / 8; i++)
		((uint64_t *)buf)[i] = splitmix64(&x);
	fd = load_bar(b, "allow_writes=1");
	bulk_write(fd, off, len, buf);	/* map the chunks once */
	for (k = 0; k < repeats; k++) {
		t0 = now_ns();
		for (i = 0; i < ops; i++)
			memcpy(map, buf, len);
		add(&r->ref, ops * len / 1e6 / ((now_ns() - t0) / 1e9));
		t0 = now_ns();
		for (i = 0; i < ops; i++)
			if (bulk_write(fd, off, len, buf) != len)
				dsu_die("short bulk write");
		add(&r->meas, ops * len / 1e6 / ((now_ns() - t0) / 1e9));
	}
	r->figure = med(&r->meas) / med(&r->ref);
	r->known = true;
	r->pass = r->figure >= 0.9;
	snprintf(r->note, sizeof(r->note), "raw region, chunks 1-4");
	munmap(map, len);
	close(fd);
}

/* ------------------------------------------------------------------ P3 */

static double two_sweeps_ms(int fd, uint8_t *buf)
{
	uint64_t off, t0 = now_ns();
	unsigned int s;

	for (s = 0; s < 2; s++)
		for (off = 0; off < DSMIL_DEFAULT_REGION_SIZE; off += DSMIL_BULK_MAX)
			bulk_read(fd, off, DSMIL_DEFAULT_REGION_SIZE - off < DSMIL_BULK_MAX ?
				  DSMIL_DEFAULT_REGION_SIZE - off : DSMIL_BULK_MAX, buf);
	return (now_ns() - t0) / 1e6;
}

static void p3(const struct bar *b, uint8_t *buf)
{
	struct row *r = new_row("P3", "2 full 360 MiB sweeps, max_resident=8",
				"max_resident=90", "ms", "<= 1.25x");
	struct row *bk = new_row("P3b", "mapper bookkeeping, 90 chunks resident",
				 "-", "bytes", "<= 16384");
	struct dsmil_mmio_status st;
	unsigned int k;
	int fd;

	for (k = 0; k < repeats; k++) {
		/* Each repeat from a fresh load: nothing mapped yet. */
		fd = load_bar(b, "max_resident=8");
		add(&r->meas, two_sweeps_ms(fd, buf));
		close(fd);
		fd = load_bar(b, "max_resident=90");
		add(&r->ref, two_sweeps_ms(fd, buf));
		if (mmio_status(fd, &st))
			dsu_die("MMIO_STATUS: %s", strerror(errno));
		add(&bk->meas, st.bookkeeping);
		close(fd);
	}
	r->figure = med(&r->meas) / med(&r->ref);
	r->known = true;
	r->pass = r->figure <= 1.25;
	bk->figure = med(&bk->meas);
	bk->known = bk->figure > 0;
	bk->pass = bk->known && bk->figure <= 16384;
	snprintf(bk->note, sizeof(bk->note), "resident=%u of %u after the sweeps",
		 st.resident, st.num_chunks);
	if (!bk->known)
		snprintf(bk->note, sizeof(bk->note),
			 "MMIO_STATUS.bookkeeping reads 0: not reported");
}

/* ------------------------------------------------------------------ P4 */

static void p4(void)
{
	struct row *r = new_row("P4a", "token read, sim stuck busy",
				"timeout T", "ms", "<= 1.1T+2ms");
	struct row *h = new_row("P4b", "token read, sim hung", "timeout T",
				"ms", "<= 1.1T+2ms");
	struct row *f = new_row("P4c", "token read, backend FAULTED",
				"-ENOTTY floor", "us", "<= 10x");
	struct dsmil_smi_status s;
	struct dsmil_token_req t;
	const unsigned int ops = 2000;
	double timeout_ms, worst = 0, worst_h = 0;
	unsigned int k, i, dev;
	uint64_t t0;
	int fd, e;

	fd = reload("");
	smi_get(fd, &s);
	timeout_ms = s.timeout_ms;
	dev_ready(fd, 0);
	for (k = 0; k < repeats; k++) {
		struct row *w = k % 2 ? h : r;

		/* Each timeout puts the device in ERROR: bring it back. */
		smi_heal(fd);
		dev_ready(fd, 0);
		knob("fault", k % 2 ? "hang" : "stuck-busy");
		memset(&t, 0, sizeof(t));
		t0 = now_ns();
		e = -dsmil_ioc(fd, DSMIL_IOC_TOKEN_READ, &t);
		add(&w->meas, (now_ns() - t0) / 1e6);
		add(&w->ref, timeout_ms);
		if (e != ETIMEDOUT)
			dsu_die("P4: read with the sim %s got %s, not ETIMEDOUT",
			    k % 2 ? "hung" : "stuck busy", strerror(e));
		knob("fault", "none");
	}
	worst = smax(&r->meas);
	worst_h = smax(&h->meas);
	r->figure = worst / timeout_ms;
	r->known = true;
	r->pass = worst <= 1.1 * timeout_ms + 2;
	snprintf(r->note, sizeof(r->note), "worst %.1f ms, T=%.0f ms", worst,
		 timeout_ms);
	h->figure = worst_h / timeout_ms;
	h->known = true;
	h->pass = worst_h <= 1.1 * timeout_ms + 2;
	snprintf(h->note, sizeof(h->note), "worst %.1f ms (hang caught at %u ms)",
		 worst_h, s.hang_ms);

	/*
	 * FAULTED: time out three other token devices of group 0 (each goes
	 * to ERROR) until the backend gives up, then read DSMIL0D0's token.
	 */
	smi_heal(fd);
	dev_ready(fd, 0);
	for (dev = 3; dev <= 9; dev += 3)
		dev_ready(fd, dev);
	knob("fault", "stuck-busy");
	for (dev = 3; dev <= 9; dev += 3) {
		smi_get(fd, &s);
		if (s.state == DSMIL_SMI_FAULTED)
			break;
		memset(&t, 0, sizeof(t));
		t.position = dev;
		dsmil_ioc(fd, DSMIL_IOC_TOKEN_READ, &t);
	}
	knob("fault", "none");
	smi_get(fd, &s);
	if (s.state != DSMIL_SMI_FAULTED)
		dsu_die("P4: the backend did not become FAULTED (fault_limit %u)",
		    s.fault_limit);
	for (k = 0; k < repeats; k++) {
		add(&f->ref, floor_us(fd, ops));
		t0 = now_ns();
		for (i = 0; i < ops; i++) {
			memset(&t, 0, sizeof(t));
			e = -dsmil_ioc(fd, DSMIL_IOC_TOKEN_READ, &t);
			if (e != ESHUTDOWN)
				dsu_die("P4: FAULTED read got %s", strerror(e));
		}
		add(&f->meas, (now_ns() - t0) / 1e3 / ops);
	}
	f->figure = med(&f->meas) / med(&f->ref);
	f->known = true;
	f->pass = f->figure <= 10;
	smi_heal(fd);
	close(fd);
}

/* ------------------------------------------------------------------ P5 */

struct p5_arg {
	int fd;
	uint64_t off;
	unsigned int ops;
	uint8_t *buf;
	volatile int *go;
	uint64_t busy;		/* busy-loop iterations, 0: read */
	double secs;
};

static void *p5_thread(void *p)
{
	struct p5_arg *a = p;
	volatile uint64_t x = 1;
	uint64_t t0, i;

	while (!*a->go)
		;
	t0 = now_ns();
	if (a->busy) {
		for (i = 0; i < a->busy; i++)
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	} else {
		for (i = 0; i < a->ops; i++)
			bulk_read(a->fd, a->off, 4096, a->buf);
	}
	a->secs = (now_ns() - t0) / 1e9;
	return NULL;
}

/* Wall time of @n threads running @a[0..n-1] together. */
static double run_threads(struct p5_arg *a, unsigned int n)
{
	pthread_t tid[2];
	volatile int go = 0;
	unsigned int i;
	uint64_t t0;

	for (i = 0; i < n; i++) {
		a[i].go = &go;
		if (pthread_create(&tid[i], NULL, p5_thread, &a[i]))
			dsu_die("pthread_create");
	}
	usleep(1000);
	t0 = now_ns();
	go = 1;
	for (i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	return (now_ns() - t0) / 1e9;
}

static void p5(const struct bar *b, bool use_bar)
{
	struct row *r = new_row("P5", "2 threads, 2 chunks: speedup over 1",
				"2 busy loops", "x", ">= 0.8");
	static uint8_t bufs[2][4096];
	const unsigned int ops = 4000;
	const uint64_t loops = 20000000;
	struct p5_arg a[2];
	double one, two, cal1, cal2, rd, cal;
	unsigned int k;
	int fd;

	fd = use_bar ? load_bar(b, "") : reload("");
	/* Chunks 10 and 50: both resident from the start. */
	bulk_read(fd, 10 * DSMIL_CHUNK_SIZE, 4096, bufs[0]);
	bulk_read(fd, 50 * DSMIL_CHUNK_SIZE, 4096, bufs[1]);
	for (k = 0; k < repeats; k++) {
		memset(a, 0, sizeof(a));
		a[0] = (struct p5_arg){ .fd = fd, .off = 10 * DSMIL_CHUNK_SIZE,
					.ops = ops, .buf = bufs[0] };
		a[1] = (struct p5_arg){ .fd = fd, .off = 50 * DSMIL_CHUNK_SIZE,
					.ops = ops, .buf = bufs[1] };
		one = run_threads(a, 1);
		two = run_threads(a, 2);
		rd = 2 * one / two;
		memset(a, 0, sizeof(a));
		a[0].busy = a[1].busy = loops;
		cal1 = run_threads(a, 1);
		cal2 = run_threads(a, 2);
		cal = 2 * cal1 / cal2;
		add(&r->meas, rd);
		add(&r->ref, cal);
		note("P5 repeat %u: reads 1T %.3f s, 2T %.3f s (x%.2f); busy 1T %.3f s, 2T %.3f s (x%.2f)",
		     k, one, two, rd, cal1, cal2, cal);
	}
	r->figure = med(&r->meas) / med(&r->ref);
	r->known = true;
	r->pass = r->figure >= 0.8;
	snprintf(r->note, sizeof(r->note), "%s backend", use_bar ? "iomem" : "sim");
	close(fd);
}

/* ------------------------------------------------------------------ P6 */

#define P6_THREADS	8
#define P6_READS	250	/* per thread and repeat: 2000 reads */

struct p6_arg {
	int fd;
	pthread_barrier_t *go;
	unsigned int failed;
};

static void *p6_thread(void *p)
{
	struct p6_arg *a = p;
	struct dsmil_token_req t;
	unsigned int i;

	/*
	 * Blocked, not spinning, until all are there: eight spinning threads
	 * on two vCPUs would start one scheduler tick apart.
	 */
	pthread_barrier_wait(a->go);
	for (i = 0; i < P6_READS; i++) {
		memset(&t, 0, sizeof(t));
		/* DSMIL0D0, D3, D6, D9: the group's four tokens, in turn. */
		t.position = (i % 4) * 3;
		if (dsmil_ioc(a->fd, DSMIL_IOC_TOKEN_READ, &t))
			a->failed++;
	}
	return NULL;
}

static void p6(void)
{
	struct row *r = new_row("P6", "8 threads x 4 tokens, sim 1 ms/call",
				"reads (1 SMI each)", "/1k", "<= 150");
	struct p6_arg a[P6_THREADS];
	pthread_t tid[P6_THREADS];
	struct dsmil_smi_status s0, s1;
	const double reads = P6_THREADS * P6_READS;
	double smis, coalesced = 0;
	long long sub0, sub1;
	pthread_barrier_t go;
	unsigned int k, i, failed;
	int fd;

	/*
	 * The longest timeout: the figure counts calls, and a vCPU the host
	 * stalls past the default 50 ms would fail reads, not change it.
	 */
	fd = reload("smi_timeout_ms=1000");
	for (i = 0; i <= 9; i += 3)
		dev_ready(fd, i);
	knob("latency_us", "1000");
	for (k = 0; k < repeats; k++) {
		failed = 0;
		smi_get(fd, &s0);
		sub0 = sim_stat("submits");
		if (pthread_barrier_init(&go, NULL, P6_THREADS))
			dsu_die("pthread_barrier_init");
		for (i = 0; i < P6_THREADS; i++) {
			a[i] = (struct p6_arg){ .fd = fd, .go = &go };
			if (pthread_create(&tid[i], NULL, p6_thread, &a[i]))
				dsu_die("pthread_create");
		}
		for (i = 0; i < P6_THREADS; i++) {
			pthread_join(tid[i], NULL);
			failed += a[i].failed;
		}
		pthread_barrier_destroy(&go);
		sub1 = sim_stat("submits");
		smi_get(fd, &s1);
		if (failed || sub0 < 0 || sub1 < 0)
			dsu_die("P6: %u reads failed, sim submits %lld..%lld",
				failed, sub0, sub1);
		/* The sim's own count of calls that reached it. */
		smis = (double)(sub1 - sub0);
		add(&r->meas, smis * 1000 / reads);
		/* What the engine counted: every read one request. */
		add(&r->ref, (double)(s1.requests - s0.requests) * 1000 / reads);
		coalesced += (double)(s1.coalesced - s0.coalesced);
		note("P6 repeat %u: %.0f reads, %.0f SMIs, %llu coalesced", k,
		     reads, smis,
		     (unsigned long long)(s1.coalesced - s0.coalesced));
	}
	knob("latency_us", "0");
	r->figure = med(&r->meas);
	r->known = true;
	r->pass = r->figure <= 150;
	snprintf(r->note, sizeof(r->note), "%.0f%% of reads coalesced",
		 coalesced * 100 / (reads * repeats));
	close(fd);
}

/* Is figure @id one of the comma-separated @list? */
static bool wanted(const char *list, const char *id)
{
	size_t n = strlen(id);
	const char *p;

	for (p = list; (p = strstr(p, id)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repeats", required_argument, NULL, 'r' },
		{ "only", required_argument, NULL, 'o' },
		{ "module", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *only = "P1,P2,P2w,P3,P4,P5,P6,P7";
	struct utsname u;
	struct bar bar;
	bool have_bar;
	uint8_t *buf;
	int opt;

	dsu_prog = "dsmil-bench";
	while ((opt = getopt_long(argc, argv, "r:o:m:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			repeats = strtoul(optarg, NULL, 0);
			break;
		case 'o':
			only = optarg;
			break;
		case 'm':
			/* dsmil_ko() loads $DSMIL_KO. */
			setenv("DSMIL_KO", optarg, 1);
			break;
		case 'v':
			verbose = true;
			break;
		default:
			printf("usage: dsmil-bench [--repeats N] [--only P1,P2,...] [--module PATH] [-v]\n"
			       "Measures the driver's performance figures against their references\n"
			       "(see Documentation/dsmil-bench.rst).  Run as root in the guest:\n"
			       "  tools/dsmil-vm --kernel 6.12 -- dsmil-bench\n"
			       "Exit status: 0 (targets are reported, not asserted), 1 if the tool failed.\n");
			return opt == 'h' ? 0 : 1;
		}
	}
	if (repeats < 3 || repeats > MAX_REPEATS)
		dsu_die("--repeats must be 3..%d", MAX_REPEATS);
	if (geteuid())
		dsu_die("needs root (it reloads dsmil.ko)");
	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&u);
	buf = aligned_alloc(4096, DSMIL_BULK_MAX);
	if (!buf)
		dsu_die("out of memory");
	memset(buf, 0, DSMIL_BULK_MAX);
	have_bar = find_bar(&bar);
	printf("dsmil-bench: kernel %s, %ld CPUs online, %u repeats, BAR %s\n",
	       u.release, sysconf(_SC_NPROCESSORS_ONLN), repeats,
	       have_bar ? bar.res : "none (P2, P2w, P3 need the ivshmem BAR)");
	if (have_bar)
		printf("dsmil-bench: region = BAR %#llx + 64 MiB, 360 MiB\n",
		       (unsigned long long)bar.phys);

	if (wanted(only, "P1"))
		p1();
	if (wanted(only, "P2") && have_bar)
		p2(&bar, buf);
	if (wanted(only, "P2w") && have_bar)
		p2w(&bar, buf);
	if (wanted(only, "P3") && have_bar)
		p3(&bar, buf);
	if (wanted(only, "P4"))
		p4();
	if (wanted(only, "P5"))
		p5(&bar, have_bar);
	if (wanted(only, "P6"))
		p6();
	if (wanted(only, "P7"))
		p7();

	/* Leave the module as dsmil-vm loaded it: default parameters. */
	close(reload(""));
	print_table();
	free(buf);
	return 0;
}
