// File: what a vfio-sim fd stands for (container, group or device), and the
// Context every file of one simulated machine shares.
//
// Handlers return core::Result<long>: the ioctl's non-negative result or a
// Linux errno. Only the facade (vfio_sim.cc) turns that into -1/errno.
#ifndef VFIOSIM_API_FILE_H_
#define VFIOSIM_API_FILE_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "api/profile.h"
#include "core/status.h"

namespace vfiosim::sim {
class Machine;
}
namespace vfiosim::core {
class Kernel;
}

namespace vfiosim::api {

class FdTable;

struct Context {
  sim::Machine* machine;
  core::Kernel* kernel;
  const Profile* profile;
  FdTable* fds;
  // The process the calls come from (PASID ownership); tests may switch it.
  const std::atomic<uint64_t>* owner;
};

class File {
 public:
  enum class Kind { kContainer, kGroup, kDevice };
  virtual ~File() = default;
  virtual Kind kind() const = 0;
  virtual core::Result<long> Ioctl(unsigned long cmd, uintptr_t arg) = 0;
  virtual core::Result<long> Pread(void* buf, size_t count, uint64_t offset);
  virtual core::Result<long> Pwrite(const void* buf, size_t count, uint64_t offset);
};

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_FILE_H_
