// Type1Iommu: one vfio_iommu_type1 instance (what SET_IOMMU creates).
//
// Holds the DMA mappings (IovaSpace), the domain's IO page table and IOTLB,
// dma_avail, the attached groups' reserved regions, and dirty tracking.
// Implements MAP_DMA, UNMAP_DMA, DIRTY_PAGES and GET_INFO with the checks of
// drivers/vfio/vfio_iommu_type1.c in the kernel's order and errno (see
// ../shared/spec/type1-semantics.md §7), decoded from the uAPI structs by
// api/. Every failing call leaves the instance exactly as it was, except
// where the kernel itself does not (noted at the function).
//
// Thread safety: none; the owning Container's mutex guards every call.
#ifndef VFIOSIM_CORE_TYPE1_IOMMU_H_
#define VFIOSIM_CORE_TYPE1_IOMMU_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/behavior.h"
#include "core/iotlb.h"
#include "core/iova_allocator.h"
#include "core/iova_space.h"
#include "core/machine_config.h"
#include "core/nested_domain.h"
#include "core/page_table.h"
#include "core/status.h"
#include "core/types.h"

namespace vfiosim::core {

// MAP_DMA arguments after the uAPI flag mask check.
struct MapRequest {
  bool read = false;
  bool write = false;
  bool update_vaddr = false;  // VFIO_DMA_MAP_FLAG_VADDR
  bool msi_reserved = false;  // seed 000 VFIO_DMA_MAP_FLAG_RESERVED_MSI_IOVA
  uint64_t vaddr = 0;
  uint64_t iova = 0;
  uint64_t size = 0;
};

// struct vfio_bitmap, as copied from the user.
struct UserBitmap {
  uint64_t pgsize = 0;
  uint64_t size = 0;  // bytes
  uint64_t data = 0;  // user pointer
};

// UNMAP_DMA arguments after the uAPI flag checks and the vfio_bitmap copy.
struct UnmapRequest {
  uint64_t iova = 0;
  uint64_t size = 0;
  bool all = false;               // VFIO_DMA_UNMAP_FLAG_ALL
  bool invalidate_vaddr = false;  // VFIO_DMA_UNMAP_FLAG_VADDR
  std::optional<UserBitmap> bitmap;  // VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP
};

struct DirtyBitmapRequest {
  uint64_t iova = 0;
  uint64_t size = 0;
  UserBitmap bitmap;
};

// What GET_INFO reports, before the api/ layer lays it out per profile.
struct Type1Info {
  uint64_t pgsize_bitmap = 0;
  uint64_t min_page = 0;
  uint32_t dma_avail = 0;
  uint64_t max_dirty_bitmap_size = 0;
  std::vector<IovaRange> iova_ranges;
  std::vector<ReservedRegion> reserved_regions;  // union over attached groups
  std::optional<IovaRange> msi_window;           // seed 000: registered MSI window
};

// Pinned-memory accounting of one process (mm->locked_vm against RLIMIT_MEMLOCK).
struct MemlockAccount {
  std::atomic<uint64_t> locked{0};  // bytes
  std::atomic<uint64_t> limit{0};   // bytes; 0 = unlimited
  // Charges `bytes`; ENOMEM (and no charge) when the limit would be passed.
  Status Charge(uint64_t bytes);
  void Uncharge(uint64_t bytes) { locked.fetch_sub(bytes, std::memory_order_relaxed); }
};

// Largest dirty bitmap the kernel accepts: one bit per page for INT_MAX pages.
inline constexpr uint64_t kDirtyBitmapPagesMax = 0x7fffffff;
inline constexpr uint64_t kDirtyBitmapSizeMax = 0x10000000;

class Type1Iommu {
 public:
  Type1Iommu(bool v2, bool nesting, uint32_t domain_id, const MachineConfig& machine,
             const KernelBehavior& behavior, MemlockAccount* memlock);
  ~Type1Iommu();

  bool v2() const { return v2_; }
  bool nesting() const { return nesting_; }
  uint32_t domain_id() const { return domain_id_; }

  // vfio_iommu_type1_attach_group: EBUSY while vaddrs are invalid, EINVAL if
  // already attached / a reserved region overlaps a mapping / no IOVA left,
  // EPERM without interrupt remapping. No change on error.
  Status AttachGroup(GroupId group, const std::vector<ReservedRegion>& regions);
  // Detaches; the IOVA list grows back to what the remaining groups allow.
  void DetachGroup(GroupId group);
  bool HasGroup(GroupId group) const { return groups_.count(group) != 0; }
  size_t group_count() const { return groups_.size(); }

  Status Map(const MapRequest& req);
  // Returns the number of bytes unmapped (written back to the user only on success).
  // Kernel quirk kept: a bitmap copy fault stops the walk after earlier entries are gone.
  Result<uint64_t> Unmap(const UnmapRequest& req);
  Status DirtyStart();
  Status DirtyStop();
  Status DirtyGetBitmap(const DirtyBitmapRequest& req);
  bool dirty_tracking() const { return dirty_tracking_; }

  Type1Info Info() const;
  uint32_t dma_avail() const { return dma_avail_; }
  uint64_t min_page() const { return min_page_; }

  // Seed 000 (rfc-msi-resv-2016 on an IOMMU with a software MSI window):
  // every MSI vector a device enables needs a doorbell IOVA, allocated from
  // the window the user registered with RESERVED_MSI_IOVA by an iova.c-style
  // allocator (size-aligned, top-down). Empty result when this IOMMU needs
  // no user window; ENOSPC without a registered window or when it is full.
  Result<std::vector<uint64_t>> AllocMsiDoorbells(uint32_t count);
  void FreeMsiDoorbells(const std::vector<uint64_t>& doorbells);
  size_t msi_doorbell_count() const { return msi_doorbells_ ? msi_doorbells_->allocated_count() : 0; }

  // Device-side translation: IOTLB first, then a page-table walk (cached on success).
  WalkResult Translate(uint64_t iova, uint8_t access);
  // A device's DMA: stage 2 alone for kNoPasid, the nested 2D walk for a
  // PASID (PASID_INVALID on a container without nesting).
  DmaTranslation TranslateDma(Pasid pasid, uint64_t iova, uint8_t access);
  // Nesting containers only (nullptr otherwise).
  NestedDomain* nested() { return nested_.get(); }
  const NestedDomain* nested() const { return nested_.get(); }
  // The process that created the instance (owner of its PASIDs).
  uint64_t owner() const { return owner_; }
  void set_owner(uint64_t owner) { owner_ = owner; }

  const IovaSpace& space() const { return space_; }
  IovaSpace& space() { return space_; }
  const IoPageTable& page_table() const { return page_table_; }
  Iotlb& iotlb() { return iotlb_; }
  const Iotlb& iotlb() const { return iotlb_; }
  uint32_t vaddr_invalid_count() const { return vaddr_invalid_count_; }

 private:
  Status CheckMapArguments(const MapRequest& req, IovaRange* range) const;
  Status MapUpdateVaddr(const MapRequest& req, const IovaRange& range);
  Status CheckUnmapArguments(const UnmapRequest& req, IovaRange* range) const;
  bool BisectsMapping(const IovaRange& range);
  bool NeedsMsiWindow() const;
  // `query`: GET_BITMAP (the entry lives on) rather than UNMAP.
  Status WriteDirtyBits(DmaMapping& m, uint64_t base_iova, uint64_t user_bitmap, bool query);
  void RemoveMapping(DmaMapping* m);
  IovaSet ComputeIovaList(const std::map<GroupId, std::vector<ReservedRegion>>& groups) const;
  std::vector<ReservedRegion> ExcludedRegions(const std::vector<ReservedRegion>& regions) const;

  const bool v2_;
  const bool nesting_;
  const uint32_t domain_id_;
  const MachineConfig machine_;
  const KernelBehavior behavior_;
  const uint64_t min_page_;
  MemlockAccount* const memlock_;
  uint32_t dma_avail_;
  uint32_t vaddr_invalid_count_ = 0;
  bool dirty_tracking_ = false;
  std::map<GroupId, std::vector<ReservedRegion>> groups_;
  IovaSpace space_;
  IoPageTable page_table_;
  Iotlb iotlb_;
  std::unique_ptr<NestedDomain> nested_;
  std::optional<IovaAllocator> msi_doorbells_;  // over the registered MSI window
  uint64_t owner_ = 0;
};

// verify_bitmap_size: EINVAL for 0 pages, a 0 or oversized bitmap, or one too small.
Status VerifyBitmapSize(uint64_t npages, uint64_t bitmap_size);
// access_ok: the bitmap must lie in the user half of the address space.
bool UserRangeOk(uint64_t addr, uint64_t size);

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_TYPE1_IOMMU_H_
