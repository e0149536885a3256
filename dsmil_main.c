// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: Dell Latitude 5450 MIL-SPEC "DSMIL" device driver.
 *
 * This file owns the module, its binding to the machine (a platform driver
 * and the platform device the module creates; a DMI table so that udev
 * loads the module on a Latitude 5450), the driver instance, /dev/dsmil and
 * the ioctl dispatcher.  Every command is described by a table entry (see
 * dsmil_priv.h); the dispatcher does all argument and policy checking from
 * that entry before any handler runs, so a handler never sees a malformed
 * argument nor a caller the policy refused.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/debugfs.h>
#include <linux/dmi.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/platform_device.h>
#include <linux/pm.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>

#include "dsmil_priv.h"

static bool allow_writes;
module_param(allow_writes, bool, 0644);
MODULE_PARM_DESC(allow_writes,
		 "Allow hardware writes (token and MMIO writes); default off");

static char *smi_backend = "auto";
module_param(smi_backend, charp, 0444);
MODULE_PARM_DESC(smi_backend,
		 "SMI backend: auto (default: dell-smbios on a Latitude 5450 whose Dell stack is present, else sim), sim or dell-smbios");

/*
 * The SMI timing defaults belong to the backend (the simulator's are not a
 * real machine's): a value given at load wins, else the backend's applies,
 * and the parameter then shows what is in effect.
 */
static unsigned int smi_timeout_ms = 50;
static unsigned int smi_hang_ms = 20;
static bool smi_timeout_given, smi_hang_given;

static int dsmil_param_set_timing(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_uint(val, kp);

	if (!ret && kp->arg == &smi_timeout_ms)
		smi_timeout_given = true;
	else if (!ret)
		smi_hang_given = true;
	return ret;
}

static const struct kernel_param_ops dsmil_param_timing_ops = {
	.set = dsmil_param_set_timing,
	.get = param_get_uint,
};

module_param_cb(smi_timeout_ms, &dsmil_param_timing_ops, &smi_timeout_ms, 0444);
MODULE_PARM_DESC(smi_timeout_ms,
		 "Bound on a caller's wait for one SMI request, ms (max 1000; default the backend's: sim 50, dell-smbios 250)");

module_param_cb(smi_hang_ms, &dsmil_param_timing_ops, &smi_hang_ms, 0444);
MODULE_PARM_DESC(smi_hang_ms,
		 "Busy with unchanged status (or a call running) this long is a hang, ms (default the backend's: sim 20, dell-smbios 200)");

static unsigned int smi_min_interval_us = 100;
module_param(smi_min_interval_us, uint, 0444);
MODULE_PARM_DESC(smi_min_interval_us,
		 "Minimum spacing between two SMIs, us (default 100)");

static unsigned int smi_fault_limit = 3;
module_param(smi_fault_limit, uint, 0444);
MODULE_PARM_DESC(smi_fault_limit,
		 "Consecutive faults that mark the SMI backend FAULTED (default 3)");

static unsigned int smi_busy_retries = 3;
module_param(smi_busy_retries, uint, 0444);
MODULE_PARM_DESC(smi_busy_retries,
		 "Retries of an SMI submit refused as busy (default 3)");

static unsigned long long mmio_base;
/*
 * A hardware address: lockdown refuses it as a module parameter, and only
 * root may read it back (as /proc/iomem shows addresses to admins only).
 */
module_param_hw(mmio_base, ullong, iomem, 0400);
MODULE_PARM_DESC(mmio_base,
		 "Physical base of the DSMIL region; 0 (default) uses the simulated region");

static unsigned long long mmio_size = DSMIL_DEFAULT_REGION_SIZE;
module_param(mmio_size, ullong, 0444);
MODULE_PARM_DESC(mmio_size,
		 "Size of the DSMIL region, a multiple of 4 MiB (default 360 MiB)");

static unsigned int max_resident = 8;
module_param(max_resident, uint, 0444);
MODULE_PARM_DESC(max_resident, "Chunks mapped at once, 1..90 (default 8)");

static unsigned int mmio_idle_ms = 5000;
module_param(mmio_idle_ms, uint, 0444);
MODULE_PARM_DESC(mmio_idle_ms,
		 "Idle chunks are unmapped after this many ms (default 5000)");

/*
 * Every argument must look the same to 32-bit and 64-bit callers, so that
 * compat_ptr_ioctl() is all compat needs: sizes are multiples of 8 and the
 * u64 fields sit on 8-byte offsets (i386 aligns u64 to 4 only).
 */
static_assert(sizeof(struct dsmil_info) % 8 == 0);
static_assert(sizeof(struct dsmil_stats) % 8 == 0);
static_assert(sizeof(struct dsmil_dev_info) % 8 == 0);
static_assert(sizeof(struct dsmil_dev_list) % 8 == 0);
static_assert(sizeof(struct dsmil_transition) % 8 == 0);
static_assert(sizeof(struct dsmil_group_stop) % 8 == 0);
static_assert(sizeof(struct dsmil_audit_entry) % 8 == 0);
static_assert(sizeof(struct dsmil_audit_read) % 8 == 0);
static_assert(sizeof(struct dsmil_write_record) % 8 == 0);
static_assert(sizeof(struct dsmil_write_audit_read) % 8 == 0);
static_assert(sizeof(struct dsmil_token_req) % 8 == 0);
static_assert(sizeof(struct dsmil_smi_status) % 8 == 0);
static_assert(sizeof(struct dsmil_mmio_rw) % 8 == 0);
static_assert(sizeof(struct dsmil_mmio_bulk) % 8 == 0);
static_assert(sizeof(struct dsmil_chunk_stat) % 8 == 0);
static_assert(sizeof(struct dsmil_mmio_status) % 8 == 0);
static_assert(sizeof(struct dsmil_token_submit) % 8 == 0);
static_assert(sizeof(struct dsmil_token_cancel) % 8 == 0);
static_assert(sizeof(struct dsmil_token_completion) % 8 == 0);

/*
 * The machines DSMIL exists on.  MODULE_DEVICE_TABLE() gives the module a
 * "dmi:" alias that matches /sys/class/dmi/id/modalias there, so udev
 * loads it at boot (as dell-laptop's table does); elsewhere it loads only
 * by hand.  The same table picks the backend for smi_backend=auto.
 */
static const struct dmi_system_id dsmil_dmi_table[] = {
	{
		.ident = "Dell Latitude 5450",
		.matches = {
			DMI_EXACT_MATCH(DMI_SYS_VENDOR, "Dell Inc."),
			DMI_EXACT_MATCH(DMI_PRODUCT_NAME, "Latitude 5450"),
		},
	},
	{ }
};
MODULE_DEVICE_TABLE(dmi, dsmil_dmi_table);

/* The platform device the module creates, and why probing it failed. */
static struct platform_device *dsmil_pdev;
static int dsmil_probe_err;

/* Every open file is a client (dsmil_client.c); dsmil_open() made it. */
static struct dsmil_client *dsmil_client_of(struct file *file)
{
	return file->private_data;
}

static struct dsmil *dsmil_from_file(struct file *file)
{
	return dsmil_client_of(file)->dsm;
}

/*
 * Set once lockdown was seen: security/lockdown only ever raises the level,
 * so the answer cannot go back to "no".
 */
static bool dsmil_lockdown_seen;

/*
 * Is /dev/mem-class access locked down?  The lockdown LSM logs "Lockdown:
 * <comm>: /dev/mem,kmem,port is restricted" on every positive answer, so
 * ask only until the answer is yes, then remember it: INFO, the policy and
 * every write hand-off call this, and each would add a line to the kernel
 * log.  An LSM that answers per caller (SELinux's lockdown class) is then
 * taken at its strictest answer for everyone: refusing more, never less.
 */
static bool dsmil_locked_down(void)
{
	if (READ_ONCE(dsmil_lockdown_seen))
		return true;
	if (!security_locked_down(LOCKDOWN_DEV_MEM))
		return false;
	WRITE_ONCE(dsmil_lockdown_seen, true);
	return true;
}

/*
 * Physical addresses in replies are for CAP_SYS_ADMIN, as /proc/iomem shows
 * them: asked of the caller at each ioctl (not of the opener), without an
 * audit record, since nothing is refused.
 */
static bool dsmil_may_see_addresses(void)
{
	return ns_capable_noaudit(&init_user_ns, CAP_SYS_ADMIN);
}

/*
 * The write policy again, for the hand-off (dsmil_state_handoff_begin()):
 * allow_writes can be cleared and lockdown raised while a request waits.
 */
static int dsmil_write_policy(struct dsmil_state *st)
{
	if (!READ_ONCE(allow_writes))
		return -EACCES;
	if (dsmil_locked_down())
		return -EPERM;
	return 0;
}

static int dsmil_ioc_info(struct dsmil *dsm, void *arg)
{
	struct dsmil_info *info = arg;

	info->abi_version = DSMIL_ABI_VERSION;
	info->features = 0;
	if (dsmil_state_ioctls.count)
		info->features |= DSMIL_FEAT_DEVICES;
	if (dsmil_smi_ioctls.count)
		info->features |= DSMIL_FEAT_SMI;
	if (dsmil_mmio_ioctls.count)
		info->features |= DSMIL_FEAT_MMIO;
	if (READ_ONCE(allow_writes))
		info->features |= DSMIL_FEAT_WRITES;
	if (dsmil_locked_down())
		info->features |= DSMIL_FEAT_LOCKDOWN;
	info->features |= DSMIL_FEAT_WRITE_FENCE;
	if (dsmil_client_ioctls.count)
		info->features |= DSMIL_FEAT_ASYNC;
	info->num_groups = DSMIL_NUM_GROUPS;
	info->devs_per_group = DSMIL_DEVS_PER_GROUP;
	info->num_devices = DSMIL_NUM_DEVICES;
	info->num_chunks = dsm->mmio.num_chunks;
	info->chunk_size = DSMIL_CHUNK_SIZE;
	info->max_resident = dsm->mmio.max_resident;
	info->region_size = dsm->mmio.size;
	/* Hidden from callers without CAP_SYS_ADMIN: see .paddr below. */
	info->region_base = dsm->mmio.base;
	strscpy(info->smi_backend, dsm->smi.backend_name,
		sizeof(info->smi_backend));
	strscpy(info->mmio_backend, dsm->mmio.backend_name,
		sizeof(info->mmio_backend));
	return 0;
}

static int dsmil_ioc_stats(struct dsmil *dsm, void *arg)
{
	struct dsmil_stats *st = arg;
	unsigned int i;

	st->ioctls = atomic64_read(&dsm->ioctls);
	st->bad_input = atomic64_read(&dsm->bad_input);
	st->denied = atomic64_read(&dsm->denied);
	st->transitions = dsmil_state_transitions(&dsm->state);
	for (i = 0; i < DSMIL_REASON_COUNT; i++)
		st->refusals[i] = atomic64_read(&dsm->refusals[i]);
	st->handoffs = atomic64_read(&dsm->state.handoffs);
	st->handoff_refused = atomic64_read(&dsm->state.handoff_refused);
	st->in_doubt = atomic64_read(&dsm->state.in_doubt);
	return 0;
}

static const struct dsmil_ioctl_desc dsmil_main_ioctl_desc[] = {
	{
		.cmd = DSMIL_IOC_INFO,
		.handler = dsmil_ioc_info,
		.paddr = DSMIL_SPAN(struct dsmil_info, region_base),
		.name = "info",
	},
	{
		.cmd = DSMIL_IOC_STATS,
		.handler = dsmil_ioc_stats,
		.name = "stats",
	},
	{
		.cmd = DSMIL_IOC_WRITE_AUDIT_READ,
		/* Who wrote what: for administrators only. */
		.policy = DSMIL_POL_ADMIN,
		.handler = dsmil_waudit_ioc_read,
		.rsvd = {
			DSMIL_RSVD(struct dsmil_write_audit_read, reserved0),
			DSMIL_RSVD(struct dsmil_write_audit_read, reserved),
		},
		.name = "write-audit-read",
	},
};

static const struct dsmil_ioctl_table dsmil_main_ioctls = {
	.desc = dsmil_main_ioctl_desc,
	.count = ARRAY_SIZE(dsmil_main_ioctl_desc),
};

/*
 * Every command, by the part that owns it.  Each part owns the numbers of
 * one block of 16 (0x00 main, 0x10 device model, 0x20 SMI, 0x30 MMIO);
 * the clients' commands (dsmil_client.c) are numbers of the SMI block.
 */
static const struct dsmil_ioctl_table *const dsmil_ioctl_tables[] = {
	&dsmil_main_ioctls,
	&dsmil_state_ioctls,
	&dsmil_smi_ioctls,
	&dsmil_client_ioctls,
	&dsmil_mmio_ioctls,
};

/*
 * Find the table entry for @cmd.  Returns it, or an ERR_PTR: -ENOTTY when no
 * command has that type and number, -EINVAL when one does but @cmd encodes
 * another size or direction.
 */
VISIBLE_IF_KUNIT const struct dsmil_ioctl_desc *dsmil_ioctl_lookup(unsigned int cmd)
{
	unsigned int nr = _IOC_NR(cmd), t, i;

	if (_IOC_TYPE(cmd) != DSMIL_IOC_MAGIC || nr >= DSMIL_IOC_NR_MAX)
		return ERR_PTR(-ENOTTY);

	for (t = 0; t < ARRAY_SIZE(dsmil_ioctl_tables); t++) {
		const struct dsmil_ioctl_table *tbl = dsmil_ioctl_tables[t];

		for (i = 0; i < tbl->count; i++) {
			const struct dsmil_ioctl_desc *d = &tbl->desc[i];

			if (_IOC_NR(d->cmd) != nr)
				continue;
			return d->cmd == cmd ? d : ERR_PTR(-EINVAL);
		}
	}
	return ERR_PTR(-ENOTTY);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_ioctl_lookup);

/* Returns the first reserved span of @d that is not zero in @arg, or NULL. */
VISIBLE_IF_KUNIT const struct dsmil_span *
dsmil_ioctl_bad_reserved(const struct dsmil_ioctl_desc *d, const void *arg)
{
	unsigned int i;

	for (i = 0; i < DSMIL_MAX_RSVD && d->rsvd[i].len; i++)
		if (memchr_inv((const u8 *)arg + d->rsvd[i].off, 0,
			       d->rsvd[i].len))
			return &d->rsvd[i];
	return NULL;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_ioctl_bad_reserved);

static int dsmil_ioctl_policy(struct dsmil *dsm,
			      const struct dsmil_ioctl_desc *d,
			      unsigned int policy)
{
	const char *why;
	int ret;

	if ((policy & DSMIL_POL_ADMIN) && !capable(CAP_SYS_ADMIN)) {
		why = "CAP_SYS_ADMIN";
		ret = -EPERM;
	} else if ((policy & DSMIL_POL_RAWIO) && !capable(CAP_SYS_RAWIO)) {
		why = "CAP_SYS_RAWIO";
		ret = -EPERM;
	} else if ((policy & DSMIL_POL_NOLOCKDOWN) && dsmil_locked_down()) {
		why = "lockdown";
		ret = -EPERM;
	} else if ((policy & DSMIL_POL_WRITE) && !READ_ONCE(allow_writes)) {
		why = "allow_writes";
		ret = -EACCES;
	} else {
		return 0;
	}

	atomic64_inc(&dsm->denied);
	dsmil_notice_ratelimited(dsmil_dev(dsm), "denied: cmd=%s pid=%d uid=%u needs=%s errno=%d\n",
				 d->name, task_tgid_nr(current),
				 from_kuid(&init_user_ns, current_uid()), why, ret);
	return ret;
}

static void dsmil_log_bad_input(struct dsmil *dsm, unsigned int cmd,
				const char *name, const char *why, int ret)
{
	atomic64_inc(&dsm->bad_input);
	dsmil_warn_ratelimited(dsmil_dev(dsm), "refused-input: cmd=%s nr=%#x pid=%d why=%s errno=%d\n",
			       name, _IOC_NR(cmd), task_tgid_nr(current), why, ret);
}

static long dsmil_ioctl(struct file *file, unsigned int cmd, unsigned long uarg)
{
	struct dsmil *dsm = dsmil_from_file(file);
	const struct dsmil_ioctl_desc *d;
	void __user *up = (void __user *)uarg;
	unsigned int size = _IOC_SIZE(cmd);
	const struct dsmil_span *bad;
	u64 buf[DSMIL_ARG_MAX / sizeof(u64)];
	int ret;

	atomic64_inc(&dsm->ioctls);

	d = dsmil_ioctl_lookup(cmd);
	if (IS_ERR(d)) {
		ret = PTR_ERR(d);
		dsmil_log_bad_input(dsm, cmd, "?", ret == -ENOTTY ?
				    "unknown-command" : "size-or-direction", ret);
		return ret;
	}

	ret = dsmil_ioctl_policy(dsm, d, d->policy);
	if (ret)
		return ret;

	memset(buf, 0, size);
	if ((_IOC_DIR(cmd) & _IOC_WRITE) && copy_from_user(buf, up, size)) {
		dsmil_log_bad_input(dsm, cmd, d->name, "fault", -EFAULT);
		return -EFAULT;
	}

	bad = dsmil_ioctl_bad_reserved(d, buf);
	if (bad) {
		dsmil_log_bad_input(dsm, cmd, d->name, "reserved-nonzero",
				    -EINVAL);
		return -EINVAL;
	}

	/* What the argument asks for may need more (a submitted write). */
	if (d->arg_policy) {
		ret = dsmil_ioctl_policy(dsm, d, d->arg_policy(buf) & ~d->policy);
		if (ret)
			return ret;
	}

	if (d->client_handler)
		ret = d->client_handler(dsmil_client_of(file), buf);
	else
		ret = d->handler(dsm, buf);

	if (d->paddr.len && !dsmil_may_see_addresses())
		memset((u8 *)buf + d->paddr.off, 0, d->paddr.len);
	if ((_IOC_DIR(cmd) & _IOC_READ) &&
	    (!ret || (d->policy & DSMIL_POL_COPYOUT_ERR)) &&
	    copy_to_user(up, buf, size))
		return -EFAULT;
	return ret;
}

static int dsmil_open(struct inode *inode, struct file *file)
{
	/* misc_open() left our miscdevice in private_data. */
	struct dsmil *dsm = container_of(file->private_data, struct dsmil,
					 misc);
	struct dsmil_client *cl;
	int ret;

	/*
	 * A stream: read() hands out completion records and has no
	 * position (FMODE_STREAM; coccinelle's stream_open.cocci).
	 */
	ret = stream_open(inode, file);
	if (ret)
		return ret;
	cl = dsmil_client_open(dsm);
	if (!cl)
		return -ENOMEM;
	file->private_data = cl;
	return 0;
}

static int dsmil_release(struct inode *inode, struct file *file)
{
	dsmil_client_release(dsmil_client_of(file));
	return 0;
}

/* Completion records of the file's asynchronous token requests. */
static ssize_t dsmil_read(struct file *file, char __user *buf, size_t count,
			  loff_t *ppos)
{
	return dsmil_client_read(dsmil_client_of(file), buf, count,
				 file->f_flags & O_NONBLOCK);
}

static __poll_t dsmil_poll(struct file *file, poll_table *wait)
{
	return dsmil_client_poll(dsmil_client_of(file), file, wait);
}

static const struct file_operations dsmil_fops = {
	/* Pins the module while a file (a client) is open. */
	.owner		= THIS_MODULE,
	.open		= dsmil_open,
	.release	= dsmil_release,
	.read		= dsmil_read,
	.poll		= dsmil_poll,
	.unlocked_ioctl	= dsmil_ioctl,
	/* Every argument is pointer-free and laid out alike for 32 bit. */
	.compat_ioctl	= compat_ptr_ioctl,
};

/* The PM counters: /sys/class/misc/dsmil/pm/{suspends,resumes}. */
static ssize_t dsmil_pm_show(struct device *dev, char *buf, bool resumes)
{
	struct miscdevice *misc = dev_get_drvdata(dev);
	struct dsmil *dsm = container_of(misc, struct dsmil, misc);

	return sysfs_emit(buf, "%lld\n", atomic64_read(resumes ? &dsm->resumes :
							 &dsm->suspends));
}

static ssize_t suspends_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return dsmil_pm_show(dev, buf, false);
}
static DEVICE_ATTR_RO(suspends);

static ssize_t resumes_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return dsmil_pm_show(dev, buf, true);
}
static DEVICE_ATTR_RO(resumes);

static struct attribute *dsmil_pm_attrs[] = {
	&dev_attr_suspends.attr,
	&dev_attr_resumes.attr,
	NULL,
};

static const struct attribute_group dsmil_pm_attr_group = {
	.name = "pm",
	.attrs = dsmil_pm_attrs,
};

static const struct attribute_group *dsmil_attr_groups[] = {
	&dsmil_state_attr_group,
	&dsmil_pm_attr_group,
	&dsmil_uevent_attr_group,
	NULL,
};

/* The SMI engine's fault reports, to the state machine. */
static void dsmil_report_smi_fault(void *ctx, unsigned int dev_id, int err)
{
	dsmil_state_report_fault(ctx, dev_id, DSMIL_REASON_SMI_FAULT, err);
}

/**
 * dsmil_create_with - make a driver instance (without its device node) on
 * a given SMI backend.
 * @cfg:     configuration; copied.
 * @smi:     the SMI backend and its data, the caller's to release after
 *           dsmil_destroy(); NULL: the one @cfg->smi.backend names.
 * @debugfs: directory for the instance's debugfs knobs, or NULL.
 *
 * Return: the instance or an ERR_PTR.
 */
struct dsmil *dsmil_create_with(const struct dsmil_config *cfg,
				const struct dsmil_smi_transport *smi,
				struct dentry *debugfs)
{
	struct dsmil *dsm;
	int ret;

	dsm = kzalloc(sizeof(*dsm), GFP_KERNEL);
	if (!dsm)
		return ERR_PTR(-ENOMEM);
	dsm->cfg = *cfg;
	dsm->cfg.smi.report_fault = dsmil_report_smi_fault;
	dsm->cfg.smi.fault_ctx = &dsm->state;
	/* The lower parts tell the uevent sender through these, not by call. */
	dsm->cfg.smi.report_event = dsmil_uevent_post;
	dsm->cfg.smi.event_ctx = &dsm->uevents;
	dsm->debugfs = debugfs;

	/* First in, last out: the other parts post events until they are gone. */
	dsmil_uevent_init(&dsm->uevents, cfg->dev);
	ret = dsmil_waudit_init(&dsm->waudit);
	if (ret)
		goto exit_uevent;
	ret = dsmil_smi_tokens_init(&dsm->smi, &dsm->cfg.smi, smi, debugfs);
	if (ret)
		goto exit_waudit;
	ret = dsmil_state_init(&dsm->state, &dsmil_smi_verifier, &dsm->smi);
	if (ret)
		goto exit_smi;
	dsm->state.notify = dsmil_uevent_post;
	dsm->state.notify_ctx = &dsm->uevents;
	ret = dsmil_mmio_init(&dsm->mmio, &dsm->cfg.mmio, dsm->cfg.mmio_ops,
			      debugfs);
	if (ret)
		goto exit_state;
	ret = dsmil_clients_init(&dsm->clients);
	if (ret)
		goto exit_mmio;
	return dsm;

exit_mmio:
	dsmil_mmio_exit(&dsm->mmio);
exit_state:
	dsmil_state_exit(&dsm->state);
exit_smi:
	dsmil_smi_tokens_exit(&dsm->smi);
exit_waudit:
	dsmil_waudit_exit(&dsm->waudit);
exit_uevent:
	dsmil_uevent_exit(&dsm->uevents);
	kfree(dsm);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_create_with);

/**
 * dsmil_create - make a driver instance (without its device node).
 * @cfg:     configuration; copied.
 * @debugfs: directory for the instance's debugfs knobs, or NULL.
 *
 * Return: the instance or an ERR_PTR.
 */
struct dsmil *dsmil_create(const struct dsmil_config *cfg,
			   struct dentry *debugfs)
{
	return dsmil_create_with(cfg, NULL, debugfs);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_create);

/**
 * dsmil_destroy - tear an instance down: devices first, then the mapper,
 * then the SMI engine (which waits for requests still at the hardware),
 * then the write audit, then the uevent sender (which sends what the
 * others posted).
 * @dsm: instance from dsmil_create().
 */
void dsmil_destroy(struct dsmil *dsm)
{
	/* First: a write under way still uses every part below. */
	dsmil_clients_exit(&dsm->clients);
	dsmil_state_exit(&dsm->state);
	dsmil_mmio_exit(&dsm->mmio);
	dsmil_smi_tokens_exit(&dsm->smi);
	/* The SMI worker may record a late outcome until it is gone. */
	dsmil_waudit_exit(&dsm->waudit);
	dsmil_uevent_exit(&dsm->uevents);
	kfree(dsm);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_destroy);

static int dsmil_check_tables(void)
{
	unsigned int b, i;

	for (b = 0; b < ARRAY_SIZE(dsmil_ioctl_tables); b++) {
		const struct dsmil_ioctl_table *t = dsmil_ioctl_tables[b];

		for (i = 0; i < t->count; i++) {
			const struct dsmil_ioctl_desc *d = &t->desc[i];

			/* One handler, and lookup must find this entry. */
			if (!dsmil_logic_ioc_entry_ok(_IOC_NR(d->cmd),
						      _IOC_SIZE(d->cmd),
						      !d->handler != !d->client_handler,
						      d->rsvd, &d->paddr) ||
			    dsmil_ioctl_lookup(d->cmd) != d)
				return -EINVAL;
		}
	}
	return 0;
}

/*
 * smi_backend=auto: the Dell stack on a machine of the DMI table, the
 * simulator elsewhere.  Returns the backend and why (for the "loaded"
 * line).  On the machine itself there is no fallback: the simulator there
 * would answer token reads and writes as if the firmware had, so a
 * missing dell-smbios fails the load with the Dell backend's own line.
 * Loading stays passive either way: the Dell backend's discovery reads
 * the firmware's token table, no SMI.
 */
static const char *dsmil_auto_backend(const char **why)
{
	if (!dmi_first_match(dsmil_dmi_table)) {
		*why = "auto-not-dsmil-machine";
		return "sim";
	}
	*why = "auto-dmi";
	return "dell-smbios";
}

/*
 * devm action, the platform device's teardown: the node first, so that no
 * new opener appears, then the instance, then its debugfs directory.
 */
static void dsmil_teardown(void *data)
{
	struct dsmil *dsm = data;
	struct dentry *dir = dsm->debugfs;

	/*
	 * No file can be open here: the fops owner pins the module while one
	 * is, and unbinding by hand is off (suppress_bind_attrs).  Each part
	 * removes its own debugfs knobs before it frees what they point at;
	 * the emptied directory goes last.
	 */
	if (dsm->misc_registered)
		misc_deregister(&dsm->misc);
	dsmil_destroy(dsm);
	debugfs_remove_recursive(dir);
}

static int dsmil_probe(struct platform_device *pdev)
{
	struct dsmil_config cfg = {
		.dev = &pdev->dev,
		.smi = {
			.timeout_ms = smi_timeout_ms,
			.hang_ms = smi_hang_ms,
			.backend_timeout = !smi_timeout_given,
			.backend_hang = !smi_hang_given,
			.min_interval_us = smi_min_interval_us,
			.fault_limit = smi_fault_limit,
			.busy_retries = smi_busy_retries,
		},
		.mmio = {
			.base = mmio_base,
			.size = mmio_size,
			.max_resident = max_resident,
			.idle_ms = mmio_idle_ms,
		},
		.mmio_ops = dsmil_mmio_backend(mmio_base),
	};
	const char *why = "param";
	struct dentry *dir;
	struct dsmil *dsm;
	int ret;

	strscpy(cfg.smi.backend, smi_backend ?: "", sizeof(cfg.smi.backend));
	if (!strcmp(cfg.smi.backend, "auto"))
		strscpy(cfg.smi.backend, dsmil_auto_backend(&why),
			sizeof(cfg.smi.backend));

	dir = debugfs_create_dir(DSMIL_DRV_NAME, NULL);
	dsm = dsmil_create(&cfg, dir);
	if (IS_ERR(dsm)) {
		debugfs_remove_recursive(dir);
		return PTR_ERR(dsm);
	}
	ret = devm_add_action_or_reset(&pdev->dev, dsmil_teardown, dsm);
	if (ret)
		return ret;
	/* For the PM callbacks; the driver core clears it after teardown. */
	platform_set_drvdata(pdev, dsm);
	/* KUnit instances have no module parameters to consult: NULL there. */
	dsm->state.write_policy = dsmil_write_policy;
	smi_timeout_ms = dsm->smi.cfg.timeout_ms;
	smi_hang_ms = dsm->smi.cfg.hang_ms;

	dsm->misc.minor = MISC_DYNAMIC_MINOR;
	dsm->misc.name = DSMIL_DRV_NAME;
	dsm->misc.fops = &dsmil_fops;
	dsm->misc.mode = 0600;
	dsm->misc.groups = dsmil_attr_groups;
	dsm->misc.parent = &pdev->dev;
	/* Last: nothing may fail once the node is there. */
	ret = misc_register(&dsm->misc);
	if (ret)
		return ret;
	dsm->misc_registered = true;

	dsmil_info(dsmil_dev(dsm), "loaded: abi=%u smi=%s smi_choice=%s mmio=%s region_mib=%llu chunks=%u cap=%u writes=%s\n",
		   DSMIL_ABI_VERSION, dsm->smi.backend_name, why, dsm->mmio.backend_name,
		   dsm->mmio.size >> 20, dsm->mmio.num_chunks, dsm->mmio.max_resident,
		   READ_ONCE(allow_writes) ? "allowed" : "refused");
	return 0;
}

/*
 * System sleep (suspend to RAM or idle, and the freeze/thaw of hibernation).
 * Each layer quiesces what it owns: the SMI engine holds new requests and
 * waits (bounded) for the one at the firmware, the mapper unmaps every
 * chunk; on the way back the state machine sends the devices with a token
 * back to INITIALIZING, to be verified again, before the engine serves the
 * requests it held (each is checked against those states at its hand-off).
 * Neither callback fails: a sleep is never refused for the driver's sake,
 * and every wait in it is bounded (2 * smi_timeout_ms).  User space is
 * frozen meanwhile; see dsmil_smi_pm.c and dsmil_mmio_unmap_all() for why
 * no caller is inside the driver then.
 */
static int dsmil_pm_suspend(struct device *dev)
{
	struct dsmil *dsm = dev_get_drvdata(dev);
	struct dsmil_smi_pm_report smi;
	unsigned int unmapped, busy;

	if (!dsm)
		return 0;
	dsmil_smi_suspend(&dsm->smi, &smi);
	unmapped = dsmil_mmio_unmap_all(&dsm->mmio, &busy);
	atomic64_inc(&dsm->suspends);
	dsmil_info(dev, "suspend: n=%lld smi_wait_ms=%u smi_busy_id=%llu smi_held=%u unmapped=%u chunks_busy=%u\n",
		   atomic64_read(&dsm->suspends), smi.wait_ms, smi.busy_id, smi.held,
		   unmapped, busy);
	return 0;
}

static int dsmil_pm_resume(struct device *dev)
{
	struct dsmil *dsm = dev_get_drvdata(dev);
	unsigned int reverify, demoted;

	if (!dsm)
		return 0;
	/* States first: a held request must see them at its hand-off. */
	reverify = dsmil_state_resume(&dsm->state, &demoted);
	dsmil_smi_resume(&dsm->smi);
	atomic64_inc(&dsm->resumes);
	dsmil_info(dev, "resume: n=%lld reverify=%u demoted=%u\n",
		   atomic64_read(&dsm->resumes), reverify, demoted);
	return 0;
}

/* Both builds have DEFINE_SIMPLE_DEV_PM_OPS and pm_sleep_ptr (5.17+). */
static DEFINE_SIMPLE_DEV_PM_OPS(dsmil_pm_ops, dsmil_pm_suspend, dsmil_pm_resume);

/*
 * Probed once, at load (platform_create_bundle()): nothing to rebind.  The
 * load fails with the probe's own errno, and the line that says why was
 * logged by the part that refused: -ENODEV keeps the driver core from
 * adding a "probe failed" line of its own.
 */
static int __init dsmil_probe_once(struct platform_device *pdev)
{
	dsmil_probe_err = dsmil_probe(pdev);
	return dsmil_probe_err ? -ENODEV : 0;
}

static struct platform_driver dsmil_driver = {
	.driver = {
		.name = DSMIL_DRV_NAME,
		/*
		 * An unbind by hand would free the instance under open files
		 * (the fops owner pins the module, not the binding).
		 */
		.suppress_bind_attrs = true,
		.pm = pm_sleep_ptr(&dsmil_pm_ops),
	},
};

static int __init dsmil_init(void)
{
	struct platform_device *pdev;

	/* A table inconsistency is a driver bug: refuse to load with it. */
	if (WARN_ON(dsmil_check_tables()))
		return -EINVAL;

	/*
	 * One device, made here (the DSMIL devices have no ACPI or PCI node
	 * of their own), probed at once; a failed probe fails the load
	 * with its own errno.
	 */
	pdev = platform_create_bundle(&dsmil_driver, dsmil_probe_once, NULL, 0,
				      NULL, 0);
	if (IS_ERR(pdev))
		return dsmil_probe_err ?: PTR_ERR(pdev);
	dsmil_pdev = pdev;
	return 0;
}

static void __exit dsmil_exit(void)
{
	/* The devm actions take the node, then the instance, down. */
	platform_device_unregister(dsmil_pdev);
	platform_driver_unregister(&dsmil_driver);
	pr_info("unloaded\n");
}

module_init(dsmil_init);
module_exit(dsmil_exit);

MODULE_DESCRIPTION("Dell Latitude 5450 MIL-SPEC DSMIL device driver");
MODULE_AUTHOR("dsmil developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DSMIL_VERSION);
