// Shim: the exit summary and the RLIMIT_MEMLOCK model.
//
// RLIMIT_MEMLOCK: the kernel charges pinned pages against RLIMIT_MEMLOCK only
// for a process without CAP_IPC_LOCK. The simulated process starts WITH
// CAP_IPC_LOCK (unlimited, as the reference transcripts were taken as root),
// whatever the real credentials are, so a run does not depend on who runs
// it. A client that drops CAP_IPC_LOCK from its effective set with capset(2)
// makes the shim apply its current real RLIMIT_MEMLOCK (getrlimit) to the
// kernel model, and every later successful setrlimit/prlimit of
// RLIMIT_MEMLOCK on itself updates it; raising the capability again lifts
// the limit. The real calls are always made: the shim only watches them.
// (A limit of 0 bytes is modelled as 1 byte: the model's 0 means unlimited.)
#include <linux/capability.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "api/preload/real_libc.h"
#include "api/preload/shim.h"
#include "api/preload/sim_report.h"
#include "api/test_channel.h"
#include "api/trace/syscall_format.h"
#include "api/vfio_sim.h"

namespace vfiosim::api::preload {
namespace {

std::atomic<bool> g_cap_ipc_lock{true};

}  // namespace

std::string Shim::Summary() {
  SimScope scope;
  if (!sim_) return {};
  return SummaryText(*sim_, *channel_, "vfiosim[" + std::to_string(getpid()) + "]: ");
}

void Shim::PrintSummary() {
  SimScope scope;
  if (!sim_ || !summary_ || !used_) return;
  tracer_.Report(Summary());
}

void Shim::ApplyMemlock() {
  if (!sim_) return;
  uint64_t bytes = 0;  // unlimited
  if (!g_cap_ipc_lock.load()) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      bytes = rl.rlim_cur == 0 ? 1 : rl.rlim_cur;
    }
  }
  sim_->kernel().SetMemlockLimit(bytes);
}

void Shim::NoteCapset(const void* header, const void* data) {
  if (header == nullptr || data == nullptr) return;
  __user_cap_header_struct h;
  std::memcpy(&h, header, sizeof(h));
  if (h.pid != 0 && h.pid != getpid()) return;
  __user_cap_data_struct d0;
  std::memcpy(&d0, data, sizeof(d0));  // CAP_IPC_LOCK (14) is in the first word for every version
  bool had = g_cap_ipc_lock.exchange((d0.effective >> CAP_IPC_LOCK) & 1);
  Shim* s = Peek();
  if (s == nullptr) return;
  SimScope scope;
  s->ApplyMemlock();
  bool now = g_cap_ipc_lock.load();
  s->Trace(trace::FormatCall("capset", {"{pid=" + std::to_string(h.pid) + "}", "{effective=" + trace::Hex(d0.effective) + "}"},
                             std::string("= 0") + (had != now ? (now ? " (CAP_IPC_LOCK raised: no memlock limit)"
                                                                      : " (CAP_IPC_LOCK dropped: RLIMIT_MEMLOCK applies)")
                                                              : "")));
}

void Shim::NoteMemlockLimit(const struct rlimit64* limit) {
  Shim* s = Peek();
  if (s == nullptr || limit == nullptr) return;
  SimScope scope;
  s->ApplyMemlock();
  s->Trace(trace::FormatCall("setrlimit", {"RLIMIT_MEMLOCK", "{rlim_cur=" + std::to_string(limit->rlim_cur) +
                                                                 ", rlim_max=" + std::to_string(limit->rlim_max) + "}"},
                             "= 0"));
}

}  // namespace vfiosim::api::preload
