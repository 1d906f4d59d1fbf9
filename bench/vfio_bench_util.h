// Shared set-up for the benchmarks that go through the uAPI facade
// (bulk_map_bench, translate_bench, dma_port_bench): a VfioSim with one
// group in a container with an IOMMU set, MAP/UNMAP shortcuts, an anonymous
// buffer, and a per-thread CPU clock.
//
// Why a CPU clock of our own: the table of `vfiosim bench` is built from CPU
// time (the machine is shared, wall time includes other jobs). Google
// Benchmark reports CPU time per iteration; where one iteration holds two
// operations (a 16 GiB map and its unmap) we split it with
// CLOCK_THREAD_CPUTIME_ID, whose read (a syscall, ~0.1-0.5 us) is included
// in each split figure: negligible at milliseconds, an upper bound at
// microseconds.
//
// Thread safety: none; each benchmark owns its objects.
#ifndef VFIOSIM_BENCH_VFIO_BENCH_UTIL_H_
#define VFIOSIM_BENCH_VFIO_BENCH_UTIL_H_

#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/mman.h>
#include <time.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "api/profile.h"
#include "api/vfio_sim.h"
#include "core/machine_config.h"
#include "sim/machine.h"

namespace vfiosim::bench {

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = kKiB * 1024;
inline constexpr uint64_t kGiB = kMiB * 1024;

// CPU time of the calling thread in nanoseconds.
inline double ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// The default machine's IOMMU with the vaddr policy set to trust: MAP_DMA
// then accepts plain numbers as vaddrs (nothing behind them is touched by
// MAP/UNMAP or translation).
inline core::MachineConfig TrustMachine() {
  core::MachineConfig m = sim::DefaultMachineConfig();
  m.vaddr_policy = core::VaddrPolicy::kTrust;
  return m;
}

// One simulated machine with `group` attached to a container whose IOMMU
// type is `iommu_type`; ok() is false when any step failed.
class SimContainer {
 public:
  SimContainer(const core::MachineConfig& machine, int group, long iommu_type = VFIO_TYPE1v2_IOMMU,
               const char* profile = nullptr)
      : group_(group) {
    api::VfioSimOptions options;
    options.machine = machine;
    if (profile != nullptr) {
      options.profile = api::FindProfile(profile);
      if (options.profile == nullptr) return;
    }
    sim_ = std::make_unique<api::VfioSim>(options);
    container_ = sim_->Open("/dev/vfio/vfio", O_RDWR);
    group_fd_ = sim_->Open(("/dev/vfio/" + std::to_string(group)).c_str(), O_RDWR);
    ok_ = container_ >= 0 && group_fd_ >= 0 &&
          sim_->Ioctl(group_fd_, VFIO_GROUP_SET_CONTAINER, &container_) == 0 &&
          sim_->Ioctl(container_, VFIO_SET_IOMMU, static_cast<uintptr_t>(iommu_type)) == 0;
  }

  bool ok() const { return ok_; }
  api::VfioSim& sim() { return *sim_; }
  int container() const { return container_; }
  int group() const { return group_; }

  // MAP_DMA read+write; returns 0 or the errno.
  int Map(uint64_t iova, uint64_t size, uint64_t vaddr) {
    vfio_iommu_type1_dma_map map{};
    map.argsz = sizeof(map);
    map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
    map.vaddr = vaddr;
    map.iova = iova;
    map.size = size;
    long r = sim_->IoctlErrno(container_, VFIO_IOMMU_MAP_DMA, reinterpret_cast<uintptr_t>(&map));
    return r == 0 ? 0 : static_cast<int>(-r);
  }
  // UNMAP_DMA; returns 0 only when exactly `size` bytes were unmapped.
  int Unmap(uint64_t iova, uint64_t size) {
    vfio_iommu_type1_dma_unmap unmap{};
    unmap.argsz = sizeof(unmap);
    unmap.iova = iova;
    unmap.size = size;
    long r = sim_->IoctlErrno(container_, VFIO_IOMMU_UNMAP_DMA, reinterpret_cast<uintptr_t>(&unmap));
    if (r != 0) return static_cast<int>(-r);
    return unmap.size == size ? 0 : EIO;
  }

 private:
  std::unique_ptr<api::VfioSim> sim_;
  int group_;
  int container_ = -1;
  int group_fd_ = -1;
  bool ok_ = false;
};

// Page-aligned anonymous memory, touched once so that no page fault lands
// inside a timed loop. data() is nullptr when mmap failed.
class AnonBuffer {
 public:
  explicit AnonBuffer(size_t size) : size_(size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    base_ = static_cast<uint8_t*>(p);
    std::memset(base_, 0x5a, size);
  }
  ~AnonBuffer() {
    if (base_ != nullptr) munmap(base_, size_);
  }
  AnonBuffer(const AnonBuffer&) = delete;
  AnonBuffer& operator=(const AnonBuffer&) = delete;

  uint8_t* data() const { return base_; }
  uint64_t va(size_t offset = 0) const { return reinterpret_cast<uint64_t>(base_) + offset; }
  size_t size() const { return size_; }

 private:
  uint8_t* base_ = nullptr;
  size_t size_;
};

}  // namespace vfiosim::bench

#endif  // VFIOSIM_BENCH_VFIO_BENCH_UTIL_H_
