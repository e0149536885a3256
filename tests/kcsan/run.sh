#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tests/host/kcsan-check, on the KCSAN kernel (tools/dsmil-vm
# --kernel kcsan --no-load).  Every step is marked in the kernel log
# ("dsmil-kcsan: NAME"), so that tests/kcsan/triage names the step behind
# each report.
#
#   run.sh main      dsmil_race (every ioctl against every other, unload
#                    against opens), then the guest tests that run requests
#                    side by side: async, pm, stress, smi, mmio, lifetime
#   run.sh control   the pair the positive control races: SMI_STATUS
#                    against TOKEN_READ (dsmil.ko built with
#                    DSMIL_KCSAN_CONTROL=y)
#
# Environment: DSMIL_KCSAN_SKIP_WATCH, KCSAN's sampling interval (accesses
# between two watchpoints per CPU; the kernel's default 4000) for
# dsmil_race only: the guest tests keep the default, their timeouts do not
# allow more.
KP=/sys/module/kcsan/parameters
TESTS="async_test pm_test stress_test smi_test mmio_test lifetime_test"
rc=0
if [ -w $KP/skip_watch ]; then
	skip_default=$(cat $KP/skip_watch)
else
	echo "# kcsan: not in this kernel (the workload runs unwatched)"
	KP=""
fi

mark() {
	echo "dsmil-kcsan: $*" > /dev/kmsg
}

race() {
	if [ -n "$KP" ] && [ -n "$DSMIL_KCSAN_SKIP_WATCH" ]; then
		echo "$DSMIL_KCSAN_SKIP_WATCH" > $KP/skip_watch
	fi
	[ -z "$KP" ] ||
		echo "# kcsan: skip_watch=$(cat $KP/skip_watch) udelay_task=$(cat $KP/udelay_task)"
	echo "### test: dsmil_race"
	t0=$(date +%s)
	/tests/dsmil_race "$@"
	trc=$?
	[ -z "$KP" ] || echo "$skip_default" > $KP/skip_watch
	if grep -q '^dsmil ' /proc/modules && ! rmmod dsmil; then
		echo "# rmmod dsmil failed after dsmil_race"
		[ $trc = 0 ] && trc=98
	fi
	echo "### exit: dsmil_race $trc $(($(date +%s) - t0))"
	[ $trc = 0 ] || rc=1
}

case "$1" in
main)
	mark "dsmil_race"
	race
	for t in $TESTS; do
		mark "test $t"
		# A test that failed may leave the module loaded (a child
		# still holding a file): give it a moment, so that one
		# failure does not fail every test after it.
		i=0
		while grep -q '^dsmil ' /proc/modules && ! rmmod dsmil 2>/dev/null &&
		      [ $i -lt 20 ]; do
			sleep 0.5
			i=$((i + 1))
		done
		/tests/run-all.sh "$t" || rc=1
	done
	;;
control)
	mark "control"
	race --ops SMI_STATUS,TOKEN_READ --pair-ms "${DSMIL_KCSAN_CONTROL_MS:-5000}" --no-unload
	;;
*)
	echo "usage: run.sh main|control"
	exit 2
	;;
esac
mark "done"
# What KCSAN did: watchpoints set up, races seen (debugfs).
if [ -r /sys/kernel/debug/kcsan ]; then
	sed 's/^/# kcsan stats: /' /sys/kernel/debug/kcsan | grep -v ': *$'
fi
exit $rc
