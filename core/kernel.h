// Kernel: the root of the in-process kernel model of one simulated machine.
//
// It owns the IOMMU groups and their devices and implements the legacy VFIO
// state machine of drivers/vfio/container.c and group.c: group viability,
// SET_CONTAINER / UNSET_CONTAINER, SET_IOMMU, CHECK_EXTENSION and device
// opening, with the kernel's errno in the kernel's order (spec §3, §4, §6).
// File lifetimes (a group file kept alive by its device files, containers
// kept alive by their groups) are modelled by the api/ layer's reference
// counting, which calls ReleaseGroupFile / CloseDevice when the last
// reference drops.
//
// Lock order (acquire left to right, never the reverse):
//     Kernel::mu_  ->  Container::mu_  ->  PasidAllocator's mutex
// Thread safety: every public method may be called from any thread.
#ifndef VFIOSIM_CORE_KERNEL_H_
#define VFIOSIM_CORE_KERNEL_H_

#include <atomic>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "core/behavior.h"
#include "core/container.h"
#include "core/device.h"
#include "core/machine_config.h"
#include "core/mutex.h"
#include "core/nested_domain.h"
#include "core/pasid_allocator.h"
#include "core/status.h"

namespace vfiosim::core {

// Extension and IOMMU type numbers of <linux/vfio.h>; core answers questions
// about them, so it needs the numbers (not the ioctls).
inline constexpr long kType1Iommu = 1;
inline constexpr long kSpaprTceIommu = 2;
inline constexpr long kType1v2Iommu = 3;
inline constexpr long kDmaCcIommu = 4;
inline constexpr long kEeh = 5;
inline constexpr long kType1NestingIommu = 6;
inline constexpr long kSpaprTceV2Iommu = 7;
inline constexpr long kNoIommuIommu = 8;
inline constexpr long kUnmapAll = 9;  // seed 001 reuses 9 as VFIO_NESTING_IOMMU_UAPI
inline constexpr long kUpdateVaddr = 10;

struct GroupStatus {
  bool viable = false;
  bool container_set = false;
};

struct Group {
  GroupId id = 0;
  std::vector<std::unique_ptr<Device>> devices;
  std::vector<ReservedRegion> reserved;
  bool file_open = false;
  std::shared_ptr<Container> container;
  uint32_t container_users = 0;

  bool Viable() const {
    for (const auto& d : devices) {
      if (d->host_bound) return false;
    }
    return true;
  }
};

class Kernel {
 public:
  Kernel(MachineConfig machine, KernelBehavior behavior);
  ~Kernel();

  const MachineConfig& machine() const { return machine_; }
  // RLIMIT_MEMLOCK accounting of the (single) client process.
  MemlockAccount& memlock() { return memlock_; }
  void SetMemlockLimit(uint64_t bytes) { memlock_.limit.store(bytes); }
  const KernelBehavior& behavior() const { return behavior_; }

  // ---- machine construction (before clients run) ----
  // Creates the group if needed (reserved regions from the IOMMU model).
  void AddGroup(GroupId id);
  Device* AddDevice(GroupId group, std::string name, bool host_bound, uint32_t model_index,
                    bool vfio_bound = true);
  // Replaces a group's reserved regions (the IOMMU model's defaults otherwise).
  void SetGroupReservedRegions(GroupId id, std::vector<ReservedRegion> regions);
  void SetHostBound(std::string_view device_name, bool host_bound);
  std::vector<GroupId> GroupIds() const;
  std::vector<const Device*> Devices() const;
  std::vector<ReservedRegion> GroupReservedRegions(GroupId id) const;

  // ---- container fd ----
  std::shared_ptr<Container> OpenContainer();
  long CheckExtension(Container& c, long arg);
  // `owner` is the calling process; a nesting instance takes a reference on
  // its PASID set (vfio_mm) that is dropped when the instance goes away.
  Status SetIommu(Container& c, long arg, PasidOwner owner = 0);

  // ---- seed 001 vSVA on nesting containers (EOPNOTSUPP elsewhere) ----
  Result<Pasid> PasidAlloc(Container& c, PasidOwner owner, Pasid min, Pasid max);
  // Frees one PASID the caller owns (ENOENT unallocated, EACCES foreign);
  // a binding of it in this container goes too.
  Status PasidFree(Container& c, PasidOwner owner, Pasid pasid);
  Status BindGuestTable(Container& c, PasidOwner owner, Pasid hpasid, const GuestBinding& binding);
  Status UnbindGuestTable(Container& c, PasidOwner owner, Pasid hpasid);
  Status CacheInvalidate(Container& c, const CacheInvalidation& inv);
  PasidAllocator& pasids() { return pasids_; }

  // ---- group fd ----
  Status OpenGroupFile(GroupId id);      // ENODEV unknown group, EBUSY already open
  void ReleaseGroupFile(GroupId id);     // last reference to the group file dropped
  Result<GroupStatus> GetGroupStatus(GroupId id);
  Status SetContainer(GroupId id, const std::shared_ptr<Container>& c);
  Status UnsetContainer(GroupId id);
  // Lookup for GET_DEVICE_FD: ENODEV when no device matches, EINVAL for bad options.
  Result<Device*> FindDevice(GroupId id, std::string_view request);
  // Opening a found device: EINVAL without a container, or (first open) without an IOMMU.
  Status OpenDevice(Device* device);
  void CloseDevice(Device* device);

  // Snapshot helpers for tests and the invariant checker.
  bool GroupFileOpen(GroupId id) const;
  uint32_t ContainerUsers(GroupId id) const;
  std::shared_ptr<Container> GroupContainer(GroupId id) const;
  // Changes whenever any group joins or leaves a container: lets a DMA port
  // cache its group's container and skip the kernel lock on the hot path.
  uint64_t attach_generation() const { return attach_generation_.load(std::memory_order_acquire); }

 private:
  Group* FindGroupLocked(GroupId id) REQUIRES(mu_);
  const Group* FindGroupLocked(GroupId id) const REQUIRES(mu_);
  void DetachLocked(Group& g) REQUIRES(mu_);
  bool Type1Claims(long arg) const;
  Status AttachAllLocked(Container& c, Type1Iommu& iommu) REQUIRES(mu_);
  void ReleaseIommuLocked(Container& c) REQUIRES(mu_);
  Result<NestedDomain*> NestedLocked(Container& c) REQUIRES(c.mu());

  const MachineConfig machine_;
  const KernelBehavior behavior_;
  MemlockAccount memlock_;
  PasidAllocator pasids_;
  std::atomic<uint64_t> attach_generation_{0};
  mutable Mutex mu_;
  std::map<PasidOwner, uint32_t> nesting_users_ GUARDED_BY(mu_);  // vfio_mm references
  std::map<GroupId, std::unique_ptr<Group>> groups_ GUARDED_BY(mu_);
  uint32_t next_container_id_ GUARDED_BY(mu_) = 1;
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_KERNEL_H_
