// First-level (guest, stage-1) page-table walks for two-stage translation.
//
// A DMA tagged with a PASID that the guest bound with
// VFIO_IOMMU_BIND_GUEST_PGTBL (iommu_gpasid_bind_data: gpgd, addr_width) is
// translated by walking the GUEST's x86-64 long-mode page table: 4 levels for
// addr_width 48, 5 for 57. The table root and every table pointer inside it
// are guest-physical addresses, so every entry fetch is itself translated by
// the second stage (the host's IO page table); the caller supplies that
// through Stage2Reader. This is the VT-d "first-level translation" of the
// nested mode, restricted to what the simulator needs.
//
// Entry format (Intel SDM vol. 3 4.5 / VT-d 3.6): bit 0 P, bit 1 R/W, bit 2
// U/S, bit 7 PS (a 1 GiB leaf at level 3, a 2 MiB leaf at level 2; PAT at
// level 1, reserved at levels 4/5), bit 63 XD (execute-disable, meaningless
// for DMA and ignored), output address bits 12..51. Accessed/Dirty bits are
// not modelled (the hardware would set them in guest memory).
//
// Permission model: a translation is readable whenever present; writable only
// if R/W is set at every level; `user` is the AND of U/S over all levels. The
// walker reports `user` but does not judge privilege, because the request's
// privilege level is not part of this interface.
//
// GuestPageTableBuilder builds such tables inside a caller-provided buffer
// that stands for guest memory, and GuestMemoryReader is the trivial stage 2
// over that buffer; both serve tests, benchmarks and end-to-end tests.
//
// Thread safety: WalkFirstLevel is reentrant (state lives in the reader).
// GuestPageTableBuilder and GuestMemoryReader are not synchronized.
#ifndef VFIOSIM_CORE_FIRST_LEVEL_TABLE_H_
#define VFIOSIM_CORE_FIRST_LEVEL_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "core/fault.h"
#include "core/status.h"
#include "core/types.h"

namespace vfiosim::core {

inline constexpr uint64_t kFlPresent = uint64_t{1} << 0;
inline constexpr uint64_t kFlWritable = uint64_t{1} << 1;
inline constexpr uint64_t kFlUser = uint64_t{1} << 2;
inline constexpr uint64_t kFlPageSize = uint64_t{1} << 7;
inline constexpr uint64_t kFlExecuteDisable = uint64_t{1} << 63;
// Output-address bits 12..51 of an entry.
inline constexpr uint64_t kFlAddrMask = 0x000FFFFFFFFFF000ull;

inline constexpr uint64_t kFlPage4K = uint64_t{1} << 12;
inline constexpr uint64_t kFlPage2M = uint64_t{1} << 21;
inline constexpr uint64_t kFlPage1G = uint64_t{1} << 30;

// Number of paging levels for a guest address width, or 0 if unsupported
// (only 48 -> 4 and 57 -> 5 exist in x86-64 long mode).
constexpr int FirstLevelLevels(int addr_width) {
  return addr_width == 48 ? 4 : addr_width == 57 ? 5 : 0;
}

// True when `va` is canonical for `addr_width` bits: bits 63..width-1 are all
// equal (sign extension of bit width-1).
constexpr bool IsCanonical(uint64_t va, int addr_width) {
  const int64_t shifted = static_cast<int64_t>(va << (64 - addr_width)) >> (64 - addr_width);
  return static_cast<uint64_t>(shifted) == va;
}

// Provided by the caller: translate a guest-physical address through the
// second stage and read 8 bytes.
class Stage2Reader {
 public:
  virtual ~Stage2Reader() = default;
  // Reads the 8-byte entry at guest-physical `gpa` into *value. On failure
  // returns false and sets *fault_reason (e.g. kPteFetch when stage 2 has no
  // mapping, or the memory is unreadable). Either way adds the stage-2 memory
  // references it made to *mem_refs (the stage-1 read itself is counted by
  // the walker, not here).
  virtual bool ReadEntry(uint64_t gpa, uint64_t* value, uint32_t* mem_refs,
                         FaultReason* fault_reason) = 0;
};

struct FirstLevelResult {
  bool ok = false;
  uint64_t gva_base = 0;   // leaf-aligned input
  uint64_t gpa_base = 0;   // guest-physical output of gva_base
  uint64_t leaf_size = 0;  // kFlPage4K / kFlPage2M / kFlPage1G
  uint8_t prot = 0;        // kProtRead when present; | kProtWrite if R/W at every level
  bool user = false;       // U/S set at every level
  // When !ok:
  //  kPteFetch      an entry on the path is not present (or has PS set at
  //                 level 4/5, a reserved bit); fetch_addr = that entry's gpa
  //  kWalkEabt      the reader failed to fetch a table entry (stage-2 miss);
  //                 fetch_addr = the entry's gpa, stage2_fault = the reader's
  //                 reason
  //  kPermission    write access through a path that is not writable at
  //                 every level; the translation fields above are filled in
  //  kOorAddress    gva not canonical for addr_width
  //  kBadPasidEntry addr_width not 48/57, or gpgd has bits above 51 (the
  //                 bind data would have made a bad PASID entry)
  FaultReason fault = FaultReason::kUnknown;
  uint64_t fetch_addr = 0;  // gpa of the entry whose fetch failed
  uint32_t mem_refs = 0;    // stage-1 entry reads + stage-2 refs by the reader
  FaultReason stage2_fault = FaultReason::kUnknown;  // reader's reason on kWalkEabt
};

// Walks the first-level table rooted at guest-physical `gpgd` (low 12 bits
// ignored, as in the PASID entry's FLPTPTR field) for `gva` with `access`
// (kProtRead and/or kProtWrite). Each entry read costs one reference plus
// whatever the reader adds. A 4-level 4 KiB walk through a reader that costs
// 4 references per read totals 4 * (4 + 1) = 20; translating the final gpa
// (another stage-2 walk) is the caller's business.
FirstLevelResult WalkFirstLevel(uint64_t gpgd, int addr_width, uint64_t gva, uint8_t access,
                                Stage2Reader& reader);

// Stage 2 over a byte buffer: guest-physical `base_gpa + i` is memory[i].
// Each read costs `refs_per_read` references (to simulate a stage-2 walk).
// Reads that are misaligned, outside the buffer, or inside the optional
// failing 4 KiB page fail with kPteFetch.
class GuestMemoryReader : public Stage2Reader {
 public:
  GuestMemoryReader(std::span<const uint8_t> memory, uint64_t base_gpa, uint32_t refs_per_read = 0)
      : memory_(memory), base_gpa_(base_gpa), refs_per_read_(refs_per_read) {}

  // Makes every read inside the 4 KiB page containing `gpa` fail.
  void FailPage(uint64_t gpa) { fail_page_ = gpa & ~(kFlPage4K - 1); }
  void ClearFailPage() { fail_page_.reset(); }

  bool ReadEntry(uint64_t gpa, uint64_t* value, uint32_t* mem_refs,
                 FaultReason* fault_reason) override;

 private:
  std::span<const uint8_t> memory_;
  uint64_t base_gpa_;
  uint32_t refs_per_read_;
  std::optional<uint64_t> fail_page_;
};

// Builds a 4- or 5-level x86-64 first-level table inside `memory` (guest
// memory whose first byte is guest-physical `base_gpa`), allocating table
// pages from it bottom-up starting at the first 4 KiB-aligned gpa. Data pages
// are not allocated: Map takes the target gpa from the caller, who should
// keep targets out of the table pool (e.g. use the top of the buffer).
//
// Intermediate entries are created P | R/W | U/S (like Linux's _PAGE_TABLE),
// so permissions come from the leaf unless a test narrows an upper level with
// SetEntryBits. Every method leaves the tables unchanged when it fails.
class GuestPageTableBuilder {
 public:
  // EINVAL: levels not 4/5, or base_gpa + size overflows / exceeds 52 bits.
  // ENOMEM: the buffer has no room for the root table.
  static Result<GuestPageTableBuilder> Create(std::span<uint8_t> memory, uint64_t base_gpa,
                                              int levels);

  int levels() const { return levels_; }
  int addr_width() const { return levels_ == 5 ? 57 : 48; }
  uint64_t root_gpa() const { return root_gpa_; }
  // Table pages handed out so far (including the root).
  size_t tables_used() const { return tables_used_; }

  // Maps gva -> gpa with one leaf of `size` (kFlPage4K/2M/1G).
  //  EINVAL: bad size, gva/gpa not aligned to it, gva not canonical, gpa
  //          beyond 52 bits, or prot lacking kProtRead (x86 has no write-only
  //          pages) or with bits other than read/write.
  //  EEXIST: a leaf already covers part of the range, or a smaller-page
  //          table exists where this leaf would go.
  //  ENOMEM: not enough free table pages in the buffer.
  //  EFAULT: an existing table entry on the path points outside the buffer
  //          (only after a test rewrote it).
  Status Map(uint64_t gva, uint64_t gpa, uint64_t size, uint8_t prot, bool user);

  // Gpa of the entry that translates `gva` at `level` (1 = PT .. levels()).
  // ENOENT if the table at that level does not exist; EINVAL for a bad
  // level or a non-canonical gva.
  Result<uint64_t> EntryGpa(uint64_t gva, int level) const;

  // entry = (entry | set) & ~clear, for the entry of `gva` at `level`.
  // Lets tests clear R/W or U/S on an upper level, or clear P.
  Status SetEntryBits(uint64_t gva, int level, uint64_t set, uint64_t clear);

  // Raw 8-byte access to guest memory (EFAULT outside the buffer or
  // misaligned).
  Result<uint64_t> ReadU64(uint64_t gpa) const;
  Status WriteU64(uint64_t gpa, uint64_t value);

 private:
  GuestPageTableBuilder(std::span<uint8_t> memory, uint64_t base_gpa, int levels)
      : memory_(memory), base_gpa_(base_gpa), levels_(levels) {}

  bool InBuffer(uint64_t gpa) const;
  uint64_t Load(uint64_t gpa) const;          // gpa known valid
  void Store(uint64_t gpa, uint64_t value);   // gpa known valid
  std::optional<uint64_t> AllocTable();       // zeroed 4 KiB page, or nullopt

  std::span<uint8_t> memory_;
  uint64_t base_gpa_;
  int levels_;
  uint64_t root_gpa_ = 0;
  uint64_t next_table_gpa_ = 0;  // bump pointer of the table pool
  size_t tables_used_ = 0;
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_FIRST_LEVEL_TABLE_H_
