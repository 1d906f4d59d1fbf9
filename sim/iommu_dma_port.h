// IommuDmaPort: the real DMA path of a simulated device.
//
// device -> DmaPort (iova, len, pasid) -> the container of the device's
// group -> core translation (stage 2, or nested for a bound PASID, IOTLB
// first) -> a fault-safe copy into the client's own memory. The whole range
// is translated before any byte moves, so a fault leaves memory untouched.
// Faults are recorded in the device's FaultQueue and signalled on an
// optional eventfd (a real one, written with write(2)).
//
// Isolation: a device reaches only the mappings of the container its group
// is attached to; a group without a container or IOMMU faults every DMA.
//
// Thread safety: Read/Write may be called concurrently. Lock order: the
// kernel's (to find the container), released, then the container's.
#ifndef VFIOSIM_SIM_IOMMU_DMA_PORT_H_
#define VFIOSIM_SIM_IOMMU_DMA_PORT_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "core/fault_queue.h"
#include "core/kernel.h"
#include "sim/dma_port.h"

namespace vfiosim::sim {

struct DmaPortStats {
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> faults{0};
  std::atomic<uint64_t> signal_failures{0};
};

class IommuDmaPort : public DmaPort {
 public:
  IommuDmaPort(core::Kernel* kernel, core::GroupId group) : kernel_(kernel), group_(group) {}

  DmaResult Read(uint64_t iova, void* dst, size_t len, core::Pasid pasid = core::kNoPasid) override;
  DmaResult Write(uint64_t iova, const void* src, size_t len, core::Pasid pasid = core::kNoPasid) override;

  core::FaultQueue& faults() { return faults_; }
  // MSI doorbell IOVAs for `count` vectors from the group's container (seed
  // 000; see Type1Iommu::AllocMsiDoorbells). Empty when none are needed,
  // including when the group has no IOMMU yet.
  core::Result<std::vector<uint64_t>> AllocMsiDoorbells(uint32_t count);
  void FreeMsiDoorbells(const std::vector<uint64_t>& doorbells);
  // Faults are signalled on this eventfd (-1: none). The fd stays the caller's.
  void set_fault_eventfd(int fd) { fault_eventfd_.store(fd); }
  const DmaPortStats& stats() const { return stats_; }

 private:
  DmaResult Access(uint64_t iova, void* buf, size_t len, core::Pasid pasid, bool write);
  DmaResult Record(const core::FaultRecord& fault);
  // The group's container, re-read from the kernel only after an attach or detach.
  std::shared_ptr<core::Container> Container();

  core::Kernel* const kernel_;
  const core::GroupId group_;
  core::FaultQueue faults_;
  std::mutex cache_mu_;
  uint64_t cached_generation_ = ~uint64_t{0};  // guarded by cache_mu_
  std::shared_ptr<core::Container> cached_;     // guarded by cache_mu_
  std::atomic<int> fault_eventfd_{-1};
  DmaPortStats stats_;
};

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_IOMMU_DMA_PORT_H_
