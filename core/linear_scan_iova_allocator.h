// LinearScanIovaAllocator: the reference model of IovaAllocator's policy, for
// tests and benchmarks only (never used by the simulator itself).
//
// Same policy and API as IovaAllocator (granules, size alignment, top-down
// first fit below a limit, reserved ranges merged), implemented in the most
// obvious way: a std::map of ranges walked hole by hole from the limit
// downwards. It is O(n) per allocation in the worst case, which is the point:
// the randomized test checks that the tree gives identical answers, and the
// benchmark shows what the augmented tree buys.
//
// Differences from IovaAllocator, on purpose: it does not take part in fault
// injection, and std::map may throw std::bad_alloc (acceptable in a test
// model). Not thread-safe.
#ifndef VFIOSIM_CORE_LINEAR_SCAN_IOVA_ALLOCATOR_H_
#define VFIOSIM_CORE_LINEAR_SCAN_IOVA_ALLOCATOR_H_

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>

#include "core/range.h"
#include "core/status.h"

namespace vfiosim::core {

class LinearScanIovaAllocator {
 public:
  static Result<LinearScanIovaAllocator> Create(IovaRange space, uint64_t granule) {
    if (granule < 4096 || !std::has_single_bit(granule)) return Error(EINVAL);
    if (space.last < space.start) return Error(EINVAL);
    if (!IsAligned(space.start, granule) || !IsAligned(space.last + 1, granule)) return Error(EINVAL);
    return LinearScanIovaAllocator(space, static_cast<unsigned>(std::countr_zero(granule)));
  }

  Status Reserve(IovaRange range) {
    if (range.last < range.start || !space_.Contains(range)) return Error(EINVAL);
    uint64_t lo = range.start >> shift_;
    uint64_t hi = range.last >> shift_;
    for (const auto& [n_lo, e] : ranges_) {  // linear on purpose
      if (e.reserved || n_lo > hi || e.hi < lo) continue;
      return Error(EEXIST);
    }
    // Merge every reserved range overlapping or touching [lo, hi].
    for (auto it = ranges_.begin(); it != ranges_.end();) {
      const bool touches = it->first <= hi + 1 && it->second.hi + 1 >= lo;
      if (it->second.reserved && touches) {
        lo = std::min(lo, it->first);
        hi = std::max(hi, it->second.hi);
        it = ranges_.erase(it);
      } else {
        ++it;
      }
    }
    ranges_[lo] = Entry{hi, true};
    return Status::Ok();
  }

  Result<IovaRange> Alloc(uint64_t size, uint64_t limit_last = ~0ull) {
    if (size == 0) return Error(EINVAL);
    const uint64_t len = ((size - 1) >> shift_) + 1;
    if (len > space_hi_ - space_lo_ + 1) return Error(ENOSPC);
    const uint64_t align = std::bit_ceil(len);
    const uint64_t mask = (uint64_t{1} << shift_) - 1;
    uint64_t hi_limit = limit_last >> shift_;
    if ((limit_last & mask) != mask) {
      if (hi_limit == 0) return Error(ENOSPC);
      --hi_limit;
    }
    hi_limit = std::min(hi_limit, space_hi_);
    if (hi_limit < space_lo_) return Error(ENOSPC);

    // Holes from the limit downwards; `end` is one past the hole's last granule.
    uint64_t end = hi_limit + 1;
    auto it = ranges_.upper_bound(hi_limit);
    std::optional<uint64_t> start;
    while (!start) {
      if (it == ranges_.begin()) {
        start = Fit(space_lo_, end, len, align);
        break;
      }
      --it;
      if (it->second.hi + 1 < end) start = Fit(it->second.hi + 1, end, len, align);
      end = std::min(end, it->first);
    }
    if (!start) return Error(ENOSPC);
    ranges_[*start] = Entry{*start + len - 1, false};
    ++count_;
    granules_ += len;
    return ToRange(*start, *start + len - 1);
  }

  Status Free(uint64_t iova) {
    if (!IsAligned(iova, uint64_t{1} << shift_)) return Error(ENOENT);
    auto it = ranges_.find(iova >> shift_);
    if (it == ranges_.end() || it->second.reserved) return Error(ENOENT);
    --count_;
    granules_ -= it->second.hi - it->first + 1;
    ranges_.erase(it);
    return Status::Ok();
  }

  std::optional<IovaRange> Find(uint64_t iova) const {
    const uint64_t pfn = iova >> shift_;
    auto it = ranges_.upper_bound(pfn);
    if (it == ranges_.begin()) return std::nullopt;
    --it;
    if (it->second.hi < pfn || it->second.reserved) return std::nullopt;
    return ToRange(it->first, it->second.hi);
  }

  size_t allocated_count() const { return count_; }
  uint64_t allocated_bytes() const {
    if (granules_ > (~uint64_t{0} >> shift_)) return ~uint64_t{0};
    return granules_ << shift_;
  }

  template <typename F>
  void ForEach(F f) const {
    for (const auto& [lo, e] : ranges_) {
      if (!e.reserved) f(ToRange(lo, e.hi));
    }
  }
  template <typename F>
  void ForEachReserved(F f) const {
    for (const auto& [lo, e] : ranges_) {
      if (e.reserved) f(ToRange(lo, e.hi));
    }
  }

 private:
  struct Entry {
    uint64_t hi;  // last granule, inclusive
    bool reserved;
  };

  LinearScanIovaAllocator(IovaRange space, unsigned shift)
      : space_(space), shift_(shift), space_lo_(space.start >> shift), space_hi_(space.last >> shift) {}

  // Highest aligned start of a len-granule slot inside [lo, end), or nullopt.
  static std::optional<uint64_t> Fit(uint64_t lo, uint64_t end, uint64_t len, uint64_t align) {
    if (end < lo || end - lo < len) return std::nullopt;
    const uint64_t start = (end - len) & ~(align - 1);
    if (start < lo) return std::nullopt;
    return start;
  }

  IovaRange ToRange(uint64_t lo, uint64_t hi) const {
    return IovaRange{lo << shift_, (hi << shift_) | ((uint64_t{1} << shift_) - 1)};
  }

  IovaRange space_;
  unsigned shift_;
  uint64_t space_lo_;
  uint64_t space_hi_;
  std::map<uint64_t, Entry> ranges_;  // keyed by first granule
  size_t count_ = 0;
  uint64_t granules_ = 0;
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_LINEAR_SCAN_IOVA_ALLOCATOR_H_
