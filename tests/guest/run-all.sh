#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of `make check` (run by tools/dsmil-vm --no-load): the KUnit
# suites, then every guest test binary, each with a freshly loaded module.
#
# Output protocol, read by tools/check on the host:
#   kernel log:  "dsmil-kunit: begin" ... KTAP ... "dsmil-kunit: end"
#   stdout:      "### test: NAME", the binary's TAP, "### exit: NAME RC SECS"
# Usage: run-all.sh [TEST_NAME...]   (default: every /tests/*_test binary,
#        then abi_test32 if built)
MOD=/lib/dsmil/dsmil.ko
rc=0

unload() {
	if grep -q '^dsmil ' /proc/modules; then
		rmmod dsmil || return 1
	fi
	return 0
}

run_kunit() {
	krc=0
	insmod $MOD || krc=1
	echo "dsmil-kunit: begin" > /dev/kmsg
	# The suites run synchronously inside the test module's init.
	insmod /lib/dsmil/dsmil_kunit.ko || krc=1
	echo "dsmil-kunit: end" > /dev/kmsg
	rmmod dsmil_kunit || krc=1
	unload || krc=1
	return $krc
}

if [ $# -eq 0 ]; then
	set -- kunit $(cd /tests && ls *_test 2>/dev/null)
	[ -x /tests/abi_test32 ] && set -- "$@" abi_test32
fi

for t in "$@"; do
	echo "### test: $t"
	t0=$(date +%s)
	if [ "$t" = kunit ]; then
		run_kunit
		trc=$?
		echo "### exit: kunit $trc $(($(date +%s) - t0))"
		[ $trc = 0 ] || rc=1
		continue
	fi
	if ! insmod $MOD; then
		echo "### exit: $t 99 0"
		rc=1
		continue
	fi
	/tests/$t
	trc=$?
	# The module must still unload after every test binary.
	if ! unload; then
		echo "# $t: rmmod dsmil failed after the test"
		[ $trc = 0 ] && trc=98
	fi
	echo "### exit: $t $trc $(($(date +%s) - t0))"
	[ $trc = 0 ] || rc=1
done
exit $rc
