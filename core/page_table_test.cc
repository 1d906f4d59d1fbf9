#include "core/page_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "core/fault_injection.h"
#include "core/range.h"

namespace vfiosim::core {
namespace {

constexpr uint64_t K4 = kPageSize4K;
constexpr uint64_t M2 = kPageSize2M;
constexpr uint64_t G1 = kPageSize1G;
constexpr uint64_t kAllSizes = K4 | M2 | G1;
constexpr uint8_t kRW = kProtRead | kProtWrite;

HostVa Va(uint64_t v) { return HostVa{v}; }

// Everything a caller can observe about a set of addresses, to prove that a
// failed call changed nothing.
struct Snapshot {
  size_t tables;
  std::vector<std::vector<PteInfo>> chains;
  std::vector<std::tuple<bool, uint64_t, uint64_t, FaultReason>> walks;
  bool operator==(const Snapshot&) const = default;
};

Snapshot Take(const IoPageTable& pt, const std::vector<uint64_t>& iovas) {
  Snapshot s{pt.table_count(), {}, {}};
  for (uint64_t iova : iovas) {
    s.chains.push_back(pt.EntryChain(iova));
    WalkResult r = pt.Translate(iova, 0);
    s.walks.emplace_back(r.ok, ToU64(r.translation.Output(iova)), r.translation.leaf_size, r.fault);
  }
  return s;
}

// Sample addresses: both sides of every 2M boundary in [lo, hi) plus random ones.
std::vector<uint64_t> Samples(uint64_t lo, uint64_t hi, uint32_t seed) {
  std::vector<uint64_t> v;
  // At most ~1024 boundaries, spaced by a multiple of 2M.
  const uint64_t step = ((hi - lo) / 1024 + M2 - 1) / M2 * M2;
  for (uint64_t a = lo; a < hi; a += step) {
    v.push_back(a);
    if (a >= K4) v.push_back(a - K4);
  }
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 512; ++i) v.push_back(lo + (rng() % ((hi - lo) / K4)) * K4 + (rng() & 0xFFF));
  return v;
}

// --- Leaf choice --------------------------------------------------------------

struct LeafCase {
  const char* name;
  uint64_t bitmap;
  uint64_t iova;
  uint64_t out;
  uint64_t size;
  uint64_t want_leaf;
  uint32_t want_refs;  // 4-level table
  size_t want_tables;
};

class LeafChoiceTest : public ::testing::TestWithParam<LeafCase> {};

TEST_P(LeafChoiceTest, MapsWithExpectedLeavesAndOutputs) {
  const LeafCase& c = GetParam();
  IoPageTable pt(48, c.bitmap);
  ASSERT_EQ(pt.Map(c.iova, Va(c.out), c.size, kRW), Status::Ok());
  EXPECT_EQ(pt.table_count(), c.want_tables);
  EXPECT_EQ(pt.table_bytes(), c.want_tables * 4096);
  for (uint64_t off : {uint64_t{0}, uint64_t{123}, c.size / 2 + 7, c.size - 1}) {
    WalkResult r = pt.Translate(c.iova + off, kProtRead | kProtWrite);
    ASSERT_TRUE(r.ok) << c.name << " off " << off;
    EXPECT_EQ(r.translation.leaf_size, c.want_leaf) << c.name;
    EXPECT_EQ(r.mem_refs, c.want_refs) << c.name;
    EXPECT_EQ(ToU64(r.translation.Output(c.iova + off)), c.out + off) << c.name;
    EXPECT_EQ(r.translation.iova_base, (c.iova + off) & ~(c.want_leaf - 1));
    EXPECT_EQ(r.translation.prot, kRW);
  }
  EXPECT_EQ(pt.Translate(c.iova + c.size, kProtRead).fault, FaultReason::kPteFetch);
  ASSERT_EQ(pt.Unmap(c.iova, c.size), Status::Ok());
  EXPECT_EQ(pt.table_count(), 1u);
  EXPECT_EQ(pt.Translate(c.iova, kProtRead).fault, FaultReason::kPteFetch);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LeafChoiceTest,
    ::testing::Values(
        LeafCase{"leaf4k", kAllSizes, 0x1000, 0x7f0000001000, K4, K4, 4, 4},
        LeafCase{"leaf2m", kAllSizes, 5 * M2, 0x7f0000200000, M2, M2, 3, 3},
        LeafCase{"leaf1g", kAllSizes, 3 * G1, 0x7f0040000000, G1, G1, 2, 2},
        LeafCase{"iova2m_out4k", kAllSizes, 5 * M2, 0x7f0000201000, M2, K4, 4, 4},
        LeafCase{"out2m_iova4k", kAllSizes, 5 * M2 + K4, 0x7f0000200000, M2, K4, 4, 5},
        LeafCase{"bitmap4k_only", K4, G1, 0x7f0040000000, G1, K4, 4, 3 + 512},
        LeafCase{"bitmap4k2m", K4 | M2, G1, 0x7f0040000000, G1, M2, 3, 3},
        LeafCase{"bitmap1g_without_2m", K4 | G1, G1, 0x7f0040000000, 4 * M2, K4, 4, 3 + 4},
        LeafCase{"too_small_for_2m", kAllSizes, 0, 0x200000, M2 - K4, K4, 4, 4}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(PageTableTest, GreedyLeavesFollowAlignmentOfBothSides) {
  IoPageTable pt(48, kAllSizes);
  // iova and out share 4K..1G alignment offsets: 4K run, 2M run, 1G, 2M run, 4K run.
  const uint64_t iova = G1 - M2 - 2 * K4;
  const uint64_t out = 0x100000000000 + iova;
  const uint64_t size = 2 * K4 + M2 + G1 + M2 + 3 * K4;
  ASSERT_EQ(pt.Map(iova, Va(out), size, kRW), Status::Ok());
  const std::vector<std::pair<uint64_t, uint64_t>> want = {
      {iova, K4}, {G1 - M2, M2}, {G1, G1}, {2 * G1, M2}, {2 * G1 + M2, K4},
      {2 * G1 + M2 + 2 * K4, K4}};
  for (auto [addr, leaf] : want) {
    WalkResult r = pt.Translate(addr, kProtRead);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.translation.leaf_size, leaf) << std::hex << addr;
    EXPECT_EQ(ToU64(r.translation.Output(addr)), out + (addr - iova));
  }
  EXPECT_FALSE(pt.Translate(iova + size, kProtRead).ok);
  EXPECT_FALSE(pt.Translate(iova - K4, kProtRead).ok);
}

// --- Address widths and faults -------------------------------------------------

struct WidthCase {
  int aw;
  int levels;
};

class WidthTest : public ::testing::TestWithParam<WidthCase> {};

TEST_P(WidthTest, LevelsRefsAndOutOfRange) {
  const auto [aw, levels] = GetParam();
  IoPageTable pt(aw, kAllSizes);
  EXPECT_EQ(pt.levels(), levels);
  EXPECT_EQ(pt.address_width(), aw);
  const uint64_t top = uint64_t{1} << aw;
  ASSERT_EQ(pt.Map(top - K4, Va(0x5000), K4, kProtRead), Status::Ok());
  WalkResult r = pt.Translate(top - 1, kProtRead);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.mem_refs, static_cast<uint32_t>(levels));
  EXPECT_EQ(ToU64(r.translation.Output(top - 1)), 0x5FFFu);
  ASSERT_EQ(pt.Map(top - G1 - G1, Va(G1), G1, kProtRead), Status::Ok());
  EXPECT_EQ(pt.Translate(top - 2 * G1, kProtRead).mem_refs, static_cast<uint32_t>(levels - 2));

  r = pt.Translate(top, kProtRead);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.fault, FaultReason::kOorAddress);
  EXPECT_EQ(r.fault_addr, top);
  EXPECT_EQ(r.mem_refs, 0u);
  EXPECT_TRUE(pt.EntryChain(top).empty());
  EXPECT_EQ(pt.Map(top - K4, Va(0), 2 * K4, kProtRead), Error(EFAULT));
  EXPECT_EQ(pt.Map(top, Va(0), K4, kProtRead), Error(EFAULT));
  EXPECT_EQ(pt.Unmap(top - K4, 2 * K4), Error(EFAULT));
  EXPECT_EQ(pt.Remap(top, Va(0), K4, kProtRead), Error(EFAULT));
  ASSERT_EQ(pt.Unmap(0, top), Status::Ok());
  EXPECT_EQ(pt.table_count(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Widths, WidthTest,
                         ::testing::Values(WidthCase{39, 3}, WidthCase{48, 4}, WidthCase{57, 5}));

TEST(PageTableTest, NormalizesConstructorArguments) {
  EXPECT_EQ(IoPageTable(30, kAllSizes).address_width(), 39);
  EXPECT_EQ(IoPageTable(40, kAllSizes).address_width(), 48);
  EXPECT_EQ(IoPageTable(64, kAllSizes).address_width(), 57);
  EXPECT_EQ(IoPageTable(48, 0).pgsize_bitmap(), K4);
  EXPECT_EQ(IoPageTable(48, 0x40201000 | 0x10000).pgsize_bitmap(), kAllSizes);
  EXPECT_EQ(IoPageTable(48, K4 | G1).pgsize_bitmap(), K4);
}

TEST(PageTableTest, CreateChecksArgumentsAndAllocation) {
  EXPECT_EQ(IoPageTable::Create(40, kAllSizes).err(), EINVAL);
  EXPECT_EQ(IoPageTable::Create(48, M2).err(), EINVAL);
  FailNth::Arm(1, FailSite::kPageTableAlloc);
  EXPECT_EQ(IoPageTable::Create(48, kAllSizes).err(), ENOMEM);
  FailNth::Disarm();
  auto pt = IoPageTable::Create(57, kAllSizes);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ((*pt)->levels(), 5);
}

TEST(PageTableTest, PteFetchAndPermissionFaults) {
  IoPageTable pt(48, kAllSizes);
  WalkResult r = pt.Translate(0x1234000, kProtRead);
  EXPECT_EQ(r.fault, FaultReason::kPteFetch);
  EXPECT_EQ(r.fault_addr, 0x1234000u);
  EXPECT_EQ(r.mem_refs, 1u);  // the empty root entry

  ASSERT_EQ(pt.Map(0x1000, Va(0x9000), K4, kProtRead), Status::Ok());
  ASSERT_EQ(pt.Map(M2, Va(2 * M2), M2, kProtWrite), Status::Ok());
  r = pt.Translate(0x3000, kProtRead);  // same leaf table, empty entry
  EXPECT_EQ(r.fault, FaultReason::kPteFetch);
  EXPECT_EQ(r.mem_refs, 4u);

  r = pt.Translate(0x1008, kProtWrite);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.fault, FaultReason::kPermission);
  EXPECT_EQ(r.fault_addr, 0x1008u);
  EXPECT_EQ(pt.Translate(0x1008, kProtRead | kProtWrite).fault, FaultReason::kPermission);
  EXPECT_TRUE(pt.Translate(0x1008, kProtRead).ok);
  EXPECT_TRUE(pt.Translate(0x1008, 0).ok);
  EXPECT_EQ(pt.Translate(M2 + 5, kProtRead).fault, FaultReason::kPermission);
  r = pt.Translate(M2 + 5, kProtWrite);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.translation.prot, kProtWrite);
  EXPECT_EQ(ToU64(r.translation.Output(M2 + 5)), 2 * M2 + 5);
}

TEST(PageTableTest, EntryChainShowsRawEntries) {
  IoPageTable pt(48, kAllSizes);
  ASSERT_EQ(pt.Map(M2, Va(0x7f0000200000), M2, kProtRead), Status::Ok());
  auto chain = pt.EntryChain(M2 + 0x1000);
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0].level, 4);
  EXPECT_EQ(chain[0].leaf_size, uint64_t{1} << 39);
  EXPECT_FALSE(chain[0].leaf);
  EXPECT_EQ(chain[0].entry & 3, 3u);  // table entries carry R|W
  EXPECT_EQ(chain[1].level, 3);
  EXPECT_EQ(chain[2].level, 2);
  EXPECT_TRUE(chain[2].leaf);
  EXPECT_EQ(chain[2].leaf_size, M2);
  EXPECT_EQ(chain[2].entry, 0x7f0000200000u | IoPageTable::kPtePs | IoPageTable::kPteRead);
  // A non-present entry ends the chain.
  chain = pt.EntryChain(G1);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[1].entry, 0u);
  EXPECT_FALSE(chain[1].leaf);
}

// --- Argument errors ------------------------------------------------------------

TEST(PageTableTest, ArgumentErrorsChangeNothing) {
  IoPageTable pt(48, kAllSizes);
  ASSERT_EQ(pt.Map(0, Va(0), 2 * M2, kRW), Status::Ok());
  const auto iovas = Samples(0, 4 * M2, 1);
  const Snapshot before = Take(pt, iovas);
  struct Case {
    uint64_t iova, out, size;
    uint8_t prot;
    int err;
  };
  const Case cases[] = {
      {4 * M2, 0, 0, kRW, EINVAL},                  // zero size
      {4 * M2 + 1, 0, K4, kRW, EINVAL},             // misaligned iova
      {4 * M2, 0x10, K4, kRW, EINVAL},              // misaligned out
      {4 * M2, 0, K4 + 1, kRW, EINVAL},             // misaligned size
      {4 * M2, 0, K4, 0, EINVAL},                   // no permission
      {4 * M2, 0, K4, 4, EINVAL},                   // unknown prot bit
      {4 * M2, uint64_t{1} << 52, K4, kRW, EINVAL},  // output beyond 52 bits
      {~uint64_t{0} - 0xFFF, 0, 2 * K4, kRW, EINVAL},  // wraps
      {M2 + K4, 0x1000, K4, kRW, EEXIST},           // inside an existing 2M leaf
      {0, 0, 4 * M2, kRW, EEXIST},                  // covers existing leaves
      {2 * M2 - K4, 0x1000, 2 * K4, kRW, EEXIST},   // partly overlapping
  };
  for (const Case& c : cases) {
    EXPECT_EQ(pt.Map(c.iova, Va(c.out), c.size, c.prot), Error(c.err)) << std::hex << c.iova;
    EXPECT_EQ(Take(pt, iovas), before);
  }
  EXPECT_EQ(pt.Unmap(0, 0), Error(EINVAL));
  EXPECT_EQ(pt.Unmap(K4 + 1, K4), Error(EINVAL));
  EXPECT_EQ(pt.Unmap(K4, 5), Error(EINVAL));
  EXPECT_EQ(pt.Remap(0, Va(3), K4, kRW), Error(EINVAL));
  EXPECT_EQ(pt.Remap(0, Va(0), K4, 0), Error(EINVAL));
  EXPECT_EQ(Take(pt, iovas), before);
}

TEST(PageTableTest, OverlappingFourKLeavesAreEexist) {
  IoPageTable pt(48, kAllSizes);
  ASSERT_EQ(pt.Map(M2 + 5 * K4, Va(0x3000), K4, kRW), Status::Ok());
  EXPECT_EQ(pt.Map(M2, Va(0x1000), 6 * K4, kRW), Error(EEXIST));
  EXPECT_EQ(pt.Map(M2 + 5 * K4, Va(0x1000), K4, kRW), Error(EEXIST));
  EXPECT_EQ(pt.Map(0, Va(0x1000), 2 * M2, kRW), Error(EEXIST));  // 4K leaves, next table
  EXPECT_EQ(pt.table_count(), 4u);
  EXPECT_EQ(ToU64(pt.Translate(M2 + 5 * K4, kProtRead).translation.output_base), 0x3000u);
  EXPECT_FALSE(pt.Translate(M2, kProtRead).ok);
}

TEST(PageTableTest, UnmapOfWholeSuperpagesNeverAllocates) {
  IoPageTable pt(48, kAllSizes);
  ASSERT_EQ(pt.Map(0, Va(0), 4 * G1, kRW), Status::Ok());  // 1G leaves
  ASSERT_EQ(pt.Unmap(3 * G1, G1), Status::Ok());
  ASSERT_EQ(pt.Remap(0, Va(3 * G1 + M2), G1 - M2, kRW), Status::Ok());  // 2M leaves
  FailNth::Arm(1, FailSite::kPageTableAlloc);
  EXPECT_EQ(pt.Unmap(5 * M2, M2), Status::Ok());  // an odd 2M leaf
  EXPECT_EQ(pt.Unmap(G1, G1), Status::Ok());      // an odd 1G leaf
  EXPECT_FALSE(FailNth::Fired());
  FailNth::Disarm();
  EXPECT_FALSE(pt.Translate(5 * M2, kProtRead).ok);
  EXPECT_TRUE(pt.Translate(6 * M2, kProtRead).ok);
  EXPECT_EQ(pt.Translate(2 * G1, kProtRead).translation.leaf_size, G1);
}

TEST(PageTableTest, ExistingTableForMappingUnderneathIsEexist) {
  IoPageTable pt(48, kAllSizes);
  ASSERT_EQ(pt.Map(M2 + 5 * K4, Va(0), K4, kRW), Status::Ok());
  // A 2M-aligned map over that entry would need the slot for a 2M leaf.
  EXPECT_EQ(pt.Map(M2, Va(M2), M2, kRW), Error(EEXIST));
  EXPECT_EQ(pt.Map(0, Va(0), G1, kRW), Error(EEXIST));
  EXPECT_EQ(pt.table_count(), 4u);
}

// --- Unmap, splitting, table freeing -----------------------------------------

TEST(PageTableTest, PartialUnmapSplitsSuperpagesAndKeepsTheRest) {
  IoPageTable pt(48, kAllSizes);
  const uint64_t out = 0x7f8000000000;
  ASSERT_EQ(pt.Map(G1, Va(out), G1, kRW), Status::Ok());
  ASSERT_EQ(pt.table_count(), 2u);
  const uint64_t hole = G1 + 3 * M2 + 5 * K4;
  ASSERT_EQ(pt.Unmap(hole, 2 * K4), Status::Ok());
  EXPECT_EQ(pt.table_count(), 4u);  // root, L3, new L2, new L1
  for (uint64_t a : {G1, G1 + 3 * M2, hole - K4, hole + 2 * K4, G1 + 3 * M2 + M2 - 1,
                     G1 + 4 * M2, 2 * G1 - 1}) {
    WalkResult r = pt.Translate(a, kProtWrite);
    ASSERT_TRUE(r.ok) << std::hex << a;
    EXPECT_EQ(ToU64(r.translation.Output(a)), out + (a - G1)) << std::hex << a;
    const uint64_t want_leaf = (a >= G1 + 3 * M2 && a < G1 + 4 * M2) ? K4 : M2;
    EXPECT_EQ(r.translation.leaf_size, want_leaf) << std::hex << a;
  }
  EXPECT_EQ(pt.Translate(hole, kProtRead).fault, FaultReason::kPteFetch);
  EXPECT_EQ(pt.Translate(hole + K4 + 7, kProtRead).fault, FaultReason::kPteFetch);
  // Unmapping the remainder piece by piece frees the split tables again.
  ASSERT_EQ(pt.Unmap(G1, hole - G1), Status::Ok());
  ASSERT_EQ(pt.Unmap(hole + 2 * K4, 2 * G1 - hole - 2 * K4), Status::Ok());
  EXPECT_EQ(pt.table_count(), 1u);
}

TEST(PageTableTest, UnmapOfUnmappedPartsIsANoOp) {
  IoPageTable pt(48, kAllSizes);
  EXPECT_EQ(pt.Unmap(0, G1), Status::Ok());
  ASSERT_EQ(pt.Map(M2, Va(M2), K4, kRW), Status::Ok());
  EXPECT_EQ(pt.Unmap(0, M2), Status::Ok());
  EXPECT_TRUE(pt.Translate(M2, kProtRead).ok);
  EXPECT_EQ(pt.Unmap(0, uint64_t{1} << 48), Status::Ok());
  EXPECT_EQ(pt.table_count(), 1u);
}

TEST(PageTableTest, UnmapAllAfterManyLeafTablesReturnsToRoot) {
  IoPageTable pt(48, kAllSizes);
  ASSERT_EQ(pt.Map(0, Va(K4), G1, kRW), Status::Ok());  // out not 2M aligned: 4K leaves
  EXPECT_EQ(pt.table_count(), 1u + 1 + 1 + 512);
  // Free in uneven pieces.
  ASSERT_EQ(pt.Unmap(5 * K4, 300 * M2), Status::Ok());
  ASSERT_EQ(pt.Unmap(0, 5 * K4), Status::Ok());
  EXPECT_EQ(pt.table_count(), 1u + 1 + 1 + 512 - 300);
  ASSERT_EQ(pt.Unmap(0, G1), Status::Ok());
  EXPECT_EQ(pt.table_count(), 1u);
}

TEST(PageTableTest, ClearFreesEverythingButTheRoot) {
  IoPageTable pt(39, kAllSizes);
  ASSERT_EQ(pt.Map(0, Va(0), G1, kRW), Status::Ok());  // 1G leaf in the 3-level root
  ASSERT_EQ(pt.Map(G1, Va(K4), 4 * M2, kRW), Status::Ok());
  EXPECT_EQ(pt.table_count(), 6u);
  pt.Clear();
  EXPECT_EQ(pt.table_count(), 1u);
  EXPECT_FALSE(pt.Translate(0, kProtRead).ok);
  EXPECT_FALSE(pt.Translate(G1, kProtRead).ok);
  EXPECT_EQ(pt.Map(0, Va(0), G1, kRW), Status::Ok());
}

// --- Remap ----------------------------------------------------------------

TEST(PageTableTest, RemapChangesOutputsAndLeafSizes) {
  IoPageTable pt(48, kAllSizes);
  ASSERT_EQ(pt.Map(G1, Va(G1), G1, kRW), Status::Ok());
  // Middle 4K moves; the superpage is split around it.
  ASSERT_EQ(pt.Remap(G1 + M2 + K4, Va(0x123000), K4, kProtRead), Status::Ok());
  WalkResult r = pt.Translate(G1 + M2 + K4 + 9, kProtRead);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(ToU64(r.translation.Output(G1 + M2 + K4 + 9)), 0x123009u);
  EXPECT_EQ(r.translation.prot, kProtRead);
  r = pt.Translate(G1 + M2, kProtRead);
  EXPECT_EQ(ToU64(r.translation.Output(G1 + M2)), G1 + M2);
  EXPECT_EQ(pt.table_count(), 4u);
  // The whole range to a 4K-aligned output: 4K leaves throughout.
  ASSERT_EQ(pt.Remap(G1, Va(0x40001000), G1, kRW), Status::Ok());
  r = pt.Translate(2 * G1 - 1, kProtWrite);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.translation.leaf_size, K4);
  EXPECT_EQ(ToU64(r.translation.Output(2 * G1 - 1)), 0x40001000 + G1 - 1);
  EXPECT_EQ(pt.table_count(), 3u + 512);
  // And back to a 1G leaf: the 512 leaf tables are freed.
  ASSERT_EQ(pt.Remap(G1, Va(3 * G1), G1, kRW), Status::Ok());
  EXPECT_EQ(pt.table_count(), 2u);
  EXPECT_EQ(pt.Translate(G1 + 5, kProtRead).translation.leaf_size, G1);
}

// --- TranslateRange -------------------------------------------------------

TEST(PageTableTest, TranslateRangeMergesContiguousOutputs) {
  IoPageTable pt(48, kAllSizes);
  const uint64_t out = 0x7f0000000000 + M2 - 2 * K4;  // same offsets as the IOVA
  ASSERT_EQ(pt.Map(M2 - 2 * K4, Va(out), 2 * K4 + 2 * M2, kRW), Status::Ok());  // 4K x2, 2M x2
  ASSERT_EQ(pt.Map(M2 - 2 * K4 + 2 * K4 + 2 * M2, Va(0x5000), K4, kProtRead), Status::Ok());
  std::vector<std::pair<HostVa, uint64_t>> chunks;
  WalkResult r = pt.TranslateRange(M2 - K4 - 16, K4 + 16 + 2 * M2 + 100, kProtRead, &chunks);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(ToU64(chunks[0].first), out + K4 - 16);
  EXPECT_EQ(chunks[0].second, K4 + 16 + 2 * M2);
  EXPECT_EQ(ToU64(chunks[1].first), 0x5000u);
  EXPECT_EQ(chunks[1].second, 100u);
  EXPECT_EQ(r.translation.leaf_size, K4);  // the first leaf
  EXPECT_EQ(r.translation.iova_base, M2 - 2 * K4);
  // 4K leaf (4 refs), its sibling (1), restart to a 2M leaf (3), sibling 2M (1),
  // sibling table entry and the 4K leaf below it (2).
  EXPECT_EQ(r.mem_refs, 4u + 1 + 3 + 1 + 2);

  // Write access faults at the read-only page; the prefix stays in `chunks`.
  chunks.clear();
  r = pt.TranslateRange(3 * M2 - K4, 2 * K4, kProtWrite, &chunks);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.fault, FaultReason::kPermission);
  EXPECT_EQ(r.fault_addr, 3 * M2);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].second, K4);

  chunks.clear();
  r = pt.TranslateRange(3 * M2, 2 * K4, kProtRead, &chunks);
  EXPECT_EQ(r.fault, FaultReason::kPteFetch);
  EXPECT_EQ(r.fault_addr, 3 * M2 + K4);
  EXPECT_EQ(chunks.size(), 1u);

  chunks.clear();
  r = pt.TranslateRange(0x1000, 0, kProtRead, &chunks);
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(chunks.empty());
}

TEST(PageTableTest, TranslateRangeStopsAtTheAddressWidth) {
  IoPageTable pt(39, kAllSizes);
  const uint64_t top = uint64_t{1} << 39;
  ASSERT_EQ(pt.Map(top - G1, Va(0), G1, kRW), Status::Ok());
  std::vector<std::pair<HostVa, uint64_t>> chunks;
  WalkResult r = pt.TranslateRange(top - 8, 16, kProtRead, &chunks);
  EXPECT_EQ(r.fault, FaultReason::kOorAddress);
  EXPECT_EQ(r.fault_addr, top);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(ToU64(chunks[0].first), G1 - 8);
  EXPECT_EQ(chunks[0].second, 8u);
}

// --- ENOMEM (fail-nth) sweeps ------------------------------------------------

// Runs op with the n-th table allocation failing, for n = 1, 2, ... until the
// op no longer hits the armed allocation. Each failure must be ENOMEM with an
// unchanged table; the final run must succeed. Returns the number of failures.
template <typename Op>
int SweepEnomem(IoPageTable& pt, const std::vector<uint64_t>& iovas, Op op) {
  const Snapshot before = Take(pt, iovas);
  for (int n = 1;; ++n) {
    FailNth::Arm(n, FailSite::kPageTableAlloc);
    const Status s = op();
    const bool fired = FailNth::Fired();
    FailNth::Disarm();
    if (!fired) {
      EXPECT_EQ(s, Status::Ok()) << "n=" << n;
      return n - 1;
    }
    EXPECT_EQ(s, Error(ENOMEM)) << "n=" << n;
    EXPECT_EQ(Take(pt, iovas), before) << "n=" << n;
    if (s.ok() || ::testing::Test::HasFailure()) return -1;
  }
}

TEST(PageTableTest, MapEnomemSweepLeavesTableUnchanged) {
  IoPageTable pt(48, kAllSizes);
  const uint64_t base = (uint64_t{1} << 39) - 2 * G1;  // 2 GiB below a root-entry boundary
  ASSERT_EQ(pt.Map(base + 7 * K4, Va(0x1000), K4, kRW), Status::Ok());
  ASSERT_EQ(pt.Map(G1, Va(0), G1, kRW), Status::Ok());
  const auto iovas = Samples(base, base + 4 * G1, 2);
  // Output congruent mod 2M: 4K leaves in the existing leaf table, 2M leaves in
  // the existing and in new L2 tables, a new L3 across the root boundary, and a
  // new leaf table for the 4K tail.
  const uint64_t iova = base + 8 * K4;
  const uint64_t size = 2 * G1 + 5 * M2 + 3 * K4 - 8 * K4;
  const uint64_t out = 0x10000000 + iova % G1;
  int failures = SweepEnomem(pt, iovas, [&] { return pt.Map(iova, Va(out), size, kRW); });
  EXPECT_EQ(failures, 4);  // L2, L3, L2, L1
  WalkResult r = pt.Translate(iova + size - 1, kProtRead);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(ToU64(r.translation.Output(iova + size - 1)), out + size - 1);
  EXPECT_EQ(r.translation.leaf_size, K4);
  EXPECT_EQ(pt.Translate(base + G1 + 5, kProtRead).translation.leaf_size, M2);

  // Output not congruent: 4K leaves throughout, one new table per 2M.
  const uint64_t iova2 = 3 * G1 - 10 * M2 + 3 * K4;
  failures = SweepEnomem(pt, Samples(2 * G1, 4 * G1, 3),
                         [&] { return pt.Map(iova2, Va(0x7000), 20 * M2, kRW); });
  EXPECT_EQ(failures, 2 + 21);  // two L2 tables, 21 leaf tables
  EXPECT_EQ(ToU64(pt.Translate(iova2 + 20 * M2 - 1, kProtRead).translation.Output(
                iova2 + 20 * M2 - 1)),
            0x7000 + 20 * M2 - 1);
}

TEST(PageTableTest, SplittingUnmapEnomemSweepLeavesTableUnchanged) {
  IoPageTable pt(57, kAllSizes);
  ASSERT_EQ(pt.Map(0, Va(0), 4 * G1, kRW), Status::Ok());
  const auto iovas = Samples(0, 4 * G1, 3);
  // Both edges inside different 1G leaves: up to 4 splits.
  const int failures =
      SweepEnomem(pt, iovas, [&] { return pt.Unmap(G1 + M2 + K4, 2 * G1 + 5 * K4); });
  EXPECT_EQ(failures, 4);
  EXPECT_FALSE(pt.Translate(G1 + M2 + K4, kProtRead).ok);
  EXPECT_TRUE(pt.Translate(G1 + M2, kProtRead).ok);
  // Both edges inside the same 2M leaf: one 1G split, one shared 2M split.
  IoPageTable pt2(48, kAllSizes);
  ASSERT_EQ(pt2.Map(0, Va(0), G1, kRW), Status::Ok());
  EXPECT_EQ(SweepEnomem(pt2, Samples(0, G1, 4), [&] { return pt2.Unmap(K4, K4); }), 2);
  EXPECT_EQ(pt2.table_count(), 4u);
}

TEST(PageTableTest, RemapEnomemSweepLeavesTableUnchanged) {
  IoPageTable pt(48, kAllSizes);
  ASSERT_EQ(pt.Map(0, Va(0), 2 * G1, kRW), Status::Ok());
  const auto iovas = Samples(0, 2 * G1, 5);
  const int failures =
      SweepEnomem(pt, iovas, [&] { return pt.Remap(M2 + K4, Va(0x7000), 3 * M2, kProtRead); });
  EXPECT_GT(failures, 3);
  EXPECT_EQ(ToU64(pt.Translate(M2 + K4, kProtRead).translation.Output(M2 + K4)), 0x7000u);
}

// --- Random property test against a reference model -------------------------

// Reference: disjoint segments [start, end) -> (out, prot), split on demand.
class Model {
 public:
  struct Seg {
    uint64_t end;
    uint64_t out;
    uint8_t prot;
  };
  bool AnyMapped(uint64_t a, uint64_t b) const {
    auto it = segs_.upper_bound(a);
    if (it != segs_.begin() && std::prev(it)->second.end > a) return true;
    return it != segs_.end() && it->first < b;
  }
  void Erase(uint64_t a, uint64_t b) {
    SplitAt(a);
    SplitAt(b);
    segs_.erase(segs_.lower_bound(a), segs_.lower_bound(b));
  }
  void Insert(uint64_t a, uint64_t b, uint64_t out, uint8_t prot) {
    Erase(a, b);
    segs_[a] = Seg{b, out, prot};
  }
  // (out, prot) of one address, or prot 0 when unmapped.
  std::pair<uint64_t, uint8_t> Lookup(uint64_t x) const {
    auto it = segs_.upper_bound(x);
    if (it == segs_.begin()) return {0, 0};
    --it;
    if (x >= it->second.end) return {0, 0};
    return {it->second.out + (x - it->first), it->second.prot};
  }
  const std::map<uint64_t, Seg>& segs() const { return segs_; }

 private:
  void SplitAt(uint64_t x) {
    auto it = segs_.upper_bound(x);
    if (it == segs_.begin()) return;
    --it;
    if (it->first < x && x < it->second.end) {
      const Seg seg = it->second;
      it->second.end = x;
      segs_[x] = Seg{seg.end, seg.out + (x - it->first), seg.prot};
    }
  }
  std::map<uint64_t, Seg> segs_;
};

struct RandomCase {
  uint32_t seed;
  int aw;
  uint64_t bitmap;
};

class RandomPropertyTest : public ::testing::TestWithParam<RandomCase> {
 protected:
  static constexpr uint64_t kRegion = 8 * G1;
  static constexpr uint64_t kOutBase = uint64_t{1} << 44;

  uint64_t Aligned(uint64_t align, uint64_t limit) { return (rng_() % (limit / align)) * align; }

  void CheckAddress(const IoPageTable& pt, const Model& model, uint64_t x) {
    const auto [out, prot] = model.Lookup(x);
    WalkResult r = pt.Translate(x, 0);
    if (prot == 0) {
      ASSERT_FALSE(r.ok) << std::hex << x;
      ASSERT_EQ(r.fault, FaultReason::kPteFetch) << std::hex << x;
      return;
    }
    ASSERT_TRUE(r.ok) << std::hex << x;
    ASSERT_EQ(ToU64(r.translation.Output(x)), out) << std::hex << x;
    ASSERT_EQ(r.translation.prot, prot) << std::hex << x;
    ASSERT_TRUE(pt.pgsize_bitmap() & r.translation.leaf_size);
    // A superpage's output must be aligned to it (the low address bits of a
    // 2M/1G entry are reserved).
    ASSERT_TRUE(IsAligned(ToU64(r.translation.output_base), r.translation.leaf_size));
    const uint8_t missing = static_cast<uint8_t>(kRW & ~prot);
    if (missing != 0) {
      ASSERT_EQ(pt.Translate(x, missing).fault, FaultReason::kPermission);
    }
  }

  // TranslateRange of a window against chunks derived from the model.
  void CheckWindow(const IoPageTable& pt, const Model& model, uint64_t x, uint64_t len) {
    std::vector<std::pair<HostVa, uint64_t>> got;
    WalkResult r = pt.TranslateRange(x, len, kProtRead, &got);
    std::vector<std::pair<HostVa, uint64_t>> want;
    uint64_t cur = x;
    bool ok = true;
    FaultReason fault = FaultReason::kUnknown;
    while (cur < x + len) {
      auto it = model.segs().upper_bound(cur);
      if (it == model.segs().begin() || std::prev(it)->second.end <= cur) {
        ok = false;
        fault = FaultReason::kPteFetch;
        break;
      }
      --it;
      if (!(it->second.prot & kProtRead)) {
        ok = false;
        fault = FaultReason::kPermission;
        break;
      }
      const uint64_t n = std::min(it->second.end, x + len) - cur;
      const HostVa o = HostVa{it->second.out + (cur - it->first)};
      if (!want.empty() && want.back().first + want.back().second == o) {
        want.back().second += n;
      } else {
        want.emplace_back(o, n);
      }
      cur += n;
    }
    ASSERT_EQ(r.ok, ok) << std::hex << x << " " << len;
    if (!ok) {
      ASSERT_EQ(r.fault, fault);
      ASSERT_EQ(r.fault_addr, cur);
    }
    ASSERT_EQ(got, want) << std::hex << x << " " << len;
  }

  std::mt19937_64 rng_;
};

TEST_P(RandomPropertyTest, AgreesWithReferenceModel) {
  const RandomCase c = GetParam();
  rng_.seed(c.seed);
  IoPageTable pt(c.aw, c.bitmap);
  Model model;
  int counts[3] = {};
  int enomem = 0, eexist = 0;
  for (int step = 0; step < 1000; ++step) {
    const unsigned ak = rng_() % 10;
    const uint64_t align = ak < 5 ? K4 : ak < 8 ? M2 : G1;
    uint64_t iova = Aligned(align, kRegion);
    if (!model.segs().empty() && rng_() % 10 < 4) {
      // Near an edge of an existing segment, where overlaps and splits happen.
      auto it = model.segs().begin();
      std::advance(it, rng_() % model.segs().size());
      const uint64_t edge = rng_() % 2 ? it->first : it->second.end;
      const uint64_t delta = (rng_() % 8) * K4;
      iova = rng_() % 2 ? edge + delta : (edge >= delta ? edge - delta : edge);
      if (iova >= kRegion) iova = kRegion - K4;
    }
    uint64_t size;
    const unsigned sk = rng_() % 10;
    if (sk < 4) {
      size = (1 + rng_() % 64) * K4;
    } else if (sk < 7) {
      size = (1 + rng_() % 8) * M2 + (rng_() % 3 ? 0 : (1 + rng_() % 511) * K4);
    } else if (sk < 9) {
      size = (1 + rng_() % 3) * G1 + (rng_() % 2 ? 0 : (1 + rng_() % 511) * M2);
    } else {
      size = (1 + rng_() % 16384) * K4;
    }
    size = std::min(size, kRegion - iova);
    // Mostly outputs congruent with the IOVA (superpages possible), else any page.
    const uint64_t out = rng_() % 10 < 7 ? kOutBase + iova : kOutBase + Aligned(K4, kRegion);
    const uint8_t prot = static_cast<uint8_t>(1 + rng_() % 3);
    const unsigned op = rng_() % 20;
    const bool inject = rng_() % 5 == 0;
    if (inject) FailNth::Arm(1 + rng_() % 8, FailSite::kPageTableAlloc);

    Status s;
    Status want = Status::Ok();
    if (op < 9) {
      s = pt.Map(iova, Va(out), size, prot);
      if (model.AnyMapped(iova, iova + size)) want = Error(EEXIST);
    } else if (op < 16) {
      s = pt.Unmap(iova, size);
    } else {
      s = pt.Remap(iova, Va(out), size, prot);
    }
    const bool fired = inject && FailNth::Fired();
    FailNth::Disarm();
    if (fired && want.ok()) want = Error(ENOMEM);
    ASSERT_EQ(s, want) << "step " << step << " op " << op << std::hex << " iova " << iova
                       << " size " << size;
    enomem += s.err() == ENOMEM;
    eexist += s.err() == EEXIST;
    if (s.ok()) {
      ++counts[op < 9 ? 0 : op < 16 ? 1 : 2];
      if (op < 9 || op >= 16) {
        model.Insert(iova, iova + size, out, prot);
      } else {
        model.Erase(iova, iova + size);
      }
    }

    std::vector<uint64_t> probe = {iova, iova + size - K4, iova + size - 1};
    if (iova >= K4) probe.push_back(iova - K4);
    if (iova + size < kRegion) probe.push_back(iova + size);
    for (int i = 0; i < 48; ++i) probe.push_back(Aligned(1, kRegion));
    for (int i = 0; i < 8; ++i) probe.push_back(iova + Aligned(1, size));
    for (uint64_t x : probe) ASSERT_NO_FATAL_FAILURE(CheckAddress(pt, model, x)) << "step " << step;
    const uint64_t wx = iova >= M2 ? iova - M2 + Aligned(1, M2) : iova;
    ASSERT_NO_FATAL_FAILURE(CheckWindow(pt, model, wx, 1 + rng_() % (size + 2 * M2)));
  }
  // Every kind of operation really happened.
  EXPECT_GT(counts[0], 20);
  EXPECT_GT(counts[1], 20);
  EXPECT_GT(counts[2], 5);
  EXPECT_GT(enomem, 3);
  EXPECT_GT(eexist, 3);
  // Unmapping everything segment by segment leaves the root alone.
  for (const auto& [start, seg] : model.segs()) {
    ASSERT_EQ(pt.Unmap(start, seg.end - start), Status::Ok());
  }
  EXPECT_EQ(pt.table_count(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomPropertyTest,
                         ::testing::Values(RandomCase{1, 48, kAllSizes},
                                           RandomCase{2, 48, kAllSizes},
                                           RandomCase{3, 39, kAllSizes},
                                           RandomCase{4, 57, kAllSizes},
                                           RandomCase{5, 48, K4 | M2}, RandomCase{6, 48, K4}));

}  // namespace
}  // namespace vfiosim::core
