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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT	0x40000000
#endif

/*
 * execvp() without its fallback: on ENOEXEC glibc's execvp() runs the file
 * as a shell script, so an i386 binary on a host without IA32 emulation
 * would end as a /bin/sh syntax error (exit 2) instead of "cannot execute".
 * Returns only on failure, errno set (ENOENT if no PATH entry had it).
 */
static void run(char **argv)
{
	const char *path = getenv("PATH");
	char buf[4096];
	int err = ENOENT;

	if (strchr(argv[0], '/')) {
		execv(argv[0], argv);
		return;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path,
			     argv[0]) < (int)sizeof(buf)) {
			execv(buf, argv);
			if (errno != ENOENT && errno != ENOTDIR)
				err = errno;
		}
		path += len;
		if (*path == ':')
			path++;
	}
	errno = err;
}

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
	run(argv + 1);
	fprintf(stderr, "no-ia32: %s: %s\n", argv[1], strerror(errno));
	/* As a shell reports it: 126 found but not runnable, 127 not found. */
	return errno == ENOENT ? 127 : 126;
}
