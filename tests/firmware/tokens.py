# SPDX-License-Identifier: GPL-2.0
"""The emulated Dell firmware's token table: the one source of truth.

gen.py turns it into the SMBIOS structures QEMU passes to the guest (type 3,
0xB1 and the 0xDA token table) and into the ASL tables the SSDT keeps its NV
storage and fault behaviour in; tests/guest/dell_test.c reads the same facts
back from the guest (/sys/firmware/dmi, the ACPI status of the NV cells), so
nothing here is repeated elsewhere.

A Dell token is (id, location, value): the token is active when the NV cell
at `location` holds `value`, activating it writes `value` there (class 1,
select 0), and a class 0 read of the location gives (current, min, max).
"""

DSMIL_TOKEN_BASE = 0x0480
GROUPS = 6
POSITIONS = (0, 3, 6, 9)          # power, memory, storage, sensor

# DSMIL tokens deliberately missing from the 0xDA table: dsmil must show
# their devices' tokens absent and never call the firmware for them.
ABSENT = {(1, 6), (5, 3)}

# Range of each position's NV cell; the token's own value is the top of it.
RANGE = {0: (0, 1), 3: (0, 0xFF), 6: (0, 0x0F), 9: (0, 100)}


def dsmil_token(group, pos):
    return DSMIL_TOKEN_BASE + 12 * group + pos


def dsmil_location(group, pos):
    # One NV cell per DSMIL token, in a block of its own.
    return 0x0100 + 4 * group + pos // 3


def _dsmil_tokens():
    out = []
    for g in range(GROUPS):
        for p in POSITIONS:
            if (g, p) in ABSENT:
                continue
            mn, mx = RANGE[p]
            out.append(dict(id=dsmil_token(g, p), loc=dsmil_location(g, p),
                            value=mx, cur=(3 * g + p) % (mx + 1),
                            min=mn, max=mx, name="DSMIL%dD%X" % (g, p)))
    return out


# Tokens the kernel uses for itself.  WSMT enabled makes the SMM backend of a
# kernel built with it (Debian's) disable itself, so calls go through WMI.
OTHER_TOKENS = [
    dict(id=0x04EC, loc=0x0022, value=1, cur=1, min=0, max=1,
         name="WSMT enable"),
    dict(id=0x04ED, loc=0x0022, value=0, cur=1, min=0, max=1,
         name="WSMT disable"),
]

TOKENS = _dsmil_tokens() + OTHER_TOKENS

# supportedCmds: classes the kernel's call filter lets through.  0/1 are the
# token calls; 9/10 (passwords) only so that libsmbios' password probe reaches
# the AML (which answers -2) instead of being refused with a log line.
SUPPORTED_CLASSES = (0, 1, 9, 10)

# Only the SMM backend (dcdbas) uses these.  0x80 is the POST port QEMU
# ignores: its probe raises no SMI, and WSMT then disables that backend.
CMD_IO_ADDRESS = 0x0080
CMD_IO_CODE = 0xDA

# Fault behaviour per boot (tools/dsmil-vm --dell-firmware MODE).  Per NV
# location: ("sleep", ms) before answering, every call; and, from the
# location's second call on (its first, dsmil's verification of the device,
# succeeds, so the device can be brought up and then fail):
# ("freeze", ms) before answering, ("status", code) answered in output[0]
# instead of doing the call, ("malformed",) an Integer instead of the Buffer
# the WMI backend needs.  "all" applies to every location.
#
#  - SMM-like calls: Documentation/hwmon/dell-smm-hwmon.rst gives 11-15 ms
#    for an SMM call on affected machines (ACPICA's Sleep() rounds up to
#    whole jiffies, so a guest sees a few ms more).
#  - freezes: kernel bugzilla 195751, SMM calls of about 500 ms.
FAULT_MODES = {
    "none": {},
    "smm": {"all": ("sleep-smm",)},
    "faults": {
        (3, 0): ("sleep", 11), (3, 3): ("sleep", 12),
        (3, 6): ("sleep", 13), (3, 9): ("sleep", 15),
        # Not the groups' controllers (position 0): other devices need
        # those up, and a fault there would keep them down.
        (4, 3): ("status", -1), (4, 6): ("status", -2),
        (4, 9): ("status", -5), (5, 6): ("malformed",),
        (5, 9): ("freeze", 500),
    },
}
