// Iotlb: a software model of the IOMMU's IOTLB, the cache of page-table walk
// results (Translation) tagged by (domain id, PASID, page, leaf size).
//
// Layout: 4-way set associative with tree pseudo-LRU replacement. The set is
// chosen from (domain, leaf size, page number) but deliberately NOT from the
// PASID, as hardware indexes by address: then "every PASID of this domain in
// this range" (InvalidateRange) can probe the few sets of the range instead of
// scanning everything. The tags of a set fill exactly one 64-byte cache line and
// carry the permission bits, so a hit reads a single line; a small mask of the
// leaf sizes present lets lookups skip sizes that are not cached at all.
//
// Invariants:
//  - at most one entry per (domain, PASID, leaf size, page);
//  - an invalidation removes every entry whose [iova_base, iova_base+leaf_size)
//    overlaps the range, for the domain (and PASID) given, and nothing else. A
//    range wider than the cache is handled by scanning all entries rather than
//    by probing page by page.
//  - capacity 0 disables the cache: every lookup misses, Insert stores nothing.
//
// Lookups count as hits or misses; an entry whose prot lacks a requested
// permission is a miss (the walk then reports the permission fault).
//
// Thread safety: none; the owner's mutex guards every call (Lookup updates the
// replacement state and the counters).
#ifndef VFIOSIM_CORE_IOTLB_H_
#define VFIOSIM_CORE_IOTLB_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/page_table.h"
#include "core/types.h"

namespace vfiosim::core {

struct IotlbStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;              // live entries replaced by Insert
  uint64_t invalidations = 0;          // entries removed by Invalidate*()
  uint64_t invalidation_requests = 0;  // Invalidate*() calls
};

class Iotlb {
 public:
  static constexpr int kWays = 4;
  static constexpr size_t kMaxEntries = size_t{1} << 16;

  // `entries` is rounded up to a power of two, at least kWays and at most
  // kMaxEntries; 0 disables the cache.
  explicit Iotlb(size_t entries);

  // The cached translation covering `iova`, or nullptr on a miss.
  const Translation* Lookup(uint32_t domain, Pasid pasid, uint64_t iova, uint8_t access);
  // Caches `t` (leaf_size 4K/2M/1G, iova_base aligned to it; anything else is
  // ignored). Replaces an entry with the same tag, else a free way, else the
  // pseudo-LRU way of the set (an eviction).
  void Insert(uint32_t domain, Pasid pasid, const Translation& t);

  // [iova, iova+size) for every PASID of the domain (kNoPasid included). A size
  // running past 2^64 is clipped there; size 0 removes nothing.
  void InvalidateRange(uint32_t domain, uint64_t iova, uint64_t size);
  void InvalidatePasidRange(uint32_t domain, Pasid pasid, uint64_t iova, uint64_t size);
  void InvalidatePasid(uint32_t domain, Pasid pasid);
  void InvalidateDomain(uint32_t domain);
  void InvalidateAll();

  size_t capacity() const { return data_.size(); }
  size_t size() const { return live_; }

  // Calls f(uint32_t domain, Pasid pasid, const Translation&) for every live
  // entry (for the invariant checker).
  template <typename F>
  void ForEach(F f) const {
    for (size_t s = 0; s < sets_.size(); ++s) {
      for (int w = 0; w < kWays; ++w) {
        const Tag& tag = sets_[s].way[w];
        if (tag.key != 0) {
          f(static_cast<uint32_t>(tag.owner >> 32), static_cast<Pasid>(tag.owner),
            data_[s * kWays + w]);
        }
      }
    }
  }

  const IotlbStats& stats() const { return stats_; }
  void ResetStats() { stats_ = IotlbStats{}; }

 private:
  // key = iova_base | prot << 2 | size class (1 = 4K, 2 = 2M, 3 = 1G); 0 = free.
  // owner = domain << 32 | pasid.
  struct Tag {
    uint64_t key = 0;
    uint64_t owner = 0;
  };
  struct alignas(64) Set {
    Tag way[kWays];
  };
  static constexpr uint64_t kProtMask = uint64_t{3} << 2;
  static constexpr uint64_t kClassMask = 3;

  static int ClassShift(int cls) { return 3 + 9 * cls; }  // 12, 21, 30
  static uint64_t Owner(uint32_t domain, Pasid pasid) {
    return (uint64_t{domain} << 32) | pasid;
  }
  size_t SetIndex(uint32_t domain, int cls, uint64_t vpn) const {
    // Consecutive pages of one domain land in consecutive sets; domains and
    // sizes are offset by odd multipliers so they do not all collide.
    return static_cast<size_t>((vpn + uint64_t{domain} * 0x9E3779B97F4A7C15ull +
                                static_cast<uint64_t>(cls) * 0xC2B2AE3D27D4EB4Full) &
                               set_mask_);
  }
  void Touch(size_t set, int way) {
    // Tree pseudo-LRU: bit 0 points at the victim pair, bits 1/2 at the victim
    // way inside pair 0/1; an access points them away from the way.
    uint8_t& b = plru_[set];
    if (way < 2) {
      b = static_cast<uint8_t>((b & 4) | 1 | (way == 0 ? 2 : 0));
    } else {
      b = static_cast<uint8_t>((b & 2) | (way == 2 ? 4 : 0));
    }
  }
  int Victim(size_t set) const {
    const uint8_t b = plru_[set];
    return (b & 1) == 0 ? ((b & 2) ? 1 : 0) : ((b & 4) ? 3 : 2);
  }
  void Drop(size_t set, int way);
  // Removes the entries of `domain` (and `pasid` unless any_pasid) that
  // overlap [first, last].
  void InvalidateMatching(uint32_t domain, bool any_pasid, Pasid pasid, uint64_t first,
                          uint64_t last);
  void InvalidateRangeImpl(uint32_t domain, bool any_pasid, Pasid pasid, uint64_t iova,
                           uint64_t size);

  std::vector<Set> sets_;
  std::vector<Translation> data_;  // way w of set s at s * kWays + w
  std::vector<uint8_t> plru_;
  uint64_t set_mask_ = 0;
  size_t live_ = 0;
  uint32_t class_count_[4] = {};  // live entries per size class (index 1..3)
  unsigned class_mask_ = 0;       // bit cls-1 set while class_count_[cls] > 0
  IotlbStats stats_;
};

inline const Translation* Iotlb::Lookup(uint32_t domain, Pasid pasid, uint64_t iova,
                                        uint8_t access) {
  const uint64_t owner = Owner(domain, pasid);
  for (unsigned mask = class_mask_; mask != 0; mask &= mask - 1) {
    const int cls = __builtin_ctz(mask) + 1;
    const int shift = ClassShift(cls);
    const uint64_t vpn = iova >> shift;
    const size_t s = SetIndex(domain, cls, vpn);
    const Set& set = sets_[s];
    const uint64_t want = (vpn << shift) | static_cast<uint64_t>(cls);
    for (int w = 0; w < kWays; ++w) {
      const Tag& tag = set.way[w];
      if ((tag.key & ~kProtMask) != want || tag.owner != owner) continue;
      const uint64_t need = access & (kProtRead | kProtWrite);
      if (((tag.key >> 2) & need) != need) {
        ++stats_.misses;
        return nullptr;
      }
      Touch(s, w);
      ++stats_.hits;
      return &data_[s * kWays + w];
    }
  }
  ++stats_.misses;
  return nullptr;
}

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_IOTLB_H_
