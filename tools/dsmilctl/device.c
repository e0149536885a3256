// SPDX-License-Identifier: GPL-2.0
/*
 * dsmilctl devices, device DEV ACTION, group G emergency-stop: the device
 * model's state, one legal transition at a time.
 */
#include <string.h>
#include <strings.h>

#include "main.h"

const struct help device_help[] = {
	{ "devices", "dsmilctl devices [--group G] [--json]",
"List the devices with their id, name, function, state, group state,\n"
"dependencies and flags (quarantined, SMI token).  --group G lists one group\n"
"(0..5).\n" },
	{ "device", "dsmilctl device DEV activate|deactivate|reset|lock [--json]",
"Change a device's state, one legal transition at a time:\n"
"  activate    OFFLINE -> INITIALIZING -> READY -> ACTIVE, from wherever the\n"
"              device is (ERROR starts again at INITIALIZING).  A LOCKED\n"
"              device is refused: reset it first (locks are deliberate).\n"
"  deactivate  ACTIVE -> READY (nothing to do when READY).\n"
"  reset       to OFFLINE: via ERROR, as the state table allows.\n"
"  lock        any state -> LOCKED.\n"
"Needs CAP_SYS_ADMIN.  When the driver refuses a step the message names the\n"
"errno and the driver's reason (dependency, dependent, quarantined...).\n" },
	{ "group", "dsmilctl group G emergency-stop [--json]",
"Emergency stop: the driver locks every device of group G (0..5) and of every\n"
"group depending on it, in one step.  Needs CAP_SYS_ADMIN.\n" },
	{ NULL },
};

/* ---- devices ------------------------------------------------------------- */

static int list_devices(struct dsmil_dev_info *devs,
			unsigned int *count)
{
	struct dsmil_dev_list dl;
	int err;

	memset(devs, 0, sizeof(*devs) * DSMIL_NUM_DEVICES);
	memset(&dl, 0, sizeof(dl));
	dl.buf = (uintptr_t)devs;
	dl.count = DSMIL_NUM_DEVICES;
	err = xioctl(DSMIL_IOC_DEV_LIST, &dl);
	if (err)
		return fail(err, -1, "listing devices");
	*count = dl.count < DSMIL_NUM_DEVICES ? dl.count : DSMIL_NUM_DEVICES;
	return -1;
}

static void needs_text(const struct dsmil_dev_info *d, char *buf, size_t len)
{
	size_t n = 0;
	unsigned int b;

	buf[0] = '\0';
	for (b = 0; b < DSMIL_NUM_GROUPS && n < len; b++)
		if (d->dep_groups & (1U << b))
			n += snprintf(buf + n, len - n, "%sG%u", n ? "," : "", b);
	for (b = 0; b < DSMIL_DEVS_PER_GROUP && n < len; b++)
		if (d->dep_devices & (1U << b))
			n += snprintf(buf + n, len - n, "%sD%X", n ? "," : "", b);
	if (!n)
		snprintf(buf, len, "-");
}

static void json_device(struct dsj *j, const struct dsmil_dev_info *d)
{
	unsigned int b;
	char name[16];

	dsj_obj_begin(j, NULL);
	dsj_u64(j, "id", d->id);
	dsj_strn(j, "name", (const char *)d->name, sizeof(d->name));
	dsj_u64(j, "group", d->group);
	dsj_u64(j, "index", d->index);
	dsj_strn(j, "function", (const char *)d->function, sizeof(d->function));
	dsj_str(j, "state", dsu_state_json(d->state));
	dsj_str(j, "group_state", dsu_group_state_json(d->group_state));
	dsj_bool(j, "quarantined", d->flags & DSMIL_DEVF_QUARANTINED);
	if (d->flags & DSMIL_DEVF_HAS_TOKEN)
		dsj_u64(j, "token", d->token);
	else
		dsj_null(j, "token");
	/* What the SMI backend found: present, absent or filtered. */
	if (!(d->flags & DSMIL_DEVF_HAS_TOKEN))
		dsj_null(j, "token_status");
	else if (d->flags & DSMIL_DEVF_TOKEN_ABSENT)
		dsj_str(j, "token_status", "absent");
	else if (d->flags & DSMIL_DEVF_TOKEN_FILTERED)
		dsj_str(j, "token_status", "filtered");
	else
		dsj_str(j, "token_status", "present");
	dsj_arr_begin(j, "needs_groups");
	for (b = 0; b < DSMIL_NUM_GROUPS; b++)
		if (d->dep_groups & (1U << b))
			dsj_u64(j, NULL, b);
	dsj_arr_end(j);
	dsj_arr_begin(j, "needs_devices");
	for (b = 0; b < DSMIL_DEVS_PER_GROUP; b++)
		if (d->dep_devices & (1U << b)) {
			dsu_device_name(d->group * DSMIL_DEVS_PER_GROUP + b,
					name, sizeof(name));
			dsj_str(j, NULL, name);
		}
	dsj_arr_end(j);
	dsj_u64(j, "transitions", d->transitions);
	dsj_obj_end(j);
}

int do_devices(int argc, char **argv)
{
	static struct dsmil_dev_info devs[DSMIL_NUM_DEVICES];
	unsigned int i, count = 0, group = 0;
	bool one_group = false;
	int last_group = -1;
	struct args a;
	int rc;

	rc = parse_args("devices", OPT_GROUP, 0, 0, argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (a.group) {
		rc = arg_group(&a, a.group, &group);
		if (rc >= 0)
			return rc;
		one_group = true;
	}
	rc = open_node();
	if (rc >= 0)
		return rc;
	rc = list_devices(devs, &count);
	if (rc >= 0)
		return rc;

	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_u64(&j, "total", count);
		if (one_group)
			dsj_u64(&j, "group", group);
		else
			dsj_null(&j, "group");
		dsj_arr_begin(&j, "devices");
		for (i = 0; i < count; i++)
			if (!one_group || devs[i].group == group)
				json_device(&j, &devs[i]);
		dsj_arr_end(&j);
		return json_end(&j);
	}
	for (i = 0; i < count; i++) {
		const struct dsmil_dev_info *d = &devs[i];
		char needs[64], flags[64];

		if (one_group && d->group != group)
			continue;
		if (d->group != last_group) {
			last_group = d->group;
			printf("%sgroup %u (%s): %s\n", i && !one_group ? "\n" : "",
			       d->group, dsu_group_name(d->group),
			       dsu_group_state_name(d->group_state));
			printf("  %-3s %-9s %-18s %-13s %-14s %s\n", "ID", "NAME",
			       "FUNCTION", "STATE", "NEEDS", "FLAGS");
		}
		needs_text(d, needs, sizeof(needs));
		flags[0] = '\0';
		if (d->flags & DSMIL_DEVF_HAS_TOKEN)
			snprintf(flags, sizeof(flags), "token=%#06x%s", d->token,
				 d->flags & DSMIL_DEVF_TOKEN_ABSENT ? "(absent)" :
				 d->flags & DSMIL_DEVF_TOKEN_FILTERED ?
				 "(filtered)" : "");
		if (d->flags & DSMIL_DEVF_QUARANTINED)
			snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags),
				 "%squarantined", flags[0] ? " " : "");
		printf("  %-3u %-9.16s %-18.24s %-13s %-14s %s\n", d->id,
		       (const char *)d->name, (const char *)d->function,
		       dsu_state_name(d->state), needs, flags[0] ? flags : "-");
	}
	return 0;
}

/* ---- device ACTION ------------------------------------------------------- */

enum action { ACT_ACTIVATE, ACT_DEACTIVATE, ACT_RESET, ACT_LOCK };

static const char *const action_names[] = {
	[ACT_ACTIVATE] = "activate", [ACT_DEACTIVATE] = "deactivate",
	[ACT_RESET] = "reset", [ACT_LOCK] = "lock",
};

#define MAX_STEPS	4

/*
 * The legal transitions that take a device in state @from where @act wants
 * it.  Returns the number of steps (0: already there), or -1 when the tool
 * refuses (message in @why).
 */
static int plan_steps(enum action act, unsigned int from, uint8_t *steps,
		      const char **why)
{
	static const uint8_t up[] = {
		DSMIL_DEV_INITIALIZING, DSMIL_DEV_READY, DSMIL_DEV_ACTIVE,
	};
	int n = 0;

	switch (act) {
	case ACT_ACTIVATE:
		switch (from) {
		case DSMIL_DEV_ACTIVE:
			return 0;
		case DSMIL_DEV_LOCKED:
			*why = "it is LOCKED (emergency stop or lock): 'reset' it first";
			return -1;
		case DSMIL_DEV_READY:
			steps[n++] = DSMIL_DEV_ACTIVE;
			return n;
		case DSMIL_DEV_INITIALIZING:
			steps[n++] = DSMIL_DEV_READY;
			steps[n++] = DSMIL_DEV_ACTIVE;
			return n;
		default:	/* OFFLINE, ERROR: both may go to INITIALIZING */
			memcpy(steps, up, sizeof(up));
			return sizeof(up);
		}
	case ACT_DEACTIVATE:
		if (from == DSMIL_DEV_READY)
			return 0;
		if (from != DSMIL_DEV_ACTIVE) {
			*why = "deactivate takes an ACTIVE device to READY";
			return -1;
		}
		steps[n++] = DSMIL_DEV_READY;
		return n;
	case ACT_RESET:
		if (from == DSMIL_DEV_OFFLINE)
			return 0;
		if (from != DSMIL_DEV_ERROR)
			steps[n++] = DSMIL_DEV_ERROR;
		steps[n++] = DSMIL_DEV_OFFLINE;
		return n;
	case ACT_LOCK:
		if (from == DSMIL_DEV_LOCKED)
			return 0;
		steps[n++] = DSMIL_DEV_LOCKED;
		return n;
	}
	*why = "unknown action";
	return -1;
}

struct step_result {
	uint8_t from, to, state, reason;
	int err;
};

int do_device(int argc, char **argv)
{
	struct step_result res[MAX_STEPS];
	struct dsmil_dev_info di;
	uint8_t steps[MAX_STEPS];
	const char *why = NULL;
	enum action act;
	unsigned int id, cur;
	int i, n, done = 0, err = 0, rc, code;
	const char *verb;
	char name[16], hint[96] = "";
	struct args a;

	rc = parse_args("device", 0, 2, 2, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = arg_device(&a, a.pos[0], &id);
	if (rc >= 0)
		return rc;
	for (act = 0; act < ARRAY_SIZE(action_names); act++)
		if (!strcasecmp(a.pos[1], action_names[act]))
			break;
	if (act == ARRAY_SIZE(action_names))
		return usage_error("device",
				   "unknown action '%s' (activate, deactivate, reset, lock)",
				   a.pos[1]);
	dsu_device_name(id, name, sizeof(name));

	rc = open_node();
	if (rc >= 0)
		return rc;
	err = get_dev(id, &di);
	if (err)
		return fail(err, -1, "%s: reading its state", name);
	cur = di.state;
	n = plan_steps(act, cur, steps, &why);
	if (n < 0)
		return fail_code(DSU_EXIT_REFUSED, 0, -1,
				 "%s %s: refused: %s is %s: %s", name,
				 action_names[act], name, dsu_state_name(cur), why);

	for (i = 0; i < n; i++) {
		struct dsmil_transition t;

		memset(&t, 0, sizeof(t));
		t.id = id;
		t.target = steps[i];
		err = xioctl(DSMIL_IOC_DEV_TRANSITION, &t);
		res[i].from = err ? cur : t.prev;
		res[i].to = steps[i];
		res[i].err = err;
		/* The driver copies the argument back on refusal too. */
		res[i].reason = err ? t.reason : DSMIL_REASON_NONE;
		res[i].state = t.state;
		done++;
		if (err) {
			if (t.reason || t.state || t.prev)
				res[i].from = t.prev;
			break;
		}
		cur = t.state;
	}
	/* A failed verification leaves the device in ERROR: say so. */
	if (err && dsu_exit_for_errno(err) == DSU_EXIT_HW)
		state_hint(id, hint, sizeof(hint));
	/*
	 * A capability refusal comes from the dispatcher, before the state
	 * machine, and carries no reason: EPERM with a reason (quarantined) is
	 * the device refusing, not a permission problem.
	 */
	code = dsu_exit_for_errno(err);
	if (code == DSU_EXIT_PERM && err && res[done - 1].reason)
		code = DSU_EXIT_REFUSED;
	verb = code == DSU_EXIT_HW ? "failed" : "refused";

	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		json_device_ref(&j, "device", id);
		dsj_str(&j, "action", action_names[act]);
		dsj_str(&j, "from", dsu_state_json(di.state));
		dsj_str(&j, "state", dsu_state_json(err ? res[done - 1].state : cur));
		dsj_bool(&j, "changed", done > 0 && (!err || done > 1));
		dsj_arr_begin(&j, "steps");
		for (i = 0; i < done; i++) {
			dsj_obj_begin(&j, NULL);
			dsj_str(&j, "from", dsu_state_json(res[i].from));
			dsj_str(&j, "to", dsu_state_json(res[i].to));
			dsj_bool(&j, "ok", !res[i].err);
			if (res[i].err)
				dsj_str(&j, "errno", dsu_errno_name(res[i].err));
			else
				dsj_null(&j, "errno");
			dsj_str(&j, "reason", dsu_reason_name(res[i].reason));
			dsj_obj_end(&j);
		}
		dsj_arr_end(&j);
		if (err) {
			char msg[256];

			snprintf(msg, sizeof(msg), "%s %s -> %s %s: %s%s", name,
				 dsu_state_name(res[done - 1].from),
				 dsu_state_name(res[done - 1].to), verb,
				 strerror(err), hint);
			json_error(&j, msg, err, res[done - 1].reason, code);
		} else {
			dsj_null(&j, "error");
		}
		json_end(&j);
	} else {
		printf("%s (%.24s): %s", name, (const char *)di.function,
		       dsu_state_name(di.state));
		for (i = 0; i < done; i++)
			printf(" -> %s%s", dsu_state_name(res[i].to),
			       !res[i].err ? "" : code == DSU_EXIT_HW ?
			       " (failed)" : " (refused)");
		if (!n)
			printf(" (nothing to do)");
		printf("\n");
	}
	if (err) {
		ctl.tail = hint;
		return fail_code(code, err, res[done - 1].reason,
				 "%s %s: %s -> %s %s", name, action_names[act],
				 dsu_state_name(res[done - 1].from),
				 dsu_state_name(res[done - 1].to), verb);
	}
	return 0;
}

/* ---- group G emergency-stop ---------------------------------------------- */

int do_group(int argc, char **argv)
{
	struct dsmil_group_stop gs;
	unsigned int g = 0;
	struct args a;
	int rc, err;

	rc = parse_args("group", 0, 2, 2, argc, argv, &a);
	if (rc >= 0)
		return rc;
	rc = arg_group(&a, a.pos[0], &g);
	if (rc >= 0)
		return rc;
	if (strcasecmp(a.pos[1], "emergency-stop") && strcasecmp(a.pos[1], "estop"))
		return usage_error("group", "unknown group action '%s' (emergency-stop)",
				   a.pos[1]);
	rc = open_node();
	if (rc >= 0)
		return rc;
	memset(&gs, 0, sizeof(gs));
	gs.group = g;
	err = xioctl(DSMIL_IOC_GROUP_ESTOP, &gs);
	if (err)
		return fail(err, -1, "group %u emergency stop", g);
	if (ctl.json) {
		struct dsj j;

		json_begin(&j);
		dsj_u64(&j, "group", g);
		dsj_str(&j, "group_name", dsu_group_name(g));
		dsj_u64(&j, "locked", gs.locked);
		return json_end(&j);
	}
	printf("group %u (%s): emergency stop: %u devices locked\n"
	       "(this group and every group depending on it)\n",
	       g, dsu_group_name(g), gs.locked);
	return 0;
}
