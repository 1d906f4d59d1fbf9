#include "core/iova_allocator.h"

#include <algorithm>
#include <bit>
#include <new>
#include <utility>

#include "core/fault_injection.h"

namespace vfiosim::core {
namespace iova_internal {

const Node* First(const Node* n) {
  if (n == nullptr) return nullptr;
  while (n->left != nullptr) n = n->left;
  return n;
}

const Node* Next(const Node* n) {
  if (n->right != nullptr) return First(n->right);
  while (n->parent != nullptr && n->parent->right == n) n = n->parent;
  return n->parent;
}

}  // namespace iova_internal

namespace {

using iova_internal::kFitOrders;
using iova_internal::kFitSaturated;
using iova_internal::Node;

int Height(const Node* n) { return n == nullptr ? 0 : n->height; }
uint64_t MaxGap(const Node* n) { return n == nullptr ? 0 : n->max_gap; }
uint16_t MaxFit(const Node* n, int k) { return n == nullptr ? 0 : n->max_fit[k]; }

// Granules of n's own hole at or above its first 2^order-aligned granule,
// saturated: the longest 2^order-aligned request that hole can take.
uint16_t OwnFit(const Node* n, int order) {
  if (n->gap_below == 0) return 0;
  const uint64_t mask = (uint64_t{1} << order) - 1;
  const uint64_t first_aligned = (n->lo - n->gap_below + mask) & ~mask;  // < 2^53: no wrap
  if (first_aligned >= n->lo) return 0;
  return static_cast<uint16_t>(std::min<uint64_t>(n->lo - first_aligned, kFitSaturated));
}

// Recomputes n's height and subtree aggregates from its own hole and its
// children; the children must already be up to date. Returns whether any of
// them changed: if not, no ancestor can change either, which lets the walks
// towards the root stop early.
bool Update(Node* n) {
  const auto height = static_cast<int8_t>(1 + std::max(Height(n->left), Height(n->right)));
  const uint64_t max_gap = std::max({n->gap_below, MaxGap(n->left), MaxGap(n->right)});
  bool changed = height != n->height || max_gap != n->max_gap;
  n->height = height;
  n->max_gap = max_gap;
  for (int k = 0; k < kFitOrders; ++k) {
    const uint16_t fit = std::max({OwnFit(n, k + 1), MaxFit(n->left, k), MaxFit(n->right, k)});
    changed |= fit != n->max_fit[k];
    n->max_fit[k] = fit;
  }
  return changed;
}

// Upper bound on the longest request of alignment order `order` that a hole
// in n's subtree can take; exact for orders 0..kFitOrders.
uint64_t FitBound(const Node* n, int order) {
  if (order == 0 || order > kFitOrders) return n->max_gap;
  return n->max_fit[order - 1];
}

// Start of the highest `align`-aligned slot of `len` granules inside the free
// hole [lo, hi], or nullopt. All values are granules well below 2^63, so hi + 1
// cannot wrap.
std::optional<uint64_t> FitInHole(uint64_t lo, uint64_t hi, uint64_t len, uint64_t align) {
  if (hi < lo || hi - lo + 1 < len) return std::nullopt;
  const uint64_t start = (hi + 1 - len) & ~(align - 1);
  if (start < lo) return std::nullopt;
  return start;
}

// One hole search: `len` granules at alignment `align` = 2^order, ending at or
// below `hi_limit`.
struct SlotQuery {
  uint64_t len;
  uint64_t align;
  int order;
  uint64_t hi_limit;
  uint64_t visits = 0;
};

std::optional<uint64_t> SearchSubtree(const Node* n, SlotQuery& q) {
  // Visit holes in descending address order: right subtree, own hole, left
  // subtree, skipping every subtree that has no hole able to take the
  // request. For order <= kFitOrders that test is exact, so apart from the
  // one hole clipped by the limit the walk never enters a subtree in vain:
  // O(height). Depth is the tree height (< 1.45 log2 n), so recursion is
  // bounded.
  if (n == nullptr) return std::nullopt;
  ++q.visits;
  if (FitBound(n, q.order) < q.len) return std::nullopt;
  // Holes of the right subtree start above n->hi; they matter only if some
  // of them can lie at or below the limit.
  if (n->hi < q.hi_limit) {
    if (auto found = SearchSubtree(n->right, q)) return found;
  }
  if (n->gap_below >= q.len) {
    const uint64_t hole_lo = n->lo - n->gap_below;
    if (hole_lo <= q.hi_limit) {
      if (auto found = FitInHole(hole_lo, std::min(n->lo - 1, q.hi_limit), q.len, q.align)) {
        return found;
      }
    }
  }
  return SearchSubtree(n->left, q);
}

}  // namespace

Result<IovaAllocator> IovaAllocator::Create(IovaRange space, uint64_t granule) {
  if (granule < 4096 || !std::has_single_bit(granule)) return Error(EINVAL);
  if (space.last < space.start) return Error(EINVAL);
  if (!IsAligned(space.start, granule) || !IsAligned(space.last + 1, granule)) {
    // space.last + 1 wraps to 0 for a space ending at 2^64 - 1, which is aligned.
    return Error(EINVAL);
  }
  return IovaAllocator(space, static_cast<unsigned>(std::countr_zero(granule)));
}

IovaAllocator::IovaAllocator(IovaRange space, unsigned shift)
    : space_(space), shift_(shift), space_lo_(space.start >> shift), space_hi_(space.last >> shift) {}

IovaAllocator::IovaAllocator(IovaAllocator&& other) noexcept
    : space_(other.space_),
      shift_(other.shift_),
      space_lo_(other.space_lo_),
      space_hi_(other.space_hi_),
      root_(std::exchange(other.root_, nullptr)),
      allocated_count_(std::exchange(other.allocated_count_, 0)),
      allocated_granules_(std::exchange(other.allocated_granules_, 0)) {}

IovaAllocator& IovaAllocator::operator=(IovaAllocator&& other) noexcept {
  if (this != &other) {
    DeleteAll();
    space_ = other.space_;
    shift_ = other.shift_;
    space_lo_ = other.space_lo_;
    space_hi_ = other.space_hi_;
    root_ = std::exchange(other.root_, nullptr);
    allocated_count_ = std::exchange(other.allocated_count_, 0);
    allocated_granules_ = std::exchange(other.allocated_granules_, 0);
  }
  return *this;
}

IovaAllocator::~IovaAllocator() { DeleteAll(); }

void IovaAllocator::DeleteAll() {
  // Iterative post-order so that a million nodes cannot overflow the stack.
  Node* n = root_;
  while (n != nullptr) {
    if (n->left != nullptr) {
      n = n->left;
    } else if (n->right != nullptr) {
      n = n->right;
    } else {
      Node* parent = n->parent;
      if (parent != nullptr) (parent->left == n ? parent->left : parent->right) = nullptr;
      delete n;
      n = parent;
    }
  }
  root_ = nullptr;
  allocated_count_ = 0;
  allocated_granules_ = 0;
}

uint64_t IovaAllocator::allocated_bytes() const {
  if (allocated_granules_ > (~uint64_t{0} >> shift_)) return ~uint64_t{0};
  return allocated_granules_ << shift_;
}

// ---- lookups ----

IovaAllocator::Node* IovaAllocator::FindContaining(uint64_t pfn) const {
  Node* n = root_;
  while (n != nullptr) {
    if (pfn < n->lo) {
      n = n->left;
    } else if (pfn > n->hi) {
      n = n->right;
    } else {
      return n;
    }
  }
  return nullptr;
}

IovaAllocator::Node* IovaAllocator::LowerBoundByHi(uint64_t pfn) const {
  // Nodes are disjoint, so ordering by lo also orders by hi.
  Node* best = nullptr;
  Node* n = root_;
  while (n != nullptr) {
    if (n->hi >= pfn) {
      best = n;
      n = n->left;
    } else {
      n = n->right;
    }
  }
  return best;
}

std::optional<IovaRange> IovaAllocator::Find(uint64_t iova) const {
  const Node* n = FindContaining(iova >> shift_);
  if (n == nullptr || n->reserved) return std::nullopt;
  return ToRange(n);
}

// ---- search ----

std::optional<uint64_t> IovaAllocator::LimitToLastGranule(uint64_t limit_last) const {
  const uint64_t mask = granule() - 1;
  uint64_t last = limit_last >> shift_;
  // A granule is usable only if its last byte is <= limit_last.
  if ((limit_last & mask) != mask) {
    if (last == 0) return std::nullopt;
    --last;
  }
  last = std::min(last, space_hi_);
  if (last < space_lo_) return std::nullopt;
  return last;
}

std::optional<uint64_t> IovaAllocator::FindSlot(uint64_t len, uint64_t align, uint64_t hi_limit) {
  search_visits_ = 0;
  // The hole above the highest node is not attached to any node; try it first.
  const Node* top = root_;
  while (top != nullptr && top->right != nullptr) top = top->right;
  const uint64_t top_lo = top == nullptr ? space_lo_ : top->hi + 1;
  if (top == nullptr || top->hi < space_hi_) {
    if (auto found = FitInHole(top_lo, std::min(space_hi_, hi_limit), len, align)) return found;
  }
  SlotQuery q{len, align, std::countr_zero(align), hi_limit, 0};
  std::optional<uint64_t> found = SearchSubtree(root_, q);
  search_visits_ = q.visits;
  return found;
}

// ---- public mutators ----

Result<IovaRange> IovaAllocator::Alloc(uint64_t size, uint64_t limit_last) {
  if (size == 0) return Error(EINVAL);
  const uint64_t len = ((size - 1) >> shift_) + 1;
  if (len > space_hi_ - space_lo_ + 1) return Error(ENOSPC);
  const uint64_t align = std::bit_ceil(len);  // len <= 2^52: cannot overflow
  const std::optional<uint64_t> hi_limit = LimitToLastGranule(limit_last);
  if (!hi_limit) return Error(ENOSPC);
  const std::optional<uint64_t> start = FindSlot(len, align, *hi_limit);
  if (!start) return Error(ENOSPC);

  if (ShouldFail(FailSite::kIovaAlloc)) return Error(ENOMEM);
  Node* z = new (std::nothrow) Node;
  if (z == nullptr) return Error(ENOMEM);
  z->lo = *start;
  z->hi = *start + len - 1;
  Insert(z);
  ++allocated_count_;
  allocated_granules_ += len;
  return ToRange(z);
}

Status IovaAllocator::Free(uint64_t iova) {
  if (!IsAligned(iova, granule())) return Error(ENOENT);
  const uint64_t pfn = iova >> shift_;
  Node* n = FindContaining(pfn);
  if (n == nullptr || n->reserved || n->lo != pfn) return Error(ENOENT);
  --allocated_count_;
  allocated_granules_ -= n->hi - n->lo + 1;
  Erase(n);
  return Status::Ok();
}

Status IovaAllocator::Reserve(IovaRange range) {
  if (range.last < range.start || !space_.Contains(range)) return Error(EINVAL);
  const uint64_t lo = range.start >> shift_;
  const uint64_t hi = range.last >> shift_;

  // Validate and compute the merged extent before changing anything. Walk the
  // nodes that overlap or touch [lo, hi]; lo - 1 / hi + 1 cannot wrap in a
  // meaningful way (granules < 2^52, and lo == 0 has no left neighbour).
  uint64_t merged_lo = lo;
  uint64_t merged_hi = hi;
  for (const Node* n = LowerBoundByHi(lo == 0 ? 0 : lo - 1); n != nullptr && n->lo <= hi + 1;
       n = iova_internal::Next(n)) {
    const bool overlaps = n->lo <= hi && n->hi >= lo;
    if (!n->reserved) {
      if (overlaps) return Error(EEXIST);
      continue;  // an allocation merely touching the range stays separate
    }
    if (n->lo <= lo && n->hi >= hi) return Status::Ok();  // already reserved
    merged_lo = std::min(merged_lo, n->lo);
    merged_hi = std::max(merged_hi, n->hi);
  }

  if (ShouldFail(FailSite::kIovaAlloc)) return Error(ENOMEM);
  Node* z = new (std::nothrow) Node;
  if (z == nullptr) return Error(ENOMEM);

  // From here nothing can fail. Remove the reserved nodes being merged (all
  // inside [merged_lo, merged_hi]), then insert the union.
  for (;;) {
    Node* n = LowerBoundByHi(merged_lo);
    while (n != nullptr && n->lo <= merged_hi && !n->reserved) {
      n = const_cast<Node*>(iova_internal::Next(n));
    }
    if (n == nullptr || n->lo > merged_hi) break;
    Erase(n);
  }
  z->lo = merged_lo;
  z->hi = merged_hi;
  z->reserved = true;
  Insert(z);
  return Status::Ok();
}

// ---- tree maintenance ----

void IovaAllocator::ReplaceChild(Node* parent, Node* old_child, Node* new_child) {
  if (parent == nullptr) {
    root_ = new_child;
  } else if (parent->left == old_child) {
    parent->left = new_child;
  } else {
    parent->right = new_child;
  }
}

IovaAllocator::Node* IovaAllocator::RotateLeft(Node* x) {
  Node* y = x->right;
  x->right = y->left;
  if (y->left != nullptr) y->left->parent = x;
  y->parent = x->parent;
  ReplaceChild(x->parent, x, y);
  y->left = x;
  x->parent = y;
  Update(x);
  Update(y);
  return y;
}

IovaAllocator::Node* IovaAllocator::RotateRight(Node* x) {
  Node* y = x->left;
  x->left = y->right;
  if (y->right != nullptr) y->right->parent = x;
  y->parent = x->parent;
  ReplaceChild(x->parent, x, y);
  y->right = x;
  x->parent = y;
  Update(x);
  Update(y);
  return y;
}

void IovaAllocator::RebalanceToRoot(Node* n) {
  // Stops at the first node whose height and aggregates come out unchanged
  // without a rotation: everything above depends only on those values. The
  // caller has already refreshed (or will refresh) any node whose own hole
  // changed off this path.
  while (n != nullptr) {
    bool changed = Update(n);
    const int balance = Height(n->left) - Height(n->right);
    if (balance > 1) {
      if (Height(n->left->left) < Height(n->left->right)) RotateLeft(n->left);
      n = RotateRight(n);
      changed = true;
    } else if (balance < -1) {
      if (Height(n->right->right) < Height(n->right->left)) RotateRight(n->right);
      n = RotateLeft(n);
      changed = true;
    }
    if (!changed) return;
    n = n->parent;
  }
}

void IovaAllocator::UpdateToRoot(Node* n) {
  while (n != nullptr && Update(n)) n = n->parent;
}

void IovaAllocator::Insert(Node* z) {
  Node* parent = nullptr;
  Node* pred = nullptr;  // last node we went right from: z's predecessor
  Node* succ = nullptr;  // last node we went left from: z's successor
  Node** link = &root_;
  while (*link != nullptr) {
    parent = *link;
    if (z->lo < parent->lo) {
      succ = parent;
      link = &parent->left;
    } else {
      pred = parent;
      link = &parent->right;
    }
  }
  z->parent = parent;
  z->left = z->right = nullptr;
  z->gap_below = z->lo - (pred == nullptr ? space_lo_ : pred->hi + 1);
  Update(z);
  *link = z;
  // z splits the hole below its successor.
  if (succ != nullptr) succ->gap_below = succ->lo - (z->hi + 1);
  RebalanceToRoot(parent);
  // succ's own hole shrank. The walk above may have stopped below succ or
  // rotated it off the path, so refresh succ and its final ancestors here.
  UpdateToRoot(succ);
}

void IovaAllocator::Erase(Node* z) {
  Node* succ = const_cast<Node*>(iova_internal::Next(z));
  // The successor's hole absorbs z's hole and z itself.
  if (succ != nullptr) succ->gap_below += z->gap_below + (z->hi - z->lo + 1);

  Node* victim = z;
  if (z->left != nullptr && z->right != nullptr) {
    // succ is the leftmost node of z's right subtree and has no left child:
    // move its payload into z and unlink succ's node instead.
    z->lo = succ->lo;
    z->hi = succ->hi;
    z->gap_below = succ->gap_below;
    z->reserved = succ->reserved;
    victim = succ;
    succ = z;
  }
  Node* child = victim->left != nullptr ? victim->left : victim->right;
  Node* parent = victim->parent;
  if (child != nullptr) child->parent = parent;
  ReplaceChild(parent, victim, child);
  delete victim;
  RebalanceToRoot(parent);
  UpdateToRoot(succ);  // its hole grew (or z took over its payload); see Insert
}

// ---- invariant check ----

namespace {

struct CheckState {
  const Node* prev = nullptr;
  uint64_t space_lo = 0;
  uint64_t space_hi = 0;
  size_t allocated = 0;
  uint64_t granules = 0;
  bool ok = true;
};

// Returns the subtree height (0 for empty); clears st.ok on any violation.
int CheckSubtree(const Node* n, const Node* parent, CheckState& st) {
  if (n == nullptr || !st.ok) return 0;
  if (n->parent != parent) st.ok = false;
  const int hl = CheckSubtree(n->left, n, st);
  // In-order visit.
  if (n->lo > n->hi || n->lo < st.space_lo || n->hi > st.space_hi) st.ok = false;
  const uint64_t below = st.prev == nullptr ? st.space_lo : st.prev->hi + 1;
  if (st.prev != nullptr && st.prev->hi >= n->lo) st.ok = false;
  if (st.ok && n->gap_below != n->lo - below) st.ok = false;
  if (st.prev != nullptr && st.prev->reserved && n->reserved && st.prev->hi + 1 == n->lo) {
    st.ok = false;  // touching reserved ranges must have been merged
  }
  if (!n->reserved) {
    ++st.allocated;
    st.granules += n->hi - n->lo + 1;
  }
  st.prev = n;
  const int hr = CheckSubtree(n->right, n, st);
  if (hl - hr > 1 || hr - hl > 1) st.ok = false;
  if (n->height != 1 + std::max(hl, hr)) st.ok = false;
  if (n->max_gap != std::max({n->gap_below, MaxGap(n->left), MaxGap(n->right)})) st.ok = false;
  for (int k = 0; k < kFitOrders; ++k) {
    // Recompute the hole's fit from first principles rather than via OwnFit.
    uint64_t own = 0;
    const uint64_t align = uint64_t{2} << k;
    for (uint64_t a = n->lo - n->gap_below; a < n->lo; ++a) {
      if (a % align == 0) {
        own = std::min<uint64_t>(n->lo - a, kFitSaturated);
        break;
      }
    }
    if (n->max_fit[k] != std::max<uint64_t>({own, MaxFit(n->left, k), MaxFit(n->right, k)})) {
      st.ok = false;
    }
  }
  return n->height;
}

}  // namespace

bool IovaAllocator::CheckInvariants() const {
  CheckState st;
  st.space_lo = space_lo_;
  st.space_hi = space_hi_;
  CheckSubtree(root_, nullptr, st);
  return st.ok && st.allocated == allocated_count_ && st.granules == allocated_granules_;
}

}  // namespace vfiosim::core
