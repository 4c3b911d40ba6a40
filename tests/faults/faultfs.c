/* SPDX-License-Identifier: MIT */
/* faultfs.c - an LD_PRELOAD shim for the fault tests (tests/faults/): it makes the
 * files under one directory misbehave while a flag file exists, the way a sick disk
 * does, without touching any other file of the process.
 *   FAULTFS_DIR         the directory whose files are affected (a prefix of the path
 *                       /proc/self/fd/N names); unset: the shim does nothing
 *   FAULTFS_STALL_FLAG  while this file exists, fsync/fdatasync on an affected file
 *                       block until it is removed (a slow disk: stalled flushes)
 *   FAULTFS_EROFS_FLAG  while this file exists, write/pwrite/ftruncate/fsync on an
 *                       affected file fail with EROFS (the file system went read-only)
 *   FAULTFS_HITS        each stalled or failed call appends one line here ("stall fsync",
 *                       "erofs pwrite64"), so a test can tell the fault was reached
 * Not for production builds; meson builds it with the tests only. */
/* this file defines both pwrite and pwrite64: no redirection of one to the other */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static int flag_set(const char *env)
{
	const char *p = getenv(env);
	return p != NULL && *p != '\0' && access(p, F_OK) == 0;
}

/* Whether fd names a file under FAULTFS_DIR. */
static int affected(int fd)
{
	const char *dir = getenv("FAULTFS_DIR");
	if (dir == NULL || *dir == '\0')
		return 0;
	char link[64], target[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return 0;
	target[n] = '\0';
	size_t dl = strlen(dir);
	return strncmp(target, dir, dl) == 0 && (target[dl] == '/' || target[dl] == '\0');
}

static void hit(const char *what)
{
	const char *p = getenv("FAULTFS_HITS");
	if (p == NULL || *p == '\0')
		return;
	ssize_t (*real_write)(int, const void *, size_t) = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	char line[64];
	int len = snprintf(line, sizeof(line), "%s\n", what);
	if (len > 0 && real_write != NULL && real_write(fd, line, (size_t)len) < 0)
		len = 0;
	close(fd);
}

/* 0 to go on with the real call; -1 with errno EROFS to fail it. Blocks while stalled. */
static int fault(int fd, const char *what, int stalls)
{
	if (!affected(fd))
		return 0;
	if (flag_set("FAULTFS_EROFS_FLAG")) {
		char w[48];
		snprintf(w, sizeof(w), "erofs %s", what);
		hit(w);
		errno = EROFS;
		return -1;
	}
	if (stalls && flag_set("FAULTFS_STALL_FLAG")) {
		char w[48];
		snprintf(w, sizeof(w), "stall %s", what);
		hit(w);
		struct timespec ten_ms = {0, 10 * 1000 * 1000};
		while (flag_set("FAULTFS_STALL_FLAG"))
			nanosleep(&ten_ms, NULL);
	}
	return 0;
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

int fsync(int fd)
{
	if (fault(fd, "fsync", 1) < 0)
		return -1;
	return REAL("fsync", int (*)(int))(fd);
}

int fdatasync(int fd)
{
	if (fault(fd, "fdatasync", 1) < 0)
		return -1;
	return REAL("fdatasync", int (*)(int))(fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	/* the shim's own log and every other file: straight through */
	if (fd > 2 && fault(fd, "write", 0) < 0)
		return -1;
	return REAL("write", ssize_t (*)(int, const void *, size_t))(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fault(fd, "pwrite", 0) < 0)
		return -1;
	return REAL("pwrite", ssize_t (*)(int, const void *, size_t, off_t))(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	if (fault(fd, "pwrite64", 0) < 0)
		return -1;
	return REAL("pwrite64", ssize_t (*)(int, const void *, size_t, off64_t))(fd, buf, n, off);
}

int ftruncate(int fd, off_t len)
{
	if (fault(fd, "ftruncate", 0) < 0)
		return -1;
	return REAL("ftruncate", int (*)(int, off_t))(fd, len);
}

int ftruncate64(int fd, off64_t len)
{
	if (fault(fd, "ftruncate64", 0) < 0)
		return -1;
	return REAL("ftruncate64", int (*)(int, off64_t))(fd, len);
}
