#include "core/first_level_table.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

namespace vfiosim::core {
namespace {

constexpr uint64_t kBase = 0x40000000;  // guest-physical address of memory[0]
constexpr size_t kMemBytes = 64 * 4096;
// Data targets live far from the table pool; the walker never reads them.
constexpr uint64_t kData = 0x1'0000'0000;

class FirstLevelTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    mem_.assign(kMemBytes, 0xAB);  // garbage: tables must be zeroed by the builder
    Result<GuestPageTableBuilder> b = GuestPageTableBuilder::Create(mem_, kBase, levels());
    ASSERT_TRUE(b.ok());
    builder_.emplace(std::move(b).value());
  }
  int levels() const { return GetParam(); }
  int width() const { return levels() == 5 ? 57 : 48; }
  GuestPageTableBuilder& b() { return *builder_; }
  FirstLevelResult Walk(uint64_t gva, uint8_t access, uint32_t refs_per_read = 0) {
    GuestMemoryReader reader(mem_, kBase, refs_per_read);
    return WalkFirstLevel(b().root_gpa(), width(), gva, access, reader);
  }

  std::vector<uint8_t> mem_;
  std::optional<GuestPageTableBuilder> builder_;
};

struct LeafCase {
  const char* name;
  uint64_t size;
  uint64_t gva;
  uint64_t gpa;
  uint64_t offset;  // probe offset inside the leaf
  int reads_below_top;  // entry reads after the top levels down to the leaf
};

TEST_P(FirstLevelTest, LeafSizesTranslateAndCountReferences) {
  const LeafCase cases[] = {
      {"4k", kFlPage4K, 0x7000'1234'5000, kData + 0x3000, 0xABC, 4},
      {"2m", kFlPage2M, 0x0000'4060'0000, kData + 0x20'0000, 0x1'2345, 3},
      {"1g", kFlPage1G, 0x0000'C000'0000, kData + 0x4000'0000, 0x1234'5678, 2},
      {"4k_high_half", kFlPage4K, 0xFFFF'8000'0000'1000, kData, 0x10, 4},
  };
  for (const LeafCase& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(b().Map(c.gva, c.gpa, c.size, kProtRead | kProtWrite, true).ok());
    const int reads = c.reads_below_top + (levels() - 4);
    for (uint32_t refs : {0u, 4u}) {
      const FirstLevelResult r = Walk(c.gva + c.offset, kProtRead | kProtWrite, refs);
      ASSERT_TRUE(r.ok) << FaultReasonName(r.fault);
      EXPECT_EQ(r.leaf_size, c.size);
      EXPECT_EQ(r.gva_base, c.gva);
      EXPECT_EQ(r.gpa_base, c.gpa);
      EXPECT_EQ(r.prot, kProtRead | kProtWrite);
      EXPECT_TRUE(r.user);
      EXPECT_EQ(r.mem_refs, uint32_t(reads) * (refs + 1));
    }
  }
}

TEST_P(FirstLevelTest, FourKWalkWithCostlyStage2Is20Or25References) {
  ASSERT_TRUE(b().Map(0x1000, kData, kFlPage4K, kProtRead, true).ok());
  const FirstLevelResult r = Walk(0x1000, kProtRead, /*refs_per_read=*/4);
  ASSERT_TRUE(r.ok);
  // 4 levels x (1 stage-1 read + 4 stage-2 refs); the caller's final
  // translation of gpa_base (4 more) would make 24.
  EXPECT_EQ(r.mem_refs, levels() == 4 ? 20u : 25u);
}

struct PermCase {
  const char* name;
  uint8_t map_prot;
  bool map_user;
  int narrow_level;  // 0 = none; else clear `clear` at this level
  uint64_t clear;
  uint8_t access;
  bool ok;
  uint8_t prot;
  bool user;
};

TEST_P(FirstLevelTest, PermissionsAccumulateOverLevels) {
  const PermCase cases[] = {
      {"rw_write", kProtRead | kProtWrite, true, 0, 0, kProtWrite, true, 3, true},
      {"ro_read", kProtRead, true, 0, 0, kProtRead, true, kProtRead, true},
      {"ro_write", kProtRead, true, 0, 0, kProtWrite, false, kProtRead, true},
      {"ro_readwrite", kProtRead, false, 0, 0, kProtRead | kProtWrite, false, kProtRead, false},
      {"supervisor_leaf", kProtRead | kProtWrite, false, 0, 0, kProtRead, true, 3, false},
      {"upper_ro_write", kProtRead | kProtWrite, true, 3, kFlWritable, kProtWrite, false, 1, true},
      {"upper_ro_read", kProtRead | kProtWrite, true, 4, kFlWritable, kProtRead, true, 1, true},
      {"upper_supervisor", kProtRead | kProtWrite, true, 2, kFlUser, kProtWrite, true, 3, false},
      {"xd_ignored", kProtRead | kProtWrite, true, 0, 0, kProtWrite, true, 3, true},
  };
  uint64_t gva = 0x10'0000'0000;
  for (const PermCase& c : cases) {
    SCOPED_TRACE(c.name);
    gva += uint64_t{1} << 39;  // a fresh level-4 subtree so narrowing cannot leak
    ASSERT_TRUE(b().Map(gva, kData, kFlPage4K, c.map_prot, c.map_user).ok());
    if (c.narrow_level != 0) {
      ASSERT_TRUE(b().SetEntryBits(gva, c.narrow_level, 0, c.clear).ok());
    }
    if (std::string(c.name) == "xd_ignored") {
      ASSERT_TRUE(b().SetEntryBits(gva, 1, kFlExecuteDisable, 0).ok());
    }
    const FirstLevelResult r = Walk(gva + 8, c.access);
    EXPECT_EQ(r.ok, c.ok);
    EXPECT_EQ(r.fault, c.ok ? FaultReason::kUnknown : FaultReason::kPermission);
    EXPECT_EQ(r.prot, c.prot);
    EXPECT_EQ(r.user, c.user);
    EXPECT_EQ(r.gpa_base, kData);  // translation is reported even on kPermission
    EXPECT_EQ(r.fetch_addr, 0u);
  }
}

TEST_P(FirstLevelTest, NotPresentAtEachLevelIsPteFetchWithEntryAddress) {
  const uint64_t gva = 0x2345'6789'A000;
  ASSERT_TRUE(b().Map(gva, kData, kFlPage4K, kProtRead, true).ok());
  for (int level = 1; level <= levels(); ++level) {
    SCOPED_TRACE(level);
    Result<uint64_t> entry = b().EntryGpa(gva, level);
    ASSERT_TRUE(entry.ok());
    ASSERT_TRUE(b().SetEntryBits(gva, level, 0, kFlPresent).ok());
    const FirstLevelResult r = Walk(gva, kProtRead, 4);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.fault, FaultReason::kPteFetch);
    EXPECT_EQ(r.fetch_addr, *entry);
    EXPECT_EQ(r.mem_refs, uint32_t(levels() - level + 1) * 5);
    ASSERT_TRUE(b().SetEntryBits(gva, level, kFlPresent, 0).ok());
  }
  EXPECT_TRUE(Walk(gva, kProtRead).ok);
}

TEST_P(FirstLevelTest, UnmappedAddressFaultsAtTopLevel) {
  const FirstLevelResult r = Walk(0x5000, kProtRead, 4);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.fault, FaultReason::kPteFetch);
  EXPECT_EQ(r.fetch_addr, *b().EntryGpa(0x5000, levels()));
  EXPECT_EQ(r.mem_refs, 5u);
}

TEST_P(FirstLevelTest, Stage2FailureOnTablePageIsWalkEabt) {
  const uint64_t gva = 0x1234'5000;
  ASSERT_TRUE(b().Map(gva, kData, kFlPage4K, kProtRead, true).ok());
  for (int level = 1; level <= levels(); ++level) {
    SCOPED_TRACE(level);
    const uint64_t entry = *b().EntryGpa(gva, level);
    GuestMemoryReader reader(mem_, kBase, 4);
    reader.FailPage(entry);
    const FirstLevelResult r = WalkFirstLevel(b().root_gpa(), width(), gva, kProtRead, reader);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.fault, FaultReason::kWalkEabt);
    EXPECT_EQ(r.stage2_fault, FaultReason::kPteFetch);
    EXPECT_EQ(r.fetch_addr, entry);
    // Successful reads above cost 5 each; the failed fetch only its stage-2 refs.
    EXPECT_EQ(r.mem_refs, uint32_t(levels() - level) * 5 + 4);
  }
}

TEST_P(FirstLevelTest, TablePointerOutsideGuestMemoryIsWalkEabt) {
  const uint64_t gva = 0x8000;
  ASSERT_TRUE(b().Map(gva, kData, kFlPage4K, kProtRead, true).ok());
  const uint64_t top_entry = *b().EntryGpa(gva, levels());
  const uint64_t bogus_table = 0x7000'0000'0000;
  ASSERT_TRUE(b().WriteU64(top_entry, bogus_table | kFlPresent | kFlWritable).ok());
  const FirstLevelResult r = Walk(gva, kProtRead);
  EXPECT_EQ(r.fault, FaultReason::kWalkEabt);
  EXPECT_EQ(r.fetch_addr, bogus_table + ((gva >> (12 + 9 * (levels() - 2))) & 511) * 8);
  // The builder refuses to follow it too.
  EXPECT_EQ(b().Map(gva + 0x1000, kData, kFlPage4K, kProtRead, true).err(), EFAULT);
}

TEST_P(FirstLevelTest, NonCanonicalAddressIsOorAddress) {
  const uint64_t bad = levels() == 4 ? 0x0000'8000'0000'0000 : 0x0100'0000'0000'0000;
  for (uint64_t gva : {bad, ~uint64_t{0} ^ (uint64_t{1} << 62), uint64_t{1} << 63}) {
    const FirstLevelResult r = Walk(gva, kProtRead, 4);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.fault, FaultReason::kOorAddress);
    EXPECT_EQ(r.mem_refs, 0u);
  }
  EXPECT_EQ(b().Map(bad, kData, kFlPage4K, kProtRead, true).err(), EINVAL);
}

TEST_P(FirstLevelTest, ReservedPageSizeAtTopLevelsIsPteFetch) {
  const uint64_t gva = 0x3000;
  ASSERT_TRUE(b().Map(gva, kData, kFlPage4K, kProtRead, true).ok());
  ASSERT_TRUE(b().SetEntryBits(gva, 4, kFlPageSize, 0).ok());
  const FirstLevelResult r = Walk(gva, kProtRead);
  EXPECT_EQ(r.fault, FaultReason::kPteFetch);
  EXPECT_EQ(r.fetch_addr, *b().EntryGpa(gva, 4));
  // The builder treats it as an occupied slot.
  EXPECT_EQ(b().Map(gva + 0x1000, kData, kFlPage4K, kProtRead, true).err(), EEXIST);
}

TEST_P(FirstLevelTest, PatAndReservedLowBitsOfLeavesAreIgnored) {
  // Bit 7 of a 4K PTE is PAT, not PS; bit 12 of a 2M leaf is PAT.
  ASSERT_TRUE(b().Map(0x4000, kData, kFlPage4K, kProtRead, true).ok());
  ASSERT_TRUE(b().SetEntryBits(0x4000, 1, kFlPageSize, 0).ok());
  FirstLevelResult r = Walk(0x4000, kProtRead);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.leaf_size, kFlPage4K);
  EXPECT_EQ(r.gpa_base, kData);

  ASSERT_TRUE(b().Map(0x4000'0000, kData, kFlPage2M, kProtRead, true).ok());
  ASSERT_TRUE(b().SetEntryBits(0x4000'0000, 2, uint64_t{1} << 12, 0).ok());
  r = Walk(0x4000'0000 + 5, kProtRead);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.gpa_base, kData);
}

TEST_P(FirstLevelTest, RootPointerValidation) {
  ASSERT_TRUE(b().Map(0x6000, kData, kFlPage4K, kProtRead, true).ok());
  GuestMemoryReader reader(mem_, kBase);
  // Low 12 bits are other PASID-entry fields: ignored.
  EXPECT_TRUE(WalkFirstLevel(b().root_gpa() | 0xFFF, width(), 0x6000, kProtRead, reader).ok);
  for (uint64_t gpgd : {b().root_gpa() | (uint64_t{1} << 52), b().root_gpa() | (uint64_t{1} << 63)}) {
    const FirstLevelResult r = WalkFirstLevel(gpgd, width(), 0x6000, kProtRead, reader);
    EXPECT_EQ(r.fault, FaultReason::kBadPasidEntry);
    EXPECT_EQ(r.mem_refs, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, FirstLevelTest, ::testing::Values(4, 5),
                         [](const auto& info) { return "L" + std::to_string(info.param); });

TEST(FirstLevelWalk, UnsupportedAddressWidthIsBadPasidEntry) {
  std::vector<uint8_t> mem(4096, 0);
  GuestMemoryReader reader(mem, 0);
  for (int width : {0, 39, 47, 52, 64, -1}) {
    SCOPED_TRACE(width);
    const FirstLevelResult r = WalkFirstLevel(0, width, 0x1000, kProtRead, reader);
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.fault, FaultReason::kBadPasidEntry);
  }
}

TEST(FirstLevelWalk, FiveLevelReachesAddressesAbove48Bits) {
  std::vector<uint8_t> mem(16 * 4096);
  auto b = GuestPageTableBuilder::Create(mem, 0, 5);
  ASSERT_TRUE(b.ok());
  const uint64_t gva = 0x00AB'CDEF'1234'5000;  // canonical in 57 bits, not in 48
  ASSERT_TRUE(b->Map(gva, kData, kFlPage4K, kProtRead, true).ok());
  GuestMemoryReader reader(mem, 0);
  const FirstLevelResult r = WalkFirstLevel(b->root_gpa(), 57, gva + 0x10, kProtRead, reader);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.gpa_base, kData);
  EXPECT_EQ(r.mem_refs, 5u);
  // The same table walked as 4-level would reject the address.
  EXPECT_EQ(WalkFirstLevel(b->root_gpa(), 48, gva, kProtRead, reader).fault,
            FaultReason::kOorAddress);
}

TEST(GuestPageTableBuilder, CreateErrors) {
  std::vector<uint8_t> mem(3 * 4096);
  EXPECT_EQ(GuestPageTableBuilder::Create(mem, 0, 3).err(), EINVAL);
  EXPECT_EQ(GuestPageTableBuilder::Create(mem, 0, 6).err(), EINVAL);
  EXPECT_EQ(GuestPageTableBuilder::Create(mem, ~uint64_t{0} - 100, 4).err(), EINVAL);
  EXPECT_EQ(GuestPageTableBuilder::Create(mem, uint64_t{1} << 52, 4).err(), EINVAL);
  // An unaligned base leaves less than one whole aligned page in 4 KiB.
  EXPECT_EQ(GuestPageTableBuilder::Create(std::span(mem).first(4096), 0x800, 4).err(), ENOMEM);
  auto b = GuestPageTableBuilder::Create(mem, 0x800, 4);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->root_gpa(), 0x1000u);
  EXPECT_EQ(b->tables_used(), 1u);
}

TEST(GuestPageTableBuilder, MapArgumentErrors) {
  std::vector<uint8_t> mem(8 * 4096);
  auto b = GuestPageTableBuilder::Create(mem, 0, 4);
  ASSERT_TRUE(b.ok());
  struct Case {
    const char* name;
    uint64_t gva, gpa, size;
    uint8_t prot;
  } cases[] = {
      {"size_8k", 0, 0, 0x2000, kProtRead},
      {"size_0", 0, 0, 0, kProtRead},
      {"gva_unaligned", 0x1800, 0, kFlPage4K, kProtRead},
      {"gpa_unaligned", 0x1000, 0x800, kFlPage4K, kProtRead},
      {"gva_unaligned_2m", 0x1000, 0, kFlPage2M, kProtRead},
      {"gpa_unaligned_1g", 0, 0x20'0000, kFlPage1G, kProtRead},
      {"gpa_beyond_52", 0x1000, uint64_t{1} << 52, kFlPage4K, kProtRead},
      {"non_canonical", uint64_t{1} << 47, 0, kFlPage4K, kProtRead},
      {"write_only", 0x1000, 0, kFlPage4K, kProtWrite},
      {"no_prot", 0x1000, 0, kFlPage4K, 0},
      {"unknown_prot_bit", 0x1000, 0, kFlPage4K, kProtRead | 4},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<uint8_t> before = mem;
    EXPECT_EQ(b->Map(c.gva, c.gpa, c.size, c.prot, true).err(), EINVAL);
    EXPECT_EQ(mem, before);
    EXPECT_EQ(b->tables_used(), 1u);
  }
}

TEST(GuestPageTableBuilder, OverlapsAreEexistWithoutChange) {
  std::vector<uint8_t> mem(16 * 4096);
  auto b = GuestPageTableBuilder::Create(mem, 0, 4);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(b->Map(0x20'1000, kData, kFlPage4K, kProtRead, true).ok());   // 4K under 2M slot 1
  ASSERT_TRUE(b->Map(0x4000'0000, kData, kFlPage1G, kProtRead, true).ok());  // 1G at slot 1
  struct Case {
    const char* name;
    uint64_t gva, size;
  } cases[] = {
      {"same_4k", 0x20'1000, kFlPage4K},
      {"2m_over_4k_table", 0x20'0000, kFlPage2M},
      {"1g_over_table", 0, kFlPage1G},
      {"4k_inside_1g", 0x4123'4000, kFlPage4K},
      {"2m_inside_1g", 0x4020'0000, kFlPage2M},
      {"same_1g", 0x4000'0000, kFlPage1G},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::vector<uint8_t> before = mem;
    const size_t tables = b->tables_used();
    EXPECT_EQ(b->Map(c.gva, 0, c.size, kProtRead, true).err(), EEXIST);
    EXPECT_EQ(mem, before);
    EXPECT_EQ(b->tables_used(), tables);
  }
  // Neighbours are fine.
  EXPECT_TRUE(b->Map(0x20'2000, kData, kFlPage4K, kProtRead, true).ok());
  EXPECT_TRUE(b->Map(0x40'0000, kData, kFlPage2M, kProtRead, true).ok());
}

TEST(GuestPageTableBuilder, PoolExhaustionIsEnomemWithoutChange) {
  // Root + 2 pages: a first 4K map needs 3 new tables (PDPT, PD, PT).
  std::vector<uint8_t> mem(3 * 4096);
  auto b = GuestPageTableBuilder::Create(mem, 0, 4);
  ASSERT_TRUE(b.ok());
  const std::vector<uint8_t> before = mem;
  EXPECT_EQ(b->Map(0x1000, kData, kFlPage4K, kProtRead, true).err(), ENOMEM);
  EXPECT_EQ(mem, before);
  EXPECT_EQ(b->tables_used(), 1u);
  // A 2M leaf needs only 2 and fits; then a 4K map in the neighbouring 2M
  // slot needs 1 more (its PT), which is gone.
  EXPECT_TRUE(b->Map(0x20'0000, kData, kFlPage2M, kProtRead, true).ok());
  EXPECT_EQ(b->tables_used(), 3u);
  EXPECT_EQ(b->Map(0x1000, kData, kFlPage4K, kProtRead, true).err(), ENOMEM);
  GuestMemoryReader reader(mem, 0);
  EXPECT_EQ(WalkFirstLevel(b->root_gpa(), 48, 0x1000, kProtRead, reader).fault,
            FaultReason::kPteFetch);
}

TEST(GuestPageTableBuilder, EntryAccessErrors) {
  std::vector<uint8_t> mem(8 * 4096);
  auto b = GuestPageTableBuilder::Create(mem, 0x10000, 4);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->EntryGpa(0x1000, 0).err(), EINVAL);
  EXPECT_EQ(b->EntryGpa(0x1000, 5).err(), EINVAL);
  EXPECT_EQ(b->EntryGpa(uint64_t{1} << 47, 4).err(), EINVAL);
  EXPECT_EQ(b->EntryGpa(0x1000, 1).err(), ENOENT);
  EXPECT_EQ(b->SetEntryBits(0x1000, 1, kFlPresent, 0).err(), ENOENT);
  EXPECT_EQ(*b->EntryGpa(0x1000, 4), b->root_gpa());
  ASSERT_TRUE(b->Map(0x20'0000, 0, kFlPage2M, kProtRead, true).ok());
  EXPECT_EQ(b->EntryGpa(0x20'0000, 1).err(), ENOENT);  // below a leaf
  EXPECT_EQ(b->ReadU64(0xFFF8).err(), EFAULT);
  EXPECT_EQ(b->ReadU64(0x10004).err(), EFAULT);
  EXPECT_EQ(b->ReadU64(0x10000 + 8 * 4096).err(), EFAULT);
  EXPECT_EQ(b->WriteU64(0x10000 + 8 * 4096 - 4, 1).err(), EFAULT);
  ASSERT_TRUE(b->WriteU64(0x10000 + 8 * 4096 - 8, 0x1234).ok());
  EXPECT_EQ(*b->ReadU64(0x10000 + 8 * 4096 - 8), 0x1234u);
}

TEST(GuestMemoryReader, BoundsAndRefs) {
  std::vector<uint8_t> mem(4096, 0);
  mem[8] = 0x42;
  GuestMemoryReader reader(mem, 0x2000, 3);
  uint64_t v = 0;
  uint32_t refs = 0;
  FaultReason why = FaultReason::kUnknown;
  EXPECT_TRUE(reader.ReadEntry(0x2008, &v, &refs, &why));
  EXPECT_EQ(v, 0x42u);
  EXPECT_EQ(refs, 3u);
  for (uint64_t gpa : {uint64_t{0x1FF8}, uint64_t{0x3000}, uint64_t{0x2004}, ~uint64_t{7}}) {
    why = FaultReason::kUnknown;
    EXPECT_FALSE(reader.ReadEntry(gpa, &v, &refs, &why)) << gpa;
    EXPECT_EQ(why, FaultReason::kPteFetch);
  }
  EXPECT_EQ(refs, 15u);  // refs are charged on failure too
  reader.FailPage(0x2FF8);
  EXPECT_FALSE(reader.ReadEntry(0x2008, &v, &refs, &why));
  reader.ClearFailPage();
  EXPECT_TRUE(reader.ReadEntry(0x2008, &v, &refs, &why));
}

}  // namespace
}  // namespace vfiosim::core
