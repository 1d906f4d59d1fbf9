// Container: one /dev/vfio/vfio instance (struct vfio_container).
//
// Group membership is Kernel state (guarded by Kernel::mu_); the IOMMU
// backend and everything under it is guarded by this container's own mutex,
// so the DMA hot path (MAP/UNMAP/translate) takes only `mu_`. The backend
// pointer is replaced only with both locks held, so holding either one is
// enough to read it.
#ifndef VFIOSIM_CORE_CONTAINER_H_
#define VFIOSIM_CORE_CONTAINER_H_

#include <atomic>
#include <memory>
#include <vector>

#include "core/mutex.h"
#include "core/type1_iommu.h"
#include "core/types.h"

namespace vfiosim::core {

class Kernel;

class Container {
 public:
  Container(Kernel* kernel, uint32_t id) : kernel_(kernel), id_(id) {}

  uint32_t id() const { return id_; }
  Kernel* kernel() const { return kernel_; }
  Mutex& mu() { return mu_; }

  // True when SET_IOMMU has succeeded and a group is still attached. Lock-
  // free: the ioctl path asks before every driver call.
  bool HasIommu() const { return has_iommu_.load(std::memory_order_acquire); }
  // The backend; nullptr without a driver. Requires mu().
  Type1Iommu* iommu() REQUIRES(mu_) { return iommu_.get(); }

  // Runs `f(Type1Iommu&)` under the container lock; EINVAL when no IOMMU
  // driver is set (the container's default answer to backend ioctls).
  template <typename F>
  auto WithIommu(F f) -> decltype(f(std::declval<Type1Iommu&>())) {
    MutexLock lock(mu_);
    if (iommu_ == nullptr) return Error(EINVAL);
    return f(*iommu_);
  }

 private:
  friend class Kernel;
  Kernel* const kernel_;
  const uint32_t id_;
  Mutex mu_;
  std::unique_ptr<Type1Iommu> iommu_ GUARDED_BY(mu_);
  std::atomic<bool> has_iommu_{false};  // mirrors iommu_ != nullptr
  std::vector<GroupId> groups_;  // guarded by Kernel::mu_
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_CONTAINER_H_
