#include "core/fault_queue.h"

#include "core/fault_injection.h"

namespace vfiosim::core {

bool FaultQueue::Push(const FaultRecord& record) {
  MutexLock lock(mu_);
  ++total_;
  if (records_.size() >= capacity_ || ShouldFail(FailSite::kFaultQueue)) {
    ++dropped_;
    return false;
  }
  records_.push_back(record);
  return true;
}

std::vector<FaultRecord> FaultQueue::Drain() {
  MutexLock lock(mu_);
  std::vector<FaultRecord> out(records_.begin(), records_.end());
  records_.clear();
  return out;
}

size_t FaultQueue::size() const {
  MutexLock lock(mu_);
  return records_.size();
}

uint64_t FaultQueue::dropped() const {
  MutexLock lock(mu_);
  return dropped_;
}

uint64_t FaultQueue::total() const {
  MutexLock lock(mu_);
  return total_;
}

}  // namespace vfiosim::core
