// Helpers shared by the interposers (interpose.cc, interpose_fs.cc): is
// this fd or path the simulator's, and the bookkeeping for fds the host
// hands out. Inside the simulator (InSim) nothing is ever routed back to it.
//
// Thread safety: every function may be called from any thread.
#ifndef VFIOSIM_API_PRELOAD_INTERPOSE_UTIL_H_
#define VFIOSIM_API_PRELOAD_INTERPOSE_UTIL_H_

#include "api/preload/real_libc.h"
#include "api/preload/shim.h"

namespace vfiosim::api::preload::interpose {

inline bool Sim(int fd) { return !InSim() && FdKindOf(fd) != SimFd::kNone; }
inline bool SimPath(int dirfd, const char* path) { return !InSim() && MaybeSimPath(dirfd, path); }

// A new fd from the host: forget a stale simulated entry with the same number.
inline int Host(int fd) {
  if (fd >= 0 && !InSim() && FdKindOf(fd) != SimFd::kNone) {
    if (Shim* s = Shim::Peek()) s->NoteHostFd(fd);
  }
  return fd;
}

}  // namespace vfiosim::api::preload::interpose

#endif  // VFIOSIM_API_PRELOAD_INTERPOSE_UTIL_H_
