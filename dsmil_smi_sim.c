// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the simulated SMI backend ("sim", the default).
 *
 * A deterministic model of a polled token interface: a status register and
 * one 32-bit value per token (initially 0xd5000000 | token), with the reads
 * and writes that reached it counted per token, so that tests can prove a
 * refused request never got here.  A request stays busy for latency_us (or
 * slow_ms), its status changing at every poll like a live SMI making
 * progress, then completes; a write lands only on completion.
 *
 * Fault modes are set at run time through debugfs (<debugfs>/dsmil/sim/, see
 * Documentation/dsmil-smi.rst):
 *   fault         none | hang (busy, status frozen: the hang detector fires)
 *                 | stuck-busy (busy forever, status changing: only the
 *                 timeout ends it) | error (completes with an error status)
 *                 | garbage (status reads 0xff)
 *   error_code    code an error status carries (1 -EIO, 2 -ENXIO,
 *                 3 -EOPNOTSUPP)
 *   slow_ms       requests stay busy this long (overrides latency_us)
 *   latency_us    every request stays busy this long (default 0)
 *   flaky_every   every k-th request completes with an error status
 *   abort_fails   1: aborts fail (the request stays in flight)
 *   reset_fails   the next N resets fail
 *   busy_submits  the next N submits are refused as busy
 *   drop_writes   the next N writes complete as done but change nothing
 *                 (firmware that acknowledges a write it ignores)
 *   reset         write anything: everything back to the load-time state
 *   tokens        per token: value, reads, writes
 *   stats         submits, polls, aborts, resets... of the model
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/limits.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "dsmil_priv.h"
#include "dsmil_smi_priv.h"

#define DSMIL_SIM_VALUE(token)	(0xd5000000U | (token))

enum dsmil_smi_sim_fault {
	DSMIL_SIM_NONE,
	DSMIL_SIM_HANG,
	DSMIL_SIM_STUCK_BUSY,
	DSMIL_SIM_ERROR,
	DSMIL_SIM_GARBAGE,
};

static const char * const dsmil_smi_sim_fault_names[] = {
	[DSMIL_SIM_NONE]	= "none",
	[DSMIL_SIM_HANG]	= "hang",
	[DSMIL_SIM_STUCK_BUSY]	= "stuck-busy",
	[DSMIL_SIM_ERROR]	= "error",
	[DSMIL_SIM_GARBAGE]	= "garbage",
};

enum dsmil_smi_sim_knob_id {
	DSMIL_SIM_K_FAULT,
	DSMIL_SIM_K_ERROR_CODE,
	DSMIL_SIM_K_SLOW_MS,
	DSMIL_SIM_K_LATENCY_US,
	DSMIL_SIM_K_FLAKY_EVERY,
	DSMIL_SIM_K_ABORT_FAILS,
	DSMIL_SIM_K_RESET_FAILS,
	DSMIL_SIM_K_BUSY_SUBMITS,
	DSMIL_SIM_K_DROP_WRITES,
	DSMIL_SIM_NR_KNOBS,
};

static const struct {
	const char *name;
	u32 max;
	u32 def;
} dsmil_smi_sim_knob_desc[DSMIL_SIM_NR_KNOBS] = {
	[DSMIL_SIM_K_FAULT]	   = { "fault", DSMIL_SIM_GARBAGE, 0 },
	[DSMIL_SIM_K_ERROR_CODE]   = { "error_code", DSMIL_SMI_ST_CODE,
				       DSMIL_SMI_ERR_FAILED },
	[DSMIL_SIM_K_SLOW_MS]	   = { "slow_ms", 60000, 0 },
	[DSMIL_SIM_K_LATENCY_US]   = { "latency_us", 1000000, 0 },
	[DSMIL_SIM_K_FLAKY_EVERY]  = { "flaky_every", U32_MAX, 0 },
	[DSMIL_SIM_K_ABORT_FAILS]  = { "abort_fails", 1, 0 },
	[DSMIL_SIM_K_RESET_FAILS]  = { "reset_fails", U32_MAX, 0 },
	[DSMIL_SIM_K_BUSY_SUBMITS] = { "busy_submits", U32_MAX, 0 },
	[DSMIL_SIM_K_DROP_WRITES]  = { "drop_writes", U32_MAX, 0 },
};

struct dsmil_smi_sim;

/* What a knob's debugfs file points at. */
struct dsmil_smi_sim_knob {
	struct dsmil_smi_sim *sim;
	unsigned int id;
};

struct dsmil_smi_sim_token {
	u32 value;
	u64 reads;
	u64 writes;
};

/**
 * struct dsmil_smi_sim - the simulated interface.
 * @lock:       protects everything below; the engine's owner and debugfs
 *              both come here.
 * @knob:       fault-injection settings, by enum dsmil_smi_sim_knob_id.
 * @flaky_seq:  requests since flaky_every was set.
 * @active:     a request is in flight.
 * @fail_this:  the request in flight is the flaky one.
 * @cmd:        the request in flight.
 * @busy_ns:    how long it stays busy (latency_us or slow_ms at submit).
 * @submitted:  when it was submitted (only read when @busy_ns is set).
 * @progress:   low bits of the busy status, changed at every poll.
 * @status:     the status register.
 * @tok:        the tokens.
 * @submits:    requests accepted.
 * @busy_refusals: submits refused as busy.
 * @polls:      status reads.
 * @completions: requests completed (done or error).
 * @aborts:     successful aborts.
 * @abort_failures: failed aborts.
 * @resets:     successful resets.
 * @reset_failures: failed resets.
 * @dropped_writes: writes completed without changing the value
 *              (drop_writes).
 * @files:      debugfs data of the knobs.
 * @dir:        the knobs' debugfs directory, removed before @sim is freed.
 */
struct dsmil_smi_sim {
	spinlock_t lock;	/* the whole model */
	u32 knob[DSMIL_SIM_NR_KNOBS];
	u64 flaky_seq;
	bool active;
	bool fail_this;
	struct dsmil_smi_cmd cmd;
	u64 busy_ns;
	ktime_t submitted;
	u8 progress;
	u8 status;
	struct dsmil_smi_sim_token tok[DSMIL_NUM_TOKENS];
	u64 submits;
	u64 busy_refusals;
	u64 polls;
	u64 completions;
	u64 aborts;
	u64 abort_failures;
	u64 resets;
	u64 reset_failures;
	u64 dropped_writes;
	struct dsmil_smi_sim_knob files[DSMIL_SIM_NR_KNOBS];
	struct dentry *dir;
};

/* Everything back to the load-time state.  Called with sim->lock held. */
static void dsmil_smi_sim_restore(struct dsmil_smi_sim *sim)
{
	unsigned int i;

	for (i = 0; i < DSMIL_SIM_NR_KNOBS; i++)
		sim->knob[i] = dsmil_smi_sim_knob_desc[i].def;
	for (i = 0; i < DSMIL_NUM_TOKENS; i++) {
		u16 token = DSMIL_TOKEN_BASE +
			    i / DSMIL_TOKENS_PER_GROUP * DSMIL_DEVS_PER_GROUP +
			    i % DSMIL_TOKENS_PER_GROUP * 3;

		sim->tok[i].value = DSMIL_SIM_VALUE(token);
		sim->tok[i].reads = 0;
		sim->tok[i].writes = 0;
	}
	sim->flaky_seq = 0;
	sim->active = false;
	sim->fail_this = false;
	sim->progress = 0;
	sim->status = DSMIL_SMI_ST_DONE;
	sim->submits = 0;
	sim->busy_refusals = 0;
	sim->polls = 0;
	sim->completions = 0;
	sim->aborts = 0;
	sim->abort_failures = 0;
	sim->resets = 0;
	sim->reset_failures = 0;
	sim->dropped_writes = 0;
}

static int dsmil_smi_sim_submit(void *priv, const struct dsmil_smi_cmd *cmd)
{
	struct dsmil_smi_sim *sim = priv;
	int idx = dsmil_smi_token_index(cmd->token);

	/*
	 * Released by hand on each return below: scoped_guard() would do it,
	 * but the driver also builds against 6.1, which has no <linux/cleanup.h>.
	 */
	spin_lock(&sim->lock);
	/* Busy: injected, or still running a request an abort left behind. */
	if (sim->knob[DSMIL_SIM_K_BUSY_SUBMITS] || sim->active) {
		if (sim->knob[DSMIL_SIM_K_BUSY_SUBMITS])
			sim->knob[DSMIL_SIM_K_BUSY_SUBMITS]--;
		sim->busy_refusals++;
		spin_unlock(&sim->lock);
		return -EBUSY;
	}
	sim->active = true;
	sim->cmd = *cmd;
	sim->busy_ns = sim->knob[DSMIL_SIM_K_SLOW_MS] ?
		(u64)sim->knob[DSMIL_SIM_K_SLOW_MS] * NSEC_PER_MSEC :
		(u64)sim->knob[DSMIL_SIM_K_LATENCY_US] * NSEC_PER_USEC;
	if (sim->busy_ns)
		sim->submitted = ktime_get();
	sim->progress = 0;
	sim->status = DSMIL_SMI_ST_BUSY;
	sim->submits++;
	sim->fail_this = false;
	if (sim->knob[DSMIL_SIM_K_FLAKY_EVERY]) {
		sim->flaky_seq++;
		sim->fail_this = !(sim->flaky_seq %
				   sim->knob[DSMIL_SIM_K_FLAKY_EVERY]);
	}
	if (idx >= 0) {
		if (cmd->op == DSMIL_SMI_OP_WRITE)
			sim->tok[idx].writes++;
		else
			sim->tok[idx].reads++;
	}
	spin_unlock(&sim->lock);
	return 0;
}

/* The status a live, busy SMI shows: different at every poll. */
static u8 dsmil_smi_sim_busy(struct dsmil_smi_sim *sim)
{
	sim->progress = (sim->progress + 1) & DSMIL_SMI_ST_CODE;
	return DSMIL_SMI_ST_BUSY | sim->progress;
}

static u8 dsmil_smi_sim_status(void *priv, u32 *value)
{
	struct dsmil_smi_sim *sim = priv;
	int idx;
	u8 st;

	spin_lock(&sim->lock);
	sim->polls++;
	if (!sim->active) {
		st = sim->status;
		goto out;
	}

	switch (sim->knob[DSMIL_SIM_K_FAULT]) {
	case DSMIL_SIM_GARBAGE:
		st = DSMIL_SMI_ST_GARBAGE;
		goto out;
	case DSMIL_SIM_HANG:
		st = DSMIL_SMI_ST_BUSY | 0x01;
		goto out;
	case DSMIL_SIM_STUCK_BUSY:
		st = dsmil_smi_sim_busy(sim);
		goto out;
	default:
		break;
	}

	if (sim->busy_ns &&
	    ktime_to_ns(ktime_sub(ktime_get(), sim->submitted)) < sim->busy_ns) {
		st = dsmil_smi_sim_busy(sim);
		goto out;
	}

	/* Complete. */
	idx = dsmil_smi_token_index(sim->cmd.token);
	if (sim->knob[DSMIL_SIM_K_FAULT] == DSMIL_SIM_ERROR || sim->fail_this)
		st = DSMIL_SMI_ST_ERROR | sim->knob[DSMIL_SIM_K_ERROR_CODE];
	else if (idx < 0)
		st = DSMIL_SMI_ST_ERROR | DSMIL_SMI_ERR_INVALID;
	else
		st = DSMIL_SMI_ST_DONE;
	if (st == DSMIL_SMI_ST_DONE) {
		if (sim->cmd.op == DSMIL_SMI_OP_WRITE &&
		    sim->knob[DSMIL_SIM_K_DROP_WRITES]) {
			sim->knob[DSMIL_SIM_K_DROP_WRITES]--;
			sim->dropped_writes++;
		} else if (sim->cmd.op == DSMIL_SMI_OP_WRITE) {
			sim->tok[idx].value = sim->cmd.value;
		}
		*value = sim->tok[idx].value;
	}
	sim->active = false;
	sim->completions++;
out:
	sim->status = st;
	spin_unlock(&sim->lock);
	return st;
}

static int dsmil_smi_sim_abort(void *priv)
{
	struct dsmil_smi_sim *sim = priv;
	int ret = 0;

	spin_lock(&sim->lock);
	if (sim->knob[DSMIL_SIM_K_ABORT_FAILS]) {
		sim->abort_failures++;
		ret = -EIO;
	} else {
		sim->active = false;
		sim->status = DSMIL_SMI_ST_DONE;
		sim->aborts++;
	}
	spin_unlock(&sim->lock);
	return ret;
}

static int dsmil_smi_sim_reset(void *priv)
{
	struct dsmil_smi_sim *sim = priv;
	int ret = 0;

	spin_lock(&sim->lock);
	if (sim->knob[DSMIL_SIM_K_RESET_FAILS]) {
		sim->knob[DSMIL_SIM_K_RESET_FAILS]--;
		sim->reset_failures++;
		ret = -EIO;
	} else {
		sim->active = false;
		sim->status = DSMIL_SMI_ST_DONE;
		sim->resets++;
	}
	spin_unlock(&sim->lock);
	return ret;
}

static int dsmil_smi_sim_set_knob(struct dsmil_smi_sim *sim, unsigned int id, u64 val)
{
	if (id >= DSMIL_SIM_NR_KNOBS || val > dsmil_smi_sim_knob_desc[id].max)
		return -EINVAL;
	spin_lock(&sim->lock);
	sim->knob[id] = val;
	if (id == DSMIL_SIM_K_FLAKY_EVERY)
		sim->flaky_seq = 0;	/* count from the next request */
	spin_unlock(&sim->lock);
	return 0;
}

static int dsmil_smi_sim_knob_get(void *data, u64 *val)
{
	struct dsmil_smi_sim_knob *k = data;

	spin_lock(&k->sim->lock);
	*val = k->sim->knob[k->id];
	spin_unlock(&k->sim->lock);
	return 0;
}

static int dsmil_smi_sim_knob_set(void *data, u64 val)
{
	struct dsmil_smi_sim_knob *k = data;

	return dsmil_smi_sim_set_knob(k->sim, k->id, val);
}

DEFINE_DEBUGFS_ATTRIBUTE(dsmil_smi_sim_knob_fops, dsmil_smi_sim_knob_get,
			 dsmil_smi_sim_knob_set, "%llu\n");

static int dsmil_smi_sim_reset_set(void *data, u64 val)
{
	struct dsmil_smi_sim *sim = data;

	spin_lock(&sim->lock);
	dsmil_smi_sim_restore(sim);
	spin_unlock(&sim->lock);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(dsmil_smi_sim_reset_fops, NULL, dsmil_smi_sim_reset_set,
			 "%llu\n");

/* "fault" takes and shows the mode's name. */
static ssize_t dsmil_smi_sim_fault_read(struct file *file, char __user *ubuf,
					size_t count, loff_t *ppos)
{
	struct dsmil_smi_sim *sim = file->private_data;
	char buf[16];
	u32 mode;
	int len;

	spin_lock(&sim->lock);
	mode = sim->knob[DSMIL_SIM_K_FAULT];
	spin_unlock(&sim->lock);
	len = scnprintf(buf, sizeof(buf), "%s\n", dsmil_smi_sim_fault_names[mode]);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static ssize_t dsmil_smi_sim_fault_write(struct file *file,
					 const char __user *ubuf, size_t count,
					 loff_t *ppos)
{
	struct dsmil_smi_sim *sim = file->private_data;
	char buf[16] = {};
	ssize_t len;
	int mode;

	if (*ppos)
		return -EINVAL;
	len = simple_write_to_buffer(buf, sizeof(buf) - 1, ppos, ubuf, count);
	if (len < 0)
		return len;
	mode = sysfs_match_string(dsmil_smi_sim_fault_names, buf);
	if (mode < 0)
		return mode;
	dsmil_smi_sim_set_knob(sim, DSMIL_SIM_K_FAULT, mode);
	return count;
}

static const struct file_operations dsmil_smi_sim_fault_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.read	= dsmil_smi_sim_fault_read,
	.write	= dsmil_smi_sim_fault_write,
	.llseek	= default_llseek,
};

static int dsmil_smi_sim_tokens_show(struct seq_file *m, void *unused)
{
	struct dsmil_smi_sim *sim = m->private;
	struct dsmil_smi_sim_token tok[DSMIL_NUM_TOKENS];
	unsigned int i;

	spin_lock(&sim->lock);
	memcpy(tok, sim->tok, sizeof(tok));
	spin_unlock(&sim->lock);

	for (i = 0; i < DSMIL_NUM_TOKENS; i++) {
		unsigned int g = i / DSMIL_TOKENS_PER_GROUP;
		unsigned int pos = i % DSMIL_TOKENS_PER_GROUP * 3;

		seq_printf(m, "%#06x DSMIL%uD%X value=%#010x reads=%llu writes=%llu\n",
			   DSMIL_TOKEN_BASE + g * DSMIL_DEVS_PER_GROUP + pos,
			   g, pos, tok[i].value, tok[i].reads, tok[i].writes);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dsmil_smi_sim_tokens);

static int dsmil_smi_sim_stats_show(struct seq_file *m, void *unused)
{
	struct dsmil_smi_sim *sim = m->private;

	spin_lock(&sim->lock);
	seq_printf(m, "submits=%llu\nbusy_refusals=%llu\npolls=%llu\ncompletions=%llu\naborts=%llu\nabort_failures=%llu\nresets=%llu\nreset_failures=%llu\nactive=%u\nstatus=%#04x\ndropped_writes=%llu\n",
		   sim->submits, sim->busy_refusals, sim->polls,
		   sim->completions, sim->aborts, sim->abort_failures,
		   sim->resets, sim->reset_failures, sim->active, sim->status,
		   sim->dropped_writes);
	spin_unlock(&sim->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dsmil_smi_sim_stats);

static void dsmil_smi_sim_debugfs(struct dsmil_smi_sim *sim, struct dentry *parent)
{
	struct dentry *dir;
	unsigned int i;

	/* No directory (KUnit): the model works without its knobs. */
	if (IS_ERR_OR_NULL(parent))
		return;
	dir = debugfs_create_dir("sim", parent);
	sim->dir = dir;
	debugfs_create_file("fault", 0600, dir, sim, &dsmil_smi_sim_fault_fops);
	for (i = DSMIL_SIM_K_FAULT + 1; i < DSMIL_SIM_NR_KNOBS; i++) {
		sim->files[i].sim = sim;
		sim->files[i].id = i;
		debugfs_create_file_unsafe(dsmil_smi_sim_knob_desc[i].name, 0600,
					   dir, &sim->files[i],
					   &dsmil_smi_sim_knob_fops);
	}
	debugfs_create_file_unsafe("reset", 0200, dir, sim,
				   &dsmil_smi_sim_reset_fops);
	/*
	 * Read-only for everyone: debugfs under lockdown still serves files
	 * that are, so tests can count what reached the model there too.
	 */
	debugfs_create_file("tokens", 0444, dir, sim, &dsmil_smi_sim_tokens_fops);
	debugfs_create_file("stats", 0444, dir, sim, &dsmil_smi_sim_stats_fops);
}

static struct dsmil_smi_sim *dsmil_smi_sim_alloc(void)
{
	struct dsmil_smi_sim *sim = kzalloc(sizeof(*sim), GFP_KERNEL);

	if (!sim)
		return NULL;
	spin_lock_init(&sim->lock);
	dsmil_smi_sim_restore(sim);
	return sim;
}

static int dsmil_smi_sim_init(struct device *dev, struct dentry *debugfs,
			      void **priv)
{
	struct dsmil_smi_sim *sim = dsmil_smi_sim_alloc();

	if (!sim)
		return -ENOMEM;
	dsmil_smi_sim_debugfs(sim, debugfs);
	*priv = sim;
	return 0;
}

/*
 * The knob files point into @sim: remove them (waiting for any reader in
 * them) before freeing it, on every path, not only at module unload.
 */
static void dsmil_smi_sim_exit(void *priv)
{
	struct dsmil_smi_sim *sim = priv;

	debugfs_remove_recursive(sim->dir);
	kfree(sim);
}

const struct dsmil_smi_ops dsmil_smi_sim_ops = {
	.name		= "sim",
	.synchronous	= false,
	.init		= dsmil_smi_sim_init,
	.exit		= dsmil_smi_sim_exit,
	.submit		= dsmil_smi_sim_submit,
	.status		= dsmil_smi_sim_status,
	.timeout_ms	= 50,	/* the simulator's defaults, unchanged */
	.hang_ms	= 20,
	.abort		= dsmil_smi_sim_abort,
	.reset		= dsmil_smi_sim_reset,
};
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_sim_ops);

#if IS_ENABLED(CONFIG_KUNIT)
/**
 * dsmil_smi_sim_create - a simulator without debugfs, for KUnit.
 *
 * Return: the simulator (hand it to dsmil_create_with() as the priv of a
 * struct dsmil_smi_transport with dsmil_smi_sim_ops), or NULL.
 */
void *dsmil_smi_sim_create(void)
{
	return dsmil_smi_sim_alloc();
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_sim_create);

/**
 * dsmil_smi_sim_destroy - free a simulator from dsmil_smi_sim_create().
 * @priv: the simulator.
 */
void dsmil_smi_sim_destroy(void *priv)
{
	kfree(priv);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_sim_destroy);

/**
 * dsmil_smi_sim_set - set a knob by its debugfs name, for KUnit.
 * @priv: the simulator.
 * @knob: knob name ("fault" takes the mode's index).
 * @val:  value.
 *
 * Return: 0 or -EINVAL.
 */
int dsmil_smi_sim_set(void *priv, const char *knob, u32 val)
{
	unsigned int i;

	for (i = 0; i < DSMIL_SIM_NR_KNOBS; i++)
		if (!strcmp(dsmil_smi_sim_knob_desc[i].name, knob))
			return dsmil_smi_sim_set_knob(priv, i, val);
	return -EINVAL;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_sim_set);

/**
 * dsmil_smi_sim_count - reads or writes of @token that reached the model.
 * @priv:  the simulator.
 * @token: token id.
 * @write: writes rather than reads.
 *
 * Return: the count (0 for a token the model does not have).
 */
u64 dsmil_smi_sim_count(void *priv, u16 token, bool write)
{
	struct dsmil_smi_sim *sim = priv;
	int idx = dsmil_smi_token_index(token);
	u64 n;

	if (idx < 0)
		return 0;
	spin_lock(&sim->lock);
	n = write ? sim->tok[idx].writes : sim->tok[idx].reads;
	spin_unlock(&sim->lock);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_sim_count);
#endif
