// SPDX-License-Identifier: GPL-2.0
/*
 * no-ia32: run a command on a host that, as far as the command can tell,
 * cannot execute i386 code, even where the host kernel has IA32 emulation.
 *
 * A seccomp filter, inherited by every process the command starts, kills
 * a process at its first system call made through any ABI but x86_64's
 * (i386's int 0x80 and sysenter arrive with AUDIT_ARCH_I386; x32 calls
 * carry __X32_SYSCALL_BIT).  So an i386 binary started anywhere under the
 * command dies with SIGSYS before it can do anything, the way it fails
 * with "Exec format error" on a host built without IA32_EMULATION.
 * tests/host/harness-check runs make check's static stage under it.
 *
 * Usage: no-ia32 CMD [ARG...]
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT	0x40000000
#endif

int main(int argc, char **argv)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, __X32_SYSCALL_BIT, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};

	if (argc < 2) {
		fprintf(stderr, "usage: no-ia32 CMD [ARG...]\n");
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		fprintf(stderr, "no-ia32: seccomp: %s\n", strerror(errno));
		return 126;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "no-ia32: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
