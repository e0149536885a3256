// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the "dell-smbios" SMI backend.
 *
 * Token reads and writes through the kernel's own Dell calling interface
 * (drivers/platform/x86/dell/dell-smbios): dell_smbios_find_token() gives a
 * token's location and own value, dell_smbios_call_filter() says whether
 * /dev/wmi/dell-smbios would let the call through, and dell_smbios_call()
 * runs class 0 (read) or class 1 (write), select 0 (standard tokens) through
 * whichever transport dell-smbios picked (WMI or SMM).  All three are
 * resolved at run time with symbol_get(), so dsmil loads on machines without
 * dell-smbios, and this backend is chosen only by smi_backend=dell-smbios on
 * a machine whose DMI says Dell.
 *
 * What reaches the firmware is never more than userspace could send through
 * /dev/wmi/dell-smbios: the filter runs before every call (in the caller's
 * context when the request is made, and again just before the call), so
 * the kernel's table of manufacturing, diagnostics and kernel-owned tokens
 * stays authoritative as it changes.  Which DSMIL tokens the firmware has
 * is discovered at load and on DSMIL_IOC_SMI_RESCAN; absent and filtered
 * tokens are refused without any call.
 *
 * Dell token semantics: a token is (id, location, value).  A read is class
 * 0 of the location (output[1] current, [2] min, [3] max).  A write always
 * reads first (the old value goes back to the caller), then writes either
 * the token's own value (activate) or a value the read's [min, max]
 * contains; anything else is refused before a write is sent.
 *
 * Results map exactly as the kernel's dell_smbios_error(): 0 ok, -1 -EIO,
 * -2 -ENXIO, anything else -EINVAL.  A call that fails in the transport
 * (dell_smbios_call() returns -EIO: the ACPI method failed or answered
 * something that is not a Buffer) is garbage: a fault, counted towards
 * FAULTED.
 *
 * The call is synchronous and cannot be interrupted: the engine runs it from
 * its worker (callers keep their bounded wait) and counts a call that took
 * longer than smi_hang_ms as a hang.  The backend's timing defaults come from
 * measured figures; see dsmil_smi_dell_ops.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/dmi.h>
#include <linux/kmod.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <uapi/linux/wmi.h>

#include "dsmil_priv.h"
#include "dsmil_smi_priv.h"

static_assert(sizeof(struct calling_interface_token) == 6);
static_assert(sizeof(struct calling_interface_buffer) == 36);

/**
 * struct dsmil_dell - the backend's private data.
 * @call:     dell_smbios_call(), or a KUnit stub.
 * @find:     dell_smbios_find_token(), or a KUnit stub.
 * @filter:   dell_smbios_call_filter(), or a KUnit stub.
 * @held:     the three came from symbol_get().
 * @absent:   by dsmil_smi_token_index(): not in the firmware's token table.
 * @filtered: by dsmil_smi_token_index(): the kernel's filter refuses it.
 * @status:   status of the last request (DSMIL_SMI_ST_*).
 * @value:    value the last read returned, or the old value of a write.
 *
 * @absent and @filtered change only in dsmil_smi_dell_scan(); readers see one
 * word at a time, which is all a single token's check needs.
 */
struct dsmil_dell {
	int (*call)(struct calling_interface_buffer *buf);
	struct calling_interface_token *(*find)(int id);
	int (*filter)(struct device *d, struct calling_interface_buffer *buf);
	bool held;
	DECLARE_BITMAP(absent, DSMIL_NUM_TOKENS);
	DECLARE_BITMAP(filtered, DSMIL_NUM_TOKENS);
	u8 status;
	u32 value;
};

/**
 * dsmil_smi_dell_error - a Dell result code as an errno.
 * @res: output[0] of a finished call.
 *
 * The same table as the kernel's dell_smbios_error(), which a module cannot
 * assume is there when it builds the request (it is resolved with the call).
 *
 * Return: 0, -EIO (-1: completed with error), -ENXIO (-2: function not
 * supported) or -EINVAL (anything else).
 */
VISIBLE_IF_KUNIT int dsmil_smi_dell_error(int res)
{
	switch (res) {
	case 0:
		return 0;
	case -1:
		return -EIO;
	case -2:
		return -ENXIO;
	default:
		return -EINVAL;
	}
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_dell_error);

/**
 * dsmil_smi_dell_fill - build a standard-token calling-interface request.
 * @buf:      buffer to fill (cleared first).
 * @class:    CLASS_TOKEN_READ or CLASS_TOKEN_WRITE.
 * @location: the token's location.
 * @value:    the value to write (CLASS_TOKEN_WRITE).
 */
VISIBLE_IF_KUNIT void dsmil_smi_dell_fill(struct calling_interface_buffer *buf,
					  u16 class, u16 location, u32 value)
{
	memset(buf, 0, sizeof(*buf));
	buf->cmd_class = class;
	buf->cmd_select = SELECT_TOKEN_STD;
	buf->input[0] = location;
	if (class == CLASS_TOKEN_WRITE)
		buf->input[1] = value;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_dell_fill);

/**
 * dsmil_smi_dell_map - turn a finished call into a status register value.
 * @buf: the buffer after the call.
 * @ret: what dell_smbios_call() returned.
 *
 * Return: DSMIL_SMI_ST_DONE; DSMIL_SMI_ST_ERROR with the code the engine
 * maps to dsmil_smi_dell_error()'s errno; DSMIL_SMI_ST_GARBAGE when the
 * transport failed (-EIO: the method failed or its answer was not a
 * Buffer); DSMIL_SMI_ST_ERROR | FAILED (-EIO) when there was no transport
 * to call (-ENODEV, -ENOMEM...).
 */
VISIBLE_IF_KUNIT u8 dsmil_smi_dell_map(const struct calling_interface_buffer *buf,
				       int ret)
{
	if (ret == -EIO)
		return DSMIL_SMI_ST_GARBAGE;
	if (ret)
		return DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_FAILED;

	switch (dsmil_smi_dell_error((s32)buf->output[0])) {
	case 0:
		return DSMIL_SMI_ST_DONE;
	case -EIO:
		return DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_FAILED;
	case -ENXIO:
		return DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_INVALID;
	default:
		return DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_UNKNOWN;
	}
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_dell_map);

/* Would /dev/wmi/dell-smbios send this?  0 or the filter's errno. */
static int dsmil_smi_dell_allowed(struct dsmil_dell *d,
				  struct calling_interface_buffer *buf)
{
	/* The device is only used for the filter's dev_dbg() lines. */
	return d->filter(NULL, buf) ? -EACCES : 0;
}

/* Discovery: which DSMIL tokens exist, which the filter refuses.  No call. */
static void dsmil_smi_dell_scan(struct dsmil_dell *d)
{
	struct calling_interface_buffer buf;
	struct calling_interface_token *tok;
	unsigned int g, p, i;

	for (g = 0; g < DSMIL_NUM_GROUPS; g++) {
		for (p = 0; p < DSMIL_TOKENS_PER_GROUP; p++) {
			u16 id = DSMIL_TOKEN_BASE + g * DSMIL_DEVS_PER_GROUP +
				 p * (DSMIL_DEVS_PER_GROUP / DSMIL_TOKENS_PER_GROUP);

			i = g * DSMIL_TOKENS_PER_GROUP + p;
			tok = d->find(id);
			assign_bit(i, d->absent, !tok);
			if (!tok) {
				clear_bit(i, d->filtered);
				continue;
			}
			dsmil_smi_dell_fill(&buf, CLASS_TOKEN_READ,
					    tok->location, 0);
			assign_bit(i, d->filtered,
				   dsmil_smi_dell_allowed(d, &buf) != 0);
		}
	}
}

static int dsmil_smi_dell_rescan(void *priv)
{
	dsmil_smi_dell_scan(priv);
	return 0;
}

static u16 dsmil_smi_dell_token_flags(void *priv, u16 token)
{
	struct dsmil_dell *d = priv;
	int i = dsmil_smi_token_index(token);

	if (i < 0)
		return 0;
	if (test_bit(i, d->absent))
		return DSMIL_DEVF_TOKEN_ABSENT;
	if (test_bit(i, d->filtered))
		return DSMIL_DEVF_TOKEN_FILTERED;
	return 0;
}

/* In the caller's context, before the request goes anywhere. */
static int dsmil_smi_dell_check(void *priv, const struct dsmil_smi_cmd *cmd)
{
	struct dsmil_dell *d = priv;
	struct calling_interface_buffer buf;
	struct calling_interface_token *tok;
	int i = dsmil_smi_token_index(cmd->token);

	if (i < 0 || test_bit(i, d->absent))
		return -ENOENT;
	tok = d->find(cmd->token);
	if (!tok)
		return -ENOENT;
	/* A write reads first: both calls must pass. */
	dsmil_smi_dell_fill(&buf, CLASS_TOKEN_READ, tok->location, 0);
	if (dsmil_smi_dell_allowed(d, &buf))
		return -EACCES;
	if (cmd->op == DSMIL_SMI_OP_WRITE) {
		dsmil_smi_dell_fill(&buf, CLASS_TOKEN_WRITE, tok->location,
				    cmd->value);
		if (dsmil_smi_dell_allowed(d, &buf))
			return -EACCES;
	}
	return 0;
}

/* One call, filtered again right before it goes out. */
static u8 dsmil_smi_dell_call(struct dsmil_dell *d,
			      struct calling_interface_buffer *buf)
{
	if (dsmil_smi_dell_allowed(d, buf))
		return DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_FAILED;
	return dsmil_smi_dell_map(buf, d->call(buf));
}

/* The whole request happens here; ->status() then reports its result. */
static int dsmil_smi_dell_submit(void *priv, const struct dsmil_smi_cmd *cmd)
{
	struct dsmil_dell *d = priv;
	struct calling_interface_buffer buf;
	struct calling_interface_token *tok;
	u32 value, min, max;
	u8 st;

	d->value = 0;
	tok = d->find(cmd->token);
	if (!tok) {
		/* The check refuses these: the table changed under us. */
		d->status = DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_INVALID;
		return 0;
	}

	/* A read, or the fresh read a write starts with. */
	dsmil_smi_dell_fill(&buf, CLASS_TOKEN_READ, tok->location, 0);
	st = dsmil_smi_dell_call(d, &buf);
	if (st != DSMIL_SMI_ST_DONE || cmd->op == DSMIL_SMI_OP_READ) {
		if (st == DSMIL_SMI_ST_DONE)
			d->value = buf.output[1];
		d->status = st;
		return 0;
	}

	d->value = buf.output[1];	/* the old value, for the caller */
	min = buf.output[2];
	max = buf.output[3];
	/*
	 * Activation writes the token's own value, as dell-laptop and
	 * smbios-token-ctl --activate do, without a range check: tokens that
	 * share a location, and on/off tokens, need not report a meaningful
	 * [min, max].  A value of the caller's must lie in the range.
	 */
	if (cmd->flags & DSMIL_SMI_CMD_ACTIVATE) {
		value = tok->value;
	} else {
		value = cmd->value;
		if (value < min || value > max) {
			d->status = DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_RANGE;
			return 0;
		}
	}
	dsmil_smi_dell_fill(&buf, CLASS_TOKEN_WRITE, tok->location, value);
	d->status = dsmil_smi_dell_call(d, &buf);
	return 0;
}

static u8 dsmil_smi_dell_status(void *priv, u32 *value)
{
	struct dsmil_dell *d = priv;

	*value = d->value;
	return d->status;
}

/* Nothing to reset: the calling interface keeps no state between calls. */
static int dsmil_smi_dell_reset(void *priv)
{
	return 0;
}

/**
 * dsmil_smi_dell_create - backend data around the three calls.
 * @call:   dell_smbios_call() or a stub.
 * @find:   dell_smbios_find_token() or a stub.
 * @filter: dell_smbios_call_filter() or a stub.
 *
 * Discovers the DSMIL tokens (no firmware call).
 *
 * Return: the private data, or NULL.
 */
VISIBLE_IF_KUNIT void *
dsmil_smi_dell_create(int (*call)(struct calling_interface_buffer *buf),
		      struct calling_interface_token *(*find)(int id),
		      int (*filter)(struct device *d,
				    struct calling_interface_buffer *buf))
{
	struct dsmil_dell *d = kzalloc(sizeof(*d), GFP_KERNEL);

	if (!d)
		return NULL;
	d->call = call;
	d->find = find;
	d->filter = filter;
	dsmil_smi_dell_scan(d);
	return d;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_dell_create);

/**
 * dsmil_smi_dell_destroy - free dsmil_smi_dell_create()'s data.
 * @priv: the data; symbols it holds are put.
 */
VISIBLE_IF_KUNIT void dsmil_smi_dell_destroy(void *priv)
{
	struct dsmil_dell *d = priv;

	if (d->held) {
		symbol_put(dell_smbios_call_filter);
		symbol_put(dell_smbios_find_token);
		symbol_put(dell_smbios_call);
	}
	kfree(d);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_dell_destroy);

static int dsmil_smi_dell_init(struct device *dev, struct dentry *debugfs,
			       void **priv)
{
	int (*filter)(struct device *d, struct calling_interface_buffer *buf);
	int (*call)(struct calling_interface_buffer *buf);
	struct calling_interface_token *(*find)(int id);
	const char *vendor = dmi_get_system_info(DMI_SYS_VENDOR);
	struct dsmil_dell *d;
	unsigned int n;

	if (!dmi_match(DMI_SYS_VENDOR, "Dell Inc.")) {
		dsmil_err(dev, "smi_backend=dell-smbios refused: DMI sys_vendor is '%s', not 'Dell Inc.'\n",
			  vendor ?: "");
		return -ENODEV;
	}

	call = symbol_get(dell_smbios_call);
	if (!call) {
		request_module("dell-smbios");
		call = symbol_get(dell_smbios_call);
	}
	find = symbol_get(dell_smbios_find_token);
	filter = symbol_get(dell_smbios_call_filter);
	if (!call || !find || !filter) {
		dsmil_err(dev, "smi_backend=dell-smbios refused: the dell-smbios module is not available (load it first, or smi_backend=sim for the simulator)\n");
		goto put_symbols;
	}

	d = dsmil_smi_dell_create(call, find, filter);
	if (!d)
		goto put_symbols;
	d->held = true;
	n = bitmap_weight(d->absent, DSMIL_NUM_TOKENS);
	dsmil_notice(dev, "using the dell-smbios backend: %u of %u DSMIL tokens in the firmware, %u refused by the kernel's filter\n",
		     DSMIL_NUM_TOKENS - n, DSMIL_NUM_TOKENS,
		     bitmap_weight(d->filtered, DSMIL_NUM_TOKENS));
	*priv = d;
	return 0;

put_symbols:
	if (filter)
		symbol_put(dell_smbios_call_filter);
	if (find)
		symbol_put(dell_smbios_find_token);
	if (call)
		symbol_put(dell_smbios_call);
	return call && find && filter ? -ENOMEM : -ENODEV;
}

/*
 * Timing defaults, from measured figures rather than the simulator's:
 *  - a healthy SMM call takes 11-15 ms on the machines
 *    Documentation/hwmon/dell-smm-hwmon.rst describes; the WMI path adds an
 *    ACPI method evaluation (a few ms; in a TCG guest under KASAN, up to
 *    tens), and a token write is two calls (the read first);
 *  - some Dell firmware freezes for about 500 ms in an SMM call (kernel
 *    bugzilla 195751), which is what a hang looks like from here.
 * So: a call (or read-and-write pair) taking more than 200 ms, 13 times
 * the slowest healthy call and well below a freeze, is a hang; a caller
 * waits at most 250 ms.  FAULTED still needs smi_fault_limit consecutive
 * faults, so a healthy machine never gets there.
 */
#define DSMIL_DELL_TIMEOUT_MS	250
#define DSMIL_DELL_HANG_MS	200

const struct dsmil_smi_ops dsmil_smi_dell_ops = {
	.name		= "dell-smbios",
	.synchronous	= true,
	.activate	= true,
	.timeout_ms	= DSMIL_DELL_TIMEOUT_MS,
	.hang_ms	= DSMIL_DELL_HANG_MS,
	.init		= dsmil_smi_dell_init,
	.exit		= dsmil_smi_dell_destroy,
	.submit		= dsmil_smi_dell_submit,
	.status		= dsmil_smi_dell_status,
	.reset		= dsmil_smi_dell_reset,
	.check		= dsmil_smi_dell_check,
	.rescan		= dsmil_smi_dell_rescan,
	.token_flags	= dsmil_smi_dell_token_flags,
};
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_dell_ops);
