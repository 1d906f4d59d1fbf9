// FaultQueue: a bounded queue of IOMMU fault records for one device, like
// the hardware fault recording registers drained by the host driver. When
// full (or when recording itself fails) the record is dropped and counted,
// never blocking the DMA that faulted.
//
// Thread safety: all methods may be called concurrently.
#ifndef VFIOSIM_CORE_FAULT_QUEUE_H_
#define VFIOSIM_CORE_FAULT_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "core/fault.h"
#include "core/mutex.h"

namespace vfiosim::core {

class FaultQueue {
 public:
  explicit FaultQueue(size_t capacity = 64) : capacity_(capacity) {}

  // False when the record was dropped (queue full, or fail-nth kFaultQueue).
  bool Push(const FaultRecord& record);
  std::vector<FaultRecord> Drain();
  size_t size() const;
  uint64_t dropped() const;
  uint64_t total() const;  // every fault ever pushed, dropped or not

 private:
  const size_t capacity_;
  mutable Mutex mu_;
  std::deque<FaultRecord> records_ GUARDED_BY(mu_);
  uint64_t dropped_ GUARDED_BY(mu_) = 0;
  uint64_t total_ GUARDED_BY(mu_) = 0;
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_FAULT_QUEUE_H_
