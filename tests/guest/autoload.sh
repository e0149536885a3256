#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of tests/host/dell-check's autoload check, in a guest booted by
#   tools/dsmil-vm --kernel 6.12-generic --install-module --no-load
# (dsmil.ko installed in /lib/modules/KVER/extra, depmod run, nothing loaded).
#
# It does what udev does at boot, with busybox: a uevent listener that runs
# "modprobe $MODALIAS" for every event carrying one (udev's kmod builtin),
# and a coldplug ("add" written to every device's uevent file, as
# "udevadm trigger --action=add" does).  Nothing here names dsmil to
# modprobe or insmod: only the DMI id device's alias can load it.
#
# Usage: sh autoload.sh load       the DMI strings are a Latitude 5450:
#                                  dsmil must be loaded, on dell-smbios
#        sh autoload.sh no-load    any other machine: dsmil must not load
#        sh autoload.sh no-stack   a Latitude 5450 whose dell-smbios is not
#                                  there (unloaded, its module moved away):
#                                  auto must refuse to load, not fall back
#                                  to the simulator (whose answers would
#                                  read as the firmware's)
# Prints TAP; exit status 0 when every check passed.
want=$1
log=/run/autoload.log
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
loaded() { grep -q '^dsmil ' /proc/modules; }

case $want in
load|no-load|no-stack) ;;
*) echo "usage: autoload.sh load|no-load|no-stack" >&2; exit 2 ;;
esac

if [ "$want" = no-stack ]; then
	rmmod dell_smbios 2>/dev/null
	for m in $(find /lib/modules -name 'dell-smbios.ko*'); do
		mv "$m" "$m.away"
	done
	if grep -q '^dell_smbios ' /proc/modules; then
		not_ok "dell-smbios unloaded for the test"
		echo "1..$n"
		exit 1
	fi
	ok "dell-smbios unloaded and out of modprobe's reach"
	if /usr/lib/kmod/modprobe dsmil 2>/dev/null || loaded; then
		not_ok "auto refuses to load on the Latitude 5450 without dell-smbios"
		line=$(dmesg | grep 'dsmil: loaded:' | tail -n1)
		echo "# ${line#*] }"
		loaded && rmmod dsmil
	else
		ok "auto refuses to load on the Latitude 5450 without dell-smbios"
	fi
	line=$(dmesg | grep 'dsmil: smi_backend=dell-smbios refused' | tail -n1)
	echo "# ${line#*] }"
	if [ -n "$line" ]; then
		ok "the refusal says why"
	else
		not_ok "the refusal says why"
	fi
	echo "1..$n"
	[ "$failed" = 0 ]
	exit
fi

# Started before the coldplug by the test itself: nothing may have loaded
# dsmil so far.
if loaded; then
	not_ok "dsmil is not loaded before the coldplug"
	echo "1..$n"
	exit 1
fi
ok "dsmil is not loaded before the coldplug"

# kmod's modprobe (tools/dsmil-vm --install-module puts it there): it
# matches modalias patterns as udev's libkmod does.
if [ ! -x /usr/lib/kmod/modprobe ]; then
	not_ok "kmod's modprobe is in the guest (tools/dsmil-vm --install-module)"
	echo "1..$n"
	exit 1
fi
cat >/run/uevent-helper <<'EOF'
#!/bin/sh
[ -n "$MODALIAS" ] || exit 0
/usr/lib/kmod/modprobe -b "$MODALIAS" 2>/dev/null
echo "$ACTION $DEVPATH $MODALIAS rc=$?" >>/run/autoload.log
EOF
chmod +x /run/uevent-helper
: >"$log"
uevent /run/uevent-helper &
listener=$!
sleep 0.5

dmi=$(cat /sys/class/dmi/id/modalias)
echo "# DMI modalias: $dmi"
for u in $(find /sys/devices -name uevent); do
	echo add >"$u" 2>/dev/null
done

# Settle: until the DMI id device's event has been handled (its line is
# written after its modprobe returned), at most 30 s.
i=0
while ! grep -q " $dmi rc=" "$log" && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill "$listener" 2>/dev/null
if grep -q " $dmi rc=" "$log"; then
	ok "the DMI id device's add event reached modprobe ($((i * 100)) ms)"
else
	not_ok "the DMI id device's add event reached modprobe"
fi
echo "# $(wc -l <"$log") modalias events handled"

if [ "$want" = load ]; then
	if loaded; then
		ok "dsmil loaded by its DMI alias, without insmod"
	else
		not_ok "dsmil loaded by its DMI alias, without insmod"
	fi
	line=$(dmesg | grep 'dsmil: loaded:' | tail -n1)
	echo "# ${line#*] }"
	case $line in
	*" smi=dell-smbios smi_choice=auto-dmi "*)
		ok "auto chose dell-smbios on the Latitude 5450 (smi_choice=auto-dmi)" ;;
	*)
		not_ok "auto chose dell-smbios on the Latitude 5450 (smi_choice=auto-dmi)" ;;
	esac
	if dsmilctl info | grep -q '^smi backend: *dell-smbios'; then
		ok "dsmilctl info shows the dell-smbios backend"
	else
		not_ok "dsmilctl info shows the dell-smbios backend"
	fi
	# And it drives the firmware: a device brought up (its verification
	# reads its token) and a token read, both through dell-smbios.
	if out=$(dsmilctl device 0 activate 2>&1) &&
	   out=$(dsmilctl --json token read 0 power 2>&1) &&
	   st=$(dsmilctl --json smi status 2>&1) &&
	   echo "$st" | grep -q '"backend": *"dell-smbios"' &&
	   ! echo "$st" | grep -q '"successes": *0[,}]'; then
		ok "a token read reaches the firmware through dell-smbios"
		echo "# token read: $(echo "$out" | tr -s ' \n' ' ')"
	else
		not_ok "a token read reaches the firmware through dell-smbios"
		echo "# $out"
	fi
	loaded && rmmod dsmil
else
	if loaded; then
		not_ok "dsmil did not autoload on a machine its DMI table does not name"
		rmmod dsmil
	else
		ok "dsmil did not autoload on a machine its DMI table does not name"
	fi
	# The control: installed and loadable by name, so it was the alias
	# that did not match, not a module modprobe could not find.
	if /usr/lib/kmod/modprobe dsmil && loaded; then
		ok "modprobe dsmil by name loads it (the module is installed)"
		line=$(dmesg | grep 'dsmil: loaded:' | tail -n1)
		echo "# ${line#*] }"
		rmmod dsmil
	else
		not_ok "modprobe dsmil by name loads it (the module is installed)"
	fi
fi
echo "1..$n"
[ "$failed" = 0 ]
