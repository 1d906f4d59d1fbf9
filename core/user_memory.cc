#include "core/user_memory.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace vfiosim::core {
namespace {

constexpr uint64_t kUserTop = 0x0000800000000000ull;  // x86-64 canonical user half
constexpr uint64_t kNullGuard = 4096;

thread_local sigjmp_buf* tl_fault_jump = nullptr;
struct sigaction previous_segv;
struct sigaction previous_bus;

void PassOn(int sig, siginfo_t* info, void* context) {
  struct sigaction& prev = sig == SIGSEGV ? previous_segv : previous_bus;
  if (prev.sa_flags & SA_SIGINFO) {
    prev.sa_sigaction(sig, info, context);
  } else if (prev.sa_handler == SIG_IGN) {
    return;
  } else if (prev.sa_handler == SIG_DFL) {
    // Re-executing the faulting instruction with the default action kills the
    // process the way it would have died without us.
    signal(sig, SIG_DFL);
  } else {
    prev.sa_handler(sig);
  }
}

void OnFault(int sig, siginfo_t* info, void* context) {
  if (sigjmp_buf* jump = tl_fault_jump) {
    tl_fault_jump = nullptr;
    siglongjmp(*jump, 1);
  }
  PassOn(sig, info, context);
}

void InstallHandlerOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = OnFault;
    // NODEFER: we leave the handler by siglongjmp without restoring the mask.
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_segv);
    sigaction(SIGBUS, &sa, &previous_bus);
  });
}

// rep movsb: fast for large copies and invisible to sanitizer interceptors,
// which would otherwise inspect the (possibly unmapped) user range themselves.
__attribute__((no_sanitize("address", "thread", "undefined"))) inline void RawCopy(
    void* dst, const void* src, size_t len) {
  asm volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(len) : : "memory");
}

__attribute__((noinline)) Status GuardedCopy(void* dst, const void* src, size_t len) {
  if (len == 0) return Status::Ok();
  InstallHandlerOnce();
  sigjmp_buf jump;
  if (sigsetjmp(jump, 0) != 0) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    return Error(EFAULT);
  }
  tl_fault_jump = &jump;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  RawCopy(dst, src, len);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  tl_fault_jump = nullptr;
  return Status::Ok();
}

// A snapshot of /proc/self/maps: sorted [start, end) ranges with r/w bits.
struct Vma {
  uint64_t start, end;
  bool read, write;
};

class VmaSnapshot {
 public:
  // True when [va, va+len) is covered by readable (and writable) VMAs.
  bool Covers(uint64_t va, uint64_t len, bool write) {
    std::lock_guard<std::mutex> lock(mu_);
    if (vmas_.empty()) RefreshLocked();
    if (CoversLocked(va, len, write)) return true;
    RefreshLocked();
    return CoversLocked(va, len, write);
  }

 private:
  bool CoversLocked(uint64_t va, uint64_t len, bool write) const {
    uint64_t end = va + len;
    auto it = std::upper_bound(vmas_.begin(), vmas_.end(), va,
                               [](uint64_t a, const Vma& v) { return a < v.end; });
    uint64_t cursor = va;
    for (; it != vmas_.end() && cursor < end; ++it) {
      if (it->start > cursor) return false;  // hole
      if (!it->read || (write && !it->write)) return false;
      cursor = it->end;
    }
    return cursor >= end;
  }

  // Reads /proc/self/maps with raw system calls: this runs inside the
  // LD_PRELOAD shim too, where libc's open/fopen lead back into the shim.
  void RefreshLocked() {
    vmas_.clear();
    int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC));
    if (fd < 0) return;
    std::string text;
    char buf[16384];
    for (;;) {
      long n = syscall(SYS_read, fd, buf, sizeof(buf));
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    syscall(SYS_close, fd);
    size_t pos = 0;
    while (pos < text.size()) {
      size_t eol = text.find('\n', pos);
      if (eol == std::string::npos) eol = text.size();
      unsigned long long start = 0, end = 0;
      char perms[5] = {};
      std::string line = text.substr(pos, eol - pos);
      if (std::sscanf(line.c_str(), "%llx-%llx %4s", &start, &end, perms) == 3) {
        vmas_.push_back({start, end, perms[0] == 'r', perms[1] == 'w'});
      }
      pos = eol + 1;
    }
  }

  std::mutex mu_;
  std::vector<Vma> vmas_;
};

VmaSnapshot& Snapshot() {
  static VmaSnapshot* snapshot = new VmaSnapshot();
  return *snapshot;
}

}  // namespace

bool IsObviouslyBadUserAddress(uint64_t addr, size_t len) {
  uint64_t last = 0;
  if (len == 0) return addr >= kUserTop;
  if (__builtin_add_overflow(addr, len - 1, &last)) return true;
  return addr < kNullGuard || last >= kUserTop;
}

Status CopyFromUser(void* dst, const void* user_src, size_t len) {
  if (IsObviouslyBadUserAddress(reinterpret_cast<uint64_t>(user_src), len)) return Error(EFAULT);
  return GuardedCopy(dst, user_src, len);
}

Status CopyToUser(void* user_dst, const void* src, size_t len) {
  if (IsObviouslyBadUserAddress(reinterpret_cast<uint64_t>(user_dst), len)) return Error(EFAULT);
  return GuardedCopy(user_dst, src, len);
}

Status CheckUserRange(uint64_t va, uint64_t len, bool write) {
  if (IsObviouslyBadUserAddress(va, len)) return Error(EFAULT);
  // Presence first: msync(MS_ASYNC) only walks the VMAs and fails with ENOMEM
  // on any hole, without faulting pages in.
  uint64_t page_start = va & ~uint64_t{4095};
  if (msync(reinterpret_cast<void*>(page_start), len + (va - page_start), MS_ASYNC) != 0) {
    return Error(EFAULT);
  }
  if (!Snapshot().Covers(va, len, write)) return Error(EFAULT);
  return Status::Ok();
}

}  // namespace vfiosim::core
