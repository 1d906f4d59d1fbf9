// PasidAllocator: the system-wide PCIe PASID space of one simulated machine.
//
// Models the IOASID allocator as the 2020 vSVA series used it (drivers/iommu/
// ioasid.c of ~v5.8-5.10 plus the per-mm IOASID set / vfio_mm of Liu Yi L's
// "vfio: expose virtual Shared Virtual Addressing to VMs"): one PASID number
// space shared by every container of the machine, each allocated PASID owned
// by exactly one process (its mm; here a PasidOwner), a per-owner quota
// (module param `pasid_quota`, default 1000), and reclamation of everything an
// owner holds when it goes away.
//
// Invariants (checked by tests through ForEach):
//  - PASID 0 is never handed out (it tags requests without PASID on VT-d and
//    is reserved by every IOMMU driver of the era).
//  - Every allocated PASID lies in [1, 2^bits - 1] and has exactly one owner;
//    allocated_count() == sum over owners of CountOwnedBy(owner).
//  - Alloc returns the LOWEST free PASID of the requested range, like
//    xa_alloc() behind ioasid_alloc().
//  - Every failed call leaves the allocator unchanged.
//
// Speed: the free/used state lives in a multi-level bitmap (leaf bits, then
// 64-ary "word is full" summary levels; four levels for 20 bits), so finding the lowest free PASID at
// or above a bound is a handful of word operations regardless of how crowded
// the space is. Owners are kept per PASID in lazily allocated slot chunks that
// also thread a per-owner doubly-linked list, so FreeRange/ReleaseOwner cost
// O(PASIDs the owner holds), not O(space).
//
// Thread safety: every method takes the allocator's own Mutex; the object may
// be shared by any number of threads. ForEach calls `f` with the mutex held:
// `f` must not call back into the allocator.
#ifndef VFIOSIM_CORE_PASID_ALLOCATOR_H_
#define VFIOSIM_CORE_PASID_ALLOCATOR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "core/thread_annotations.h"
#include "core/types.h"

namespace vfiosim::core {

// The process (mm) that owns PASIDs; the api layer passes the client's pid.
using PasidOwner = uint64_t;

class PasidAllocator {
 public:
  static constexpr uint32_t kDefaultQuota = 1000;

  // `pasid_bits` is clamped to [1, kPasidSpaceBits] (PCIe allows at most 20);
  // the allocatable space is then [1, 2^pasid_bits - 1].
  explicit PasidAllocator(uint32_t pasid_bits = kPasidSpaceBits,
                          uint32_t quota_per_owner = kDefaultQuota);
  PasidAllocator(const PasidAllocator&) = delete;
  PasidAllocator& operator=(const PasidAllocator&) = delete;

  // Allocates the lowest free PASID in [min, max] ∩ [1, 2^bits - 1] for `owner`.
  // Checks, in order:
  //  - EINVAL: min > max, or [min, max] does not intersect [1, 2^bits - 1]
  //    (e.g. [0, 0], or a range wholly above the space). The uAPI layer
  //    validates min/max first (v7 rejects > 1<<31 with EINVAL), so this only
  //    keeps core safe; a range that straddles the space is silently clamped,
  //    as the kernel's allocator simply never finds ids outside it.
  //  - ENOSPC: the owner already holds `quota()` PASIDs (checked before the
  //    search, like vfio_mm_pasid_alloc in RFC v3 1/8), or no PASID of the
  //    clamped range is free (ioasid_alloc -> INVALID_IOASID -> ENOSPC).
  //  - ENOMEM: ShouldFail(FailSite::kPasidAlloc), consulted after a free
  //    PASID was found and before anything changes (v7 vfio_pasid_alloc
  //    allocates its vfio_pid record after ioasid_alloc succeeded).
  Result<Pasid> Alloc(PasidOwner owner, Pasid min, Pasid max);

  // Frees one PASID of `owner`.
  //  - ENOENT: `pasid` is not allocated (including 0 and ids outside the space).
  //  - EACCES: `pasid` is allocated but owned by another owner.
  // See the .cc for the sources of these errno values.
  Status Free(PasidOwner owner, Pasid pasid);

  // v7 VFIO_IOMMU_PASID_FREE semantics (vfio_pasid_free_range): frees every
  // PASID `owner` holds in [min, max], silently skipping PASIDs that are free
  // or owned by others. min > max frees nothing. Returns how many were freed.
  size_t FreeRange(PasidOwner owner, Pasid min, Pasid max);

  // The owner went away (its last container closed / vfio_mm released):
  // frees all its PASIDs and forgets the owner.
  void ReleaseOwner(PasidOwner owner);

  bool IsOwnedBy(Pasid pasid, PasidOwner owner) const;
  // Ok when `owner` holds `pasid`; ENOENT when nobody does, EACCES when another
  // owner does (the same answers as Free).
  Status CheckOwner(Pasid pasid, PasidOwner owner) const;
  size_t CountOwnedBy(PasidOwner owner) const;
  size_t allocated_count() const;

  // Per-owner quota. Lowering it below what an owner already holds keeps
  // those PASIDs; only further Allocs fail (ENOSPC).
  uint32_t quota() const;
  void set_quota(uint32_t q);

  // Highest allocatable PASID, 2^bits - 1.
  Pasid max_pasid() const { return max_pasid_; }

  // Calls f(Pasid, PasidOwner) for every allocated PASID in increasing PASID
  // order, with the allocator locked (f must not re-enter the allocator).
  template <typename F>
  void ForEach(F f) const {
    MutexLock lock(mu_);
    for (uint32_t w = 0; w < levels_[0].size(); ++w) {
      uint64_t bits = levels_[0][w];
      if (w == 0) bits &= ~uint64_t{1};  // PASID 0 is reserved, not allocated.
      while (bits != 0) {
        const Pasid pasid = w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits));
        bits &= bits - 1;
        if (pasid > max_pasid_) break;  // padding bits of the last word
        f(pasid, SlotOf(pasid).owner);
      }
    }
  }

 private:
  static constexpr uint32_t kNoSlot = 0;  // list terminator; PASID 0 is never a node
  static constexpr uint32_t kChunkShift = 12;
  static constexpr uint32_t kChunkSize = 1u << kChunkShift;

  // Per-allocated-PASID record: its owner and its neighbours in the owner's list.
  struct Slot {
    PasidOwner owner = 0;
    Pasid prev = kNoSlot;
    Pasid next = kNoSlot;
  };
  using Chunk = std::array<Slot, kChunkSize>;

  struct OwnerState {
    size_t count = 0;
    Pasid head = kNoSlot;  // most recently allocated PASID of the owner
  };

  // Bitmap helpers; all REQUIRES(mu_).
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  uint32_t NextZero(size_t level, uint32_t pos) const REQUIRES(mu_);
  void MarkUsed(uint32_t pos) REQUIRES(mu_);
  void MarkFree(uint32_t pos) REQUIRES(mu_);
  bool IsUsed(uint32_t pos) const REQUIRES(mu_) {
    return (levels_[0][pos >> 6] >> (pos & 63)) & 1;
  }
  bool IsAllocated(Pasid pasid) const REQUIRES(mu_) {
    return pasid != 0 && pasid <= max_pasid_ && IsUsed(pasid);
  }

  Slot& SlotOf(Pasid pasid) REQUIRES(mu_) {
    return (*chunks_[pasid >> kChunkShift])[pasid & (kChunkSize - 1)];
  }
  const Slot& SlotOf(Pasid pasid) const REQUIRES(mu_) {
    return (*chunks_[pasid >> kChunkShift])[pasid & (kChunkSize - 1)];
  }

  // Unlinks an allocated PASID from its owner and marks it free.
  void FreeLocked(Pasid pasid, OwnerState& owner_state) REQUIRES(mu_);

  mutable Mutex mu_;
  const Pasid max_pasid_;
  uint32_t quota_ GUARDED_BY(mu_);
  size_t allocated_ GUARDED_BY(mu_) = 0;
  // levels_[0]: one bit per PASID (1 = used; PASID 0 and padding are used).
  // levels_[k]: one bit per word of levels_[k-1] (1 = that word is all ones).
  // Levels are added until one is a single word (20 bits: 16384, 256, 4, 1).
  std::vector<std::vector<uint64_t>> levels_ GUARDED_BY(mu_);
  // Slot chunks, allocated the first time a PASID of the chunk is used and
  // kept afterwards so an alloc/free loop never touches the heap.
  std::vector<std::unique_ptr<Chunk>> chunks_ GUARDED_BY(mu_);
  std::unordered_map<PasidOwner, OwnerState> owners_ GUARDED_BY(mu_);
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_PASID_ALLOCATOR_H_
