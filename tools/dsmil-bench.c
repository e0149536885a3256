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
 *   B1-B6 the worst cases of Documentation/dsmil-bounds.rst, each driven
 *       and divided by its formula (parameters, tick, the wake-up latency
 *       measured in the same repeat): 8 callers queued for distinct
 *       tokens (fast and slow firmware), an audited write, an emergency
 *       stop against a write at the hardware and against one in doubt, a
 *       16 MiB bulk read under max_resident=1 with the slot contended
 *                                         worst / bound, each repeat <= 1
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
#include <limits.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
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

#define MAX_ROWS 24
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

/* --------------------------------------------------- B1-B6: bounded time */

/*
 * Each B figure drives one of the worst cases derived in
 * Documentation/dsmil-bounds.rst and divides the worst time observed in a
 * repeat by that repeat's bound, computed from the formula with the
 * module's parameters (SMI_STATUS, MMIO_STATUS), the kernel's tick and the
 * platform's wake-up latency measured in the same repeat (eps below).  The
 * figure is the largest of those ratios (target <= 1): a ratio above 1 is
 * a bound the driver broke, or a term the formula misses.
 */

/* The engine's poll and wait constants (dsmil_smi.c), in us and ticks. */
#define SMI_SPIN_US		5.0	/* DSMIL_SMI_SPIN_NS */
#define SMI_POLL_MIN_US		10.0	/* DSMIL_SMI_POLL_MIN_NS */
#define SMI_POLL_MAX_US		1000.0	/* DSMIL_SMI_POLL_MAX_NS */
#define SMI_VERDICT_TICKS	2	/* DSMIL_SMI_VERDICT_WAIT */
#define ESTOP_DRAIN_MS		2000	/* DSMIL_ESTOP_DRAIN_MS (dsmil_state.h) */
#define SMI_PASS_OVER		2	/* DSMIL_SMI_PASS_OVER_MAX */

static unsigned int hz;			/* the guest kernel's CONFIG_HZ */

/* Flags and counters one thread sets and another reads. */
static unsigned int flag_get(const unsigned int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void flag_set(unsigned int *p, unsigned int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static double tick_ms(void)
{
	return 1000.0 / hz;
}

/* jiffies, from /proc/timer_list, or -1. */
static long long read_jiffies(void)
{
	char line[256];
	long long j = -1;
	FILE *f = fopen("/proc/timer_list", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "jiffies: %lld", &j) == 1)
			break;
	fclose(f);
	return j;
}

/* The kernel's tick rate: jiffies counted over 300 ms, the nearest HZ. */
static unsigned int detect_hz(void)
{
	static const unsigned int rates[] = { 100, 250, 300, 1000 };
	long long j0, j1;
	uint64_t t0, t1;
	double r, best = 1e9;
	unsigned int i, pick = 250;

	j0 = read_jiffies();
	t0 = now_ns();
	usleep(300000);
	j1 = read_jiffies();
	t1 = now_ns();
	if (j0 < 0 || j1 <= j0) {
		printf("dsmil-bench: no jiffies in /proc/timer_list: assuming HZ=250\n");
		return 250;
	}
	r = (j1 - j0) / ((t1 - t0) / 1e9);
	for (i = 0; i < ARRAY_SIZE(rates); i++) {
		double d = r > rates[i] ? r - rates[i] : rates[i] - r;

		if (d < best) {
			best = d;
			pick = rates[i];
		}
	}
	return pick;
}

/* msecs_to_jiffies(): rounds up. */
static unsigned long ms_to_ticks(unsigned int ms)
{
	return ((unsigned long)ms * hz + 999) / 1000;
}

/*
 * How many ticks after it is armed a timer-wheel timeout of @k jiffies
 * fires at the latest (kernel/time/timer.c, calc_index()): at the first
 * bucket boundary of its level strictly after jiffies + @k, the level's
 * granularity 8^level ticks (level 0 below 63 ticks, 1 below 504, 2 below
 * 4032), and the arming point anywhere inside the current tick.
 */
static double wheel_ticks(unsigned long k)
{
	unsigned long start = 63, gran = 1;

	while (k >= start && gran < (1UL << 24)) {
		start <<= 3;
		gran <<= 3;
	}
	return (double)k + gran;
}

/*
 * eps: the longest wake-up latency of an hrtimer sleep observed here, in
 * ms: what a sleeper in the kernel may lose to the platform at each
 * wake-up (a vCPU the host does not run, other tasks), beyond the slack
 * the driver asks for.  A platform term of every bound, measured in the
 * same repeat: 200 sleeps of 100 us before the case, and while the case
 * runs a sentinel thread sleeping 1 ms at a time (a host that stalls the
 * guest during the measurement stalls the sentinel too) and another timing
 * timer-wheel timeouts (wheel_thread()).
 */
static double eps_ms(void)
{
	struct timespec ts;
	uint64_t target, t;
	double worst = 0;
	unsigned int i;

	for (i = 0; i < 200; i++) {
		target = now_ns() + 100000;
		ts.tv_sec = target / NSEC_PER_SEC;
		ts.tv_nsec = target % NSEC_PER_SEC;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		t = now_ns();
		if (t > target && (t - target) / 1e6 > worst)
			worst = (t - target) / 1e6;
	}
	return worst;
}

struct sentinel {
	pthread_t tid, wtid;
	unsigned int stop;
	double worst_ms, wheel_ms;
};

static int wheel_tty = -1;	/* a pty slave: VMIN 0, VTIME 1 */

/*
 * Timer-wheel timeouts (schedule_timeout(): the driver's jiffies waits,
 * msleep()) run from the timer softirq, which a loaded kernel may defer
 * to ksoftirqd, while hrtimer wake-ups come from the hard interrupt.  A
 * read of a pty in raw mode with VMIN 0 and VTIME 1 is such a timeout
 * (n_tty_read(): wait_woken() for HZ / 10 jiffies): how late it returns
 * is the wheel's share of eps.  Mounts devpts if the guest has none; -1
 * (and no wheel term) if that fails.
 */
static int wheel_open(void)
{
	struct termios t;
	char *name;
	int m, fd;

	if (access("/dev/pts/ptmx", F_OK)) {
		mkdir("/dev/pts", 0755);
		if (mount("devpts", "/dev/pts", "devpts", 0, "ptmxmode=0666"))
			return -1;
	}
	m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY);
	if (m < 0)
		return -1;
	name = grantpt(m) || unlockpt(m) ? NULL : ptsname(m);
	if (!name) {
		close(m);
		return -1;
	}
	fd = open(name, O_RDWR | O_NOCTTY);
	if (fd < 0 || tcgetattr(fd, &t)) {
		close(m);
		return -1;
	}
	cfmakeraw(&t);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 1;
	if (tcsetattr(fd, TCSANOW, &t)) {
		close(m);
		return -1;
	}
	/* The master stays open for the run: the slave reads time out. */
	return fd;
}

static void *wheel_thread(void *p)
{
	struct sentinel *s = p;
	/* HZ / 10 jiffies, firing up to one tick after (level 0). */
	double due = (hz / 10 + 1) * tick_ms(), ms;
	uint64_t t0;
	char c;

	while (!flag_get(&s->stop)) {
		t0 = now_ns();
		if (read(wheel_tty, &c, 1) != 0)
			break;
		ms = (now_ns() - t0) / 1e6 - due;
		if (ms > s->wheel_ms)
			s->wheel_ms = ms;
	}
	return NULL;
}

static void *sentinel_thread(void *p)
{
	struct sentinel *s = p;
	struct timespec ts;
	uint64_t target, t;

	while (!flag_get(&s->stop)) {
		target = now_ns() + 1000000;
		ts.tv_sec = target / NSEC_PER_SEC;
		ts.tv_nsec = target % NSEC_PER_SEC;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		t = now_ns();
		if (t > target && (t - target) / 1e6 > s->worst_ms)
			s->worst_ms = (t - target) / 1e6;
	}
	return NULL;
}

/* eps before the case, and the sentinel started for its duration. */
static double eps_begin(struct sentinel *s)
{
	double e = eps_ms();

	memset(s, 0, sizeof(*s));
	if (pthread_create(&s->tid, NULL, sentinel_thread, s))
		dsu_die("pthread_create");
	if (wheel_tty >= 0 && pthread_create(&s->wtid, NULL, wheel_thread, s))
		dsu_die("pthread_create");
	return e;
}

/* The largest of @before and what the sentinels saw. */
static double eps_end(struct sentinel *s, double before)
{
	double e = before;

	flag_set(&s->stop, 1);
	pthread_join(s->tid, NULL);
	if (wheel_tty >= 0)
		pthread_join(s->wtid, NULL);
	if (s->worst_ms > e)
		e = s->worst_ms;
	if (s->wheel_ms > e)
		e = s->wheel_ms;
	note("eps: %.3f ms before, %.3f ms hrtimer sentinel, %.3f ms wheel sentinel",
	     before, s->worst_ms, s->wheel_ms);
	return e;
}

/*
 * D_max(L), in ms: from submit to the poll that sees a call of @lat_ms
 * done (dsmil_smi_drive()).  Polls spin SMI_SPIN_US, then sleep 10 us
 * doubling to 1 ms, each sleep at most 5/4 of its interval (the hrtimer
 * slack the engine gives, interval / 4) plus @eps.  The first poll at or
 * after L comes at most one sleep after the last one before it, and that
 * sleep's interval is the largest one a poll before L can be using.
 */
static double poll_detect_ms(double lat_ms, double eps)
{
	double t = SMI_SPIN_US, i = SMI_POLL_MIN_US, lat = lat_ms * 1000;

	/* The earliest each poll can come: no slack, no latency. */
	while (t + i < lat && i < SMI_POLL_MAX_US) {
		t += i;
		i = i * 2 > SMI_POLL_MAX_US ? SMI_POLL_MAX_US : i * 2;
	}
	if (lat <= SMI_SPIN_US)
		return SMI_SPIN_US / 1000 + eps;
	return (lat + 1.25 * i) / 1000 + eps;
}

/*
 * S_max(L), in ms: one SMI of latency @lat_ms at the hardware, from the
 * end of the previous one to the end of this one: the spacing
 * (smi_min_interval_us, an exact hrtimer sleep: one wake-up), the call and
 * its polling, and the hand-over to the next owner (one wake-up).
 */
static double smi_service_ms(const struct dsmil_smi_status *s, double lat_ms,
			     double eps)
{
	return s->min_interval_us / 1000.0 + eps +
	       poll_detect_ms(lat_ms, eps) + eps;
}

/*
 * The longest any caller of one SMI request waits, in ms
 * (dsmil_smi_exec()): its deadline, T after arrival, covers the queue, the
 * spacing, busy retries and polling; the owner ends a call at the hardware
 * at the deadline (hrtimer, slack at most a quarter of the 1 ms poll
 * interval); a queued caller's own timeout (jiffies: floor(T / tick) + 1
 * ticks, a timer-wheel timeout that fires up to its level's granularity
 * later) and then the verdict wait (2 jiffies, up to 3 ticks) bound it
 * when the owner cannot answer first.
 */
static double smi_caller_bound_ms(const struct dsmil_smi_status *s, double eps)
{
	double owner = s->timeout_ms + SMI_POLL_MAX_US / 4000 + 2 * eps;
	/* nsecs_to_jiffies(T) + 1 ticks on the wheel, then the verdict. */
	unsigned long k = (unsigned long)s->timeout_ms * hz / 1000 + 1;
	double queued = (wheel_ticks(k) + SMI_VERDICT_TICKS + 1) * tick_ms() +
			eps;

	return owner > queued ? owner : queued;
}

struct bq_arg {
	int fd;
	unsigned int group, position, reads;
	pthread_barrier_t *go;
	double worst_ms, worst_engine_ms;
	unsigned int ok, timedout, other;
};

static void *bq_thread(void *p)
{
	struct bq_arg *a = p;
	struct dsmil_token_req t;
	unsigned int i;
	uint64_t t0;
	double ms;
	int e;

	pthread_barrier_wait(a->go);
	for (i = 0; i < a->reads; i++) {
		memset(&t, 0, sizeof(t));
		t.group = a->group;
		t.position = a->position;
		t0 = now_ns();
		e = -dsmil_ioc(a->fd, DSMIL_IOC_TOKEN_READ, &t);
		ms = (now_ns() - t0) / 1e6;
		if (ms > a->worst_ms)
			a->worst_ms = ms;
		/* The engine's own count of the wait, arrival to return. */
		if (t.duration_ns / 1e6 > a->worst_engine_ms)
			a->worst_engine_ms = t.duration_ns / 1e6;
		if (!e)
			a->ok++;
		else if (e == ETIMEDOUT)
			a->timedout++;
		else
			a->other++;
	}
	return NULL;
}

#define BQ_CALLERS	8

/* The 8 token devices of groups 0 and 1: 8 distinct tokens. */
static unsigned int bq_dev(unsigned int i)
{
	return (i / 4) * DSMIL_DEVS_PER_GROUP + (i % 4) * 3;
}

/*
 * N = 8 callers, one per token (no two share a call), reading together,
 * the sim at @lat_ms per call.  Returns the worst wait of any read, counts
 * the outcomes.
 */
static double bq_round(int fd, unsigned int reads, unsigned int *ok,
		       unsigned int *timedout, unsigned int *other,
		       double *engine)
{
	struct bq_arg a[BQ_CALLERS];
	pthread_t tid[BQ_CALLERS];
	pthread_barrier_t go;
	double worst = 0;
	unsigned int i;

	if (pthread_barrier_init(&go, NULL, BQ_CALLERS))
		dsu_die("pthread_barrier_init");
	for (i = 0; i < BQ_CALLERS; i++) {
		a[i] = (struct bq_arg){ .fd = fd, .go = &go, .reads = reads,
					.group = bq_dev(i) / DSMIL_DEVS_PER_GROUP,
					.position = bq_dev(i) % DSMIL_DEVS_PER_GROUP };
		if (pthread_create(&tid[i], NULL, bq_thread, &a[i]))
			dsu_die("pthread_create");
	}
	for (i = 0; i < BQ_CALLERS; i++) {
		pthread_join(tid[i], NULL);
		if (a[i].worst_ms > worst)
			worst = a[i].worst_ms;
		if (a[i].worst_engine_ms > *engine)
			*engine = a[i].worst_engine_ms;
		*ok += a[i].ok;
		*timedout += a[i].timedout;
		*other += a[i].other;
	}
	pthread_barrier_destroy(&go);
	return worst;
}

/* Bring the 8 token devices of B1/B2 to READY, with the sim healthy. */
static void bq_ready(int fd)
{
	unsigned int i;

	smi_heal(fd);
	for (i = 0; i < BQ_CALLERS; i++)
		dev_ready(fd, bq_dev(i));
}

/* The largest per-repeat ratio measured / bound: the figure of a B row. */
static void b_figure(struct row *r)
{
	unsigned int i;

	r->figure = 0;
	for (i = 0; i < r->meas.n; i++)
		if (r->meas.v[i] / r->ref.v[i] > r->figure)
			r->figure = r->meas.v[i] / r->ref.v[i];
	r->known = r->meas.n > 0;
	r->pass = r->known && r->figure <= 1;
}

/*
 * B1: N callers queued, distinct tokens, firmware fast enough for all of
 * them ((N + P) x S_max(L) < T).  The N-th caller waits for the N - 1
 * requests queued before it (one per other caller), for up to P newer
 * plain reads the engine sends first (dsmil_smi_flight_pick()) and for
 * its own: W_N <= (N + P) x S_max(L) + eps (its own wake-up).
 * B2: the same with a firmware too slow for that (N x S(L) > T): the
 * callers late in the queue time out; nobody waits past the caller bound.
 */
static void b12(bool slow)
{
	struct row *r = slow ?
		new_row("B2", "token read, 8 callers, sim 10 ms: T caps",
			"bound T+wheel+eps", "ms", "<= 1") :
		new_row("B1", "token read, 8 callers, sim 1 ms: N x S",
			"bound 10xS(L)+eps", "ms", "<= 1");
	const double lat_ms = slow ? 10 : 1;
	const unsigned int reads = slow ? 1 : 10;
	unsigned int k, ok = 0, timedout = 0, other = 0;
	struct dsmil_smi_status s;
	double eps, bound, nb, worst, engine = 0;
	struct sentinel sn;
	char lat[16];
	int fd;

	fd = reload("");
	smi_get(fd, &s);
	snprintf(lat, sizeof(lat), "%.0f", lat_ms * 1000);
	for (k = 0; k < repeats; k++) {
		/* A timeout at the hardware puts a device in ERROR: heal. */
		bq_ready(fd);
		knob("latency_us", lat);
		eps = eps_begin(&sn);
		worst = bq_round(fd, reads, &ok, &timedout, &other, &engine);
		eps = eps_end(&sn, eps);
		bound = smi_caller_bound_ms(&s, eps);
		nb = (BQ_CALLERS + SMI_PASS_OVER) *
		     smi_service_ms(&s, lat_ms, eps) + eps;
		if (nb < bound)
			bound = nb;
		add(&r->meas, worst);
		add(&r->ref, bound);
		note("%s repeat %u: worst %.2f ms, bound %.2f ms (eps %.3f ms, S %.3f ms)",
		     r->id, k, r->meas.v[k], bound, eps,
		     smi_service_ms(&s, lat_ms, eps));
		knob("latency_us", "0");
	}
	b_figure(r);
	snprintf(r->note, sizeof(r->note),
		 "%u ok, %u timed out, %u other; engine's worst %.1f ms; T=%u ms",
		 ok, timedout, other, engine, s.timeout_ms);
	smi_heal(fd);
	close(fd);
}

/*
 * B3: one audited token write is three requests (read before, write,
 * read-back), each bounded by T from its own arrival
 * (dsmil_smi_write_audited_as()): with the sim at 40 ms per call, below T,
 * the writer waits 3 x S_max(L), well past T.
 */
static void b3(void)
{
	struct row *r = new_row("B3", "token write (3 SMIs), sim 40 ms",
				"bound 3xS(L)+eps", "ms", "<= 1");
	const double lat_ms = 40;
	struct dsmil_smi_status s;
	struct dsmil_token_req t;
	double eps, bound, ms;
	struct sentinel sn;
	unsigned int k;
	uint64_t t0;
	int fd, e;

	fd = reload("allow_writes=1");
	smi_get(fd, &s);
	for (k = 0; k < repeats; k++) {
		smi_heal(fd);
		if (dev_bring_up(fd, 0, true))
			dsu_die("B3: DSMIL0D0 -> ACTIVE failed");
		knob("latency_us", "40000");
		memset(&t, 0, sizeof(t));
		t.value = 0x1000 + k;
		eps = eps_begin(&sn);
		t0 = now_ns();
		e = -dsmil_ioc(fd, DSMIL_IOC_TOKEN_WRITE, &t);
		ms = (now_ns() - t0) / 1e6;
		eps = eps_end(&sn, eps);
		bound = 3 * smi_service_ms(&s, lat_ms, eps) + eps;
		if (bound > 3 * smi_caller_bound_ms(&s, eps))
			bound = 3 * smi_caller_bound_ms(&s, eps);
		if (e)
			dsu_die("B3: token write: %s", strerror(e));
		add(&r->meas, ms);
		add(&r->ref, bound);
		note("B3 repeat %u: %.2f ms, bound %.2f ms (eps %.3f ms)", k, ms,
		     bound, eps);
		knob("latency_us", "0");
	}
	b_figure(r);
	snprintf(r->note, sizeof(r->note), "worst %.1f ms = %.2f T, T=%u ms",
		 smax(&r->meas), smax(&r->meas) / s.timeout_ms, s.timeout_ms);
	close(fd);
}

struct bw_arg {
	int fd;
	int result;
	unsigned int done;
};

#define BW_VALUE	0x4242

/* A token write of DSMIL0D0 (B4, B5). */
static void *bw_thread(void *p)
{
	struct bw_arg *a = p;
	struct dsmil_token_req t;

	memset(&t, 0, sizeof(t));
	t.value = BW_VALUE;
	a->result = -dsmil_ioc(a->fd, DSMIL_IOC_TOKEN_WRITE, &t);
	flag_set(&a->done, 1);
	return NULL;
}

/*
 * Start a token write of DSMIL0D0 and make it stick at the hardware: the
 * sim at 40 ms per call (below T) lets the read before through; once the write is
 * submitted (the sim's write count of the token moves) the sim goes stuck busy
 * (status changing: no hang), so only its deadline, T after its arrival,
 * ends it.  Returns false if the write ended before it stuck (the thread
 * is joined then).
 */
static bool bw_start(int fd, pthread_t *tid, struct bw_arg *a, bool abort_fails)
{
	long long w0 = sim_writes(DSMIL_TOKEN_BASE), r1, sub, done;
	unsigned int value;
	uint64_t end = now_ns() + 2 * NSEC_PER_SEC;

	knob("latency_us", "40000");
	if (abort_fails)
		knob("abort_fails", "1");
	*a = (struct bw_arg){ .fd = fd };
	if (pthread_create(tid, NULL, bw_thread, a))
		dsu_die("pthread_create");
	if (w0 < 0)
		dsu_die("no write count for token %#x in " DSMIL_SIM_DIR "/tokens",
			(unsigned int)DSMIL_TOKEN_BASE);
	/* The write's submit counts it at the sim. */
	while (sim_writes(DSMIL_TOKEN_BASE) <= w0 && !flag_get(&a->done) &&
	       now_ns() < end)
		;
	r1 = sim_reads(DSMIL_TOKEN_BASE);
	knob("fault", "stuck-busy");
	/*
	 * Completed before it stuck (this thread was not run for 40 ms):
	 * every submit has its completion, the read-back was sent, or the
	 * value landed (the sim stores a write when it completes).
	 */
	done = sim_stat("completions");
	sub = sim_stat("submits");
	if (sim_token(DSMIL_TOKEN_BASE, NULL, NULL, &value))
		dsu_die("no value for token %#x in " DSMIL_SIM_DIR "/tokens",
			(unsigned int)DSMIL_TOKEN_BASE);
	if (flag_get(&a->done) || done >= sub || value == BW_VALUE ||
	    sim_reads(DSMIL_TOKEN_BASE) != r1) {
		pthread_join(*tid, NULL);
		return false;
	}
	return true;
}

/*
 * B4: an emergency stop while a write to a device it locks is at the
 * hardware.  dsmil_state_estop() locks the devices, then waits for the
 * writes past their hand-off: this one ends at its deadline (abort), at
 * most T after the stop began, plus the owner's hrtimer slack (1 ms / 4)
 * and two wake-ups (the owner's, the stop's).
 * B5: the same write with an abort that fails: it stays fenced, in doubt,
 * and the stop waits its whole drain time, a timer-wheel timeout of
 * DSMIL_ESTOP_DRAIN_MS.
 */
static void b45(bool stuck)
{
	struct row *r = stuck ?
		new_row("B5", "emergency stop, write in doubt",
			"bound drain+wheel", "ms", "<= 1") :
		new_row("B4", "emergency stop, write at the hardware",
			"bound T+.25+2eps", "ms", "<= 1");
	/*
	 * The control: the same stops against D alone, the bound without its
	 * timer-wheel term.  The drain wait never ends before D, so every
	 * ratio is >= 1: a figure <= 1 here means the clock or the drive is
	 * wrong, and the ratios of this run cannot be trusted to catch a
	 * bound the driver breaks.
	 */
	struct row *c = stuck ?
		new_row("B5c", "control: B5 against D alone", "D", "ms", "> 1") :
		NULL;
	struct dsmil_group_stop gs;
	struct dsmil_smi_status s;
	unsigned int k, tries = 0, doubt = 0;
	struct bw_arg a;
	struct sentinel sn;
	pthread_t tid;
	double eps, bound, ms;
	uint64_t t0;
	int fd, e;

	fd = reload("allow_writes=1");
	smi_get(fd, &s);
	for (k = 0; k < repeats; k++) {
		smi_heal(fd);
		if (dev_bring_up(fd, 0, true))
			dsu_die("%s: DSMIL0D0 -> ACTIVE failed", r->id);
		eps = eps_begin(&sn);
		if (!bw_start(fd, &tid, &a, stuck)) {
			eps_end(&sn, eps);
			if (++tries > 10 * repeats)
				dsu_die("%s: the write never stuck at the hardware", r->id);
			k--;
			continue;
		}
		memset(&gs, 0, sizeof(gs));
		t0 = now_ns();
		e = -dsmil_ioc(fd, DSMIL_IOC_GROUP_ESTOP, &gs);
		ms = (now_ns() - t0) / 1e6;
		eps = eps_end(&sn, eps);
		pthread_join(tid, NULL);
		if (stuck)
			bound = wheel_ticks(ms_to_ticks(ESTOP_DRAIN_MS)) *
				tick_ms() + eps;
		else
			bound = s.timeout_ms + SMI_POLL_MAX_US / 4000 + 2 * eps;
		if (e)
			dsu_die("%s: GROUP_ESTOP: %s", r->id, strerror(e));
		if (stuck ? gs.in_doubt != 1 : gs.in_doubt != 0)
			dsu_die("%s: the stop reported %u writes in doubt", r->id,
				gs.in_doubt);
		if (a.result != (stuck ? EINPROGRESS : ETIMEDOUT))
			dsu_die("%s: the write ended with %s", r->id,
				strerror(a.result));
		doubt += gs.in_doubt;
		add(&r->meas, ms);
		add(&r->ref, bound);
		if (c) {
			add(&c->meas, ms);
			add(&c->ref, ESTOP_DRAIN_MS);
		}
		note("%s repeat %u: stop %.2f ms, bound %.2f ms (eps %.3f ms)",
		     r->id, k, ms, bound, eps);
	}
	b_figure(r);
	if (c) {
		/* The smallest ratio: every one must exceed 1. */
		c->figure = smin(&c->meas) / ESTOP_DRAIN_MS;
		c->known = c->meas.n > 0;
		c->pass = c->known && c->figure > 1;
	}
	snprintf(r->note, sizeof(r->note), "%u in doubt; %s; %u retried",
		 doubt, stuck ? "drain 2000 ms" : "T from the write's arrival",
		 tries);
	smi_heal(fd);
	close(fd);
}

/* ------------------------------------------------------------------ B6 */

struct bm_arg {
	int fd;
	unsigned int first, last, parked;
	unsigned int stop;
	unsigned int pins;
};

/*
 * The competitor of B6: whenever a chunk of the reader's span is the one
 * resident, a 4-byte write into it that stays write_delay_ms at the
 * "hardware" holding it, so that the reader's next chunk finds the only
 * slot busy.  It pins each chunk once.
 */
static void *bm_thread(void *p)
{
	struct bm_arg *a = p;
	struct dsmil_mmio_status st;
	unsigned int c, last = UINT_MAX;
	__u64 v = 0;

	while (!flag_get(&a->stop)) {
		if (mmio_status(a->fd, &st))
			dsu_die("MMIO_STATUS: %s", strerror(errno));
		for (c = a->first; c <= a->last; c++)
			if (map_bit(st.resident_map, c))
				break;
		if (c > a->last || c == last)
			continue;
		last = c;
		if (!mmio_rw(a->fd, DSMIL_IOC_MMIO_WRITE,
			     c * DSMIL_CHUNK_SIZE + 4096, 4, 0, 0, &v))
			a->pins++;
	}
	return NULL;
}

/* A 4-byte write into chunk @c that holds it for write_delay_ms. */
static void *bm_park(void *p)
{
	struct bm_arg *a = p;
	__u64 v = 0;

	if (mmio_rw(a->fd, DSMIL_IOC_MMIO_WRITE,
		    a->parked * DSMIL_CHUNK_SIZE + 4096, 4, 0, 0, &v))
		dsu_die("B6: write to chunk %u: %s", a->parked, strerror(errno));
	return NULL;
}

/*
 * B6: a 16 MiB bulk read under max_resident=1 against a competitor that
 * holds the only slot each time the reader needs it.  The read holds one
 * chunk at a time (dsmil_mmio_bulk_read()); each chunk it needs is mapped
 * by dsmil_mmio_map(), which waits for a slot at most busy_wait_ms from
 * its start (a wheel timeout: ceil(B / tick) + 1 ticks).  A 16 MiB read
 * not on a chunk boundary spans C = 5 chunks: W <= W0 + C x (B' + eps),
 * W0 the same read alone, measured in the same repeat.
 */
static void b6(void)
{
	struct row *r = new_row("B6", "16 MiB bulk read, cap 1, slot contended",
				"bound W0+C(B'+eps)", "ms", "<= 1");
	/* Chunks 1-5: 16 MiB from 6 MiB, past the device windows. */
	const uint64_t off = DSMIL_CHUNK_SIZE + DSMIL_CHUNK_SIZE / 2;
	const unsigned int first = 1, last = 5, chunks = last - first + 1;
	struct dsmil_mmio_status st;
	unsigned int k, i, busy = 0, pins = 0;
	struct bm_arg a, park;
	pthread_t tid, ptid;
	double eps, w0, bound, bslot, ms;
	struct sentinel sn;
	uint8_t *buf;
	uint64_t t0;
	__u64 done;
	int fd, e, wd;

	buf = aligned_alloc(4096, DSMIL_BULK_MAX);
	if (!buf)
		dsu_die("out of memory");
	memset(buf, 0, DSMIL_BULK_MAX);
	fd = reload("allow_writes=1 max_resident=1");
	if (mmio_status(fd, &st))
		dsu_die("MMIO_STATUS: %s", strerror(errno));
	/* Held just under the slot wait, so that the reader waits, not fails. */
	wd = st.busy_wait_ms * 88 / 100;
	bslot = (ms_to_ticks(st.busy_wait_ms) + 1) * tick_ms();
	for (k = 0; k < repeats; k++) {
		/* W0: the same read alone, twice, the worse of the two. */
		w0 = 0;
		for (i = 0; i < 2; i++) {
			t0 = now_ns();
			if (mmio_bulk(fd, DSMIL_IOC_MMIO_BULK_READ, off, buf,
				      DSMIL_BULK_MAX, 0, 0, &done) ||
			    done != DSMIL_BULK_MAX)
				dsu_die("B6: bulk read alone failed");
			ms = (now_ns() - t0) / 1e6;
			if (ms > w0)
				w0 = ms;
		}
		if (mmio_knob_write("write_delay_ms", "%d", wd))
			dsu_die("B6: write_delay_ms: %s", strerror(errno));
		/* The slot held by chunk 80 when the read starts. */
		park = (struct bm_arg){ .fd = fd, .parked = 80 };
		if (pthread_create(&ptid, NULL, bm_park, &park))
			dsu_die("pthread_create");
		for (;;) {
			struct dsmil_chunk_stat cs[81];

			if (mmio_status_chunks(fd, &st, cs, 81))
				dsu_die("MMIO_STATUS: %s", strerror(errno));
			if (cs[80].users)
				break;
		}
		a = (struct bm_arg){ .fd = fd, .first = first, .last = last };
		if (pthread_create(&tid, NULL, bm_thread, &a))
			dsu_die("pthread_create");
		eps = eps_begin(&sn);
		t0 = now_ns();
		e = mmio_bulk(fd, DSMIL_IOC_MMIO_BULK_READ, off, buf,
			      DSMIL_BULK_MAX, 0, 0, &done);
		ms = (now_ns() - t0) / 1e6;
		eps = eps_end(&sn, eps);
		bound = w0 + chunks * (bslot + eps);
		flag_set(&a.stop, 1);
		pthread_join(tid, NULL);
		pthread_join(ptid, NULL);
		if (mmio_knob_write("write_delay_ms", "0"))
			dsu_die("B6: write_delay_ms: %s", strerror(errno));
		if (e == -EBUSY)
			busy++;
		else if (e || done != DSMIL_BULK_MAX)
			dsu_die("B6: contended bulk read: %s, %llu bytes",
				strerror(-e), (unsigned long long)done);
		pins += a.pins;
		add(&r->meas, ms);
		add(&r->ref, bound);
		note("B6 repeat %u: %.1f ms (%s), W0 %.1f ms, bound %.1f ms, %u pins (eps %.3f ms)",
		     k, ms, e ? "EBUSY" : "whole", w0, bound, a.pins, eps);
	}
	b_figure(r);
	snprintf(r->note, sizeof(r->note), "%u of %u reads EBUSY, %.1f pins/read, B=%u ms",
		 busy, repeats, (double)pins / repeats, st.busy_wait_ms);
	free(buf);
	close(fd);
}

/* ------------------------------------------------------------------ B7 */

#define B7_PINS		8	/* slot thefts per read, then the competitor stops */

struct bt_arg {
	int fd;
	unsigned int stop;
	unsigned int pins, busy;
};

/*
 * The competitor of B7: 4-byte writes into chunk 80, each holding the slot
 * write_delay_ms, one after the other: always waiting for the slot, so that
 * it is woken whenever the reader releases its chunk.
 */
static void *bt_thread(void *p)
{
	struct bt_arg *a = p;
	__u64 v = 0;
	int e;

	while (!flag_get(&a->stop) && a->pins < B7_PINS) {
		e = mmio_rw(a->fd, DSMIL_IOC_MMIO_WRITE, 80 * DSMIL_CHUNK_SIZE + 4096,
			    4, 0, 0, &v);
		if (!e)
			flag_set(&a->pins, a->pins + 1);
		else if (e == -EBUSY)
			a->busy++;
		else
			dsu_die("B7: write to chunk 80: %s", strerror(-e));
	}
	return NULL;
}

/*
 * B7: B6's read into a destination never touched before, against a
 * competitor writing chunk 80 back to back.  Every page of the destination
 * faults; the read releases its chunk to take each fault
 * (dsmil_mmio_bulk_read()) and acquires the chunk again, and a competitor
 * woken by the release can take the only slot in between: each of those
 * acquisitions may wait up to B' again (Documentation/dsmil-bounds.rst:
 * the bound is per acquisition, not per call).  Divided by B6's per-call
 * bound (W0 + C x (B' + eps), W0 the same read into a fresh buffer
 * alone), which a read that loses the slot more than C times can exceed.
 * A competitor that keeps its chunk resident re-takes it without a wait,
 * so the read mostly ends with -EBUSY instead (counted in the note).  The
 * competitor stops after B7_PINS writes so that a repeat stays short.
 */
static void b7(void)
{
	struct row *r = new_row("B7", "16 MiB bulk read, cap 1, untouched buffer",
				"bound W0+C(B'+eps)", "ms", "<= 1");
	const uint64_t off = DSMIL_CHUNK_SIZE + DSMIL_CHUNK_SIZE / 2;
	const unsigned int chunks = 5;
	struct dsmil_mmio_status st;
	unsigned int k, pins = 0, during = 0, busy = 0;
	struct sentinel sn;
	struct bt_arg a;
	pthread_t tid;
	double eps, w0, bound, bslot, ms;
	uint8_t *buf;
	uint64_t t0;
	__u64 done;
	int fd, e, wd;

	fd = reload("allow_writes=1 max_resident=1");
	if (mmio_status(fd, &st))
		dsu_die("MMIO_STATUS: %s", strerror(errno));
	wd = st.busy_wait_ms * 88 / 100;
	bslot = (ms_to_ticks(st.busy_wait_ms) + 1) * tick_ms();
	for (k = 0; k < repeats; k++) {
		/* W0: into a fresh buffer, nobody else at the mapper. */
		buf = mmap(NULL, DSMIL_BULK_MAX, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED)
			dsu_die("mmap: %s", strerror(errno));
		t0 = now_ns();
		if (mmio_bulk(fd, DSMIL_IOC_MMIO_BULK_READ, off, buf,
			      DSMIL_BULK_MAX, 0, 0, &done) || done != DSMIL_BULK_MAX)
			dsu_die("B7: bulk read alone failed");
		w0 = (now_ns() - t0) / 1e6;
		munmap(buf, DSMIL_BULK_MAX);

		buf = mmap(NULL, DSMIL_BULK_MAX, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED)
			dsu_die("mmap: %s", strerror(errno));
		if (mmio_knob_write("write_delay_ms", "%d", wd))
			dsu_die("B7: write_delay_ms: %s", strerror(errno));
		a = (struct bt_arg){ .fd = fd };
		if (pthread_create(&tid, NULL, bt_thread, &a))
			dsu_die("pthread_create");
		/* The competitor in the slot first, as in B6. */
		while (!flag_get(&a.pins)) {
			struct dsmil_chunk_stat cs[81];

			if (mmio_status_chunks(fd, &st, cs, 81))
				dsu_die("MMIO_STATUS: %s", strerror(errno));
			if (cs[80].users)
				break;
		}
		eps = eps_begin(&sn);
		t0 = now_ns();
		e = mmio_bulk(fd, DSMIL_IOC_MMIO_BULK_READ, off, buf,
			      DSMIL_BULK_MAX, 0, 0, &done);
		ms = (now_ns() - t0) / 1e6;
		eps = eps_end(&sn, eps);
		during = flag_get(&a.pins);
		flag_set(&a.stop, 1);
		pthread_join(tid, NULL);
		munmap(buf, DSMIL_BULK_MAX);
		if (mmio_knob_write("write_delay_ms", "0"))
			dsu_die("B7: write_delay_ms: %s", strerror(errno));
		if (e && e != -EBUSY)
			dsu_die("B7: bulk read: %s", strerror(-e));
		busy += e == -EBUSY;
		bound = w0 + chunks * (bslot + eps);
		pins += during;
		add(&r->meas, ms);
		add(&r->ref, bound);
		note("B7 repeat %u: %.1f ms (%s), W0 %.1f ms, bound %.1f ms",
		     k, ms, e ? "EBUSY" : "whole", w0, bound);
		note("B7 repeat %u: %u writes of the competitor, %u EBUSY, eps %.3f ms",
		     k, during, a.busy, eps);
	}
	b_figure(r);
	snprintf(r->note, sizeof(r->note),
		 "%u of %u reads EBUSY, %.1f competitor writes/read",
		 busy, repeats, (double)pins / repeats);
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
	const char *only = "P1,P2,P2w,P3,P4,P5,P6,P7,B1,B2,B3,B4,B5,B6,B7";
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
			printf("usage: dsmil-bench [--repeats N] [--only P1,B1,...] [--module PATH] [-v]\n"
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
	if (wanted(only, "B1") || wanted(only, "B2") || wanted(only, "B3") ||
	    wanted(only, "B4") || wanted(only, "B5") || wanted(only, "B6") ||
	    wanted(only, "B7")) {
		hz = detect_hz();
		wheel_tty = wheel_open();
		printf("dsmil-bench: bounds with HZ=%u (tick %.1f ms), %s\n", hz,
		       tick_ms(), wheel_tty >= 0 ? "wheel sentinel on a pty" :
		       "no pty: no wheel sentinel");
	}
	if (wanted(only, "B1"))
		b12(false);
	if (wanted(only, "B2"))
		b12(true);
	if (wanted(only, "B3"))
		b3();
	if (wanted(only, "B4"))
		b45(false);
	if (wanted(only, "B5"))
		b45(true);
	if (wanted(only, "B6"))
		b6();
	if (wanted(only, "B7"))
		b7();

	/* Leave the module as dsmil-vm loaded it: default parameters. */
	close(reload(""));
	print_table();
	free(buf);
	return 0;
}
