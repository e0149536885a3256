#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Guest side of `make demo`: each step prints the command, then its output.
step() {
	echo
	echo "\$ $*"
	"$@"
	rc=$?
	[ $rc = 0 ] || echo "(exit status $rc)"
	return 0
}

FAULT=/sys/kernel/debug/dsmil/sim/fault

echo "=== dsmil demo on $(uname -r)"
step insmod /lib/dsmil/dsmil.ko
step ls -l /dev/dsmil
step dsmilctl info
step dsmilctl devices --group 0
echo
echo "--- bring group 0 up: the controller first, the others depend on it"
for i in 0 1 2 3 4 5 6 7 8; do
	step dsmilctl device DSMIL0D$i activate
done
echo "--- a quarantined device (Emergency Wipe) is never activated"
step dsmilctl device DSMIL0D9 activate
step dsmilctl devices --group 0
step dsmilctl token read 0 memory
echo
echo "--- the simulated SMI hangs: the read returns within the timeout, the"
echo "--- device goes to ERROR, repeated faults make the backend fail fast"
step sh -c "echo hang > $FAULT"
step dsmilctl token read 0 power
step dsmilctl device DSMIL0D0 activate
step dsmilctl device DSMIL0D0 activate
step dsmilctl device DSMIL0D0 activate
step dsmilctl smi status
echo "--- the hardware is fixed; root recovers the backend"
step sh -c "echo none > $FAULT"
step dsmilctl smi recover
step dsmilctl device DSMIL0D0 activate
step dsmilctl token read 0 power
echo
echo "--- the chunk mapper: before and after a 48 MiB dump"
step dsmilctl chunks
step dsmilctl mmio dump 0x1000000 48M -o /tmp/dump.bin
step dsmilctl chunks
step dsmilctl audit --since 20
step dsmilctl stats
echo
echo "--- what monitoring sees (Nagios-style status)"
step dsmil-monitor --once --warn smi-timeout=1 --crit smi-faulted=1
echo
echo "--- the driver's own lines in the kernel log"
dmesg | grep 'dsmil: ' | tail -n 40
step rmmod dsmil
