#include "core/page_table.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/fault_injection.h"
#include "core/mutex.h"
#include "core/range.h"
#include "core/thread_annotations.h"

namespace vfiosim::core {
namespace {

constexpr uint64_t kPresent = IoPageTable::kPteRead | IoPageTable::kPteWrite;
constexpr uint64_t kLeafSizes = kPageSize4K | kPageSize2M | kPageSize1G;
// Output addresses (and table pointers) must fit the 52-bit address field.
constexpr uint64_t kOutputLimit = uint64_t{1} << 52;

// Bit position of the span of one entry at `level` (level 1 = 4 KiB).
constexpr int Shift(int level) { return 3 + 9 * level; }
constexpr uint64_t Span(int level) { return uint64_t{1} << Shift(level); }
constexpr int Index(uint64_t iova, int level) {
  return static_cast<int>((iova >> Shift(level)) & 511);
}

inline bool Present(uint64_t e) { return (e & kPresent) != 0; }
inline bool IsLeaf(int level, uint64_t e) { return level == 1 || (e & IoPageTable::kPtePs) != 0; }
inline uint64_t* ChildOf(uint64_t e) {
  return reinterpret_cast<uint64_t*>(e & IoPageTable::kPteAddrMask);
}
inline uint64_t TableEntry(const uint64_t* child) {
  return reinterpret_cast<uint64_t>(child) | kPresent;
}

// Bytes of the range starting at `iova` (of `size` bytes) that fall inside the
// level entry containing iova.
inline uint64_t ChunkInEntry(uint64_t iova, uint64_t size, int level) {
  const uint64_t rest = Span(level) - (iova & (Span(level) - 1));
  return rest < size ? rest : size;
}

// Scans a cache line (8 entries) at a time and stops at the first live one:
// a table that just lost an entry usually still has neighbours, so the common
// answer ("not empty") costs one line instead of the whole 4 KiB table.
bool TableEmpty(const uint64_t* t) {
  for (int i = 0; i < IoPageTable::kEntriesPerTable; i += 8) {
    uint64_t any = 0;
    for (int j = 0; j < 8; ++j) any |= t[i + j];
    if (any) return false;
  }
  return true;
}

// Process-wide cache of 4 KiB table pages, in the role of the kernel's page
// allocator for IOMMU page-table pages. Why not malloc: a 16 GiB map at 4K
// needs 8192 tables, and malloc returning them to the OS after every unmap
// made each map pay 8192 page faults (most of its time). Pages come in 2 MiB
// chunks advised for transparent huge pages, which also cuts TLB misses of
// walks; freed pages are kept for reuse, but only kMaxIdle of them keep their
// memory (beyond that their memory goes back to the OS with MADV_DONTNEED).
// Under AddressSanitizer plain aligned_alloc/free are used so that a
// use-after-free of a table is still caught.
class TablePages {
 public:
  static TablePages& Get() {
    static TablePages* pages = new TablePages;  // never destroyed (static dtor order)
    return *pages;
  }

  // Appends `n` pages with undefined contents; false (nothing appended) when
  // the OS refuses memory.
  bool Alloc(size_t n, std::vector<uint64_t*>* out) {
#if defined(__SANITIZE_ADDRESS__)
    const size_t first = out->size();
    for (size_t i = 0; i < n; ++i) {
      void* p = std::aligned_alloc(kPage, kPage);
      if (p == nullptr) {
        for (size_t j = first; j < out->size(); ++j) std::free((*out)[j]);
        out->resize(first);
        return false;
      }
      out->push_back(static_cast<uint64_t*>(p));
    }
    return true;
#else
    MutexLock lock(mu_);
    while (free_.size() < n) {
      if (!RefillLocked()) return false;
    }
    out->insert(out->end(), free_.end() - static_cast<ptrdiff_t>(n), free_.end());
    free_.resize(free_.size() - n);
    return true;
#endif
  }

  void Free(uint64_t* page) {
#if defined(__SANITIZE_ADDRESS__)
    std::free(page);
#else
    {
      MutexLock lock(mu_);
      if (free_.size() < kMaxIdle) {
        free_.push_back(page);
        return;
      }
    }
    // Drop the memory before the page is on the list: once there, another
    // thread may take it and write to it.
    madvise(page, kPage, MADV_DONTNEED);
    MutexLock lock(mu_);
    free_.push_back(page);
#endif
  }

 private:
  static constexpr size_t kPage = 4096;
  static constexpr size_t kChunk = size_t{2} << 20;
  static constexpr size_t kMaxIdle = 16384;  // 64 MiB of idle tables keep their memory

  bool RefillLocked() REQUIRES(mu_) {
    // Map twice the chunk and trim to a 2 MiB-aligned chunk (THP needs it).
    void* raw = mmap(nullptr, 2 * kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (raw == MAP_FAILED) return false;
    const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (start + kChunk - 1) & ~(kChunk - 1);
    if (aligned > start) munmap(raw, aligned - start);
    const uintptr_t tail = aligned + kChunk;
    if (start + 2 * kChunk > tail) munmap(reinterpret_cast<void*>(tail), start + 2 * kChunk - tail);
    madvise(reinterpret_cast<void*>(aligned), kChunk, MADV_HUGEPAGE);
    // Highest address pushed first: single pops hand out ascending addresses.
    for (size_t off = kChunk; off != 0; off -= kPage) {
      free_.push_back(reinterpret_cast<uint64_t*>(aligned + off - kPage));
    }
    return true;
  }

  Mutex mu_;
  std::vector<uint64_t*> free_ GUARDED_BY(mu_);
};

int NormalizeWidth(int aw) { return aw <= 39 ? 39 : aw <= 48 ? 48 : 57; }

uint64_t NormalizeBitmap(uint64_t bitmap) {
  uint64_t b = (bitmap & kLeafSizes) | kPageSize4K;
  if ((b & kPageSize1G) && !(b & kPageSize2M)) b &= ~kPageSize1G;
  return b;
}

}  // namespace

IoPageTable::IoPageTable(int address_width, uint64_t pgsize_bitmap)
    : address_width_(NormalizeWidth(address_width)),
      levels_((address_width_ - 12) / 9),
      pgsize_bitmap_(NormalizeBitmap(pgsize_bitmap)),
      root_(static_cast<Table>(std::aligned_alloc(kTableBytes, kTableBytes))) {
  std::memset(root_, 0, kTableBytes);
}

IoPageTable::~IoPageTable() {
  Clear();
  std::free(root_);  // the root alone comes from aligned_alloc: construction cannot fail
}

Result<std::unique_ptr<IoPageTable>> IoPageTable::Create(int address_width,
                                                         uint64_t pgsize_bitmap) {
  if (address_width != 39 && address_width != 48 && address_width != 57) return Error(EINVAL);
  if (!(pgsize_bitmap & kPageSize4K)) return Error(EINVAL);
  if (ShouldFail(FailSite::kPageTableAlloc)) return Error(ENOMEM);
  return std::make_unique<IoPageTable>(address_width, pgsize_bitmap);
}

IoPageTable::Table IoPageTable::AllocTable() {
  if (ShouldFail(FailSite::kPageTableAlloc)) return nullptr;
  std::vector<Table> one;
  if (!TablePages::Get().Alloc(1, &one)) return nullptr;
  return one[0];
}

void IoPageTable::FreeTable(Table table) { TablePages::Get().Free(table); }

Status IoPageTable::CheckRange(uint64_t iova, uint64_t size) const {
  if (size == 0 || !IsAligned(iova | size, kPageSize4K)) return Error(EINVAL);
  uint64_t end = 0;
  if (__builtin_add_overflow(iova, size, &end)) return Error(EINVAL);
  // Like intel_iommu_map: a range beyond the domain's width is EFAULT.
  if (end > (uint64_t{1} << address_width_)) return Error(EFAULT);
  return Status::Ok();
}

Status IoPageTable::CheckOutput(HostVa out, uint64_t size, uint8_t prot) const {
  if (prot == 0 || (prot & ~(kProtRead | kProtWrite)) != 0) return Error(EINVAL);
  if (!IsAligned(ToU64(out), kPageSize4K)) return Error(EINVAL);
  uint64_t end = 0;
  if (__builtin_add_overflow(ToU64(out), size, &end) || end > kOutputLimit) return Error(EINVAL);
  return Status::Ok();
}

bool IoPageTable::CanLeaf(int level, uint64_t iova, uint64_t out, uint64_t size) const {
  if (level == 1) return true;
  const uint64_t span = Span(level);
  if (level > 3 || !(pgsize_bitmap_ & span)) return false;
  return size >= span && IsAligned(iova | out, span);
}

Status IoPageTable::CountMapTables(const uint64_t* table, int level, uint64_t iova, uint64_t out,
                                   uint64_t size, size_t* need) const {
  if (level == 1) {
    // A new leaf table needs nothing below it; an existing one must be free.
    if (table == nullptr) return Status::Ok();
    const int first = Index(iova, 1);
    const int n = static_cast<int>(size >> 12);
    for (int i = first; i < first + n; ++i) {
      if (Present(table[i])) return Error(EEXIST);
    }
    return Status::Ok();
  }
  while (size != 0) {
    const uint64_t chunk = ChunkInEntry(iova, size, level);
    const uint64_t e = table != nullptr ? table[Index(iova, level)] : 0;
    if (CanLeaf(level, iova, out, chunk)) {
      if (Present(e)) return Error(EEXIST);
    } else {
      const uint64_t* child = nullptr;
      if (Present(e)) {
        if (IsLeaf(level, e)) return Error(EEXIST);
        child = ChildOf(e);
      } else {
        ++*need;
      }
      VFIOSIM_RETURN_IF_ERROR(CountMapTables(child, level - 1, iova, out, chunk, need));
    }
    iova += chunk;
    out += chunk;
    size -= chunk;
  }
  return Status::Ok();
}

Status IoPageTable::FillPool(size_t n, Pool* pool) {
  if (n == 0) return Status::Ok();
  // One fail-nth decision per table, as if each were allocated on its own, but
  // one trip to the page cache for all of them.
  for (size_t i = 0; i < n; ++i) {
    if (ShouldFail(FailSite::kPageTableAlloc)) return Error(ENOMEM);
  }
  pool->reserve(n);
  if (!TablePages::Get().Alloc(n, pool)) return Error(ENOMEM);
  return Status::Ok();
}

void IoPageTable::DrainPool(Pool* pool) {
  for (Table t : *pool) FreeTable(t);
  pool->clear();
}

void IoPageTable::MapRange(Table table, int level, uint64_t iova, uint64_t out, uint64_t size,
                           uint64_t prot, Pool* pool) {
  if (level == 1) {
    // The bulk path: a run of 4K leaves inside one table, no descent per page.
    uint64_t* slot = &table[Index(iova, 1)];
    const uint64_t n = size >> 12;
    const uint64_t first = out | prot;
    for (uint64_t k = 0; k < n; ++k) slot[k] = first + (k << 12);
    return;
  }
  while (size != 0) {
    const uint64_t chunk = ChunkInEntry(iova, size, level);
    uint64_t& slot = table[Index(iova, level)];
    if (CanLeaf(level, iova, out, chunk)) {
      slot = out | prot | kPtePs;
    } else {
      Table child;
      if (Present(slot)) {
        child = ChildOf(slot);
      } else {
        child = pool->back();  // CountMapTables reserved exactly enough
        pool->pop_back();
        // Pool pages hold garbage; a leaf table about to be filled entirely
        // needs no clearing (saves a 32 MiB memset on a 16 GiB map).
        if (level != 2 || chunk != Span(level)) std::memset(child, 0, kTableBytes);
        slot = TableEntry(child);
        ++table_count_;
      }
      MapRange(child, level - 1, iova, out, chunk, prot, pool);
    }
    iova += chunk;
    out += chunk;
    size -= chunk;
  }
}

Status IoPageTable::Map(uint64_t iova, HostVa out, uint64_t size, uint8_t prot) {
  VFIOSIM_RETURN_IF_ERROR(CheckRange(iova, size));
  VFIOSIM_RETURN_IF_ERROR(CheckOutput(out, size, prot));
  size_t need = 0;
  VFIOSIM_RETURN_IF_ERROR(CountMapTables(root_, levels_, iova, ToU64(out), size, &need));
  Pool pool;
  VFIOSIM_RETURN_IF_ERROR(FillPool(need, &pool));
  MapRange(root_, levels_, iova, ToU64(out), size, prot, &pool);
  DrainPool(&pool);  // empty unless the count and the fill disagree
  return Status::Ok();
}

Status IoPageTable::SplitAt(uint64_t addr, std::vector<Split>* log) {
  if (addr >> address_width_) return Status::Ok();  // the top edge cuts no leaf
  Table t = root_;
  for (int level = levels_; level >= 2; --level) {
    if (IsAligned(addr, Span(level))) return Status::Ok();
    uint64_t* slot = &t[Index(addr, level)];
    const uint64_t e = *slot;
    if (!Present(e)) return Status::Ok();
    if (!IsLeaf(level, e)) {
      t = ChildOf(e);
      continue;
    }
    Table child = AllocTable();  // fully written below
    if (child == nullptr) return Error(ENOMEM);
    // The same translation with leaves one level smaller (always a supported
    // size: 1G implies 2M, 4K is always there).
    const uint64_t child_span = Span(level - 1);
    const uint64_t bits = (e & kPresent) | (level - 1 >= 2 ? kPtePs : 0);
    const uint64_t base = e & kPteAddrMask;
    for (int k = 0; k < kEntriesPerTable; ++k) child[k] = (base + k * child_span) | bits;
    log->push_back(Split{slot, e, child});
    *slot = TableEntry(child);
    ++table_count_;
    t = child;
  }
  return Status::Ok();
}

void IoPageTable::UndoSplits(std::vector<Split>* log) {
  for (auto it = log->rbegin(); it != log->rend(); ++it) {
    *it->slot = it->old_entry;
    FreeTable(it->child);
    --table_count_;
  }
  log->clear();
}

void IoPageTable::FreeSubtree(Table table, int level) {
  if (level >= 2) {
    for (int i = 0; i < kEntriesPerTable; ++i) {
      const uint64_t e = table[i];
      if (Present(e) && !IsLeaf(level, e)) FreeSubtree(ChildOf(e), level - 1);
    }
  }
  FreeTable(table);
  --table_count_;
}

bool IoPageTable::ClearRange(Table table, int level, uint64_t iova, uint64_t size) {
  if (level == 1) {
    std::memset(&table[Index(iova, 1)], 0, (size >> 12) * sizeof(uint64_t));
    return true;
  }
  bool cleared = false;
  while (size != 0) {
    const uint64_t chunk = ChunkInEntry(iova, size, level);
    uint64_t& slot = table[Index(iova, level)];
    if (Present(slot)) {
      if (IsLeaf(level, slot)) {
        slot = 0;
        cleared = true;
      } else if (chunk == Span(level)) {
        FreeSubtree(ChildOf(slot), level - 1);
        slot = 0;
        cleared = true;
      } else {
        Table child = ChildOf(slot);
        if (ClearRange(child, level - 1, iova, chunk) && TableEmpty(child)) {
          FreeTable(child);
          --table_count_;
          slot = 0;
          cleared = true;
        }
      }
    }
    iova += chunk;
    size -= chunk;
  }
  return cleared;
}

Status IoPageTable::Unmap(uint64_t iova, uint64_t size) {
  VFIOSIM_RETURN_IF_ERROR(CheckRange(iova, size));
  std::vector<Split> log;
  Status s = SplitAt(iova, &log);
  if (s.ok()) s = SplitAt(iova + size, &log);
  if (!s.ok()) {
    UndoSplits(&log);
    return s;
  }
  ClearRange(root_, levels_, iova, size);
  return Status::Ok();
}

Status IoPageTable::Remap(uint64_t iova, HostVa new_out, uint64_t size, uint8_t prot) {
  VFIOSIM_RETURN_IF_ERROR(CheckRange(iova, size));
  VFIOSIM_RETURN_IF_ERROR(CheckOutput(new_out, size, prot));
  // Worst case: every table the new layout needs is new. Counting against an
  // empty tree cannot fail.
  size_t need = 0;
  (void)CountMapTables(nullptr, levels_, iova, ToU64(new_out), size, &need);
  std::vector<Split> log;
  Status s = SplitAt(iova, &log);
  if (s.ok()) s = SplitAt(iova + size, &log);
  Pool pool;
  if (s.ok()) s = FillPool(need, &pool);
  if (!s.ok()) {
    UndoSplits(&log);
    return s;
  }
  ClearRange(root_, levels_, iova, size);
  MapRange(root_, levels_, iova, ToU64(new_out), size, prot, &pool);
  DrainPool(&pool);
  return Status::Ok();
}

void IoPageTable::Clear() {
  for (int i = 0; i < kEntriesPerTable; ++i) {
    const uint64_t e = root_[i];
    if (Present(e) && !IsLeaf(levels_, e)) FreeSubtree(ChildOf(e), levels_ - 1);
  }
  std::memset(root_, 0, kTableBytes);
  table_count_ = 1;
}

WalkResult IoPageTable::Translate(uint64_t iova, uint8_t access) const {
  WalkResult r;
  if (iova >> address_width_) {
    r.fault = FaultReason::kOorAddress;
    r.fault_addr = iova;
    return r;
  }
  const uint64_t* t = root_;
  for (int level = levels_;; --level) {
    const uint64_t e = t[Index(iova, level)];
    ++r.mem_refs;
    if (!Present(e)) {
      r.fault = FaultReason::kPteFetch;
      r.fault_addr = iova;
      return r;
    }
    if (IsLeaf(level, e)) {
      if (access & ~e & kPresent) {
        r.fault = FaultReason::kPermission;
        r.fault_addr = iova;
        return r;
      }
      const uint64_t span = Span(level);
      r.ok = true;
      r.translation = Translation{iova & ~(span - 1), HostVa{e & kPteAddrMask}, span,
                                  static_cast<uint8_t>(e & kPresent)};
      return r;
    }
    t = ChildOf(e);
  }
}

WalkResult IoPageTable::TranslateRange(uint64_t iova, uint64_t len, uint8_t access,
                                       std::vector<std::pair<HostVa, uint64_t>>* out) const {
  WalkResult r;
  r.ok = true;
  bool first_leaf = true;
  uint64_t cur = iova;
  auto fault = [&](FaultReason reason) {
    r.ok = false;
    r.fault = reason;
    r.fault_addr = cur;
    return r;
  };
  while (len != 0) {
    if (cur >> address_width_) return fault(FaultReason::kOorAddress);
    // Descend from the root, then walk sibling entries of the same table so a
    // long run of leaves costs one entry read per leaf.
    const uint64_t* t = root_;
    int level = levels_;
    int idx = Index(cur, level);
    while (len != 0 && idx < kEntriesPerTable) {
      const uint64_t e = t[idx];
      ++r.mem_refs;
      if (!Present(e)) return fault(FaultReason::kPteFetch);
      if (!IsLeaf(level, e)) {
        t = ChildOf(e);
        --level;
        idx = Index(cur, level);
        continue;
      }
      if (access & ~e & kPresent) return fault(FaultReason::kPermission);
      const uint64_t span = Span(level);
      const uint64_t offset = cur & (span - 1);
      const uint64_t n = span - offset < len ? span - offset : len;
      const HostVa o = HostVa{(e & kPteAddrMask) + offset};
      if (first_leaf) {
        r.translation = Translation{cur - offset, HostVa{e & kPteAddrMask}, span,
                                    static_cast<uint8_t>(e & kPresent)};
        first_leaf = false;
      }
      if (!out->empty() && out->back().first + out->back().second == o) {
        out->back().second += n;
      } else {
        out->emplace_back(o, n);
      }
      cur += n;
      len -= n;
      ++idx;
    }
  }
  return r;
}

std::vector<PteInfo> IoPageTable::EntryChain(uint64_t iova) const {
  std::vector<PteInfo> chain;
  if (iova >> address_width_) return chain;
  const uint64_t* t = root_;
  for (int level = levels_; level >= 1; --level) {
    const uint64_t e = t[Index(iova, level)];
    const bool leaf = Present(e) && IsLeaf(level, e);
    chain.push_back(PteInfo{level, e, Span(level), leaf});
    if (!Present(e) || leaf) break;
    t = ChildOf(e);
  }
  return chain;
}

}  // namespace vfiosim::core
