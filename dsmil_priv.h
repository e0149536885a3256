/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dsmil: the driver instance and the interfaces between its parts.
 *
 * All state lives in one struct dsmil.  The module creates one instance at
 * load; KUnit suites create their own with fake backends, which is why no
 * part of the driver keeps state in globals (module parameters are read
 * once, into the instance's configuration, at creation).
 */
#ifndef _DSMIL_PRIV_H
#define _DSMIL_PRIV_H

#include <linux/bits.h>
#include <linux/device.h>
#include <linux/miscdevice.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <linux/stddef.h>
#include <linux/atomic.h>
#include <linux/types.h>
#include <kunit/visibility.h>
#ifdef DSMIL_HAVE_STATIC_STUB		/* Kbuild: the tree has it (6.3+) */
#include <kunit/static_stub.h>
#else
/* Kernels before 6.3 have no static stubs (nor the tests that use them). */
#define KUNIT_STATIC_STUB_REDIRECT(...) do {} while (0)
#endif

#include "dsmil_ioctl.h"
#include "dsmil_logic.h"
#include "dsmil_state.h"
#include "dsmil_smi.h"
#include "dsmil_mmio.h"
#include "dsmil_audit.h"
#include "dsmil_uevent.h"
#include "dsmil_client.h"

#define DSMIL_DRV_NAME	"dsmil"

/**
 * struct dsmil_config - what the module parameters asked for at load.
 * @dev:      the platform device the instance belongs to, which its log
 *            lines name; NULL for a KUnit instance.
 * @smi:      SMI engine settings.
 * @mmio:     chunk mapper settings.
 * @mmio_ops: the mapper's backend: dsmil_mmio_backend() of mmio_base at
 *            load; a KUnit suite's fake in tests.
 */
struct dsmil_config {
	struct device *dev;
	struct dsmil_smi_config smi;
	struct dsmil_mmio_config mmio;
	const struct dsmil_mmio_ops *mmio_ops;
};

/**
 * struct dsmil - one driver instance.
 * @misc:     /dev/dsmil; registered last at load, removed first at unload.
 * @misc_registered: @misc is registered (the platform device's teardown
 *            deregisters it only then).
 * @cfg:      configuration the instance was created with.
 * @state:    device model and state machine (dsmil_state.c).
 * @smi:      SMI engine (dsmil_smi.c).
 * @smi_tokens: the token layer over it (dsmil_smi_token.c).
 * @mmio:     chunk mapper (dsmil_mmio*.c).
 * @waudit:   the write audit (dsmil_audit.c).
 * @uevents:  the uevent sender (dsmil_uevent.c).
 * @clients:  what the clients of /dev/dsmil share (dsmil_client.c).
 * @debugfs:  debugfs directory (fault injection knobs), may be NULL.
 * @ioctls:   ioctl calls.
 * @bad_input: calls refused for their argument.
 * @denied:   calls refused by capability, lockdown or allow_writes.
 * @refusals: refused transitions and accesses, by enum dsmil_reason.
 * @request_ids: last request id handed out (dsmil_next_request_id()).
 * @suspends: system sleeps entered (the PM suspend/freeze callback ran).
 * @resumes:  system sleeps left (the PM resume/thaw callback ran).
 */
struct dsmil {
	struct miscdevice misc;
	bool misc_registered;
	struct dsmil_config cfg;
	struct dsmil_state state;
	struct dsmil_smi smi;
	struct dsmil_smi_tokens smi_tokens;
	struct dsmil_mmio mmio;
	struct dsmil_write_audit waudit;
	struct dsmil_uevents uevents;
	struct dsmil_clients clients;
	struct dentry *debugfs;
	atomic64_t ioctls;
	atomic64_t bad_input;
	atomic64_t denied;
	atomic64_t refusals[DSMIL_REASON_COUNT];
	atomic64_t request_ids;
	atomic64_t suspends;
	atomic64_t resumes;
};

/*
 * One id per hardware request (an SMI, an MMIO write), from 1, unique for
 * the instance's life: replies, the write audit and log lines name it, so
 * that an outcome learned late can be matched to the request.
 */
static inline u64 dsmil_next_request_id(struct dsmil *dsm)
{
	return atomic64_inc_return(&dsm->request_ids);
}

/*
 * Log lines.  Every line is about the one platform device, so they go
 * through dev_printk(): "dsmil dsmil: <kind>: key=value ..." in dmesg, and
 * SUBSYSTEM=platform DEVICE=+platform:dsmil in the /dev/kmsg record, which
 * journalctl and dsmil-monitor can select on.  A KUnit instance has no
 * device: its lines keep the module's "dsmil: " prefix (each file's pr_fmt).  The bodies are the
 * documented contract (Documentation/dsmil-messages.rst).
 */
#define dsmil_printk(dev_fn, pr_fn, dev, fmt, ...)			\
	do {								\
		const struct device *__dev = (dev);			\
									\
		if (__dev)						\
			dev_fn(__dev, fmt, ##__VA_ARGS__);		\
		else							\
			pr_fn(fmt, ##__VA_ARGS__);			\
	} while (0)
#define dsmil_err(dev, fmt, ...) \
	dsmil_printk(dev_err, pr_err, dev, fmt, ##__VA_ARGS__)
#define dsmil_warn(dev, fmt, ...) \
	dsmil_printk(dev_warn, pr_warn, dev, fmt, ##__VA_ARGS__)
#define dsmil_notice(dev, fmt, ...) \
	dsmil_printk(dev_notice, pr_notice, dev, fmt, ##__VA_ARGS__)
#define dsmil_info(dev, fmt, ...) \
	dsmil_printk(dev_info, pr_info, dev, fmt, ##__VA_ARGS__)
/* One rate limit per call site, as pr_*_ratelimited() and dev_*_ratelimited(). */
#define dsmil_printk_ratelimited(dev_fn, pr_fn, dev, fmt, ...)		\
	do {								\
		static DEFINE_RATELIMIT_STATE(_rs,			\
					      DEFAULT_RATELIMIT_INTERVAL, \
					      DEFAULT_RATELIMIT_BURST);	\
									\
		if (__ratelimit(&_rs))					\
			dsmil_printk(dev_fn, pr_fn, dev, fmt, ##__VA_ARGS__); \
	} while (0)
#define dsmil_warn_ratelimited(dev, fmt, ...) \
	dsmil_printk_ratelimited(dev_warn, pr_warn, dev, fmt, ##__VA_ARGS__)
#define dsmil_notice_ratelimited(dev, fmt, ...) \
	dsmil_printk_ratelimited(dev_notice, pr_notice, dev, fmt, ##__VA_ARGS__)

/* The device an instance's lines name (NULL: a KUnit instance). */
static inline struct device *dsmil_dev(const struct dsmil *dsm)
{
	return dsm->cfg.dev;
}

struct dsmil *dsmil_create(const struct dsmil_config *cfg,
			   struct dentry *debugfs);
struct dsmil *dsmil_create_with(const struct dsmil_config *cfg,
				const struct dsmil_smi_transport *smi,
				struct dentry *debugfs);
void dsmil_destroy(struct dsmil *dsm);

/*
 * The ioctl table.  Each part of the driver owns the commands of one block
 * of 16 numbers (0x00 main, 0x10 device model, 0x20 SMI, 0x30 MMIO) and
 * describes them here; dsmil_main.c looks a command up by number, checks its
 * size and direction, copies the argument in, rejects non-zero reserved
 * fields, applies the command's policy and only then calls the handler with
 * the kernel copy of the argument.  After the handler it zeroes the reply's
 * physical address (@paddr) for a caller who may not see it.
 */
#define DSMIL_POL_ADMIN		BIT(0)	/* CAP_SYS_ADMIN */
#define DSMIL_POL_RAWIO		BIT(1)	/* CAP_SYS_RAWIO */
#define DSMIL_POL_NOLOCKDOWN	BIT(2)	/* refused under LOCKDOWN_DEV_MEM */
#define DSMIL_POL_WRITE		BIT(3)	/* needs the allow_writes parameter */
#define DSMIL_POL_COPYOUT_ERR	BIT(4)	/* copy the argument back on error too */

/* struct dsmil_span, DSMIL_MAX_RSVD: dsmil_logic.h. */
#define DSMIL_SPAN(type, field) \
	{ offsetof(type, field), sizeof_field(type, field) }
#define DSMIL_RSVD(type, field)	DSMIL_SPAN(type, field)

/*
 * @paddr: a physical address in the reply, zeroed by the dispatcher for a
 * caller without CAP_SYS_ADMIN (as /proc/iomem does); len 0: none.
 * @arg_policy: optional: DSMIL_POL_* the argument adds to @policy (a
 * submitted write needs what a write does), applied once it is copied in.
 * @client_handler: instead of @handler, for a command of the open file's
 * own client (dsmil_client.c).
 */
struct dsmil_ioctl_desc {
	unsigned int cmd;
	unsigned int policy;
	unsigned int (*arg_policy)(const void *arg);
	int (*handler)(struct dsmil *dsm, void *arg);
	int (*client_handler)(struct dsmil_client *cl, void *arg);
	struct dsmil_span rsvd[DSMIL_MAX_RSVD];
	struct dsmil_span paddr;
	const char *name;
};

struct dsmil_ioctl_table {
	const struct dsmil_ioctl_desc *desc;
	unsigned int count;
};

extern const struct dsmil_ioctl_table dsmil_state_ioctls;
extern const struct dsmil_ioctl_table dsmil_smi_ioctls;
extern const struct dsmil_ioctl_table dsmil_mmio_ioctls;
extern const struct dsmil_ioctl_table dsmil_client_ioctls;

/*
 * Refusal bookkeeping shared by all parts (each logs its own rate-limited
 * line).  Inline over the instance's counters, so that counting a refusal
 * is no call into the file that owns the instance: the parts below it call
 * nothing upward.
 */
static inline void dsmil_count_refusal(struct dsmil *dsm,
				       enum dsmil_reason reason)
{
	if (reason < DSMIL_REASON_COUNT)
		atomic64_inc(&dsm->refusals[reason]);
}

#if IS_ENABLED(CONFIG_KUNIT)
/* Internals the KUnit suites (tests/) call; static otherwise. */
const struct dsmil_ioctl_desc *dsmil_ioctl_lookup(unsigned int cmd);
const struct dsmil_span *
dsmil_ioctl_bad_reserved(const struct dsmil_ioctl_desc *d, const void *arg);
#endif

static inline struct dsmil *dsmil_from_state(struct dsmil_state *st)
{
	return container_of(st, struct dsmil, state);
}

static inline struct dsmil *dsmil_from_smi(struct dsmil_smi *smi)
{
	return container_of(smi, struct dsmil, smi);
}

static inline struct dsmil *dsmil_from_waudit(struct dsmil_write_audit *wa)
{
	return container_of(wa, struct dsmil, waudit);
}

static inline struct dsmil *dsmil_from_mmio(struct dsmil_mmio *mm)
{
	return container_of(mm, struct dsmil, mmio);
}

/* The device a part's log lines name (NULL: a KUnit instance). */
static inline struct device *dsmil_state_dev(struct dsmil_state *st)
{
	return dsmil_dev(dsmil_from_state(st));
}

static inline struct device *dsmil_smi_dev(struct dsmil_smi *smi)
{
	return dsmil_dev(dsmil_from_smi(smi));
}

static inline struct device *dsmil_mmio_dev(struct dsmil_mmio *mm)
{
	return dsmil_dev(dsmil_from_mmio(mm));
}

#endif /* _DSMIL_PRIV_H */
