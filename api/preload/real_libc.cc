#include "api/preload/real_libc.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace vfiosim::api::preload {
namespace {

// Initial-exec TLS: no __tls_get_addr (which may allocate) on access. One
// variable, not two: with -c opt (-fdata-sections, --gc-sections) the linker
// emitted the second one's TPOFF relocation against the section start, so
// both counters aliased and every libc lookup inside the simulator failed.
struct ThreadState {
  int sim_depth;
  int in_dlsym;
};
__thread ThreadState t_state __attribute__((tls_model("initial-exec"))) = {0, 0};

}  // namespace

bool InSim() { return t_state.sim_depth > 0; }
SimScope::SimScope() { ++t_state.sim_depth; }
SimScope::~SimScope() { --t_state.sim_depth; }

void* ResolveNext(std::atomic<void*>* slot, const char* name) {
  void* p = slot->load(std::memory_order_acquire);
  if (p != nullptr) return p;
  if (t_state.in_dlsym) return nullptr;  // dlsym re-entered us: the caller falls back to a syscall
  ++t_state.in_dlsym;
  // dlsym may report failure through dlerror (allocating); errno must survive.
  int saved = errno;
  p = dlsym(RTLD_NEXT, name);
  errno = saved;
  --t_state.in_dlsym;
  if (p != nullptr) slot->store(p, std::memory_order_release);
  return p;
}

int RawOpenat(int dirfd, const char* path, int flags, mode_t mode) {
  return static_cast<int>(syscall(SYS_openat, dirfd, path, flags, mode));
}
int RawClose(int fd) { return static_cast<int>(syscall(SYS_close, fd)); }
ssize_t RawWrite(int fd, const void* buf, size_t len) { return syscall(SYS_write, fd, buf, len); }

int RealOpenat(int dirfd, const char* path, int flags, mode_t mode) {
  if (auto f = Real_openat()) return f(dirfd, path, flags, mode);
  return RawOpenat(dirfd, path, flags, mode);
}
int RealClose(int fd) {
  if (auto f = Real_close()) return f(fd);
  return RawClose(fd);
}
ssize_t RealWrite(int fd, const void* buf, size_t len) {
  if (auto f = Real_write()) return f(fd, buf, len);
  return RawWrite(fd, buf, len);
}
ssize_t RealRead(int fd, void* buf, size_t len) {
  if (auto f = Real_read()) return f(fd, buf, len);
  return syscall(SYS_read, fd, buf, len);
}
int RealFcntl(int fd, int cmd, unsigned long arg) {
  if (auto f = Real_fcntl()) return f(fd, cmd, arg);
  return static_cast<int>(syscall(SYS_fcntl, fd, cmd, arg));
}

}  // namespace vfiosim::api::preload
