// The libc side of sim_shim.h: routes a parity client's VFIO calls to the
// installed api::VfioSim, and everything else to libc.
#define VFIOSIM_SHIM_IMPLEMENTATION
#include "tests/kernel/clients/sim_shim.h"

#include <sys/syscall.h>

#include <atomic>
#include <cstdarg>
#include <cstring>

#include "api/vfio_sim.h"
#include "tests/kernel/clients/sim_client_runner.h"

namespace vfiosim::testing {
namespace {

std::atomic<api::VfioSim*> g_sim{nullptr};
// The process-level state vfio_pin_pages_remote looks at; modelled, never
// applied to the real process (see sim_shim.h).
uint64_t g_memlock_rlimit = RLIM_INFINITY;
bool g_cap_ipc_lock = true;

constexpr uint64_t kPage = 4096;

api::VfioSim* SimFor(int fd) {
  api::VfioSim* sim = g_sim.load();
  return sim != nullptr && sim->Owns(fd) ? sim : nullptr;
}

void ApplyMemlock() {
  api::VfioSim* sim = g_sim.load();
  if (sim == nullptr) return;
  uint64_t limit = 0;  // the model's "unlimited"
  if (!g_cap_ipc_lock && g_memlock_rlimit != RLIM_INFINITY) {
    // The kernel compares pages: a limit under one page admits nothing,
    // which the model (0 = unlimited) expresses as one byte.
    limit = g_memlock_rlimit / kPage * kPage;
    if (limit == 0) limit = 1;
  }
  sim->kernel().SetMemlockLimit(limit);
}

}  // namespace

void VfioSimShimInstall(api::VfioSim* sim) {
  g_sim.store(sim);
  g_memlock_rlimit = RLIM_INFINITY;
  g_cap_ipc_lock = true;
  ApplyMemlock();
}

}  // namespace vfiosim::testing

using vfiosim::testing::SimFor;

extern "C" {

int vfiosim_shim_open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
    va_list ap;
    va_start(ap, flags);
    mode = static_cast<mode_t>(va_arg(ap, int));
    va_end(ap);
  }
  vfiosim::api::VfioSim* sim = vfiosim::testing::g_sim.load();
  if (sim != nullptr && path != nullptr && std::strncmp(path, "/dev/vfio/", 10) == 0) {
    return sim->Open(path, flags);
  }
  return ::open(path, flags, mode);
}

int vfiosim_shim_close(int fd) {
  if (auto* sim = SimFor(fd)) return sim->Close(fd);
  return ::close(fd);
}

int vfiosim_shim_ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  uintptr_t arg = va_arg(ap, uintptr_t);
  va_end(ap);
  if (auto* sim = SimFor(fd)) return sim->Ioctl(fd, request, arg);
  return ::ioctl(fd, request, arg);
}

ssize_t vfiosim_shim_pread(int fd, void* buf, size_t count, off_t offset) {
  if (auto* sim = SimFor(fd)) return sim->Pread(fd, buf, count, offset);
  return ::pread(fd, buf, count, offset);
}

ssize_t vfiosim_shim_pwrite(int fd, const void* buf, size_t count, off_t offset) {
  if (auto* sim = SimFor(fd)) return sim->Pwrite(fd, buf, count, offset);
  return ::pwrite(fd, buf, count, offset);
}

void* vfiosim_shim_mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  if (auto* sim = SimFor(fd)) return sim->Mmap(addr, length, prot, flags, fd, offset);
  return ::mmap(addr, length, prot, flags, fd, offset);
}

int vfiosim_shim_munmap(void* addr, size_t length) {
  // Any range may hold a BAR mapping of the simulator: it forgets those and
  // unmaps the rest as munmap(2) would.
  if (auto* sim = vfiosim::testing::g_sim.load()) return sim->Munmap(addr, length);
  return ::munmap(addr, length);
}

int vfiosim_shim_setrlimit(int resource, const struct rlimit* limit) {
  if (resource != RLIMIT_MEMLOCK || vfiosim::testing::g_sim.load() == nullptr) return ::setrlimit(resource, limit);
  if (limit == nullptr) {
    errno = EFAULT;
    return -1;
  }
  if (limit->rlim_cur > limit->rlim_max) {
    errno = EINVAL;
    return -1;
  }
  vfiosim::testing::g_memlock_rlimit = limit->rlim_cur;
  vfiosim::testing::ApplyMemlock();
  return 0;
}

int vfiosim_shim_capset(cap_user_header_t header, const cap_user_data_t data) {
  if (vfiosim::testing::g_sim.load() == nullptr) return static_cast<int>(syscall(SYS_capset, header, data));
  if (header == nullptr || data == nullptr) {
    errno = EFAULT;
    return -1;
  }
  // Versions 2 and 3 carry two 32-bit words per set; version 1 one.
  const bool wide = header->version != _LINUX_CAPABILITY_VERSION_1;
  if (!wide && CAP_IPC_LOCK >= 32) {
    errno = EINVAL;
    return -1;
  }
  const __u32 word = data[wide ? CAP_IPC_LOCK / 32 : 0].effective;
  vfiosim::testing::g_cap_ipc_lock = (word & (1u << (CAP_IPC_LOCK % 32))) != 0;
  vfiosim::testing::ApplyMemlock();
  return 0;
}

}  // extern "C"
