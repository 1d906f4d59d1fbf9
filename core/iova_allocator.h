// IovaAllocator: kernel-chosen IOVA ranges, modelled on Linux
// drivers/iommu/iova.c (alloc_iova with size_aligned = true).
//
// What it models. Some IOVA ranges are picked by the kernel rather than by
// userspace: MSI doorbell windows in the RFC profile, later device-side
// allocations. iova.c hands them out with a fixed policy that callers can
// observe (addresses show up in traces and in device-visible state), so this
// class reproduces the policy exactly:
//   * Units are granules (the IOMMU page size, a power of two >= 4096). A
//     request of `size` bytes takes ceil(size / granule) granules.
//   * Size alignment: the start is aligned to the next power of two >= the
//     length in granules, counted from IOVA 0 (not from the space start). A
//     3-granule request is 4-granule aligned but still takes 3 granules, as
//     current iova.c does (`align_mask <<= fls_long(size - 1)`; old kernels
//     rounded the length up as well).
//   * Top-down first fit: the chosen range is the highest-addressed aligned
//     free slot whose last byte is <= limit_last. Reserved ranges are never
//     handed out.
//
// Data structure. Allocated and reserved ranges are nodes of an intrusive AVL
// tree ordered by address (the links live in the node; no separate container
// allocation). Each node owns the free hole just below it and carries two
// subtree aggregates: the largest hole (max_gap, the idea of Linux's
// rbtree_augmented proposal for iova.c) and, per alignment order k = 1..8,
// the longest 2^k-aligned request any hole could take (max_fit). The search
// visits holes from the top down and skips every subtree that cannot take
// the request. A max-gap bound alone is not enough: holes that are long
// enough but wrongly aligned would each be visited and rejected, and a
// fragmented space has many (measured in the benchmark's steady state: 1,500
// to 11,000 node visits per request at 1Mi live, growing linearly with n;
// about 28 with the per-order bound). With the per-order bound the skip
// test is exact, so a search costs O(log n) node visits, plus one path for
// the hole cut by limit_last (tests assert the visit count). Requests of more
// than 256 granules (order > 8) fall back to the max-gap bound: still
// correct, but misaligned big holes are probed one by one (rare in practice,
// as in iova.c, which always walks holes one by one). Insert and erase are
// O(log n) including the aggregate updates, which stop early once a node's
// aggregates come out unchanged.
//
// Why not Boost.Intrusive's rbtree/avltree: their rebalancing rotates nodes
// internally with no callback, so a subtree aggregate cannot be kept correct
// through them without knowing which nodes moved (Linux needs rb_augment
// callbacks for exactly this). A small hand-written AVL keeps the aggregate
// exact after every rotation.
//
// Invariants (checked by CheckInvariants()):
//   * nodes are disjoint, inside the space, ordered by address;
//   * every node's gap_below equals the free granules between it and its
//     predecessor (or the space start); max_gap and max_fit are the subtree
//     maxima of the holes' values;
//   * AVL balance and heights hold; parent links are consistent;
//   * reserved ranges never overlap or touch each other (Reserve merges them);
//   * allocated_count()/allocated_bytes() match the allocated nodes.
// Every public mutator either succeeds or returns an errno with the state
// exactly as before the call.
//
// Thread safety: not thread-safe. The owner (an IOMMU domain) serialises all
// calls under its own lock, like iova_rbtree_lock in iova.c. Const methods
// only read, so concurrent readers without a writer are fine.
#ifndef VFIOSIM_CORE_IOVA_ALLOCATOR_H_
#define VFIOSIM_CORE_IOVA_ALLOCATOR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/range.h"
#include "core/status.h"

namespace vfiosim::core {

namespace iova_internal {

// Alignment orders 1..kFitOrders (2..256 granules) get an exact per-order
// aggregate; larger requests fall back to the plain max gap.
inline constexpr int kFitOrders = 8;
// Per-order aggregates saturate here; exact for every length they are
// compared with (<= 2^kFitOrders).
inline constexpr uint16_t kFitSaturated = 0xFFFF;

// One allocated or reserved range; all quantities in granules ("pfns").
// The hole of a node is [lo - gap_below, lo - 1], the free space just below it.
struct Node {
  Node* parent = nullptr;
  Node* left = nullptr;
  Node* right = nullptr;
  uint64_t lo = 0;         // first granule
  uint64_t hi = 0;         // last granule (inclusive)
  uint64_t gap_below = 0;  // free granules between the predecessor (or the space start) and lo
  uint64_t max_gap = 0;    // max gap_below over this subtree
  // max_fit[k - 1]: over the holes of this subtree, the most granules that lie
  // at or above the hole's first 2^k-aligned granule, i.e. the longest
  // 2^k-aligned request the hole could take. Saturates at kFitSaturated.
  std::array<uint16_t, kFitOrders> max_fit{};
  int8_t height = 1;  // AVL height (a leaf has 1); <= 1.45 * 52 for 2^52 granules
  bool reserved = false;
};

// In-order successor, or nullptr.
const Node* Next(const Node* n);
// Leftmost node of the subtree rooted at n (n may be nullptr).
const Node* First(const Node* n);

}  // namespace iova_internal

class IovaAllocator {
 public:
  // `space`: the inclusive range allocations may come from; its start and its
  // end + 1 must be granule aligned (the end may be 2^64 - 1). `granule`: a
  // power of two >= 4096. EINVAL otherwise. A factory rather than a
  // constructor so that bad parameters are an errno, not an abort.
  static Result<IovaAllocator> Create(IovaRange space, uint64_t granule);

  IovaAllocator(IovaAllocator&& other) noexcept;
  IovaAllocator& operator=(IovaAllocator&& other) noexcept;
  IovaAllocator(const IovaAllocator&) = delete;
  IovaAllocator& operator=(const IovaAllocator&) = delete;
  ~IovaAllocator();

  // Excludes `range` from allocation, widened outwards to whole granules (no
  // byte of it is ever handed out). It may overlap or touch other reserved
  // ranges (they merge) or nothing. EINVAL if range.last < range.start or the
  // range is not entirely inside the space; EEXIST if it overlaps a live
  // allocation; ENOMEM (FailSite::kIovaAlloc) when a node is needed and
  // allocating it fails. A range already fully reserved is a no-op.
  Status Reserve(IovaRange range);

  // Allocates `size` bytes (rounded up to granules, size aligned) at the
  // highest fitting address whose last byte is <= limit_last.
  //   EINVAL  size == 0.
  //   ENOSPC  no aligned free slot fits below the limit (also when size
  //           exceeds the space or limit_last is below the space). iova.c
  //           returns NULL here and dma-iommu turns that into
  //           DMA_MAPPING_ERROR / -ENOMEM; ENOSPC keeps "address space
  //           exhausted" distinguishable from "node allocation failed" for
  //           tests, and the api/ layer may map it to ENOMEM if a uAPI needs.
  //   ENOMEM  FailSite::kIovaAlloc fired (checked only once a slot is found,
  //           i.e. right before the node allocation).
  Result<IovaRange> Alloc(uint64_t size, uint64_t limit_last = ~0ull);

  // Frees the allocation starting exactly at `iova`. ENOENT if no allocation
  // starts there (including reserved ranges, addresses inside an allocation
  // and addresses that are not granule aligned).
  Status Free(uint64_t iova);

  // The allocation containing `iova` (reserved ranges are not allocations).
  std::optional<IovaRange> Find(uint64_t iova) const;

  size_t allocated_count() const { return allocated_count_; }
  // Saturates at 2^64 - 1: one allocation of the full 2^64 space is the only
  // way to exceed it.
  uint64_t allocated_bytes() const;
  uint64_t allocated_granules() const { return allocated_granules_; }
  const IovaRange& space() const { return space_; }
  uint64_t granule() const { return uint64_t{1} << shift_; }

  // Calls f(IovaRange) for every allocation, in address order.
  template <typename F>
  void ForEach(F f) const {
    for (const Node* n = iova_internal::First(root_); n != nullptr; n = iova_internal::Next(n)) {
      if (!n->reserved) f(ToRange(n));
    }
  }
  // Calls f(IovaRange) for every (merged) reserved range, in address order.
  template <typename F>
  void ForEachReserved(F f) const {
    for (const Node* n = iova_internal::First(root_); n != nullptr; n = iova_internal::Next(n)) {
      if (n->reserved) f(ToRange(n));
    }
  }

  // O(n) check of every invariant listed above; for tests.
  bool CheckInvariants() const;
  // Tree nodes examined by the hole search of the most recent Alloc. Lets
  // tests check the O(log n) bound deterministically, without timing.
  uint64_t last_search_visits() const { return search_visits_; }

 private:
  using Node = iova_internal::Node;

  IovaAllocator(IovaRange space, unsigned shift);

  IovaRange ToRange(const Node* n) const {
    return IovaRange{n->lo << shift_, (n->hi << shift_) | (granule() - 1)};
  }

  // Highest granule a slot may end at for a byte limit, or nullopt if none.
  std::optional<uint64_t> LimitToLastGranule(uint64_t limit_last) const;
  // Start granule of the highest free `align`-aligned slot of `len` granules
  // ending at or below `hi_limit`, or nullopt. Counts into search_visits_.
  std::optional<uint64_t> FindSlot(uint64_t len, uint64_t align, uint64_t hi_limit);

  Node* FindContaining(uint64_t pfn) const;
  // First node (in address order) whose hi >= pfn.
  Node* LowerBoundByHi(uint64_t pfn) const;
  // Links a detached node with lo/hi/reserved set; fixes gaps and balance.
  void Insert(Node* z);
  // Unlinks and deletes n; fixes gaps and balance. May move another node's
  // payload into n's slot, so other Node pointers are invalid afterwards.
  void Erase(Node* n);

  void ReplaceChild(Node* parent, Node* old_child, Node* new_child);
  Node* RotateLeft(Node* x);
  Node* RotateRight(Node* x);
  void RebalanceToRoot(Node* n);
  static void UpdateToRoot(Node* n);
  void DeleteAll();

  IovaRange space_;
  unsigned shift_ = 12;      // log2(granule)
  uint64_t space_lo_ = 0;    // first granule of the space
  uint64_t space_hi_ = 0;    // last granule of the space
  Node* root_ = nullptr;
  size_t allocated_count_ = 0;
  uint64_t allocated_granules_ = 0;
  uint64_t search_visits_ = 0;
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_IOVA_ALLOCATOR_H_
