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

using iova_internal::Node;

int32_t Height(const Node* n) { return n == nullptr ? 0 : n->height; }
uint64_t MaxGap(const Node* n) { return n == nullptr ? 0 : n->max_gap; }

// Recomputes n's height and subtree max gap from its children; the children
// must already be up to date.
void Update(Node* n) {
  n->height = 1 + std::max(Height(n->left), Height(n->right));
  n->max_gap = std::max({n->gap_below, MaxGap(n->left), MaxGap(n->right)});
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

std::optional<uint64_t> IovaAllocator::SearchSubtree(const Node* n, uint64_t len, uint64_t align,
                                                     uint64_t hi_limit) {
  // Visit holes in descending address order: right subtree, own hole, left
  // subtree. A subtree whose largest hole is shorter than len cannot fit.
  // Depth is the tree height (< 1.45 log2 n), so recursion is bounded.
  if (n == nullptr || n->max_gap < len) return std::nullopt;
  // Holes of the right subtree start above n->hi; they matter only if some
  // of them can lie at or below the limit.
  if (n->hi < hi_limit) {
    if (auto found = SearchSubtree(n->right, len, align, hi_limit)) return found;
  }
  if (n->gap_below >= len) {
    const uint64_t hole_lo = n->lo - n->gap_below;
    if (hole_lo <= hi_limit) {
      if (auto found = FitInHole(hole_lo, std::min(n->lo - 1, hi_limit), len, align)) return found;
    }
  }
  return SearchSubtree(n->left, len, align, hi_limit);
}

std::optional<uint64_t> IovaAllocator::FindSlot(uint64_t len, uint64_t align,
                                                uint64_t hi_limit) const {
  // The hole above the highest node is not attached to any node; try it first.
  const Node* top = root_;
  while (top != nullptr && top->right != nullptr) top = top->right;
  const uint64_t top_lo = top == nullptr ? space_lo_ : top->hi + 1;
  if (top == nullptr || top->hi < space_hi_) {
    if (auto found = FitInHole(top_lo, std::min(space_hi_, hi_limit), len, align)) return found;
  }
  return SearchSubtree(root_, len, align, hi_limit);
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
  // Walks all the way up (no early exit) because the max-gap aggregate of
  // every ancestor may have changed even where heights did not.
  while (n != nullptr) {
    Update(n);
    const int32_t balance = Height(n->left) - Height(n->right);
    if (balance > 1) {
      if (Height(n->left->left) < Height(n->left->right)) RotateLeft(n->left);
      n = RotateRight(n);
    } else if (balance < -1) {
      if (Height(n->right->right) < Height(n->right->left)) RotateRight(n->right);
      n = RotateLeft(n);
    }
    n = n->parent;
  }
}

void IovaAllocator::UpdateToRoot(Node* n) {
  for (; n != nullptr; n = n->parent) Update(n);
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
  z->height = 1;
  z->gap_below = z->lo - (pred == nullptr ? space_lo_ : pred->hi + 1);
  z->max_gap = z->gap_below;
  *link = z;
  // z splits the hole below its successor.
  if (succ != nullptr) succ->gap_below = succ->lo - (z->hi + 1);
  RebalanceToRoot(parent);
  // Rotations may have moved succ off the path just rebalanced; refresh its
  // (now final) ancestors explicitly.
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
  UpdateToRoot(succ);
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
int32_t CheckSubtree(const Node* n, const Node* parent, CheckState& st) {
  if (n == nullptr || !st.ok) return 0;
  if (n->parent != parent) st.ok = false;
  const int32_t hl = CheckSubtree(n->left, n, st);
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
  const int32_t hr = CheckSubtree(n->right, n, st);
  if (hl - hr > 1 || hr - hl > 1) st.ok = false;
  if (n->height != 1 + std::max(hl, hr)) st.ok = false;
  if (n->max_gap != std::max({n->gap_below, MaxGap(n->left), MaxGap(n->right)})) st.ok = false;
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
