// Copy-in / copy-out of argsz-prefixed uAPI structs, the way every VFIO ioctl
// does it: copy exactly `minsz` bytes in (EFAULT on a bad pointer), reject
// argsz < minsz with EINVAL, and later copy back only what the kernel writes
// so that user bytes past it stay untouched.
#ifndef VFIOSIM_API_USER_STRUCT_H_
#define VFIOSIM_API_USER_STRUCT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/status.h"
#include "core/user_memory.h"

namespace vfiosim::api {

// offsetofend(struct, field): minsz in the kernel's sense.
#define VFIOSIM_OFFSETOFEND(type, field) (offsetof(type, field) + sizeof(((type*)nullptr)->field))

inline void* UserPtr(uintptr_t arg) { return reinterpret_cast<void*>(arg); }

// Zero-fills *out, then copies the first `minsz` bytes of the user struct.
template <typename T>
core::Status CopyInMinsz(T* out, uintptr_t arg, size_t minsz) {
  static_assert(std::is_trivially_copyable_v<T>);
  std::memset(out, 0, sizeof(T));
  return core::CopyFromUser(out, UserPtr(arg), minsz);
}

inline core::Status CopyOut(uintptr_t arg, const void* src, size_t len, size_t offset = 0) {
  return core::CopyToUser(static_cast<uint8_t*>(UserPtr(arg)) + offset, src, len);
}

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_USER_STRUCT_H_
