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

echo "=== dsmil demo on $(uname -r)"
step insmod /lib/dsmil/dsmil.ko
step ls -l /dev/dsmil
step dsmilctl info
step dsmilctl devices --group 0
echo
echo "--- bring group 0 up (controller first: the others depend on it)"
for d in DSMIL0D0 DSMIL0D1 DSMIL0D2 DSMIL0D3; do
	step dsmilctl device $d activate
done
step dsmilctl device DSMIL0D9 activate
step dsmilctl devices --group 0
step dsmilctl token read 0 memory
echo
echo "--- the simulated SMI hangs: reads time out, the backend fails fast, then recovers"
step sh -c 'echo 1 > /sys/kernel/debug/dsmil/sim/hang'
step dsmilctl token read 0 power
step dsmilctl token read 0 power
step dsmilctl token read 0 power
step dsmilctl token read 0 power
step dsmilctl smi status
step sh -c 'echo 0 > /sys/kernel/debug/dsmil/sim/hang'
step dsmilctl smi recover
step dsmilctl device DSMIL0D0 reset
step dsmilctl device DSMIL0D0 activate
step dsmilctl token read 0 power
echo
echo "--- the chunk mapper: before and after a 48 MiB dump"
step dsmilctl chunks
step dsmilctl mmio dump 0x1000000 0x3000000 -o /tmp/dump.bin
step dsmilctl chunks
step dsmilctl audit
step dsmilctl stats
echo
echo "--- what monitoring sees"
step dsmil-monitor --once --warn smi-timeout=1 --crit smi-faulted=1
echo
echo "--- the driver's own lines in the kernel log"
dmesg | grep 'dsmil' | tail -n 40
step rmmod dsmil
