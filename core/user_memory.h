// UserMemory: fault-safe access to the client's own memory.
//
// vfio-sim runs inside the client process, so "user memory" is this process's
// memory. The kernel would fault gracefully on a bad user pointer (EFAULT);
// we must never crash instead. Two tools:
//  - CopyFromUser/CopyToUser: a guarded copy. A SIGSEGV/SIGBUS raised inside
//    the copy is caught by a process-wide handler that jumps back and makes
//    the copy fail; faults elsewhere are passed on to the previous handler.
//    Cost on success: a sigsetjmp (no syscall) plus `rep movsb`.
//  - CheckUserRange: the stand-in for pinning at MAP_DMA time. It tells,
//    without touching the memory, whether [va, va+len) is mapped with the
//    needed permissions (msync(MS_ASYNC) for presence, a cached
//    /proc/self/maps snapshot for permissions, refreshed on any doubt).
//    Limit: a range made read-only by mprotect after the snapshot is taken
//    is not noticed until the next refresh (documented in README "Limits").
//
// Thread safety: all functions may be called from any thread.
#ifndef VFIOSIM_CORE_USER_MEMORY_H_
#define VFIOSIM_CORE_USER_MEMORY_H_

#include <cstddef>
#include <cstdint>

#include "core/status.h"

namespace vfiosim::core {

// True when the address can never be a valid user pointer (NULL page, kernel half).
bool IsObviouslyBadUserAddress(uint64_t addr, size_t len);

// Copies len bytes; EFAULT when any byte is not accessible. On EFAULT the
// destination may have been partly written (as copy_to_user would).
Status CopyFromUser(void* dst, const void* user_src, size_t len);
Status CopyToUser(void* user_dst, const void* src, size_t len);

// EFAULT unless [va, va+len) is mapped and readable (and writable if `write`).
Status CheckUserRange(uint64_t va, uint64_t len, bool write);

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_USER_MEMORY_H_
