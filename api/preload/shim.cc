// Shim: construction, the fd registry, close and the dup family. Calls on
// fds are in shim_io.cc, path calls in shim_paths.cc, directory streams in
// shim_dirs.cc, the exit summary and the RLIMIT_MEMLOCK model in
// shim_report.cc.
#include "api/preload/shim.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "api/preload/real_libc.h"
#include "api/preload/sim_factory.h"
#include "api/preload/sysfs_vfio.h"
#include "api/test_channel.h"
#include "api/trace/syscall_format.h"
#include "api/vfio_sim.h"

namespace vfiosim::api::preload {
namespace {

// Zero-initialized (constant init): usable before any constructor runs.
std::atomic<uint8_t> g_fd_kind[kMaxSimFd];
std::atomic<Shim*> g_shim{nullptr};
std::mutex g_init_mu;

void SetKind(int fd, SimFd kind) {
  if (fd >= 0 && fd < kMaxSimFd) g_fd_kind[fd].store(static_cast<uint8_t>(kind), std::memory_order_release);
}

int Fail(int err) {
  errno = err;
  return -1;
}

trace::DecodeOptions OptionsFor(const Profile& p) {
  trace::DecodeOptions o;
  o.pasid_request_ioctl = p.pasid_request_ioctl;
  o.bind_ioctl = p.bind_ioctl;
  o.cache_invalidate_ioctl = p.cache_invalidate_ioctl;
  o.cap1_msi_resv = p.cap_msi_resv;
  o.cap1_resv_iova = p.cap_resv_iova_range;
  o.cap2_nesting = p.cap_nesting && !p.cap_migration;
  o.map_bit2_msi = p.cap_msi_resv;
  o.ext9_nesting_uapi = p.pasid_request_ioctl != 0;
  return o;
}

}  // namespace

// ---- fork: keep the shim's own locks consistent in the child ----

void AtForkPrepare() {
  if (Shim* s = Shim::Peek()) {
    s->mu_.lock();
    s->tracer_.mu().lock();
  }
}
void AtForkParent() {
  if (Shim* s = Shim::Peek()) {
    s->tracer_.mu().unlock();
    s->mu_.unlock();
  }
}
void AtForkChild() { AtForkParent(); }

// ---- registry ----

SimFd FdKindOf(int fd) {
  if (fd < 0 || fd >= kMaxSimFd) return SimFd::kNone;
  return static_cast<SimFd>(g_fd_kind[fd].load(std::memory_order_acquire));
}

bool MaybeSimPath(int dirfd, const char* path) {
  if (path == nullptr) return false;
  if (path[0] != '/') return FdKindOf(dirfd) == SimFd::kSysfsDir;
  // Cheap filter first: only /sys, /dev, and paths with `.`/`..`/`//` need a look.
  if (std::strncmp(path, "/sys", 4) != 0 && std::strncmp(path, "/dev", 4) != 0 &&
      std::strstr(path, "/.") == nullptr && std::strstr(path, "//") == nullptr) {
    return false;
  }
  return MightBeVfioPath(path);
}

Shim* Shim::Peek() { return g_shim.load(std::memory_order_acquire); }

Shim& Shim::Get() {
  Shim* s = Peek();
  if (s != nullptr) return *s;
  // Everything the construction calls (dlsym, the C++ runtime, the machine
  // set-up, getenv) runs under SimScope and so never comes back here.
  SimScope scope;
  std::lock_guard<std::mutex> lock(g_init_mu);
  s = Peek();
  if (s == nullptr) {
    s = new Shim();
    s->Init();
    g_shim.store(s, std::memory_order_release);
  }
  return *s;
}

Shim::Shim() = default;

void Shim::Init() {
  const char* profile = std::getenv("VFIOSIM_PROFILE");
  const char* topology = std::getenv("VFIOSIM_TOPOLOGY");
  const char* summary = std::getenv("VFIOSIM_SUMMARY");
  summary_ = !(summary && std::strcmp(summary, "0") == 0);
  std::string error;
  if (!tracer_.Open(std::getenv("VFIOSIM_TRACE"), &error)) {
    tracer_.Report("vfiosim-preload: " + error + "; tracing off\n");
    error.clear();
  }
  sim_ = MakeSimFromOptions(profile ? profile : "", topology ? topology : "", &error);
  if (!sim_) {
    tracer_.Report("vfiosim-preload: " + error + "; /dev/vfio and the simulated sysfs are unavailable\n");
    return;
  }
  channel_ = std::make_unique<TestChannel>(*sim_);
  decode_ = OptionsFor(sim_->profile());
  BuildVfioLayout(*sim_, &tree_);
  ApplyMemlock();
  pthread_atfork(AtForkPrepare, AtForkParent, AtForkChild);
}

void Shim::Trace(const std::string& line) {
  if (tracer_.enabled()) tracer_.Line(line);
}

int Shim::NewPlaceholder(const char* name, bool cloexec) {
  int fd = memfd_create(name, cloexec ? MFD_CLOEXEC : 0);
  if (fd >= kMaxSimFd) {
    RealClose(fd);
    return Fail(EMFILE);
  }
  return fd;
}

void Shim::Register(int fd, SimFd kind, const SysfsNode* node) {
  if (node != nullptr) nodes_[fd] = node;
  SetKind(fd, kind);
}

std::shared_ptr<File> Shim::DropLocked(int fd) {
  SimFd kind = FdKindOf(fd);
  if (kind == SimFd::kNone) return nullptr;
  SetKind(fd, SimFd::kNone);
  nodes_.erase(fd);
  // The kernel already closed (or replaced) the number; only the File reference goes.
  if (kind == SimFd::kVfio && sim_) return sim_->fds().Detach(fd);
  return nullptr;
}

void Shim::NoteHostFd(int fd) {
  if (FdKindOf(fd) == SimFd::kNone) return;
  SimScope scope;
  std::shared_ptr<File> gone;
  std::lock_guard<std::mutex> lock(mu_);
  gone = DropLocked(fd);
}

void Shim::ForgetRange(unsigned first, unsigned last) {
  SimScope scope;
  std::vector<std::shared_ptr<File>> gone;  // released after mu_
  std::lock_guard<std::mutex> lock(mu_);
  unsigned end = std::min<unsigned>(last, kMaxSimFd - 1);
  for (unsigned fd = first; fd <= end; ++fd) gone.push_back(DropLocked(static_cast<int>(fd)));
}

const SysfsNode* Shim::NodeOf(int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = nodes_.find(fd);
  return it == nodes_.end() ? nullptr : it->second;
}

trace::FdKind Shim::TraceKind(int fd) {
  std::shared_ptr<File> f = sim_ ? sim_->fds().Get(fd) : nullptr;
  if (!f) return trace::FdKind::kUnknown;
  switch (f->kind()) {
    case File::Kind::kContainer: return trace::FdKind::kContainer;
    case File::Kind::kGroup: return trace::FdKind::kGroup;
    case File::Kind::kDevice: return trace::FdKind::kDevice;
  }
  return trace::FdKind::kUnknown;
}

// ---- close / dup ----

int Shim::Close(int fd) {
  SimScope scope;
  SimFd kind = FdKindOf(fd);
  int r = 0, err = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    SetKind(fd, SimFd::kNone);
    nodes_.erase(fd);
  }
  // Without mu_: the last reference may release a device (and join its threads).
  if (kind == SimFd::kVfio && sim_ && sim_->Owns(fd)) {
    long e = sim_->CloseErrno(fd);  // drops the File and closes the placeholder
    if (e < 0) {
      r = -1;
      err = static_cast<int>(-e);
    }
  } else {
    r = RealClose(fd);
    err = errno;
  }
  Trace(trace::FormatCall("close", {std::to_string(fd)}, trace::FormatReturn(r, err)));
  errno = err;
  return r;
}

int Shim::Dup(int oldfd) { return Dup3("dup", oldfd, -1, 0); }

int Shim::FcntlDup(int fd, int cmd, int min_fd) {
  SimScope scope;
  int r, err;
  std::shared_ptr<File> gone;  // released after mu_
  {
    std::lock_guard<std::mutex> lock(mu_);
    r = RealFcntl(fd, cmd, static_cast<unsigned long>(min_fd));
    err = errno;
    if (r >= 0) {
      gone = DropLocked(r);  // a stale entry from a number closed behind our back
      SimFd kind = FdKindOf(fd);
      if (kind == SimFd::kVfio) sim_->fds().InstallAt(r, sim_->fds().Get(fd));
      auto it = nodes_.find(fd);
      Register(r, kind, it == nodes_.end() ? nullptr : it->second);
    }
  }
  if (FdKindOf(fd) != SimFd::kNone) {
    Trace(trace::FormatCall("fcntl", {std::to_string(fd), trace::FcntlCommand(cmd), std::to_string(min_fd)},
                            trace::FormatReturn(r, err)));
  }
  errno = err;
  return r;
}

int Shim::Dup3(const char* fn, int oldfd, int newfd, int flags) {
  SimScope scope;
  int r, err;
  const bool traced = FdKindOf(oldfd) != SimFd::kNone || FdKindOf(newfd) != SimFd::kNone;
  std::shared_ptr<File> gone;  // the File dup2 replaced, released after mu_
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (newfd < 0) {
      r = Real_dup()(oldfd);
    } else if (std::strcmp(fn, "dup2") == 0) {
      r = Real_dup2()(oldfd, newfd);
    } else {
      r = Real_dup3()(oldfd, newfd, flags);
    }
    err = errno;
    // dup2(fd, fd) changes nothing; otherwise the kernel has replaced `r`.
    if (r >= 0 && r != oldfd) {
      gone = DropLocked(r);
      SimFd kind = FdKindOf(oldfd);
      if (kind == SimFd::kVfio) sim_->fds().InstallAt(r, sim_->fds().Get(oldfd));
      auto it = nodes_.find(oldfd);
      Register(r, kind, it == nodes_.end() ? nullptr : it->second);
    }
  }
  if (traced) {
    std::string ret = trace::FormatReturn(r, err);
    if (newfd < 0) {
      Trace(trace::FormatCall(fn, {std::to_string(oldfd)}, ret));
    } else if (std::strcmp(fn, "dup2") == 0) {
      Trace(trace::FormatCall(fn, {std::to_string(oldfd), std::to_string(newfd)}, ret));
    } else {
      Trace(trace::FormatCall(fn, {std::to_string(oldfd), std::to_string(newfd), trace::OpenFlags(flags)}, ret));
    }
  }
  errno = err;
  return r;
}

}  // namespace vfiosim::api::preload
