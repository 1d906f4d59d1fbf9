#include "core/iotlb.h"

#include <bit>

#include "core/range.h"

namespace vfiosim::core {
namespace {

int ClassOf(uint64_t leaf_size) {
  switch (leaf_size) {
    case kPageSize4K: return 1;
    case kPageSize2M: return 2;
    case kPageSize1G: return 3;
    default: return 0;
  }
}

}  // namespace

Iotlb::Iotlb(size_t entries) {
  if (entries == 0) return;
  if (entries > kMaxEntries) entries = kMaxEntries;
  const size_t capacity = std::bit_ceil(entries < size_t{kWays} ? size_t{kWays} : entries);
  sets_.resize(capacity / kWays);
  data_.resize(capacity);
  plru_.resize(capacity / kWays);
  set_mask_ = sets_.size() - 1;
}

void Iotlb::Insert(uint32_t domain, Pasid pasid, const Translation& t) {
  const int cls = ClassOf(t.leaf_size);
  if (sets_.empty() || cls == 0 || !IsAligned(t.iova_base, t.leaf_size)) return;
  const uint64_t owner = Owner(domain, pasid);
  const uint64_t want = t.iova_base | static_cast<uint64_t>(cls);
  const size_t s = SetIndex(domain, cls, t.iova_base >> ClassShift(cls));
  Set& set = sets_[s];
  int way = -1;
  for (int w = 0; w < kWays && way < 0; ++w) {
    const Tag& tag = set.way[w];
    if ((tag.key & ~kProtMask) == want && tag.owner == owner) way = w;  // refresh in place
  }
  if (way < 0) {
    for (int w = 0; w < kWays && way < 0; ++w) {
      if (set.way[w].key == 0) way = w;
    }
    if (way < 0) {
      way = Victim(s);
      Drop(s, way);
      ++stats_.evictions;
    }
    ++live_;
    if (class_count_[cls]++ == 0) class_mask_ |= 1u << (cls - 1);
  }
  set.way[way] = Tag{want | (static_cast<uint64_t>(t.prot & (kProtRead | kProtWrite)) << 2), owner};
  data_[s * kWays + way] = t;
  Touch(s, way);
}

void Iotlb::Drop(size_t set, int way) {
  Tag& tag = sets_[set].way[way];
  const int cls = static_cast<int>(tag.key & kClassMask);
  if (--class_count_[cls] == 0) class_mask_ &= ~(1u << (cls - 1));
  --live_;
  tag = Tag{};
}

void Iotlb::InvalidateMatching(uint32_t domain, bool any_pasid, Pasid pasid, uint64_t first,
                               uint64_t last) {
  const uint64_t owner = Owner(domain, pasid);
  auto owner_matches = [&](const Tag& tag) {
    return any_pasid ? (tag.owner >> 32) == domain : tag.owner == owner;
  };
  // Probing page by page costs one set per page of every cached size; beyond
  // the number of sets a full scan is cheaper (and bounded).
  uint64_t probes = 0;
  for (int cls = 1; cls <= 3; ++cls) {
    if (class_count_[cls] == 0) continue;
    probes += (last >> ClassShift(cls)) - (first >> ClassShift(cls)) + 1;
  }
  if (probes <= sets_.size()) {
    for (int cls = 1; cls <= 3; ++cls) {
      if (class_count_[cls] == 0) continue;
      const int shift = ClassShift(cls);
      for (uint64_t vpn = first >> shift;; ++vpn) {
        const size_t s = SetIndex(domain, cls, vpn);
        const uint64_t want = (vpn << shift) | static_cast<uint64_t>(cls);
        for (int w = 0; w < kWays; ++w) {
          const Tag& tag = sets_[s].way[w];
          if ((tag.key & ~kProtMask) == want && owner_matches(tag)) {
            Drop(s, w);
            ++stats_.invalidations;
          }
        }
        if (vpn == last >> shift) break;
      }
    }
    return;
  }
  for (size_t s = 0; s < sets_.size(); ++s) {
    for (int w = 0; w < kWays; ++w) {
      const Tag& tag = sets_[s].way[w];
      if (tag.key == 0 || !owner_matches(tag)) continue;
      const Translation& t = data_[s * kWays + w];
      if (t.iova_base <= last && t.iova_base + (t.leaf_size - 1) >= first) {
        Drop(s, w);
        ++stats_.invalidations;
      }
    }
  }
}

void Iotlb::InvalidateRangeImpl(uint32_t domain, bool any_pasid, Pasid pasid, uint64_t iova,
                                uint64_t size) {
  ++stats_.invalidation_requests;
  if (size == 0 || live_ == 0) return;
  uint64_t last = 0;
  if (__builtin_add_overflow(iova, size - 1, &last)) last = ~uint64_t{0};
  InvalidateMatching(domain, any_pasid, pasid, iova, last);
}

void Iotlb::InvalidateRange(uint32_t domain, uint64_t iova, uint64_t size) {
  InvalidateRangeImpl(domain, /*any_pasid=*/true, 0, iova, size);
}

void Iotlb::InvalidatePasidRange(uint32_t domain, Pasid pasid, uint64_t iova, uint64_t size) {
  InvalidateRangeImpl(domain, /*any_pasid=*/false, pasid, iova, size);
}

void Iotlb::InvalidatePasid(uint32_t domain, Pasid pasid) {
  InvalidateRangeImpl(domain, /*any_pasid=*/false, pasid, 0, ~uint64_t{0});
}

void Iotlb::InvalidateDomain(uint32_t domain) {
  InvalidateRangeImpl(domain, /*any_pasid=*/true, 0, 0, ~uint64_t{0});
}

void Iotlb::InvalidateAll() {
  ++stats_.invalidation_requests;
  stats_.invalidations += live_;
  for (Set& set : sets_) set = Set{};
  live_ = 0;
  for (uint32_t& c : class_count_) c = 0;
  class_mask_ = 0;
}

}  // namespace vfiosim::core
