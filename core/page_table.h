// IoPageTable: a real IO page table in the x86-64 second-level format that
// VT-d uses (the table the IOMMU walks to turn an IOVA into an output
// address).
//
// Format: radix tables of 512 64-bit entries, each table 4 KiB and 4 KiB
// aligned. 3, 4 or 5 levels for an address width of 39, 48 or 57 bits. Level 1
// holds 4 KiB leaves; an entry at level 2 or 3 with PS (bit 7) set is a 2 MiB or
// 1 GiB superpage leaf. Bit 0 is READ, bit 1 WRITE, bits 12..51 the output
// address. An entry is present when READ or WRITE is set; table (non-leaf)
// entries carry READ|WRITE and the address of the next table, so a walk never
// needs any side structure. In vfio-sim the output address is a host virtual
// address of the client process (page aligned, below 2^52), stored where the
// kernel would store a physical address; table pointers are stored the same way
// (user-space pointers fit in 52 bits).
//
// Table pages come from a process-wide cache of 2 MiB chunks (transparent huge
// pages where available) that keeps freed pages for reuse: repeated large
// maps do not pay a page fault per table (see TablePages in page_table.cc).
//
// Invariants (checked by the tests):
//  - every table except the root holds at least one present entry: a table that
//    becomes empty is freed by the same call, so table_count() returns to 1
//    after everything is unmapped;
//  - every failed call (ENOMEM from fail-nth, EINVAL, EFAULT, EEXIST) leaves the
//    table exactly as it was: all allocations a call needs are made before it
//    changes anything, or undone.
//
// Errnos follow the kernel: EINVAL for a zero size, a misaligned address or
// size, an invalid prot; EFAULT for a range beyond the address width (as
// intel_iommu_map); EEXIST when Map finds a present entry in its range; ENOMEM
// when a table allocation fails (FailSite::kPageTableAlloc).
//
// Thread safety: none. The owning container's mutex guards every call,
// including the const walks.
#ifndef VFIOSIM_CORE_PAGE_TABLE_H_
#define VFIOSIM_CORE_PAGE_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "core/fault.h"
#include "core/status.h"
#include "core/types.h"

namespace vfiosim::core {

inline constexpr uint64_t kPageSize4K = uint64_t{1} << 12;
inline constexpr uint64_t kPageSize2M = uint64_t{1} << 21;
inline constexpr uint64_t kPageSize1G = uint64_t{1} << 30;

// One leaf's translation; a small value like QEMU's IOMMUTLBEntry. The IOTLB
// caches these.
struct Translation {
  uint64_t iova_base = 0;         // leaf-aligned input address
  HostVa output_base = HostVa{0};  // output of iova_base
  uint64_t leaf_size = 0;         // kPageSize4K, kPageSize2M or kPageSize1G
  uint8_t prot = 0;               // kProtRead | kProtWrite

  HostVa Output(uint64_t iova) const { return output_base + (iova - iova_base); }
  bool operator==(const Translation&) const = default;
};

struct WalkResult {
  bool ok = false;
  // Translate: the leaf found (valid when ok). TranslateRange: the first leaf.
  Translation translation;
  FaultReason fault = FaultReason::kUnknown;  // valid when !ok
  uint64_t fault_addr = 0;                    // the IOVA that faulted, when !ok
  uint32_t mem_refs = 0;                      // table entries read by the walk
};

// One entry on a walk path, for the test channel and the invariant checker.
struct PteInfo {
  int level = 0;           // 1 = 4 KiB level
  uint64_t entry = 0;      // raw 64-bit entry
  uint64_t leaf_size = 0;  // bytes one entry at this level spans
  bool leaf = false;       // present and a leaf (level 1, or PS set)
  bool operator==(const PteInfo&) const = default;
};

class IoPageTable {
 public:
  // Raw entry bits (VT-d second-level PTE).
  static constexpr uint64_t kPteRead = uint64_t{1} << 0;
  static constexpr uint64_t kPteWrite = uint64_t{1} << 1;
  static constexpr uint64_t kPtePs = uint64_t{1} << 7;
  static constexpr uint64_t kPteAddrMask = ((uint64_t{1} << 52) - 1) & ~uint64_t{0xFFF};
  static constexpr int kEntriesPerTable = 512;
  static constexpr size_t kTableBytes = 4096;

  // `address_width` is 39, 48 or 57 (other values round up to the next of these,
  // capped at 57). `pgsize_bitmap` is masked to the supported leaf sizes
  // (4K|2M|1G); 4K is always supported and 1G is dropped without 2M, because
  // VT-d superpage support is cumulative (the kernel's iommu_superpage level).
  IoPageTable(int address_width, uint64_t pgsize_bitmap);
  ~IoPageTable();
  IoPageTable(const IoPageTable&) = delete;
  IoPageTable& operator=(const IoPageTable&) = delete;

  // Checked construction: EINVAL for a width other than 39/48/57 or a bitmap
  // without 4K; ENOMEM when the root table allocation fails (fail-nth).
  static Result<std::unique_ptr<IoPageTable>> Create(int address_width, uint64_t pgsize_bitmap);

  // Maps [iova, iova+size) -> [out, out+size) with `prot`, greedily using the
  // largest leaf allowed by pgsize_bitmap and by the alignment of both iova and
  // out (as iommu_map splits a range into pgsize chunks). The range must be
  // unmapped: EEXIST (no change) if any entry in it is present.
  Status Map(uint64_t iova, HostVa out, uint64_t size, uint8_t prot);

  // Unmaps exactly [iova, iova+size). A superpage straddling an edge is split
  // into smaller leaves first (allocates: ENOMEM leaves the table unchanged).
  // Unmapped parts inside the range are fine. Tables that become empty are
  // freed at once.
  Status Unmap(uint64_t iova, uint64_t size);

  // Makes [iova, iova+size) translate to [new_out, new_out+size) with `prot`
  // (VADDR update), whatever was mapped there before. Same splitting rules;
  // all-or-nothing. It reserves enough tables for the worst case before
  // changing anything, so for a moment it may hold up to twice the range's
  // tables.
  Status Remap(uint64_t iova, HostVa new_out, uint64_t size, uint8_t prot);

  // Walks the table for one access (kProtRead and/or kProtWrite; 0 checks no
  // permission). Faults: iova >= 2^address_width -> kOorAddress; a non-present
  // entry -> kPteFetch; the leaf lacks a requested permission -> kPermission.
  // mem_refs counts entries read (4 for a 4K leaf with 4 levels, 3 for 2M,
  // 2 for 1G).
  WalkResult Translate(uint64_t iova, uint8_t access) const;

  // Translates [iova, iova+len) for device DMA into contiguous output chunks
  // (adjacent leaves with contiguous outputs merged) appended to `out`. Stops at
  // the first fault; the chunks of the prefix before it stay in `out`.
  WalkResult TranslateRange(uint64_t iova, uint64_t len, uint8_t access,
                            std::vector<std::pair<HostVa, uint64_t>>* out) const;

  // Entries on the walk path of `iova`, root first, ending at the leaf or at
  // the first non-present entry. Empty when iova is beyond the address width.
  std::vector<PteInfo> EntryChain(uint64_t iova) const;

  size_t table_count() const { return table_count_; }  // including the root
  size_t table_bytes() const { return table_count_ * kTableBytes; }
  int levels() const { return levels_; }
  int address_width() const { return address_width_; }
  uint64_t pgsize_bitmap() const { return pgsize_bitmap_; }

  // Unmaps everything and frees all tables but the root.
  void Clear();

 private:
  using Table = uint64_t*;
  // Tables reserved by a call before it changes anything.
  using Pool = std::vector<Table>;
  // One superpage split, kept so that a failed Unmap/Remap can undo it.
  struct Split {
    uint64_t* slot;
    uint64_t old_entry;
    Table child;
  };

  Status CheckRange(uint64_t iova, uint64_t size) const;
  Status CheckOutput(HostVa out, uint64_t size, uint8_t prot) const;
  bool CanLeaf(int level, uint64_t iova, uint64_t out, uint64_t size) const;

  // Counts the tables Map would allocate; EEXIST if the range is not unmapped.
  Status CountMapTables(const uint64_t* table, int level, uint64_t iova, uint64_t out,
                        uint64_t size, size_t* need) const;
  Status FillPool(size_t n, Pool* pool);
  static void DrainPool(Pool* pool);
  // Writes leaves for a range known to be unmapped, taking tables from `pool`.
  void MapRange(Table table, int level, uint64_t iova, uint64_t out, uint64_t size, uint64_t prot,
                Pool* pool);
  // Splits superpages so that no leaf straddles `addr`; logs every split.
  Status SplitAt(uint64_t addr, std::vector<Split>* log);
  void UndoSplits(std::vector<Split>* log);
  // Clears a range in which no leaf straddles an edge; frees emptied tables.
  // Returns whether anything was cleared (only then can a table have become empty).
  bool ClearRange(Table table, int level, uint64_t iova, uint64_t size);
  void FreeSubtree(Table table, int level);

  static Table AllocTable();  // consults fail-nth; nullptr on failure; contents undefined
  static void FreeTable(Table table);

  int address_width_;
  int levels_;
  uint64_t pgsize_bitmap_;
  Table root_;
  size_t table_count_ = 1;
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_PAGE_TABLE_H_
