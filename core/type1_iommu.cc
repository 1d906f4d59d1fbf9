#include "core/type1_iommu.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "core/fault_injection.h"
#include "core/user_memory.h"

namespace vfiosim::core {
namespace {

constexpr uint64_t kTaskSizeMax = 0x00007FFFFFFFF000ull;  // x86-64 TASK_SIZE_MAX

uint64_t DirtyBitmapBytes(uint64_t npages) { return ((npages + 63) / 64) * 8; }

}  // namespace

bool UserRangeOk(uint64_t addr, uint64_t size) {
  uint64_t end = 0;
  if (__builtin_add_overflow(addr, size, &end)) return false;
  return end <= kTaskSizeMax;
}

Status VerifyBitmapSize(uint64_t npages, uint64_t bitmap_size) {
  if (npages == 0 || bitmap_size == 0 || bitmap_size > kDirtyBitmapSizeMax) return Error(EINVAL);
  if (bitmap_size < DirtyBitmapBytes(npages)) return Error(EINVAL);
  return Status::Ok();
}

Status MemlockAccount::Charge(uint64_t bytes) {
  const uint64_t max = limit.load(std::memory_order_relaxed);
  uint64_t cur = locked.load(std::memory_order_relaxed);
  do {
    if (max != 0 && (cur + bytes > max || cur + bytes < cur)) return Error(ENOMEM);
  } while (!locked.compare_exchange_weak(cur, cur + bytes, std::memory_order_relaxed));
  return Status::Ok();
}

Type1Iommu::Type1Iommu(bool v2, bool nesting, uint32_t domain_id, const MachineConfig& machine,
                       const KernelBehavior& behavior, MemlockAccount* memlock)
    : v2_(v2),
      nesting_(nesting),
      domain_id_(domain_id),
      machine_(machine),
      behavior_(behavior),
      min_page_(machine.MinPageSize()),
      memlock_(memlock),
      dma_avail_(machine.dma_entry_limit),
      page_table_(machine.address_width, machine.pgsize_bitmap),
      iotlb_(machine.iotlb_entries) {
  if (nesting) nested_ = std::make_unique<NestedDomain>(domain_id);
}

Type1Iommu::~Type1Iommu() {
  // Releasing the instance unpins every mapping.
  space_.ForEach([&](const DmaMapping& m) {
    if (!m.msi_reserved) memlock_->Uncharge(m.size);
  });
}

// ---------------------------------------------------------------- groups

std::vector<ReservedRegion> Type1Iommu::ExcludedRegions(
    const std::vector<ReservedRegion>& regions) const {
  std::vector<ReservedRegion> out;
  for (const ReservedRegion& r : regions) {
    // DIRECT_RELAXABLE stays mappable; in the seed-000 world the SW MSI window
    // is registered by the user instead of being carved out by the kernel.
    if (r.type == ReservedType::kDirectRelaxable) continue;
    if (r.type == ReservedType::kSwMsi && behavior_.msi_reserved_map_flag) continue;
    out.push_back(r);
  }
  return out;
}

IovaSet Type1Iommu::ComputeIovaList(
    const std::map<GroupId, std::vector<ReservedRegion>>& groups) const {
  IovaSet list;
  IovaRange aperture = machine_.Aperture();
  list += IovaInterval(aperture.start, aperture.last);
  for (const auto& [id, regions] : groups) {
    for (const ReservedRegion& r : ExcludedRegions(regions)) {
      list -= IovaInterval(r.range.start, r.range.last);
    }
  }
  return list;
}

Status Type1Iommu::AttachGroup(GroupId group, const std::vector<ReservedRegion>& regions) {
  if (vaddr_invalid_count_ != 0) return Error(EBUSY);
  if (groups_.count(group) != 0) return Error(EINVAL);
  if (ShouldFail(FailSite::kObjectAlloc)) return Error(ENOMEM);
  // Every group of a machine sits behind the same IOMMU, so it joins the
  // existing domain: aperture identical, only reserved regions can conflict.
  for (const ReservedRegion& r : ExcludedRegions(regions)) {
    if (space_.FirstOverlap(r.range) != nullptr) return Error(EINVAL);
  }
  auto next_groups = groups_;
  next_groups[group] = regions;
  IovaSet list = ComputeIovaList(next_groups);
  if (list.empty()) return Error(EINVAL);
  if (!machine_.interrupt_remapping && !machine_.allow_unsafe_interrupts) return Error(EPERM);
  groups_ = std::move(next_groups);
  space_.SetIovaList(std::move(list));
  return Status::Ok();
}

void Type1Iommu::DetachGroup(GroupId group) {
  if (groups_.erase(group) == 0) return;
  iotlb_.InvalidateDomain(domain_id_);
  space_.SetIovaList(ComputeIovaList(groups_));
}

// ---------------------------------------------------------------- MAP_DMA

Status Type1Iommu::CheckMapArguments(const MapRequest& req, IovaRange* range) const {
  const bool prot = req.read || req.write;
  const uint64_t mask = min_page_ - 1;
  auto overflow = [&]() -> bool {
    std::optional<IovaRange> r = IovaRange::FromStartSize(req.iova, req.size);
    uint64_t vlast = 0;
    return !r.has_value() || __builtin_add_overflow(req.vaddr, req.size - 1, &vlast);
  };
  auto prot_bad = [&] {
    if (req.msi_reserved) return false;  // the window has no backing; vaddr and prot are ignored
    return (prot && req.update_vaddr) || (!prot && !req.update_vaddr);
  };
  auto unaligned = [&] {
    return req.size == 0 || (req.size & mask) || (req.iova & mask) ||
           (!req.msi_reserved && (req.vaddr & mask));
  };
  if (behavior_.overflow_checked_first) {
    // 6.18 order: size 0, overflow (EOVERFLOW), prot, alignment.
    if (req.size == 0) return Error(EINVAL);
    if (overflow()) return Error(behavior_.overflow_errno);
    if (prot_bad()) return Error(EINVAL);
    if (unaligned()) return Error(EINVAL);
  } else {
    if (prot_bad()) return Error(EINVAL);
    if (unaligned()) return Error(EINVAL);
    if (overflow()) return Error(behavior_.overflow_errno);
  }
  *range = IovaRange{req.iova, req.iova + req.size - 1};
  return Status::Ok();
}

Status Type1Iommu::MapUpdateVaddr(const MapRequest& req, const IovaRange& range) {
  DmaMapping* m = space_.FirstOverlap(range);
  if (m == nullptr) return Error(ENOENT);
  if (!m->vaddr_invalid || m->iova != req.iova || m->size != req.size) return Error(EINVAL);
  // The kernel keeps mapping the same pinned pages and only records the new
  // address (no check of it). In this simulator pages are reached through a
  // client address, so the table follows the new one when it can be one; an
  // address outside the user half (accepted, as by the kernel) keeps the old
  // translation.
  if (!IsObviouslyBadUserAddress(req.vaddr, req.size)) {
    VFIOSIM_RETURN_IF_ERROR(page_table_.Remap(m->iova, HostVa{req.vaddr}, m->size, m->prot));
    iotlb_.InvalidateRange(domain_id_, m->iova, m->size);
    if (nested_) nested_->Stage2Changed(iotlb_);
  }
  m->vaddr = HostVa{req.vaddr};
  m->vaddr_invalid = false;
  --vaddr_invalid_count_;
  return Status::Ok();
}

Status Type1Iommu::Map(const MapRequest& req) {
  IovaRange range;
  VFIOSIM_RETURN_IF_ERROR(CheckMapArguments(req, &range));
  if (req.update_vaddr) return MapUpdateVaddr(req, range);
  if (req.msi_reserved && !NeedsMsiWindow()) return Error(EINVAL);
  // EEXIST precedes ENOSPC and the range check (case 54); with entries left
  // the overlap test is folded into the insertion walk below.
  if (dma_avail_ == 0) {
    return space_.FirstOverlap(range) != nullptr ? Error(EEXIST) : Error(ENOSPC);
  }
  if (!space_.InIovaList(range)) {
    return space_.FirstOverlap(range) != nullptr ? Error(EEXIST) : Error(EINVAL);
  }

  DmaMapping proto;
  proto.iova = req.iova;
  proto.size = req.size;
  proto.vaddr = HostVa{req.vaddr};
  proto.prot = static_cast<uint8_t>((req.read ? kProtRead : 0) | (req.write ? kProtWrite : 0));
  proto.msi_reserved = req.msi_reserved;
  // The kernel's order from here: the vfio_dma is allocated and inserted
  // (EEXIST, ENOMEM), then pinned (EFAULT, then RLIMIT_MEMLOCK's ENOMEM), then
  // mapped; any failure removes the whole entry again.
  Result<DmaMapping*> inserted = space_.InsertIfFree(proto);
  if (!inserted.ok()) return inserted.status();
  Status pinned = Status::Ok();
  if (!req.msi_reserved) {
    if (machine_.vaddr_policy == VaddrPolicy::kVerify) {
      // Pinning stand-in: the kernel's get_user_pages fails with EFAULT.
      pinned = CheckUserRange(req.vaddr, req.size, req.write);
    }
    if (pinned.ok()) pinned = memlock_->Charge(req.size);
    if (pinned.ok()) {
      pinned = page_table_.Map(req.iova, HostVa{req.vaddr}, req.size, proto.prot);
      if (pinned.ok() && machine_.page_table_bytes_limit != 0 &&
          page_table_.table_bytes() > machine_.page_table_bytes_limit) {
        (void)page_table_.Unmap(req.iova, req.size);
        pinned = Error(ENOMEM);
      }
      if (!pinned.ok()) memlock_->Uncharge(req.size);
    }
  }
  // With dirty tracking on, the entry needs a bitmap of at most INT_MAX bits.
  if (pinned.ok() && dirty_tracking_ && req.size / min_page_ > kDirtyBitmapPagesMax) {
    if (!req.msi_reserved) {
      (void)page_table_.Unmap(req.iova, req.size);
      memlock_->Uncharge(req.size);
    }
    pinned = Error(EINVAL);
  }
  if (pinned.ok() && req.msi_reserved && !msi_doorbells_) {
    Result<IovaAllocator> doorbells = IovaAllocator::Create(range, min_page_);
    if (doorbells.ok()) {
      msi_doorbells_.emplace(std::move(*doorbells));
    } else {
      pinned = doorbells.status();
    }
  }
  if (!pinned.ok()) {
    space_.Erase(*inserted);
    return pinned;
  }
  --dma_avail_;
  return Status::Ok();
}

// Seed 000: only an IOMMU whose MSI doorbells are translated (a software-
// managed MSI window, ARM) asks for a user-registered window; elsewhere the
// reserved-MSI map flag is refused.
bool Type1Iommu::NeedsMsiWindow() const {
  for (const auto& [id, regions] : groups_) {
    for (const ReservedRegion& r : regions) {
      if (r.type == ReservedType::kSwMsi) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------- UNMAP_DMA

Status Type1Iommu::CheckUnmapArguments(const UnmapRequest& req, IovaRange* range) const {
  const uint64_t mask = min_page_ - 1;
  if (req.iova & mask) return Error(EINVAL);
  if (req.all) {
    if (req.iova != 0 || req.size != 0) return Error(EINVAL);
    *range = IovaRange{0, ~0ull};
  } else {
    if (req.size == 0 || (req.size & mask)) return Error(EINVAL);
    std::optional<IovaRange> r = IovaRange::FromStartSize(req.iova, req.size);
    if (!r.has_value()) return Error(behavior_.overflow_errno);
    *range = *r;
  }
  if (req.bitmap.has_value() && (!dirty_tracking_ || req.bitmap->pgsize != min_page_)) {
    return Error(EINVAL);
  }
  return Status::Ok();
}

bool Type1Iommu::BisectsMapping(const IovaRange& range) {
  DmaMapping* head = space_.Find(range.start);
  if (head != nullptr && head->iova != range.start) return true;
  DmaMapping* tail = space_.Find(range.last);
  return tail != nullptr && tail->last() != range.last;
}

void Type1Iommu::RemoveMapping(DmaMapping* m) {
  if (!m->msi_reserved) {
    memlock_->Uncharge(m->size);
    // Unmapping whole entries never needs a split, so this cannot fail.
    (void)page_table_.Unmap(m->iova, m->size);
    iotlb_.InvalidateRange(domain_id_, m->iova, m->size);
    if (nested_) nested_->Stage2Changed(iotlb_);
  }
  if (m->vaddr_invalid) --vaddr_invalid_count_;
  space_.Erase(m);
  ++dma_avail_;
}

Result<uint64_t> Type1Iommu::Unmap(const UnmapRequest& req) {
  IovaRange range;
  VFIOSIM_RETURN_IF_ERROR(CheckUnmapArguments(req, &range));
  DmaMapping* first = space_.FirstOverlap(range);
  if (v2_ && !req.all && first != nullptr) {
    // v2 refuses to split an entry: the first overlapping entry must start at
    // iova, and the one holding the last byte must end there.
    if (first->iova < range.start) return Error(EINVAL);
    DmaMapping* tail = first->last() >= range.last ? first : space_.LastStartingAtOrBefore(range.last);
    if (tail != nullptr && tail->last() > range.last) return Error(EINVAL);
  }

  uint64_t unmapped = 0;
  // Classic kernels end the walk at iova + size computed modulo 2^64: a
  // request reaching exactly 2^64 ends at 0 and unmaps nothing (6.18 fixed it).
  if (!req.all && range.last == ~0ull && !behavior_.top_of_space_fixed) return unmapped;
  if (req.invalidate_vaddr) {
    std::vector<DmaMapping*> marked;
    for (DmaMapping* m = first; m != nullptr && m->iova <= range.last; m = space_.Next(m)) {
      if (!v2_ && range.start > m->iova) break;
      if (m->vaddr_invalid) {
        for (DmaMapping* undo : marked) undo->vaddr_invalid = false;
        vaddr_invalid_count_ -= static_cast<uint32_t>(marked.size());
        return Error(EINVAL);
      }
      m->vaddr_invalid = true;
      ++vaddr_invalid_count_;
      marked.push_back(m);
      unmapped += m->size;
    }
    return unmapped;
  }

  DmaMapping* m = first;
  while (m != nullptr && m->iova <= range.last) {
    if (!v2_ && range.start > m->iova) break;  // v1: a request starting inside an entry stops here
    DmaMapping* next = space_.Next(m);
    if (m->msi_reserved) {  // seed 000: the MSI window stays until the container goes away
      m = next;
      continue;
    }
    if (req.bitmap.has_value()) {
      VFIOSIM_RETURN_IF_ERROR(WriteDirtyBits(*m, req.iova, req.bitmap->data, /*query=*/false));
    }
    unmapped += m->size;
    RemoveMapping(m);
    m = next;
  }
  return unmapped;
}

// ---------------------------------------------------------------- dirty pages

Status Type1Iommu::DirtyStart() {
  if (!dirty_tracking_) {
    // vfio_dma_bitmap_alloc: an entry of more than INT_MAX pages cannot be tracked.
    bool too_big = false;
    space_.ForEach([&](const DmaMapping& m) { too_big |= m.size / min_page_ > kDirtyBitmapPagesMax; });
    if (too_big) return Error(EINVAL);
    if (ShouldFail(FailSite::kDirtyBitmapAlloc)) return Error(ENOMEM);
    dirty_tracking_ = true;
  }
  return Status::Ok();
}

Status Type1Iommu::DirtyStop() {
  dirty_tracking_ = false;
  space_.ForEachMutable([](DmaMapping& m) { m.dirty_bitmap.reset(); });
  return Status::Ok();
}

// update_user_bitmap of Linux 6.1, step by step, including its quirks:
// plain vfio-pci never promises a pinned-page dirty scope, so every page of
// the entry is set dirty on every query; when the entry's first bit is not
// word aligned the entry's own bitmap is shifted in place (without masking
// the last word) and OR-ed with the user's first word; whole words go out.
// After a query only the entry's first nbits bits are cleared, so bits
// shifted past the end stay and come back in later queries (seen on 6.1:
// a 10-page unmap reporting 18 dirty bits after an unaligned GET_BITMAP).
Status Type1Iommu::WriteDirtyBits(DmaMapping& m, uint64_t base_iova, uint64_t user_bitmap, bool query) {
  const uint64_t nbits = m.size / min_page_;
  const uint64_t bit_offset = (m.iova - base_iova) / min_page_;
  const uint64_t copy_offset = bit_offset / 64;
  const uint64_t shift = bit_offset % 64;
  const uint64_t words = (nbits + shift + 63) / 64;
  if (!m.dirty_bitmap) {
    // vfio_dma_bitmap_alloc: DIRTY_BITMAP_BYTES(nbits + BITS_PER_LONG), zeroed.
    m.dirty_bitmap.reset(new (std::nothrow) uint64_t[(nbits + 64 + 63) / 64]());
    if (!m.dirty_bitmap) return Error(ENOMEM);
  }
  uint64_t* bits = m.dirty_bitmap.get();
  for (uint64_t i = 0; i < nbits / 64; ++i) bits[i] = ~0ull;
  if (nbits % 64) bits[nbits / 64] |= (1ull << (nbits % 64)) - 1;
  auto* user = reinterpret_cast<uint64_t*>(user_bitmap) + copy_offset;
  if (shift != 0) {
    for (uint64_t k = words; k-- > 0;) {
      uint64_t lower = k > 0 ? bits[k - 1] >> (64 - shift) : 0;
      bits[k] = (bits[k] << shift) | lower;
    }
    uint64_t leftover = 0;
    VFIOSIM_RETURN_IF_ERROR(CopyFromUser(&leftover, user, sizeof(leftover)));
    bits[0] |= leftover;
  }
  VFIOSIM_RETURN_IF_ERROR(CopyToUser(user, bits, words * sizeof(uint64_t)));
  if (query) {
    // bitmap_clear(bitmap, 0, nbits): the tail past nbits is left as it is.
    for (uint64_t i = 0; i < nbits / 64; ++i) bits[i] = 0;
    if (nbits % 64) bits[nbits / 64] &= ~((1ull << (nbits % 64)) - 1);
  }
  return Status::Ok();
}

Status Type1Iommu::DirtyGetBitmap(const DirtyBitmapRequest& req) {
  // Caller (api) already checked argsz, copied the range and ran the overflow check.
  if (!UserRangeOk(req.bitmap.data, req.bitmap.size)) return Error(EINVAL);
  const uint64_t pgshift = req.bitmap.pgsize == 0 ? 64 : __builtin_ctzll(req.bitmap.pgsize);
  const uint64_t npages = pgshift >= 64 ? 0 : req.size >> pgshift;
  VFIOSIM_RETURN_IF_ERROR(VerifyBitmapSize(npages, req.bitmap.size));
  const uint64_t mask = min_page_ - 1;
  if (req.bitmap.pgsize != min_page_) return Error(EINVAL);
  if (req.iova & mask) return Error(EINVAL);
  if (req.size == 0 || (req.size & mask)) return Error(EINVAL);
  if (!dirty_tracking_) return Error(EINVAL);
  std::optional<IovaRange> range = IovaRange::FromStartSize(req.iova, req.size);
  if (!range.has_value()) return Error(EINVAL);
  if (BisectsMapping(*range)) return Error(EINVAL);
  for (DmaMapping* m = space_.FirstOverlap(*range); m != nullptr && m->iova <= range->last;
       m = space_.Next(m)) {
    if (m->msi_reserved) continue;
    VFIOSIM_RETURN_IF_ERROR(WriteDirtyBits(*m, req.iova, req.bitmap.data, /*query=*/true));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- info, translation

Type1Info Type1Iommu::Info() const {
  Type1Info info;
  info.pgsize_bitmap = machine_.pgsize_bitmap;
  info.min_page = min_page_;
  info.dma_avail = dma_avail_;
  info.max_dirty_bitmap_size = kDirtyBitmapSizeMax;
  info.iova_ranges = space_.IovaRanges();
  for (const auto& [id, regions] : groups_) {
    for (const ReservedRegion& r : regions) {
      if (std::find(info.reserved_regions.begin(), info.reserved_regions.end(), r) ==
          info.reserved_regions.end()) {
        info.reserved_regions.push_back(r);
      }
    }
  }
  space_.ForEach([&](const DmaMapping& m) {
    if (m.msi_reserved && !info.msi_window.has_value()) info.msi_window = m.range();
  });
  return info;
}

WalkResult Type1Iommu::Translate(uint64_t iova, uint8_t access) {
  if (const Translation* hit = iotlb_.Lookup(domain_id_, kNoPasid, iova, access)) {
    return WalkResult{true, *hit, FaultReason::kUnknown, 0};
  }
  WalkResult walk = page_table_.Translate(iova, access);
  if (walk.ok) iotlb_.Insert(domain_id_, kNoPasid, walk.translation);
  return walk;
}

}  // namespace vfiosim::core

namespace vfiosim::core {

DmaTranslation Type1Iommu::TranslateDma(Pasid pasid, uint64_t iova, uint8_t access) {
  if (pasid != kNoPasid) {
    if (nested_) return nested_->Translate(pasid, iova, access, page_table_, iotlb_);
    DmaTranslation t;
    t.fault.reason = FaultReason::kPasidInvalid;
    t.fault.pasid_valid = true;
    t.fault.pasid = pasid;
    t.fault.addr_valid = true;
    t.fault.addr = iova & ~uint64_t{0xFFF};
    t.fault.perm = access;
    return t;
  }
  DmaTranslation t;
  WalkResult walk = Translate(iova, access);
  t.ok = walk.ok;
  t.translation = walk.translation;
  t.mem_refs = walk.mem_refs;
  if (!walk.ok) {
    t.fault.reason = walk.fault;
    t.fault.addr_valid = true;
    t.fault.addr = iova & ~uint64_t{0xFFF};
    t.fault.perm = access;
  }
  return t;
}

}  // namespace vfiosim::core

namespace vfiosim::core {

Result<std::vector<uint64_t>> Type1Iommu::AllocMsiDoorbells(uint32_t count) {
  std::vector<uint64_t> out;
  if (!behavior_.msi_reserved_map_flag || !NeedsMsiWindow()) return out;
  if (!msi_doorbells_) return Error(ENOSPC);  // no window registered: MSIs cannot be composed
  for (uint32_t i = 0; i < count; ++i) {
    Result<IovaRange> doorbell = msi_doorbells_->Alloc(min_page_);
    if (!doorbell.ok()) {
      FreeMsiDoorbells(out);
      return doorbell.status();
    }
    out.push_back(doorbell->start);
  }
  return out;
}

void Type1Iommu::FreeMsiDoorbells(const std::vector<uint64_t>& doorbells) {
  if (!msi_doorbells_) return;
  for (uint64_t iova : doorbells) (void)msi_doorbells_->Free(iova);
}

}  // namespace vfiosim::core
