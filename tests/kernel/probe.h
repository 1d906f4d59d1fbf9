/*
 * The vfio-sim probe: the same call sequence as the 320-call probe whose
 * answers on real Linux 6.1 are in testdata/ (../shared/spec/kernel-transcripts),
 * printing one line per call in the transcripts' format. Written in C against
 * the system <linux/vfio.h> only, with the syscalls behind a table of
 * function pointers, so the same code runs in-process against the facade
 * and as an unmodified client (real open/ioctl) under the preload shim or on
 * a real kernel.
 */
#ifndef VFIOSIM_TESTS_KERNEL_PROBE_H_
#define VFIOSIM_TESTS_KERNEL_PROBE_H_

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct probe_sys {
  void* ctx;
  int (*open)(void* ctx, const char* path, int flags);
  int (*close)(void* ctx, int fd);
  int (*ioctl)(void* ctx, int fd, unsigned long request, uintptr_t arg);
  /* The limits phase: drop CAP_IPC_LOCK and set RLIMIT_MEMLOCK (bytes). */
  int (*drop_cap_ipc_lock)(void* ctx);
  int (*set_memlock_limit)(void* ctx, uint64_t bytes);
  /* Device regions. NULL: the libc call (a real kernel or a preload shim). */
  ssize_t (*pread)(void* ctx, int fd, void* buf, size_t count, off_t offset);
  ssize_t (*pwrite)(void* ctx, int fd, const void* buf, size_t count, off_t offset);
  void* (*mmap)(void* ctx, void* addr, size_t len, int prot, int flags, int fd, off_t offset);
  int (*munmap)(void* ctx, void* addr, size_t len);
};

/* Runs the probe; returns 0 when it could run to the end. */
int probe_run(const struct probe_sys* sys, FILE* out, const char* group_path, const char* bdf);

#ifdef __cplusplus
}
#endif

#endif /* VFIOSIM_TESTS_KERNEL_PROBE_H_ */
