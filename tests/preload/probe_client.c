/*
 * The 320-call probe (tests/kernel/probe.c) as a real, unmodified client:
 * every call is a libc call (open/close/ioctl), so under the preload shim it
 * reaches the simulator exactly as it reached the kernel in the reference VM.
 * Prints the transcript lines on stdout.
 *
 * The limits phase makes the real calls: capset() drops CAP_IPC_LOCK from the
 * effective set and setrlimit() lowers RLIMIT_MEMLOCK; the shim watches both
 * (see api/preload/shim_report.cc) and applies the limit to the simulated
 * kernel. Both calls are allowed to any process (dropping a capability,
 * lowering a limit), so the probe runs unprivileged.
 *
 *   probe_client [group_path [bdf]]   (default /dev/vfio/1 0000:00:01.0)
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tests/kernel/probe.h"

int capget(cap_user_header_t header, cap_user_data_t data);
int capset(cap_user_header_t header, const cap_user_data_t data);

static int sys_open(void* ctx, const char* path, int flags) {
  (void)ctx;
  return open(path, flags);
}
static int sys_close(void* ctx, int fd) {
  (void)ctx;
  return close(fd);
}
static int sys_ioctl(void* ctx, int fd, unsigned long request, uintptr_t arg) {
  (void)ctx;
  return ioctl(fd, request, arg);
}
static int drop_cap_ipc_lock(void* ctx) {
  (void)ctx;
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (capget(&header, data) != 0) return -1;
  data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
  return capset(&header, data);
}
static int set_memlock_limit(void* ctx, uint64_t bytes) {
  (void)ctx;
  struct rlimit limit = {bytes, bytes};
  return setrlimit(RLIMIT_MEMLOCK, &limit);
}

int main(int argc, char** argv) {
  const char* group = argc > 1 ? argv[1] : "/dev/vfio/1";
  const char* bdf = argc > 2 ? argv[2] : "0000:00:01.0";
  struct probe_sys sys = {NULL, sys_open, sys_close, sys_ioctl, drop_cap_ipc_lock, set_memlock_limit};
  int r = probe_run(&sys, stdout, group, bdf);
  fflush(stdout);
  return r;
}
