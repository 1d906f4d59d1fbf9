// MmapTable: the BAR mappings one VfioSim handed out, for munmap(2).
//
// What it models: the vmas of vfio device files. A mapping holds a reference
// on its device file, as a vma holds the struct file: the device stays open
// (and its group busy) until the mapping is gone, even after close(fd).
// Unmap is munmap(2) for any range - vfio-sim mappings in it are forgotten,
// everything else is simply unmapped - so a preload shim may route every
// munmap here. Real mmap/munmap are issued with syscall(2) so that a shim
// interposing the libc functions does not see its own calls again.
// Destroying the table (with its VfioSim) unmaps what the client left mapped.
//
// The mapping contents are DeviceState's business (device_state.h "Mmap").
//
// Thread safety: all methods may be called concurrently.
#ifndef VFIOSIM_API_DEVICE_MMAP_H_
#define VFIOSIM_API_DEVICE_MMAP_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "api/file.h"
#include "core/status.h"

namespace vfiosim::api {

// mmap(2)/munmap(2)/mprotect(2)/pread(2)/pwrite(2) as raw system calls.
void* RawMmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset);
int RawMunmap(void* addr, size_t len);
int RawMprotect(void* addr, size_t len, int prot);
ssize_t RawPread(int fd, void* buf, size_t count, off_t offset);
ssize_t RawPwrite(int fd, const void* buf, size_t count, off_t offset);

class MmapTable {
 public:
  MmapTable() = default;
  ~MmapTable();
  MmapTable(const MmapTable&) = delete;
  MmapTable& operator=(const MmapTable&) = delete;

  // Records [addr, addr + len) mapped from `device` (a DeviceFile).
  void Add(uintptr_t addr, size_t len, std::shared_ptr<File> device);
  // munmap(2): EINVAL for an unaligned addr or an empty/overflowing length;
  // the range is unmapped for real, then forgotten.
  core::Status Unmap(uintptr_t addr, size_t len);
  // Forgets [addr, addr + len) without unmapping (MAP_FIXED replaced it).
  void Forget(uintptr_t addr, size_t len);
  size_t size() const;

 private:
  struct Entry {
    size_t len;
    std::shared_ptr<File> device;
  };
  mutable std::mutex mu_;
  std::map<uintptr_t, Entry> entries_;  // by start address, disjoint
};

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_DEVICE_MMAP_H_
