// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the "dell-smbios" SMI backend.
 *
 * Token reads and writes through the kernel's own Dell calling interface
 * (drivers/platform/x86/dell/dell-smbios): dell_smbios_find_token() gives
 * the token's location, dell_smbios_call() runs class 0 (read) or class 1
 * (write), select 0 (standard tokens) through whichever transport
 * dell-smbios picked (WMI or SMM).  Both are resolved at run time with
 * symbol_get(), so dsmil loads on machines without dell-smbios, and this
 * backend is chosen only by smi_backend=dell-smbios on a machine whose DMI
 * says Dell.
 *
 * The call is synchronous and cannot be interrupted: the engine runs it from
 * its worker (callers keep their bounded wait) and counts a call that took
 * longer than smi_hang_ms as a hang.  This backend has not been run on the
 * Latitude 5450; the original driver's raw port protocol (0xB2, 0x164E) is
 * deliberately not implemented.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dmi.h>
#include <linux/kmod.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <uapi/linux/wmi.h>

#include "dsmil_priv.h"
#include "dsmil_smi_priv.h"

/* Result codes in output[0] (cbRES1), as dell_smbios_error() reads them. */
#define DSMIL_DELL_RES_OK		0
#define DSMIL_DELL_RES_FAIL		(-1)
#define DSMIL_DELL_RES_INVALID		(-2)
#define DSMIL_DELL_RES_UNSUPPORTED	(-3)

static_assert(sizeof(struct calling_interface_token) == 6);
static_assert(sizeof(struct calling_interface_buffer) == 36);

/**
 * struct dsmil_dell - the backend's private data.
 * @call:   dell_smbios_call(), or a KUnit stub.
 * @find:   dell_smbios_find_token(), or a KUnit stub.
 * @held:   @call and @find came from symbol_get().
 * @status: status of the last call (DSMIL_SMI_ST_*).
 * @value:  value the last read returned.
 */
struct dsmil_dell {
	int (*call)(struct calling_interface_buffer *buf);
	struct calling_interface_token *(*find)(int id);
	bool held;
	u8 status;
	u32 value;
};

/**
 * dsmil_smi_dell_fill - build the calling-interface request for @cmd.
 * @buf:      buffer to fill (cleared first).
 * @cmd:      the token request.
 * @location: the token's location from dell_smbios_find_token().
 */
VISIBLE_IF_KUNIT void dsmil_smi_dell_fill(struct calling_interface_buffer *buf,
					  const struct dsmil_smi_cmd *cmd,
					  u16 location)
{
	memset(buf, 0, sizeof(*buf));
	buf->cmd_select = SELECT_TOKEN_STD;
	buf->input[0] = location;
	if (cmd->op == DSMIL_SMI_OP_WRITE) {
		buf->cmd_class = CLASS_TOKEN_WRITE;
		buf->input[1] = cmd->value;
	} else {
		buf->cmd_class = CLASS_TOKEN_READ;
	}
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_dell_fill);

/**
 * dsmil_smi_dell_map - turn a finished call into a status register value.
 * @buf:   the buffer after the call.
 * @ret:   what dell_smbios_call() returned.
 * @cmd:   the token request.
 * @value: out: the value a successful read returned.
 *
 * Return: DSMIL_SMI_ST_DONE, or DSMIL_SMI_ST_ERROR with the code the engine
 * maps to -EIO (call failed, firmware failure), -ENXIO (invalid parameter)
 * or -EOPNOTSUPP (unsupported).
 */
VISIBLE_IF_KUNIT u8 dsmil_smi_dell_map(const struct calling_interface_buffer *buf,
				       int ret, const struct dsmil_smi_cmd *cmd,
				       u32 *value)
{
	if (ret)	/* no transport, WMI error... */
		return DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_FAILED;

	switch ((s32)buf->output[0]) {
	case DSMIL_DELL_RES_OK:
		if (cmd->op == DSMIL_SMI_OP_READ)
			*value = buf->output[1];
		return DSMIL_SMI_ST_DONE;
	case DSMIL_DELL_RES_INVALID:
		return DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_INVALID;
	case DSMIL_DELL_RES_UNSUPPORTED:
		return DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_UNSUPPORTED;
	default:
		return DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_FAILED;
	}
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_dell_map);

/* The whole SMI happens here; ->status() then reports its result. */
static int dsmil_dell_submit(void *priv, const struct dsmil_smi_cmd *cmd)
{
	struct dsmil_dell *d = priv;
	struct calling_interface_buffer buf;
	struct calling_interface_token *tok;
	int ret;

	d->value = 0;
	tok = d->find(cmd->token);
	if (!tok) {
		/* The firmware's token table does not have it. */
		d->status = DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_INVALID;
		return 0;
	}
	dsmil_smi_dell_fill(&buf, cmd, tok->location);
	ret = d->call(&buf);
	d->status = dsmil_smi_dell_map(&buf, ret, cmd, &d->value);
	return 0;
}

static u8 dsmil_dell_status(void *priv, u32 *value)
{
	struct dsmil_dell *d = priv;

	*value = d->value;
	return d->status;
}

/* Nothing to reset: the calling interface keeps no state between calls. */
static int dsmil_dell_reset(void *priv)
{
	return 0;
}

/**
 * dsmil_smi_dell_create - backend data around the two calls.
 * @call: dell_smbios_call() or a stub.
 * @find: dell_smbios_find_token() or a stub.
 *
 * Return: the private data, or NULL.
 */
VISIBLE_IF_KUNIT void *
dsmil_smi_dell_create(int (*call)(struct calling_interface_buffer *buf),
		      struct calling_interface_token *(*find)(int id))
{
	struct dsmil_dell *d = kzalloc(sizeof(*d), GFP_KERNEL);

	if (!d)
		return NULL;
	d->call = call;
	d->find = find;
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
		symbol_put(dell_smbios_find_token);
		symbol_put(dell_smbios_call);
	}
	kfree(d);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_dell_destroy);

static int dsmil_dell_init(struct dsmil_smi *smi, struct dentry *debugfs,
			   void **priv)
{
	int (*call)(struct calling_interface_buffer *buf);
	struct calling_interface_token *(*find)(int id);
	const char *vendor = dmi_get_system_info(DMI_SYS_VENDOR);
	struct dsmil_dell *d;

	if (!dmi_match(DMI_SYS_VENDOR, "Dell Inc.")) {
		pr_err("smi_backend=dell-smbios refused: DMI sys_vendor is '%s', not 'Dell Inc.'\n",
		       vendor ?: "");
		return -ENODEV;
	}

	call = symbol_get(dell_smbios_call);
	if (!call) {
		request_module("dell-smbios");
		call = symbol_get(dell_smbios_call);
	}
	find = symbol_get(dell_smbios_find_token);
	if (!call || !find) {
		pr_err("smi_backend=dell-smbios refused: the dell-smbios module is not available\n");
		goto put_symbols;
	}

	d = dsmil_smi_dell_create(call, find);
	if (!d)
		goto put_symbols;
	d->held = true;
	pr_notice("using the dell-smbios backend: token calls through dell_smbios_call(), not tested on the Latitude 5450\n");
	*priv = d;
	return 0;

put_symbols:
	if (find)
		symbol_put(dell_smbios_find_token);
	if (call)
		symbol_put(dell_smbios_call);
	return call && find ? -ENOMEM : -ENODEV;
}

const struct dsmil_smi_ops dsmil_smi_dell_ops = {
	.name		= "dell-smbios",
	.synchronous	= true,
	.init		= dsmil_dell_init,
	.exit		= dsmil_smi_dell_destroy,
	.submit		= dsmil_dell_submit,
	.status		= dsmil_dell_status,
	.reset		= dsmil_dell_reset,
};
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_dell_ops);
