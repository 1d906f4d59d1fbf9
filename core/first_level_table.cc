#include "core/first_level_table.h"

#include <cerrno>
#include <cstring>

namespace vfiosim::core {
namespace {

constexpr uint64_t kEntriesPerTable = 512;
constexpr uint64_t kTableBytes = kFlPage4K;

// Bit position of the lowest gva bit that indexes a table at `level` (1..5).
constexpr int LevelShift(int level) { return 12 + 9 * (level - 1); }

constexpr uint64_t LevelIndex(uint64_t gva, int level) {
  return (gva >> LevelShift(level)) & (kEntriesPerTable - 1);
}

// A present entry at `level` maps a page rather than pointing at a table:
// always at level 1, with PS at levels 2 (2 MiB) and 3 (1 GiB).
constexpr bool IsLeaf(uint64_t entry, int level) {
  return level == 1 || ((level == 2 || level == 3) && (entry & kFlPageSize));
}

// PS at level 4 or 5 is a reserved bit in x86-64 long mode.
constexpr bool HasReservedPageSize(uint64_t entry, int level) {
  return level >= 4 && (entry & kFlPageSize);
}

}  // namespace

FirstLevelResult WalkFirstLevel(uint64_t gpgd, int addr_width, uint64_t gva, uint8_t access,
                                Stage2Reader& reader) {
  FirstLevelResult r;
  const int levels = FirstLevelLevels(addr_width);
  // Only the low 12 bits of the root pointer are other PASID-entry fields;
  // bits above 51 cannot be a guest-physical address.
  if (levels == 0 || (gpgd & ~kFlAddrMask & ~(kFlPage4K - 1)) != 0) {
    r.fault = FaultReason::kBadPasidEntry;
    return r;
  }
  if (!IsCanonical(gva, addr_width)) {
    r.fault = FaultReason::kOorAddress;
    return r;
  }

  uint64_t table = gpgd & kFlAddrMask;
  bool writable = true;
  bool user = true;
  for (int level = levels; level >= 1; --level) {
    const uint64_t entry_gpa = table + LevelIndex(gva, level) * sizeof(uint64_t);
    uint64_t entry = 0;
    FaultReason s2 = FaultReason::kUnknown;
    if (!reader.ReadEntry(entry_gpa, &entry, &r.mem_refs, &s2)) {
      // The stage-1 read never happened; only the reader's refs count.
      r.fault = FaultReason::kWalkEabt;
      r.fetch_addr = entry_gpa;
      r.stage2_fault = s2;
      return r;
    }
    ++r.mem_refs;
    if (!(entry & kFlPresent) || HasReservedPageSize(entry, level)) {
      r.fault = FaultReason::kPteFetch;
      r.fetch_addr = entry_gpa;
      return r;
    }
    writable = writable && (entry & kFlWritable);
    user = user && (entry & kFlUser);
    if (IsLeaf(entry, level)) {
      const uint64_t size = uint64_t{1} << LevelShift(level);
      r.leaf_size = size;
      r.gva_base = gva & ~(size - 1);
      // Low address bits of a large leaf hold PAT / reserved bits: ignore.
      r.gpa_base = entry & kFlAddrMask & ~(size - 1);
      r.prot = kProtRead | (writable ? kProtWrite : 0);
      r.user = user;
      if ((access & kProtWrite) && !writable) {
        r.fault = FaultReason::kPermission;
        return r;
      }
      r.ok = true;
      return r;
    }
    table = entry & kFlAddrMask;
  }
  return r;  // unreachable: level 1 is always a leaf
}

bool GuestMemoryReader::ReadEntry(uint64_t gpa, uint64_t* value, uint32_t* mem_refs,
                                  FaultReason* fault_reason) {
  *mem_refs += refs_per_read_;
  if (fail_page_ && (gpa & ~(kFlPage4K - 1)) == *fail_page_) {
    *fault_reason = FaultReason::kPteFetch;
    return false;
  }
  if (gpa < base_gpa_ || (gpa & 7) != 0 || gpa - base_gpa_ > memory_.size() ||
      memory_.size() - (gpa - base_gpa_) < sizeof(uint64_t)) {
    *fault_reason = FaultReason::kPteFetch;
    return false;
  }
  std::memcpy(value, memory_.data() + (gpa - base_gpa_), sizeof(uint64_t));
  return true;
}

Result<GuestPageTableBuilder> GuestPageTableBuilder::Create(std::span<uint8_t> memory,
                                                            uint64_t base_gpa, int levels) {
  if (levels != 4 && levels != 5) return Error(EINVAL);
  uint64_t end = 0;
  if (__builtin_add_overflow(base_gpa, memory.size(), &end) || end > (uint64_t{1} << 52)) {
    return Error(EINVAL);
  }
  GuestPageTableBuilder b(memory, base_gpa, levels);
  b.next_table_gpa_ = (base_gpa + kTableBytes - 1) & ~(kTableBytes - 1);
  std::optional<uint64_t> root = b.AllocTable();
  if (!root) return Error(ENOMEM);
  b.root_gpa_ = *root;
  return b;
}

bool GuestPageTableBuilder::InBuffer(uint64_t gpa) const {
  return gpa >= base_gpa_ && (gpa & 7) == 0 && gpa - base_gpa_ < memory_.size() &&
         memory_.size() - (gpa - base_gpa_) >= sizeof(uint64_t);
}

uint64_t GuestPageTableBuilder::Load(uint64_t gpa) const {
  uint64_t v;
  std::memcpy(&v, memory_.data() + (gpa - base_gpa_), sizeof(v));
  return v;
}

void GuestPageTableBuilder::Store(uint64_t gpa, uint64_t value) {
  std::memcpy(memory_.data() + (gpa - base_gpa_), &value, sizeof(value));
}

std::optional<uint64_t> GuestPageTableBuilder::AllocTable() {
  const uint64_t end = base_gpa_ + memory_.size();
  if (next_table_gpa_ > end || end - next_table_gpa_ < kTableBytes) return std::nullopt;
  const uint64_t gpa = next_table_gpa_;
  std::memset(memory_.data() + (gpa - base_gpa_), 0, kTableBytes);
  next_table_gpa_ += kTableBytes;
  ++tables_used_;
  return gpa;
}

Status GuestPageTableBuilder::Map(uint64_t gva, uint64_t gpa, uint64_t size, uint8_t prot,
                                  bool user) {
  int leaf_level;
  if (size == kFlPage4K) {
    leaf_level = 1;
  } else if (size == kFlPage2M) {
    leaf_level = 2;
  } else if (size == kFlPage1G) {
    leaf_level = 3;
  } else {
    return Error(EINVAL);
  }
  if ((gva & (size - 1)) != 0 || (gpa & (size - 1)) != 0 || (gpa & ~kFlAddrMask) != 0 ||
      !IsCanonical(gva, addr_width()) || !(prot & kProtRead) ||
      (prot & ~(kProtRead | kProtWrite)) != 0) {
    return Error(EINVAL);
  }

  // Pass 1: find conflicts and count the tables to create, touching nothing.
  uint64_t table = root_gpa_;
  int missing = 0;
  for (int level = levels_; level > leaf_level; --level) {
    const uint64_t entry_gpa = table + LevelIndex(gva, level) * sizeof(uint64_t);
    const uint64_t entry = Load(entry_gpa);
    if (!(entry & kFlPresent)) {
      missing = level - leaf_level;
      break;
    }
    if (IsLeaf(entry, level) || HasReservedPageSize(entry, level)) return Error(EEXIST);
    table = entry & kFlAddrMask;
    // A test may have pointed an entry outside guest memory.
    if (!InBuffer(table)) return Error(EFAULT);
  }
  if (missing == 0) {
    if (Load(table + LevelIndex(gva, leaf_level) * sizeof(uint64_t)) & kFlPresent) {
      return Error(EEXIST);
    }
  }
  const uint64_t end = base_gpa_ + memory_.size();
  if (next_table_gpa_ > end || (end - next_table_gpa_) / kTableBytes < uint64_t(missing)) {
    return Error(ENOMEM);
  }

  // Pass 2: create the missing tables (cannot fail now) and write the leaf.
  table = root_gpa_;
  for (int level = levels_; level > leaf_level; --level) {
    const uint64_t entry_gpa = table + LevelIndex(gva, level) * sizeof(uint64_t);
    uint64_t entry = Load(entry_gpa);
    if (!(entry & kFlPresent)) {
      const uint64_t new_table = *AllocTable();
      entry = new_table | kFlPresent | kFlWritable | kFlUser;
      Store(entry_gpa, entry);
    }
    table = entry & kFlAddrMask;
  }
  uint64_t leaf = gpa | kFlPresent;
  if (prot & kProtWrite) leaf |= kFlWritable;
  if (user) leaf |= kFlUser;
  if (leaf_level > 1) leaf |= kFlPageSize;
  Store(table + LevelIndex(gva, leaf_level) * sizeof(uint64_t), leaf);
  return Status::Ok();
}

Result<uint64_t> GuestPageTableBuilder::EntryGpa(uint64_t gva, int level) const {
  if (level < 1 || level > levels_ || !IsCanonical(gva, addr_width())) return Error(EINVAL);
  uint64_t table = root_gpa_;
  for (int l = levels_; l > level; --l) {
    const uint64_t entry = Load(table + LevelIndex(gva, l) * sizeof(uint64_t));
    if (!(entry & kFlPresent) || IsLeaf(entry, l)) return Error(ENOENT);
    table = entry & kFlAddrMask;
    if (!InBuffer(table)) return Error(ENOENT);
  }
  return table + LevelIndex(gva, level) * sizeof(uint64_t);
}

Status GuestPageTableBuilder::SetEntryBits(uint64_t gva, int level, uint64_t set,
                                           uint64_t clear) {
  Result<uint64_t> entry_gpa = EntryGpa(gva, level);
  if (!entry_gpa.ok()) return entry_gpa.status();
  Store(*entry_gpa, (Load(*entry_gpa) | set) & ~clear);
  return Status::Ok();
}

Result<uint64_t> GuestPageTableBuilder::ReadU64(uint64_t gpa) const {
  if (!InBuffer(gpa)) return Error(EFAULT);
  return Load(gpa);
}

Status GuestPageTableBuilder::WriteU64(uint64_t gpa, uint64_t value) {
  if (!InBuffer(gpa)) return Error(EFAULT);
  Store(gpa, value);
  return Status::Ok();
}

}  // namespace vfiosim::core
