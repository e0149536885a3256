/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Emulated Dell WMI SMBIOS calling interface, for QEMU -acpitable.
 *
 * \_SB.DWMI is a PNP0C14 (ACPI-WMI) device with the two GUIDs the in-tree
 * stack binds to:
 *   8D9DDCBC-A997-11DA-B012-B622A1EF5492, data block "DD" (WQDD): the
 *     128-byte descriptor dell-wmi-descriptor checks ("DELL", " WMI",
 *     interface version, buffer length, hotfix);
 *   A80593CE-A997-11DA-B012-B622A1EF5492, method "DA" (WMDA): dell-smbios'
 *     WMI backend calls WMDA(0, 1, buffer) with the calling buffer
 *     (u16 class, u16 select, u32 input[4], u32 output[4], extension) and
 *     takes back a Buffer of at most the descriptor's length.
 *
 * Token calls over NV storage (nvtable.asl, generated from tokens.py):
 *   class 0 select 0..2, read:  input[0] location -> output[0] status
 *                               (0 ok, -1 error, -2 unsupported),
 *                               [1] current, [2] min, [3] max
 *   class 1 select 0..2, write: input[0] location, input[1] value; a value
 *                               outside [min, max] is refused (-1)
 * Anything else answers -2.  Per-location faults (the boot's mode): sleep
 * before answering; from the location's second call on, a freeze, a fixed
 * status, or an Integer instead of a Buffer.
 *
 * Witnesses for the guest, read through /sys/bus/acpi/devices/X/status
 * (the kernel evaluates _STA on every read):
 *   DSML0C01:00       (calls << 8) | 0xF: every WMDA evaluation
 *   DSML0C02:NN       (NV value << 8) | 0xF, its _UID the location
 */
DefinitionBlock ("", "SSDT", 2, "DSMIL", "DELLFW", 0x00000001)
{
    Scope (\_SB)
    {
        Device (DWMI)
        {
            Name (_HID, EisaId ("PNP0C14"))
            Name (_UID, "DELLSMBIOS")

            /* 20 bytes each: GUID (little-endian fields), id, count, flags */
            Name (_WDG, Buffer ()
            {
                0xCE, 0x93, 0x05, 0xA8, 0x97, 0xA9, 0xDA, 0x11,
                0xB0, 0x12, 0xB6, 0x22, 0xA1, 0xEF, 0x54, 0x92,
                0x44, 0x41, 0x01, 0x02,         /* "DA", 1, method */
                0xBC, 0xDC, 0x9D, 0x8D, 0x97, 0xA9, 0xDA, 0x11,
                0xB0, 0x12, 0xB6, 0x22, 0xA1, 0xEF, 0x54, 0x92,
                0x44, 0x44, 0x01, 0x00          /* "DD", 1, data block */
            })

            Name (DESC, Buffer (0x80)
            {
                0x44, 0x45, 0x4C, 0x4C,         /* "DELL" */
                0x20, 0x57, 0x4D, 0x49,         /* " WMI" */
                0x01, 0x00, 0x00, 0x00,         /* interface version 1 */
                0x00, 0x10, 0x00, 0x00,         /* buffer length 4096 */
                0x01, 0x00, 0x00, 0x00          /* hotfix 1 */
            })

            Method (WQDD, 1, NotSerialized)
            {
                Return (DESC)
            }

            Include ("nvtable.asl")

            Name (CCNT, Zero)                   /* WMDA evaluations */

            Name (CBUF, Buffer (0x1000) {})
            CreateWordField (CBUF, 0x00, CCLS)
            CreateWordField (CBUF, 0x02, CSEL)
            CreateDWordField (CBUF, 0x04, CIN0)
            CreateDWordField (CBUF, 0x08, CIN1)
            CreateDWordField (CBUF, 0x14, COU0)
            CreateDWordField (CBUF, 0x18, COU1)
            CreateDWordField (CBUF, 0x1C, COU2)
            CreateDWordField (CBUF, 0x20, COU3)

            /* Index of location Arg0 in NLOC, or Ones. */
            Method (CELL, 1, NotSerialized)
            {
                If ((Arg0 >= DBAS) && ((Arg0 - DBAS) < SizeOf (DIDX)))
                {
                    Return (DerefOf (DIDX [Arg0 - DBAS]))
                }
                Local0 = Zero
                While (Local0 < SizeOf (NLOC))
                {
                    If (DerefOf (NLOC [Local0]) == Arg0)
                    {
                        Return (Local0)
                    }
                    Local0++
                }
                Return (Ones)
            }

            /* The witness value of NV cell Arg0. */
            Method (NVST, 1, NotSerialized)
            {
                Return ((DerefOf (NCUR [Arg0]) << 8) | 0x0F)
            }

            Method (WMDA, 3, Serialized)
            {
                CBUF = Arg2         /* copies; zero-extends or truncates */
                CCNT++
                COU0 = 0xFFFFFFFE   /* -2: not supported */
                If (((CCLS == Zero) || (CCLS == One)) && (CSEL <= 2))
                {
                    Local0 = CELL (CIN0)
                    If (Local0 == Ones)
                    {
                        COU0 = 0xFFFFFFFF
                        Return (CBUF)
                    }
                    Local1 = DerefOf (FSLP [Local0])
                    If (DerefOf (FSMM [Local0]))
                    {
                        /* 11..15 ms, varying from call to call */
                        Local1 = 11 + (CCNT % 5)
                    }
                    If (Local1)
                    {
                        Sleep (Local1)
                    }
                    /* Armed faults: from the location's second call on. */
                    NCAL [Local0] = DerefOf (NCAL [Local0]) + 1
                    If (DerefOf (NCAL [Local0]) > 1)
                    {
                        If (DerefOf (FFRZ [Local0]))
                        {
                            Sleep (DerefOf (FFRZ [Local0]))
                        }
                        If (DerefOf (FBAD [Local0]))
                        {
                            Return (Zero)
                        }
                        If (DerefOf (FSTA [Local0]))
                        {
                            COU0 = DerefOf (FSTA [Local0])
                            Return (CBUF)
                        }
                    }
                    If (CCLS == Zero)
                    {
                        COU1 = DerefOf (NCUR [Local0])
                        COU2 = DerefOf (NMIN [Local0])
                        COU3 = DerefOf (NMAX [Local0])
                        COU0 = Zero
                    }
                    ElseIf ((CIN1 < DerefOf (NMIN [Local0])) ||
                            (CIN1 > DerefOf (NMAX [Local0])))
                    {
                        COU0 = 0xFFFFFFFF
                    }
                    Else
                    {
                        NCUR [Local0] = CIN1
                        COU1 = CIN1
                        COU0 = Zero
                    }
                }
                Return (CBUF)
            }
        }

        /* Witness of the call counter. */
        Device (DCNT)
        {
            Name (_HID, "DSML0C01")
            Method (_STA, 0, NotSerialized)
            {
                Return ((\_SB.DWMI.CCNT << 8) | 0x0F)
            }
        }

        Scope (DWMI)
        {
            Include ("nvdevices.asl")
        }
    }
}
