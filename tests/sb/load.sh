#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The Secure Boot guest of tests/host/sb-check (tools/dsmil-vm --kernel sb
# --no-load): tries each variant of dsmil.ko in /root and reports, for the
# host to judge, insmod's exit status and message ("### load NAME: ..."),
# the kernel log lines the attempt added ("### dmesg NAME: ..."), whether
# the module is then loaded, and the exit status of dsmilctl commands.
#
# Usage: load.sh VARIANT... [-- signed-variant]
#   Each VARIANT is tried (and unloaded again if it loaded); the last one,
#   after "--", is loaded with allow_writes=1 and stays loaded for
#   dsmilctl info, an MMIO read (raw region access) and a token write.

try() {
	name=$1
	shift
	before=$(dmesg | wc -l)
	out=$(insmod "/root/dsmil-$name.ko" "$@" 2>&1)
	rc=$?
	echo "### load $name: rc=$rc $out"
	dmesg | tail -n +$((before + 1)) | sed "s/^/### dmesg $name: /"
	if grep -q '^dsmil ' /proc/modules; then
		echo "### loaded $name: yes"
	else
		echo "### loaded $name: no"
	fi
}

echo "### lockdown: $(cat /sys/kernel/security/lockdown)"
echo "### sig_enforce: $(cat /sys/module/module/parameters/sig_enforce)"
dmesg | grep -i 'x.509\|certificate' | sed 's/^/### boot: /'

while [ $# -gt 0 ] && [ "$1" != -- ]; do
	try "$1"
	if grep -q '^dsmil ' /proc/modules; then
		rmmod dsmil || echo "### rmmod $1 failed"
	fi
	shift
done
[ "$1" = -- ] && shift
if [ $# -gt 0 ]; then
	try "$1" allow_writes=1
	dsmilctl info >/tmp/info.txt 2>&1
	echo "### cmd info: rc=$?"
	sed 's/^/### info: /' /tmp/info.txt | head -n 12
	out=$(dsmilctl mmio read 0 2>&1)
	echo "### cmd mmio-read: rc=$? $out"
	# The token's device must be ACTIVE for a write to reach the
	# firmware; activation itself is allowed under lockdown.
	out=$(dsmilctl device DSMIL0D0 activate 2>&1)
	echo "### cmd activate: rc=$? $out"
	out=$(dsmilctl token write 0 power 0x1234 2>&1)
	echo "### cmd token-write: rc=$? $out"
fi
# Which asymmetric-cipher instances exist after the attempts.
awk '/^name/ { keep = ($3 ~ /rsa|pkcs1|ecdsa|sha5/) } keep && /^(name|driver|selftest|type)/' \
	/proc/crypto | sed 's/^/### crypto: /'
exit 0
