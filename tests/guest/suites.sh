#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tests/host/run-suites: the reliability and security suites,
# each on a freshly loaded dsmil.ko (default parameters), each followed by
# rmmod and a kmemleak scan, so that a report or a leak is attributed to the
# suite that caused it.  Run by tools/dsmil-vm --no-load.
#
# Output protocol, read by tests/host/run-suites:
#   kernel log: "dsmil-suite: begin NAME" ... "dsmil-suite: end NAME"
#   stdout:     "### suite: NAME", the suite's output, "### result: NAME RC"
#
# Usage: suites.sh [--lockdown MODE] [--long] SUITE...
#        SUITE: fuzz stress failslab lifetime privilege
# Environment: DSMIL_SEED (fuzzer and stress seed), DSMIL_KO (module path).
MOD=${DSMIL_KO:-/lib/dsmil/dsmil.ko}
export DSMIL_KO=$MOD
KMEMLEAK=/sys/kernel/debug/kmemleak

# --lockdown MODE: raise kernel lockdown (integrity, confidentiality) right
# after loading the module, before the suites.  Lockdown refuses unsigned
# modules, so it cannot be set on the command line of a boot that loads one.
lockdown=""
if [ "$1" = --lockdown ]; then
	lockdown=$2
	shift 2
fi
if [ "$1" = --long ]; then
	shift
	export DSMIL_FUZZ_CALLS=${DSMIL_FUZZ_CALLS:-1000000}
	export DSMIL_STRESS_SECS=${DSMIL_STRESS_SECS:-30}
	export DSMIL_STOP_SECS=${DSMIL_STOP_SECS:-20}
	export DSMIL_CYCLES=${DSMIL_CYCLES:-200}
	export DSMIL_RACE_ROUNDS=${DSMIL_RACE_ROUNDS:-50}
	export DSMIL_FAILSLAB_STRIDE=${DSMIL_FAILSLAB_STRIDE:-1}
else
	export DSMIL_FUZZ_CALLS=${DSMIL_FUZZ_CALLS:-100000}
	export DSMIL_STRESS_SECS=${DSMIL_STRESS_SECS:-5}
	export DSMIL_STOP_SECS=${DSMIL_STOP_SECS:-3}
	export DSMIL_CYCLES=${DSMIL_CYCLES:-50}
	export DSMIL_RACE_ROUNDS=${DSMIL_RACE_ROUNDS:-10}
	export DSMIL_FAILSLAB_STRIDE=${DSMIL_FAILSLAB_STRIDE:-3}
fi

unload() {
	if grep -q '^dsmil ' /proc/modules; then
		rmmod dsmil || return 1
	fi
	return 0
}

# kmemleak reports objects older than 5 s: wait, scan twice, show, clear
# (so that the next suite's scan does not report this one's leaks again).
leak_scan() {
	if [ ! -w $KMEMLEAK ] || ! echo scan > $KMEMLEAK 2>/dev/null; then
		echo "# kmemleak not available here (lockdown restricts debugfs)"
		return 0
	fi
	sleep 6
	echo scan > $KMEMLEAK
	echo scan > $KMEMLEAK
	leaks=$(grep -c 'unreferenced object' $KMEMLEAK)
	cat $KMEMLEAK > /dev/console
	echo clear > $KMEMLEAK
	echo "# kmemleak: $leaks new suspected leak(s)"
	[ "$leaks" = 0 ]
}

rc=0
for s in "$@"; do
	case $s in
	fuzz) cmd="/tests/dsmil_fuzz --calls $DSMIL_FUZZ_CALLS" ;;
	stress) cmd=/tests/stress_test ;;
	failslab) cmd=/tests/failslab_test ;;
	lifetime) cmd=/tests/lifetime_test ;;
	privilege) cmd=/tests/privilege_test ;;
	*) echo "### suite: $s"; echo "### result: $s 2"; rc=1; continue ;;
	esac
	echo "### suite: $s"
	echo "dsmil-suite: begin $s" > /dev/kmsg
	start=$(date +%s)
	src=0
	if ! unload || ! insmod "$MOD"; then
		echo "# could not load $MOD with default parameters"
		src=99
	else
		if [ -n "$lockdown" ]; then
			echo "$lockdown" > /sys/kernel/security/lockdown
			echo "# lockdown: $(cat /sys/kernel/security/lockdown)"
			grep -q "\[$lockdown\]" /sys/kernel/security/lockdown || src=96
		fi
		$cmd
		crc=$?
		[ $src = 0 ] && src=$crc
		if ! unload; then
			echo "# rmmod dsmil failed after $s"
			[ $src = 0 ] && src=98
		fi
		if ! leak_scan; then
			[ $src = 0 ] && src=97
		fi
	fi
	echo "# $s took $(( $(date +%s) - start )) s"
	echo "dsmil-suite: end $s" > /dev/kmsg
	echo "### result: $s $src"
	[ $src = 0 ] || rc=1
done
# dsmil-vm unloads (nothing here) and scans once more at the end.
insmod "$MOD" 2>/dev/null
exit $rc
