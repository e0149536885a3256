// SPDX-License-Identifier: GPL-2.0
/*
 * dsmil: the SMI engine across a system sleep.
 *
 * Suspend holds the engine: nothing new is started, and the request at the
 * hardware (if any) is waited for, bounded.  Resume lets it serve again.
 *
 * Held, not refused.  When the PM core suspends devices, user space is
 * frozen, and the freezer only froze it once every caller had left the
 * driver: all of the driver's waits are bounded (smi_timeout_ms) and
 * killable, none is freezable, so a caller finishes its request before its
 * task can freeze.  What can still reach the engine is kernel work: a
 * request already at the hardware whose caller left (the worker finishes
 * it), and requests queued by the driver's own workers.  Those are queued
 * as usual and stay queued while the engine is suspended; each still has
 * its deadline, so a held request that outlives it ends as a queue timeout
 * (its caller, if it waits, is told -ETIMEDOUT, and nothing reached the
 * hardware), and one still in time at resume is served then.  Refusing
 * with a new errno instead would give every asynchronous submitter a
 * failure to handle for a state it cannot observe, and would need an
 * outcome of its own in the counters; holding keeps the counter identity
 * as it is and every wait bounded by the deadline it already had.
 *
 * The workqueue is not freezable on purpose: a request at the hardware
 * whose caller left must still be finished (and its hand-off ended) before
 * the machine sleeps, which is what dsmil_smi_suspend() waits for.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "dsmil_priv.h"
#include "dsmil_smi_priv.h"

/* Nobody owns the hardware and no hand-off is pending. */
static bool dsmil_smi_quiet(struct dsmil_smi *smi, u64 *busy_id)
{
	bool quiet;

	spin_lock(&smi->lock);
	quiet = !smi->hw_owned && !smi->handoff;
	*busy_id = quiet ? 0 : smi->hw_id;
	spin_unlock(&smi->lock);
	return quiet;
}

/**
 * dsmil_smi_suspend - hold the engine for a system sleep.
 * @smi: SMI engine.
 * @rep: out: how long it waited, what was still at the hardware, how many
 *       requests are held.
 *
 * From now on the engine starts no request (they queue, see the top of the
 * file).  Then waits for the request at the hardware, if any, to end: the
 * engine itself ends a polled one by its deadline (an abort at worst), so
 * twice smi_timeout_ms covers it with room for the abort.  A synchronous
 * firmware call that has not returned by then never will in a useful
 * time; the sleep goes on without it (@rep->busy_id names it), because a
 * suspend that fails for it would fail every time, and the call's outcome
 * is still recorded when it returns.  Never fails, never waits longer
 * than 2 * smi_timeout_ms.  Sleeps.
 */
void dsmil_smi_suspend(struct dsmil_smi *smi, struct dsmil_smi_pm_report *rep)
{
	unsigned long tmo = msecs_to_jiffies(2 * smi->cfg.timeout_ms) + 1;
	ktime_t t0 = ktime_get();
	struct list_head *pos;
	u64 busy_id;

	memset(rep, 0, sizeof(*rep));
	spin_lock(&smi->lock);
	smi->suspended = true;
	spin_unlock(&smi->lock);

	/* Uninterruptible: the PM core does not expect a signal to end it. */
	wait_event_timeout(smi->idle_wq, dsmil_smi_quiet(smi, &busy_id), tmo);
	dsmil_smi_quiet(smi, &busy_id);
	rep->busy_id = busy_id;
	rep->wait_ms = ktime_to_ms(ktime_sub(ktime_get(), t0));

	spin_lock(&smi->lock);
	list_for_each(pos, &smi->queue)
		rep->held++;
	spin_unlock(&smi->lock);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_suspend);

/**
 * dsmil_smi_resume - let a held engine serve again.
 * @smi: SMI engine.
 *
 * Held requests still in time go to the hardware now, each checked again
 * at its hand-off against the devices' states as resume left them; the
 * others end as queue timeouts.  Does not sleep.
 */
void dsmil_smi_resume(struct dsmil_smi *smi)
{
	bool kick;

	spin_lock(&smi->lock);
	smi->suspended = false;
	kick = !list_empty(&smi->queue);
	spin_unlock(&smi->lock);
	if (kick)
		queue_work(smi->wq, &smi->work);
}
EXPORT_SYMBOL_IF_KUNIT(dsmil_smi_resume);
