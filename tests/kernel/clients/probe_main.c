/*
 * The 320-call probe (tests/kernel/probe.c) as a stand-alone program: real
 * open/ioctl/close behind its struct probe_sys. Running it in the VM and
 * comparing with the checked-in Linux 6.1 transcripts (tests/kernel/testdata)
 * is how the VM runner was validated; `./vfiosim verify` takes it like any
 * other client.
 */
#include "tests/kernel/clients/client_util.h"
#include "tests/kernel/probe.c"

static int real_open(void* ctx, const char* path, int flags) {
  (void)ctx;
  return open(path, flags);
}
static int real_close(void* ctx, int fd) {
  (void)ctx;
  return close(fd);
}
static int real_ioctl(void* ctx, int fd, unsigned long request, uintptr_t arg) {
  (void)ctx;
  return ioctl(fd, request, arg);
}
static int real_drop_cap(void* ctx) {
  (void)ctx;
  return cl_drop_cap_ipc_lock();
}
static int real_set_memlock(void* ctx, uint64_t bytes) {
  (void)ctx;
  return cl_set_memlock(bytes);
}

int main(int argc, char** argv) {
  const char* group;
  const char* bdf;
  cl_args(argc, argv, &group, &bdf);
  /* Fields left out (device region calls) are NULL: probe.c then makes the
   * libc calls itself. */
  struct probe_sys sys = {.ctx = NULL,
                          .open = real_open,
                          .close = real_close,
                          .ioctl = real_ioctl,
                          .drop_cap_ipc_lock = real_drop_cap,
                          .set_memlock_limit = real_set_memlock};
  return probe_run(&sys, stdout, group, bdf);
}
