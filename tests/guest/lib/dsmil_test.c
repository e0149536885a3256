// SPDX-License-Identifier: GPL-2.0
/*
 * The guest-test library, everything but the tool runner and the JSON
 * parser (tool.c).  See dsmil_test.h.
 */
#include <dirent.h>
#include <fnmatch.h>
#include <grp.h>
#include <regex.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "dsmil_test.h"

/* --------------------------------------------------- seeds, environment */

uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return splitmix64(s) % n;
}

uint64_t suite_seed(const char *arg)
{
	const char *e = arg ? arg : getenv("DSMIL_SEED");

	if (e && *e)
		return strtoull(e, NULL, 0);
	return now_ns() ^ ((uint64_t)getpid() << 32);
}

unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *e = getenv(name);

	return e && *e ? strtoul(e, NULL, 0) : def;
}

/* ----------------------------------------------------------------- files */

int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

int write_text(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	n = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
	close(fd);
	return n;
}

static int vwritef(const char *path, const char *fmt, va_list ap)
{
	char buf[256];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	return write_text(path, buf);
}

int writef(const char *path, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vwritef(path, fmt, ap);
	va_end(ap);
	return ret;
}

long long read_num(const char *path)
{
	char buf[64];

	if (read_text(path, buf, sizeof(buf)) <= 0)
		return -1;
	if (buf[0] == 'Y')
		return 1;
	if (buf[0] == 'N')
		return 0;
	return strtoll(buf, NULL, 0);
}

bool file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ---------------------------------------------------------------- module */

const char *dsmil_ko(void)
{
	const char *p = getenv("DSMIL_KO");

	return p && *p ? p : DSMIL_KO_PATH;
}

/*
 * Whether the module's "dmi" alias matches this machine's DMI modalias,
 * the way udev's kmod builtin (and modprobe) match a uevent's MODALIAS
 * against modules.alias: fnmatch() of each alias against the string.  The
 * aliases are read from the module file's .modinfo strings.  Returns 1 or
 * 0, -ENOENT when the module has no dmi alias, or another -errno.
 */
int dsmil_dmi_alias_matches(void)
{
	static const char key[] = "alias=dmi";
	char modalias[1024], *buf = NULL, *p, *end;
	int ret = -ENOENT, fd;
	struct stat st;
	ssize_t n;

	fd = open("/sys/class/dmi/id/modalias", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, modalias, sizeof(modalias) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	modalias[n] = '\0';
	modalias[strcspn(modalias, "\n")] = '\0';

	fd = open(dsmil_ko(), O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !(buf = malloc(st.st_size + 1)) ||
	    read(fd, buf, st.st_size) != st.st_size) {
		ret = -EIO;
		goto out;
	}
	buf[st.st_size] = '\0';
	end = buf + st.st_size;
	for (p = buf; p < end; p++) {
		if (*p != 'a' || end - p < (ssize_t)sizeof(key) ||
		    memcmp(p, key, sizeof(key) - 1))
			continue;
		if (!fnmatch(p + strlen("alias="), modalias, 0))
			ret = 1;
		else if (ret == -ENOENT)
			ret = 0;
		p += strlen(p);
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

bool dsmil_loaded(void)
{
	return file_exists(DSMIL_SYSFS);
}

int dsmil_refcnt(void)
{
	char line[512], name[64];
	int ref = -1, r;
	FILE *f = fopen("/proc/modules", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long size;

		if (sscanf(line, "%63s %lu %d", name, &size, &r) == 3 &&
		    !strcmp(name, "dsmil")) {
			ref = r;
			break;
		}
	}
	fclose(f);
	return ref;
}

int dsmil_load(const char *params)
{
	int fd = open(dsmil_ko(), O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params ? params : "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

int dsmil_unload(void)
{
	return syscall(SYS_delete_module, "dsmil", O_NONBLOCK) ? -errno : 0;
}

int dsmil_unload_wait(unsigned int ms)
{
	uint64_t end = now_ns() + ms * NSEC_PER_MSEC;
	int ret;

	for (;;) {
		ret = dsmil_unload();
		if (ret != -EAGAIN && ret != -EBUSY)
			return ret;
		if (now_ns() > end)
			return ret;
		usleep(10000);
	}
}

int dsmil_reload_wait(const char *params, unsigned int ms)
{
	int ret;

	if (dsmil_loaded()) {
		ret = dsmil_unload_wait(ms);
		if (ret)
			return ret;
	}
	return dsmil_load(params);
}

int dsmil_reload(const char *params)
{
	return dsmil_reload_wait(params, 5000);
}

bool dsmil_can_reload(void)
{
	static const char magic[] = "~Module signature appended~\n";
	char tail[sizeof(magic) - 1];
	bool ok = false;
	int fd;

	if (!locked_down())
		return true;
	fd = open(dsmil_ko(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (lseek(fd, -(off_t)sizeof(tail), SEEK_END) >= 0 &&
	    read(fd, tail, sizeof(tail)) == (ssize_t)sizeof(tail))
		ok = !memcmp(tail, magic, sizeof(tail));
	close(fd);
	return ok;
}

int dsmil_open(void)
{
	return open(DSMIL_DEV, O_RDWR | O_CLOEXEC);
}

int dsmil_close_all(void)
{
	char link[64], target[64];
	struct dirent *e;
	int n = 0, fd;
	ssize_t len;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (!strcmp(target, DSMIL_DEV) && !close(fd))
			n++;
	}
	closedir(d);
	return n;
}

/* The load-time parameters and what a plain load gives them. */
static const struct {
	const char *name;
	const char *str;	/* a string parameter's value */
	long long num;		/* a number's */
} param_defaults[] = {
	{ "smi_backend", "auto", 0 },
	{ "smi_timeout_ms", NULL, 50 },
	{ "smi_hang_ms", NULL, 20 },
	{ "smi_min_interval_us", NULL, 100 },
	{ "smi_fault_limit", NULL, 3 },
	{ "smi_busy_retries", NULL, 3 },
	{ "mmio_base", NULL, 0 },
	{ "mmio_size", NULL, DSMIL_DEFAULT_REGION_SIZE },
	{ "max_resident", NULL, 8 },
	{ "mmio_idle_ms", NULL, 5000 },
};

bool dsmil_params_default(void)
{
	unsigned int i;
	char buf[64];

	if (!dsmil_loaded())
		return false;
	for (i = 0; i < ARRAY_SIZE(param_defaults); i++) {
		if (!param_defaults[i].str) {
			if (dsmil_param_num(param_defaults[i].name) !=
			    param_defaults[i].num)
				return false;
			continue;
		}
		if (dsmil_param_read(param_defaults[i].name, buf, sizeof(buf)) <= 0)
			return false;
		buf[strcspn(buf, "\n")] = '\0';
		if (strcmp(buf, param_defaults[i].str))
			return false;
	}
	return true;
}

/* The debugfs knobs' values after a load (see dsmil_smi_sim.c, dsmil_mmio.c). */
static const struct {
	const char *dir, *name, *def;
} knob_defaults[] = {
	{ DSMIL_SIM_DIR, "fault", "none" },
	{ DSMIL_SIM_DIR, "error_code", "1" },
	{ DSMIL_SIM_DIR, "slow_ms", "0" },
	{ DSMIL_SIM_DIR, "latency_us", "0" },
	{ DSMIL_SIM_DIR, "flaky_every", "0" },
	{ DSMIL_SIM_DIR, "abort_fails", "0" },
	{ DSMIL_SIM_DIR, "reset_fails", "0" },
	{ DSMIL_SIM_DIR, "busy_submits", "0" },
	{ DSMIL_SIM_DIR, "drop_writes", "0" },
	{ DSMIL_MMIO_DIR, "fail_next_maps", "0" },
	{ DSMIL_MMIO_DIR, "busy_wait_ms", "100" },
};

/* A knob that can be read and is not at its default. */
static bool knob_changed(const char *dir, const char *name, const char *def)
{
	char buf[64];

	if (dir_read_text(dir, name, buf, sizeof(buf)) <= 0)
		return false;
	buf[strcspn(buf, "\n")] = '\0';
	return strcmp(buf, def) != 0;
}

int dsmil_restore_defaults(void)
{
	bool sim_reset = false;
	unsigned int i;
	int ret;

	if (!dsmil_loaded())
		return dsmil_load(NULL);
	if (!dsmil_params_default()) {
		if (!dsmil_can_reload())
			return -EPERM;
		dsmil_close_all();
		return dsmil_reload(NULL);
	}
	ret = dsmil_param_write("allow_writes", "0");
	for (i = 0; i < ARRAY_SIZE(knob_defaults); i++) {
		if (!knob_changed(knob_defaults[i].dir, knob_defaults[i].name,
				  knob_defaults[i].def))
			continue;
		/* One write puts every sim knob back; mmio/ has no reset. */
		if (!strcmp(knob_defaults[i].dir, DSMIL_SIM_DIR))
			sim_reset = true;
		else
			dir_writef(knob_defaults[i].dir, knob_defaults[i].name,
				   "%s", knob_defaults[i].def);
	}
	if (sim_reset)
		sim_knob_write("reset", "1");
	if (knob_changed(DSMIL_TRACEFS "/events", "dsmil/enable", "0"))
		trace_enable("dsmil", false);
	return ret;
}

/* ----------------------------------------- parameters and debugfs knobs */

int dir_read_text(const char *dir, const char *name, char *buf, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_text(path, buf, len);
}

long long dir_read_num(const char *dir, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_num(path);
}

int dir_writef(const char *dir, const char *name, const char *fmt, ...)
{
	char path[128];
	va_list ap;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	va_start(ap, fmt);
	ret = vwritef(path, fmt, ap);
	va_end(ap);
	return ret;
}

long long sim_stat(const char *name)
{
	FILE *f = fopen(DSMIL_SIM_DIR "/stats", "re");
	long long v = -1;
	char line[80];
	size_t n = strlen(name);

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == '=')
			v = strtoll(line + n + 1, NULL, 0);
	fclose(f);
	return v;
}

bool sim_token_parse(const char *line, unsigned int *token,
		     unsigned int *value, unsigned long long *reads,
		     unsigned long long *writes)
{
	char name[16];

	return sscanf(line, "%x %15s value=%x reads=%llu writes=%llu",
		      token, name, value, reads, writes) == 5;
}

int sim_token(unsigned int token, unsigned long long *reads,
	      unsigned long long *writes, unsigned int *value)
{
	FILE *f = fopen(DSMIL_SIM_DIR "/tokens", "re");
	char line[160];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long r, w;
		unsigned int tok, v;

		if (!sim_token_parse(line, &tok, &v, &r, &w) || tok != token)
			continue;
		if (reads)
			*reads = r;
		if (writes)
			*writes = w;
		if (value)
			*value = v;
		ret = 0;
	}
	fclose(f);
	return ret;
}

long long sim_reads(unsigned int token)
{
	unsigned long long r;

	return sim_token(token, &r, NULL, NULL) ? -1 : (long long)r;
}

long long sim_writes(unsigned int token)
{
	unsigned long long w;

	return sim_token(token, NULL, &w, NULL) ? -1 : (long long)w;
}

/* --------------------------------------------------------------- tracing */

int trace_clear(void)
{
	/* Opening "trace" for writing with O_TRUNC empties the buffer. */
	int fd = open(DSMIL_TRACEFS "/trace", O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int trace_enable(const char *event, bool on)
{
	char path[160];

	snprintf(path, sizeof(path), DSMIL_TRACEFS "/events/%s/enable", event);
	return write_text(path, on ? "1" : "0");
}

int trace_read(char *buf, size_t size)
{
	int fd = open(DSMIL_TRACEFS "/trace", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return -errno;
	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	close(fd);
	return len;
}

/* ------------------------------------------------------------ kernel log */

/* Room for any record /dev/kmsg hands out (a short buffer gets -EINVAL). */
#define KMSG_REC	8192

void kmsg(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		/* A missing marker only costs attribution. */
		if (write(fd, buf, strlen(buf)) < 0)
			buf[0] = '\0';
		close(fd);
	}
}

int kmsg_open_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The next record, NUL-terminated, into @rec: its length, or 0 at the end. */
static ssize_t kmsg_record(int fd, char *rec, size_t size)
{
	ssize_t n;

	do {
		n = read(fd, rec, size - 1);
		/* EPIPE: overwritten records, go on from the oldest. */
	} while (n < 0 && (errno == EPIPE || errno == EINTR));
	if (n <= 0)
		return 0;
	rec[n] = '\0';
	return n;
}

int kmsg_next(int fd, char *line, size_t size)
{
	char rec[KMSG_REC];
	char *msg;
	size_t len;

	if (!kmsg_record(fd, rec, sizeof(rec)))
		return 0;
	msg = strchr(rec, ';');
	msg = msg ? msg + 1 : rec;
	len = strcspn(msg, "\n");
	if (len >= size)
		len = size - 1;
	memcpy(line, msg, len);
	line[len] = '\0';
	return 1;
}

bool kmsg_find(int fd, const char *needle, ...)
{
	char line[KMSG_REC];
	const char *needles[8];
	unsigned int n = 0, i;
	va_list ap;

	va_start(ap, needle);
	for (; needle && n < ARRAY_SIZE(needles); needle = va_arg(ap, const char *))
		needles[n++] = needle;
	va_end(ap);
	while (kmsg_next(fd, line, sizeof(line))) {
		for (i = 0; i < n && strstr(line, needles[i]); i++)
			;
		if (i == n)
			return true;
	}
	return false;
}

int kmsg_collect(int fd, FILE *out, int *dsmil_lines)
{
	char buf[KMSG_REC];
	int n = 0;

	for (;;) {
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		unsigned long prio;
		char *semi, *nl;

		if (len < 0 && (errno == EPIPE || errno == EINTR))
			continue;	/* overwritten: go on from the oldest */
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
		if ((prio >> 3) == 0 && dsmil_lines &&
		    (!strncmp(semi + 1, "dsmil: ", 7) ||
		     !strncmp(semi + 1, "dsmil dsmil: ", 13)))
			(*dsmil_lines)++;
		if (out)
			fprintf(out, "%s\n", buf);
	}
}

long long kmsg_last_seq(void)
{
	char buf[KMSG_REC];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	long long last = -1;
	char *p;

	if (fd < 0)
		return -1;
	while (kmsg_record(fd, buf, sizeof(buf))) {
		p = strchr(buf, ',');
		if (p)
			last = strtoll(p + 1, NULL, 10);
	}
	close(fd);
	return last;
}

bool kmsg_grep(const char *regex)
{
	char line[KMSG_REC];
	bool found = false;
	regex_t re;
	int fd;

	if (regcomp(&re, regex, REG_EXTENDED | REG_NOSUB))
		return false;
	/* Opened without seeking: from the oldest record still in the ring. */
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	while (fd >= 0 && !found && kmsg_next(fd, line, sizeof(line)))
		found = !regexec(&re, line, 0, NULL, 0);
	if (fd >= 0)
		close(fd);
	regfree(&re);
	return found;
}

/* -------------------------------------------------------------- lockdown */

const char *lockdown_name(enum dsmil_lockdown l)
{
	return l == LD_NONE ? "none" :
	       l == LD_INTEGRITY ? "integrity" : "confidentiality";
}

enum dsmil_lockdown lockdown_mode(void)
{
	char buf[128];

	/* "[none] integrity confidentiality": the current one in brackets. */
	if (read_text("/sys/kernel/security/lockdown", buf, sizeof(buf)) <= 0)
		return LD_NONE;
	if (strstr(buf, "[integrity]"))
		return LD_INTEGRITY;
	if (strstr(buf, "[confidentiality]"))
		return LD_CONFIDENTIALITY;
	return LD_NONE;
}

enum dsmil_lockdown lockdown_cached(void)
{
	static int mode = -1;

	if (mode < 0)
		mode = lockdown_mode();
	return mode;
}

bool locked_down(void)
{
	return lockdown_mode() != LD_NONE;
}

/* ------------------------------------------------------------ privileges */

int caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return syscall(SYS_capget, &h, d);
}

int caps_set(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return syscall(SYS_capset, &h, d);
}

bool cap_effective(int cap)
{
	struct __user_cap_data_struct d[2] = {};

	if (caps_get(d))
		return false;
	return d[cap / 32].effective & (1U << (cap % 32));
}

int drop_cap(int cap)
{
	struct __user_cap_data_struct d[2] = {};

	if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) || caps_get(d))
		return -1;
	d[cap / 32].effective &= ~(1U << (cap % 32));
	d[cap / 32].permitted &= ~(1U << (cap % 32));
	d[cap / 32].inheritable &= ~(1U << (cap % 32));
	if (caps_set(d))
		return -1;
	return cap_effective(cap) ? -1 : 0;
}

int drop_to_user(void)
{
	struct __user_cap_data_struct d[2] = {};

	if (setgroups(0, NULL) || setresgid(1000, 1000, 1000) ||
	    setresuid(1000, 1000, 1000))
		return -1;
	/* From root to non-root clears the sets already; be explicit. */
	if (caps_set(d) || caps_get(d))
		return -1;
	return d[0].effective | d[0].permitted | d[1].effective |
	       d[1].permitted ? -1 : 0;
}

/* ------------------------------------------------ ioctls and snapshots */

/* @fd, or a descriptor of its own for one call (-1: -errno in *@ret). */
static int fd_get(int fd, int *ret)
{
	if (fd >= 0)
		return fd;
	fd = dsmil_open();
	if (fd < 0)
		*ret = -errno;
	return fd;
}

int dsmil_ioc(int fd, unsigned long cmd, void *arg)
{
	int own, ret = 0;

	own = fd_get(fd, &ret);
	if (own < 0)
		return ret;
	ret = ioctl(own, cmd, arg) ? -errno : 0;
	if (own != fd)
		close(own);
	return ret;
}

int dsmil_info(int fd, struct dsmil_info *info)
{
	memset(info, 0, sizeof(*info));
	return dsmil_ioc(fd, DSMIL_IOC_INFO, info);
}

unsigned int dsmil_features(void)
{
	struct dsmil_info info;

	return dsmil_info(-1, &info) ? 0 : info.features;
}

const char *dsmil_info_check(const struct dsmil_info *i, unsigned int max_resident)
{
	unsigned int k;

	if (i->abi_version != DSMIL_ABI_VERSION)
		return "abi_version";
	if (i->num_groups != DSMIL_NUM_GROUPS ||
	    i->devs_per_group != DSMIL_DEVS_PER_GROUP ||
	    i->num_devices != DSMIL_NUM_DEVICES)
		return "device geometry";
	if (i->chunk_size != DSMIL_CHUNK_SIZE)
		return "chunk_size";
	if (i->region_size != DSMIL_DEFAULT_REGION_SIZE ||
	    i->num_chunks != DSMIL_DEFAULT_REGION_SIZE / DSMIL_CHUNK_SIZE)
		return "region geometry";
	if (i->region_base != 0)
		return "region_base (sim must be 0)";
	if (max_resident && i->max_resident != max_resident)
		return "max_resident";
	if (!memchr(i->smi_backend, 0, sizeof(i->smi_backend)) ||
	    !memchr(i->mmio_backend, 0, sizeof(i->mmio_backend)))
		return "backend name not NUL-terminated";
	if ((i->features & DSMIL_FEAT_SMI) &&
	    strcmp((const char *)i->smi_backend, "sim"))
		return "smi_backend (default is sim)";
	if ((i->features & DSMIL_FEAT_MMIO) &&
	    strcmp((const char *)i->mmio_backend, "sim"))
		return "mmio_backend (default is sim)";
	if (i->features & ~(DSMIL_FEAT_DEVICES | DSMIL_FEAT_SMI |
			    DSMIL_FEAT_MMIO | DSMIL_FEAT_WRITES |
			    DSMIL_FEAT_LOCKDOWN | DSMIL_FEAT_WRITE_FENCE |
			    DSMIL_FEAT_ASYNC))
		return "unknown feature bits";
	if (!(i->features & DSMIL_FEAT_WRITE_FENCE))
		return "no FEAT_WRITE_FENCE (every build has the hand-off fence)";
	if (!(i->features & DSMIL_FEAT_LOCKDOWN) != (lockdown_cached() == LD_NONE))
		return "FEAT_LOCKDOWN disagrees with /sys/kernel/security/lockdown";
	for (k = 0; k < ARRAY_SIZE(i->reserved); k++)
		if (i->reserved[k])
			return "reserved not zero";
	return NULL;
}

int dsmil_stats(int fd, struct dsmil_stats *st)
{
	memset(st, 0, sizeof(*st));
	return dsmil_ioc(fd, DSMIL_IOC_STATS, st);
}

int smi_status(int fd, struct dsmil_smi_status *st)
{
	memset(st, 0, sizeof(*st));
	return dsmil_ioc(fd, DSMIL_IOC_SMI_STATUS, st);
}

int smi_recover(int fd)
{
	return dsmil_ioc(fd, DSMIL_IOC_SMI_RECOVER, NULL);
}

int smi_wait_idle(int fd, struct dsmil_smi_status *st, unsigned int ms)
{
	uint64_t end = now_ns() + ms * NSEC_PER_MSEC;
	int ret;

	for (;;) {
		ret = smi_status(fd, st);
		if (ret)
			return ret;
		if (!st->in_flight)
			return 0;
		if (now_ns() > end)
			return -ETIMEDOUT;
		sleep_ms(10);
	}
}

const char *smi_identity(const struct dsmil_smi_status *s)
{
	uint64_t sum = s->successes + s->errors + s->timeouts + s->hangs +
		       s->faulted_rejects + s->refused;

	return s->requests == sum ? NULL :
	       "requests != successes+errors+timeouts+hangs+faulted_rejects+refused";
}

uint64_t smi_hist_total(const struct dsmil_smi_status *s)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < DSMIL_SMI_HIST_BUCKETS; i++)
		n += s->latency_hist[i];
	return n;
}

int mmio_status_chunks(int fd, struct dsmil_mmio_status *st,
		       struct dsmil_chunk_stat *cs, uint32_t n)
{
	memset(st, 0, sizeof(*st));
	st->chunk_buf = (uintptr_t)cs;
	st->chunk_count = n;
	return dsmil_ioc(fd, DSMIL_IOC_MMIO_STATUS, st);
}

int mmio_status(int fd, struct dsmil_mmio_status *st)
{
	return mmio_status_chunks(fd, st, NULL, 0);
}

unsigned int popcount_map(const __u64 *map, unsigned int words)
{
	unsigned int i, n = 0;

	for (i = 0; i < words; i++)
		n += __builtin_popcountll(map[i]);
	return n;
}

bool map_bit(const __u64 *map, unsigned int i)
{
	return map[i / 64] & (1ULL << (i % 64));
}

const char *mmio_identity(const struct dsmil_mmio_status *m)
{
	if (m->maps - m->unmaps != m->resident)
		return "maps - unmaps != resident";
	if (m->resident > m->max_resident)
		return "resident > max_resident";
	if (popcount_map(m->resident_map, ARRAY_SIZE(m->resident_map)) !=
	    m->resident)
		return "popcount(resident_map) != resident";
	return NULL;
}

int mmio_rw(int fd, unsigned long cmd, __u64 off, __u8 width, __u32 flags,
	    __u16 dev, __u64 *val)
{
	struct dsmil_mmio_rw rw = {
		.offset = off, .width = width, .flags = flags, .device = dev,
		.value = val ? *val : 0,
	};
	int ret = dsmil_ioc(fd, cmd, &rw);

	if (!ret && val)
		*val = rw.value;
	return ret;
}

int mmio_bulk(int fd, unsigned long cmd, __u64 off, void *buf, __u64 len,
	      __u32 flags, __u16 dev, __u64 *done)
{
	struct dsmil_mmio_bulk b = {
		.offset = off, .length = len, .buf = (uintptr_t)buf,
		.flags = flags, .device = dev, .done = 0xdeadbeef,
	};
	int ret = dsmil_ioc(fd, cmd, &b);

	if (done)
		*done = b.done;
	return ret;
}

int dev_info(int fd, unsigned int id, struct dsmil_dev_info *di)
{
	memset(di, 0, sizeof(*di));
	di->id = id;
	return dsmil_ioc(fd, DSMIL_IOC_DEV_INFO, di);
}

int dev_state(int fd, unsigned int id)
{
	struct dsmil_dev_info di;
	int ret = dev_info(fd, id, &di);

	return ret ? ret : di.state;
}

int dev_transition(int fd, unsigned int id, unsigned int target,
		   struct dsmil_transition *out)
{
	struct dsmil_transition t = { .id = id, .target = target };
	int ret = dsmil_ioc(fd, DSMIL_IOC_DEV_TRANSITION, &t);

	if (out)
		*out = t;
	return ret;
}

int dev_bring_up(int fd, unsigned int id, bool active)
{
	int own, st, ret = 0;

	own = fd_get(fd, &ret);
	if (own < 0)
		return ret;
	st = dev_state(own, id);
	if (st < 0)
		ret = st;
	if (!ret && st == DSMIL_DEV_LOCKED) {
		ret = dev_transition(own, id, DSMIL_DEV_ERROR, NULL);
		st = DSMIL_DEV_ERROR;
	}
	if (!ret && (st == DSMIL_DEV_OFFLINE || st == DSMIL_DEV_ERROR)) {
		ret = dev_transition(own, id, DSMIL_DEV_INITIALIZING, NULL);
		st = DSMIL_DEV_INITIALIZING;
	}
	if (!ret && st == DSMIL_DEV_INITIALIZING) {
		ret = dev_transition(own, id, DSMIL_DEV_READY, NULL);
		st = DSMIL_DEV_READY;
	}
	if (!ret && active && st == DSMIL_DEV_READY)
		ret = dev_transition(own, id, DSMIL_DEV_ACTIVE, NULL);
	if (own != fd)
		close(own);
	return ret;
}

int dev_list(int fd, struct dsmil_dev_info *di, unsigned int count)
{
	struct dsmil_dev_list dl = { .buf = (uintptr_t)di, .count = count };
	int ret = dsmil_ioc(fd, DSMIL_IOC_DEV_LIST, &dl);

	if (ret)
		return ret;
	return dl.total == DSMIL_NUM_DEVICES ? (int)dl.count : -EPROTO;
}

int group_estop(int fd, unsigned int group, unsigned int *locked)
{
	struct dsmil_group_stop gs = { .group = group };
	int ret = dsmil_ioc(fd, DSMIL_IOC_GROUP_ESTOP, &gs);

	if (locked)
		*locked = gs.locked;
	return ret;
}

/* ------------------------------------------------- the ivshmem BAR (dsmil-vm) */

int bar_info(__u64 *base, __u64 *size)
{
	unsigned long long b, s;
	char buf[128];

	if (read_text("/run/dsmil-bar", buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "%llx %llu", &b, &s) != 2)
		return -1;
	*base = b;
	*size = s;
	return 0;
}

int bar_sysfs_dir(char *dir, size_t len)
{
	if (read_text("/run/dsmil-bar-dev", dir, len) <= 0)
		return -1;
	dir[strcspn(dir, "\n")] = '\0';
	return 0;
}

void *bar_map(__u64 size, bool writable)
{
	char dir[256], path[300];
	void *p;
	int fd;

	if (bar_sysfs_dir(dir, sizeof(dir)))
		return NULL;
	snprintf(path, sizeof(path), "%s/enable", dir);
	if (read_num(path) != 1 && write_text(path, "1"))
		return NULL;
	snprintf(path, sizeof(path), "%s/resource2", dir);
	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, size, PROT_READ | (writable ? PROT_WRITE : 0),
		 MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}
