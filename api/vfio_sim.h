// VfioSim: the in-process facade. One simulated machine and its fds, reached
// with open/close/ioctl calls that behave like the syscalls on Linux.
//
//   vfiosim::api::VfioSim sim;                       // default machine, linux-6.1
//   int container = sim.Open("/dev/vfio/vfio", O_RDWR);
//   sim.Ioctl(container, VFIO_GET_API_VERSION);      // 0
//
// Results follow the syscall convention (-1 and errno); the *Errno variants
// return -errno instead and leave errno alone. All methods are thread-safe.
//
// Device regions: Pread/Pwrite/Mmap/Munmap behave like pread(2), pwrite(2),
// mmap(2) and munmap(2) on a device fd (a preload shim forwards those calls
// here). A BAR mapping keeps its device open until it is unmapped through
// Munmap, which accepts any range (vfio-sim mappings in it are forgotten,
// the rest is unmapped as munmap(2) would). See api/device_state.h "Mmap" for
// what a mapping contains.
#ifndef VFIOSIM_API_VFIO_SIM_H_
#define VFIOSIM_API_VFIO_SIM_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "api/device_mmap.h"
#include "api/fd_table.h"
#include "api/file.h"
#include "api/profile.h"
#include "core/machine_config.h"
#include "sim/machine.h"

namespace vfiosim::api {

struct VfioSimOptions {
  const Profile* profile = nullptr;  // nullptr: linux-6.1
  // A machine from a topology (its own IOMMU settings and reserved regions).
  std::optional<sim::Topology> topology;
  // Without a topology: this IOMMU configuration, with the default machine's
  // devices (edu at 0000:00:01.0 in group 1, ...) unless default_devices is false.
  core::MachineConfig machine = sim::DefaultMachineConfig();
  bool default_devices = true;
};

class VfioSim {
 public:
  VfioSim();
  explicit VfioSim(const VfioSimOptions& options);
  ~VfioSim();
  VfioSim(const VfioSim&) = delete;
  VfioSim& operator=(const VfioSim&) = delete;

  sim::Machine& machine() { return *machine_; }
  core::Kernel& kernel() { return machine_->kernel(); }
  const Profile& profile() const { return *profile_; }
  FdTable& fds() { return fds_; }

  // "/dev/vfio/vfio" or "/dev/vfio/<group>"; ENOENT for anything else.
  int Open(const char* path, int flags);
  int Close(int fd);
  int Ioctl(int fd, unsigned long request, uintptr_t arg = 0);
  template <typename T>
  int Ioctl(int fd, unsigned long request, T* arg) {
    return Ioctl(fd, request, reinterpret_cast<uintptr_t>(arg));
  }

  long OpenErrno(const char* path, int flags);
  long CloseErrno(int fd);
  long IoctlErrno(int fd, unsigned long request, uintptr_t arg = 0);

  ssize_t Pread(int fd, void* buf, size_t count, off_t offset);
  ssize_t Pwrite(int fd, const void* buf, size_t count, off_t offset);
  // MAP_FAILED and errno on failure. With MAP_ANONYMOUS the fd is ignored
  // and the call is a plain mmap(2).
  void* Mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset);
  int Munmap(void* addr, size_t len);

  ssize_t PreadErrno(int fd, void* buf, size_t count, off_t offset);
  ssize_t PwriteErrno(int fd, const void* buf, size_t count, off_t offset);
  // The address, or -errno (a value in [-4095, -1]) as the raw syscall does.
  intptr_t MmapErrno(void* addr, size_t len, int prot, int flags, int fd, off_t offset);
  long MunmapErrno(void* addr, size_t len);
  // Number of live BAR mappings (tests).
  size_t mapping_count() const { return mmaps_->size(); }

  // Acts as another process from now on (PASID ownership and quota): lets a
  // test show what one client may not do with another's PASIDs.
  void ActAsProcess(uint64_t owner) { owner_.store(owner); }
  uint64_t process() const { return owner_.load(); }

  // True when `fd` is a vfio-sim fd of this machine.
  bool Owns(int fd) const { return fds_.Get(fd) != nullptr; }

 private:
  const Profile* profile_;
  std::unique_ptr<sim::Machine> machine_;
  std::atomic<uint64_t> owner_;
  FdTable fds_;
  Context ctx_;
  // Last: destroyed first, so leftover mappings release their device files
  // while the fds, kernel and machine still exist.
  std::unique_ptr<MmapTable> mmaps_;
};

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_VFIO_SIM_H_
