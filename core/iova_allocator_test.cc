#include "core/iova_allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/fault_injection.h"
#include "core/linear_scan_iova_allocator.h"

namespace vfiosim::core {

// Readable failure messages for IovaRange.
void PrintTo(const IovaRange& r, std::ostream* os) {
  *os << std::hex << "[0x" << r.start << ", 0x" << r.last << "]";
}

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMax = ~uint64_t{0};
constexpr IovaRange k4G{0, 0xFFFF'FFFFull};
constexpr IovaRange k48Bit{0, (uint64_t{1} << 48) - 1};
constexpr IovaRange kMsiWindow{0xFEE0'0000ull, 0xFEEF'FFFFull};

IovaAllocator MakeAllocator(IovaRange space, uint64_t granule = kPage) {
  Result<IovaAllocator> a = IovaAllocator::Create(space, granule);
  if (!a.ok()) {
    ADD_FAILURE() << "Create failed: " << a.err();
    a = IovaAllocator::Create({0, kPage - 1}, kPage);  // keep the test running
  }
  return std::move(a).value();
}

// Everything observable about an allocator, to prove a failed call changed nothing.
struct Snapshot {
  std::vector<IovaRange> allocations;
  std::vector<IovaRange> reserved;
  size_t count = 0;
  uint64_t bytes = 0;
  bool operator==(const Snapshot&) const = default;
};

template <typename Allocator>
Snapshot Snap(const Allocator& a) {
  Snapshot s;
  a.ForEach([&](const IovaRange& r) { s.allocations.push_back(r); });
  a.ForEachReserved([&](const IovaRange& r) { s.reserved.push_back(r); });
  s.count = a.allocated_count();
  s.bytes = a.allocated_bytes();
  return s;
}

// Disarms fault injection even when an assertion returns early.
struct FailNthGuard {
  ~FailNthGuard() { FailNth::Disarm(); }
};

// ---- Create ----

struct CreateCase {
  const char* name;
  IovaRange space;
  uint64_t granule;
  int want_err;  // 0 = ok
};

TEST(IovaAllocatorCreateTest, ValidatesSpaceAndGranule) {
  const CreateCase cases[] = {
      {"4G_4K", k4G, kPage, 0},
      {"full_64bit", {0, kMax}, kPage, 0},
      {"granule_64K", {0x10000, 0x1FFFF}, 0x10000, 0},
      {"granule_zero", k4G, 0, EINVAL},
      {"granule_2K", k4G, 2048, EINVAL},
      {"granule_not_pow2", k4G, 3 * kPage, EINVAL},
      {"start_unaligned", {0x800, 0xFFFF'FFFF}, kPage, EINVAL},
      {"end_unaligned", {0, 0xFFFF'FFFE}, kPage, EINVAL},
      {"end_unaligned_64K", {0, 0x1'0FFF}, 0x10000, EINVAL},
      {"last_before_start", {0x2000, 0xFFF}, kPage, EINVAL},
  };
  for (const CreateCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<IovaAllocator> a = IovaAllocator::Create(c.space, c.granule);
    EXPECT_EQ(a.err(), c.want_err);
    if (c.want_err == 0) {
      ASSERT_TRUE(a.ok());
      EXPECT_EQ(a->space(), c.space);
      EXPECT_EQ(a->granule(), c.granule);
      EXPECT_EQ(a->allocated_count(), 0u);
      EXPECT_TRUE(a->CheckInvariants());
    }
  }
}

// ---- Alloc placement (table-driven) ----

struct Step {
  uint64_t size;
  uint64_t limit_last;
  uint64_t want_start;  // ignored when want_err != 0
  uint64_t want_last;
  int want_err = 0;
};

struct PlacementCase {
  std::string name;
  IovaRange space;
  std::vector<IovaRange> reserved;
  std::vector<Step> steps;
};

Step Ok(uint64_t size, uint64_t start, uint64_t last, uint64_t limit = kMax) {
  return Step{size, limit, start, last, 0};
}
Step Fails(uint64_t size, int err, uint64_t limit = kMax) { return Step{size, limit, 0, 0, err}; }

std::vector<PlacementCase> PlacementCases() {
  std::vector<PlacementCase> cases = {
      {"FirstPageLandsAtTopOf4G", k4G, {}, {Ok(kPage, 0xFFFF'F000, 0xFFFF'FFFF)}},
      {"ThreePagesAlignedToFourButTakeThree",
       k4G,
       {},
       {Ok(3 * kPage, 0xFFFF'C000, 0xFFFF'EFFF), Ok(kPage, 0xFFFF'F000, 0xFFFF'FFFF)}},
      {"TopDownFillsHolesLeftByAlignment",
       k4G,
       {},
       {Ok(kPage, 0xFFFF'F000, 0xFFFF'FFFF), Ok(2 * kPage, 0xFFFF'C000, 0xFFFF'DFFF),
        Ok(kPage, 0xFFFF'E000, 0xFFFF'EFFF), Ok(kPage, 0xFFFF'B000, 0xFFFF'BFFF)}},
      {"ByteSizesRoundUpToGranules",
       k4G,
       {},
       {Ok(1, 0xFFFF'F000, 0xFFFF'FFFF), Ok(kPage + 1, 0xFFFF'C000, 0xFFFF'DFFF),
        Ok(kPage - 1, 0xFFFF'E000, 0xFFFF'EFFF)}},
      {"LargeAlignedBlockBelowSmallOnes",
       k4G,
       {},
       {Ok(kPage, 0xFFFF'F000, 0xFFFF'FFFF), Ok(0x10'0000, 0xFFE0'0000, 0xFFEF'FFFF)}},
      {"LimitLastPicksHighestSlotBelowIt",
       k48Bit,
       {},
       {Ok(kPage, 0xFFFF'F000, 0xFFFF'FFFF, 0xFFFF'FFFF), Ok(kPage, 0x1'1000, 0x1'1FFF, 0x1'2345),
        Ok(kPage, 0x0, 0xFFF, 0xFFF), Fails(kPage, ENOSPC, 0xFFE), Ok(kPage, 0x1000, 0x1FFF, 0x1FFF),
        Fails(kPage, ENOSPC, 0x1FFF), Ok(2 * kPage, 0x1'2000, 0x1'3FFF, 0x1'4000),
        Ok(kPage, 0xFFFF'FFFF'F000, 0xFFFF'FFFF'FFFF)}},
      {"LimitBelowSpaceIsEnospc",
       {0x10'0000, 0x1F'FFFF},
       {},
       {Fails(kPage, ENOSPC, 0xF'FFFF), Ok(kPage, 0x10'0000, 0x10'0FFF, 0x10'0FFF),
        Ok(kPage, 0x1F'F000, 0x1F'FFFF, kMax)}},
      {"LimitStraddlingAnAllocation",
       k4G,
       {},
       {Ok(0x10'0000, 0xFFF0'0000, 0xFFFF'FFFF), Ok(kPage, 0xFFEF'F000, 0xFFEF'FFFF, 0xFFF8'0000)}},
      {"MsiWindowSkippedByLargeBlock",
       k4G,
       {kMsiWindow},
       {Ok(0x200'0000, 0xFC00'0000, 0xFDFF'FFFF), Ok(kPage, 0xFEDF'F000, 0xFEDF'FFFF, 0xFEEF'FFFF),
        Ok(kPage, 0xFFFF'F000, 0xFFFF'FFFF)}},
      {"ExhaustionIsEnospc",
       {0x1'0000, 0x1'3FFF},
       {},
       {Ok(kPage, 0x1'3000, 0x1'3FFF), Ok(kPage, 0x1'2000, 0x1'2FFF), Ok(kPage, 0x1'1000, 0x1'1FFF),
        Ok(kPage, 0x1'0000, 0x1'0FFF), Fails(kPage, ENOSPC), Fails(1, ENOSPC)}},
      {"WholeSmallSpaceInOneBlock",
       {0x1'0000, 0x1'3FFF},
       {},
       {Fails(5 * kPage, ENOSPC), Ok(4 * kPage, 0x1'0000, 0x1'3FFF), Fails(kPage, ENOSPC)}},
      {"AlignmentCanFailDespiteEnoughFreeGranules",
       {0x1'1000, 0x1'4FFF},
       {},
       {Fails(4 * kPage, ENOSPC), Fails(3 * kPage, ENOSPC), Ok(2 * kPage, 0x1'2000, 0x1'3FFF),
        Ok(kPage, 0x1'4000, 0x1'4FFF), Ok(kPage, 0x1'1000, 0x1'1FFF), Fails(kPage, ENOSPC)}},
      {"ZeroSizeIsEinval", k4G, {}, {Fails(0, EINVAL), Ok(kPage, 0xFFFF'F000, 0xFFFF'FFFF)}},
      {"SizeLargerThanSpace", k48Bit, {}, {Fails(kMax, ENOSPC), Fails(uint64_t{1} << 48 | 1, ENOSPC)}},
      {"Full64BitSpace",
       {0, kMax},
       {},
       {Ok(kPage, 0xFFFF'FFFF'FFFF'F000, kMax), Ok(kPage, 0xFFFF'FFFF'FFFF'E000, 0xFFFF'FFFF'FFFF'EFFF)}},
      {"Full64BitSpaceOneBlock", {0, kMax}, {}, {Ok(kMax, 0, kMax), Fails(1, ENOSPC)}},
  };

  // 1 MiB blocks walk down from the top of 4G and jump over the MSI window.
  PlacementCase mib{"MegabytesJumpOverMsiWindow", k4G, {kMsiWindow}, {}};
  for (uint64_t start = 0xFFF0'0000; start >= 0xFEF0'0000; start -= 0x10'0000) {
    mib.steps.push_back(Ok(0x10'0000, start, start + 0xF'FFFF));
  }
  mib.steps.push_back(Ok(0x10'0000, 0xFED0'0000, 0xFEDF'FFFF));
  cases.push_back(std::move(mib));
  return cases;
}

TEST(IovaAllocatorAllocTest, PlacementTable) {
  for (const PlacementCase& c : PlacementCases()) {
    SCOPED_TRACE(c.name);
    IovaAllocator a = MakeAllocator(c.space);
    for (const IovaRange& r : c.reserved) ASSERT_TRUE(a.Reserve(r).ok());
    size_t live = 0;
    for (size_t i = 0; i < c.steps.size(); ++i) {
      const Step& s = c.steps[i];
      SCOPED_TRACE("step " + std::to_string(i));
      const Snapshot before = Snap(a);
      Result<IovaRange> r = a.Alloc(s.size, s.limit_last);
      ASSERT_EQ(r.err(), s.want_err);
      if (s.want_err != 0) {
        EXPECT_EQ(Snap(a), before);
        continue;
      }
      ++live;
      EXPECT_EQ(*r, (IovaRange{s.want_start, s.want_last}));
      EXPECT_EQ(a.Find(s.want_start), *r);
      EXPECT_EQ(a.Find(s.want_last), *r);
      EXPECT_EQ(a.allocated_count(), live);
      ASSERT_TRUE(a.CheckInvariants());
    }
  }
}

TEST(IovaAllocatorAllocTest, Granule64KRoundsAndAligns) {
  IovaAllocator a = MakeAllocator(k4G, 0x10000);
  Result<IovaRange> one = a.Alloc(1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, (IovaRange{0xFFFF'0000, 0xFFFF'FFFF}));
  Result<IovaRange> three = a.Alloc(3 * 0x10000);  // aligned to 4 granules = 256K
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(*three, (IovaRange{0xFFFC'0000, 0xFFFE'FFFF}));
  // Granule [0x1'0000, 0x1'FFFF] ends above the limit, so only granule 0 is usable.
  Result<IovaRange> low = a.Alloc(1, 0x1'7FFF);
  ASSERT_TRUE(low.ok());
  EXPECT_EQ(*low, (IovaRange{0x0, 0xFFFF}));
  EXPECT_EQ(a.allocated_bytes(), 5 * 0x10000u);
  EXPECT_TRUE(a.CheckInvariants());
}

TEST(IovaAllocatorAllocTest, AllocatedBytesSaturatesForWholeSpace) {
  IovaAllocator a = MakeAllocator({0, kMax});
  ASSERT_TRUE(a.Alloc(kMax).ok());
  EXPECT_EQ(a.allocated_count(), 1u);
  EXPECT_EQ(a.allocated_granules(), uint64_t{1} << 52);
  EXPECT_EQ(a.allocated_bytes(), kMax);
  EXPECT_TRUE(a.Free(0).ok());
  EXPECT_EQ(a.allocated_bytes(), 0u);
}

TEST(IovaAllocatorAllocTest, FreedSlotIsReusedTopDown) {
  IovaAllocator a = MakeAllocator(k4G);
  std::vector<uint64_t> starts;
  for (int i = 0; i < 8; ++i) {
    Result<IovaRange> r = a.Alloc(kPage);
    ASSERT_TRUE(r.ok());
    starts.push_back(r->start);
  }
  ASSERT_TRUE(a.Free(starts[5]).ok());
  ASSERT_TRUE(a.Free(starts[2]).ok());
  // The higher of the two holes wins.
  Result<IovaRange> r = a.Alloc(kPage);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->start, starts[2]);
  r = a.Alloc(kPage);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->start, starts[5]);
  r = a.Alloc(kPage);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->start, starts[7] - kPage);
  EXPECT_TRUE(a.CheckInvariants());
}

// The hole search must not degrade into a scan when many holes are long
// enough but wrongly aligned (the case a plain max-gap tree walks one by one).
TEST(IovaAllocatorAllocTest, SearchSkipsMisalignedHolesInLogarithmicVisits) {
  IovaAllocator a = MakeAllocator(k4G);
  constexpr uint64_t kPages = 8192;
  for (uint64_t i = 0; i < kPages; ++i) ASSERT_TRUE(a.Alloc(kPage).ok());
  const uint64_t low = 0x1'0000'0000 - kPages * kPage;  // lowest allocated page
  // In every 8-page block free pages 1 and 2: 1024 two-page holes, none of
  // which holds a 2-page-aligned pair.
  for (uint64_t block = low; block < 0x1'0000'0000; block += 8 * kPage) {
    ASSERT_TRUE(a.Free(block + kPage).ok());
    ASSERT_TRUE(a.Free(block + 2 * kPage).ok());
  }
  ASSERT_TRUE(a.CheckInvariants());
  const size_t nodes = a.allocated_count();
  ASSERT_EQ(nodes, kPages - 2 * (kPages / 8));
  // An AVL tree of 6144 nodes is at most 18 high; a handful of visits per
  // level is logarithmic, a scan would be over 1000.
  constexpr uint64_t kMaxVisits = 4 * 18;

  struct VisitCase {
    const char* name;
    uint64_t size;
    uint64_t limit;
    uint64_t want_start;
  };
  const VisitCase cases[] = {
      {"two_pages_below_fragmented_region", 2 * kPage, kMax, low - 2 * kPage},
      {"three_pages_below_fragmented_region", 3 * kPage, kMax, low - 4 * kPage},
      {"one_page_in_highest_hole", kPage, kMax, 0xFFFF'A000},
      {"one_page_below_a_limit", kPage, 0xFE80'0000, 0xFE7F'A000},
  };
  for (const VisitCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<IovaRange> r = a.Alloc(c.size, c.limit);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->start, c.want_start);
    EXPECT_LE(r->last, c.limit);
    EXPECT_GT(a.last_search_visits(), 0u);
    EXPECT_LE(a.last_search_visits(), kMaxVisits);
    RecordProperty(c.name, static_cast<int>(a.last_search_visits()));
    ASSERT_TRUE(a.Free(r->start).ok());
  }
}

// ---- Free ----

TEST(IovaAllocatorFreeTest, ErrorsAreEnoentAndChangeNothing) {
  IovaAllocator a = MakeAllocator(k4G);
  ASSERT_TRUE(a.Reserve(kMsiWindow).ok());
  Result<IovaRange> two = a.Alloc(2 * kPage);
  ASSERT_TRUE(two.ok());
  const uint64_t x = two->start;

  struct FreeCase {
    const char* name;
    uint64_t iova;
  };
  const FreeCase bad[] = {
      {"inside_allocation", x + kPage},
      {"unaligned_start", x + 1},
      {"last_byte", x + 2 * kPage - 1},
      {"nothing_there", 0x1000},
      {"reserved_start", kMsiWindow.start},
      {"outside_space", 0x1'0000'0000},
      {"max", kMax},
  };
  for (const FreeCase& c : bad) {
    SCOPED_TRACE(c.name);
    const Snapshot before = Snap(a);
    EXPECT_EQ(a.Free(c.iova).err(), ENOENT);
    EXPECT_EQ(Snap(a), before);
  }
  EXPECT_TRUE(a.Free(x).ok());
  EXPECT_EQ(a.allocated_count(), 0u);
  EXPECT_EQ(a.Free(x).err(), ENOENT);  // double free
  EXPECT_EQ(a.Find(x), std::nullopt);
  EXPECT_TRUE(a.CheckInvariants());
}

// ---- Find ----

TEST(IovaAllocatorFindTest, OnlyAllocationsAreFound) {
  IovaAllocator a = MakeAllocator(k4G);
  ASSERT_TRUE(a.Reserve(kMsiWindow).ok());
  Result<IovaRange> r = a.Alloc(3 * kPage);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(a.Find(r->start), *r);
  EXPECT_EQ(a.Find(r->start + 5000), *r);
  EXPECT_EQ(a.Find(r->last), *r);
  EXPECT_EQ(a.Find(r->last + 1), std::nullopt);  // alignment hole above it
  EXPECT_EQ(a.Find(r->start - 1), std::nullopt);
  EXPECT_EQ(a.Find(kMsiWindow.start), std::nullopt);  // reserved, not allocated
  EXPECT_EQ(a.Find(kMax), std::nullopt);
}

// ---- Reserve ----

TEST(IovaAllocatorReserveTest, Errors) {
  IovaAllocator a = MakeAllocator({0x10'0000, 0x1FF'FFFF});
  Result<IovaRange> live = a.Alloc(kPage, 0x80'0FFF);
  ASSERT_TRUE(live.ok());
  ASSERT_EQ(live->start, 0x80'0000u);

  struct ReserveCase {
    const char* name;
    IovaRange range;
    int want_err;
  };
  const ReserveCase cases[] = {
      {"last_before_start", {0x20'0000, 0x1F'FFFF}, EINVAL},
      {"below_space", {0x0, 0xFFFF}, EINVAL},
      {"straddles_space_start", {0xF'F000, 0x10'0FFF}, EINVAL},
      {"straddles_space_end", {0x1FF'F000, 0x200'0FFF}, EINVAL},
      {"covers_allocation", {0x70'0000, 0x90'0000}, EEXIST},
      {"inside_allocation", {0x80'0800, 0x80'0801}, EEXIST},
      {"unaligned_end_reaches_allocation", {0x7F'F000, 0x7F'F001 + kPage}, EEXIST},
  };
  for (const ReserveCase& c : cases) {
    SCOPED_TRACE(c.name);
    const Snapshot before = Snap(a);
    EXPECT_EQ(a.Reserve(c.range).err(), c.want_err);
    EXPECT_EQ(Snap(a), before);
  }
  // Touching (not overlapping) the allocation is fine and does not merge with it.
  EXPECT_TRUE(a.Reserve({0x7F'F000, 0x7F'FFFF}).ok());
  EXPECT_TRUE(a.Reserve({0x80'1000, 0x80'1FFF}).ok());
  EXPECT_EQ(a.Find(0x80'0000), *live);
  EXPECT_EQ(Snap(a).reserved,
            (std::vector<IovaRange>{{0x7F'F000, 0x7F'FFFF}, {0x80'1000, 0x80'1FFF}}));
  EXPECT_TRUE(a.CheckInvariants());
}

TEST(IovaAllocatorReserveTest, MergesOverlappingAndTouchingRanges) {
  IovaAllocator a = MakeAllocator(k4G);
  struct MergeStep {
    IovaRange reserve;
    std::vector<IovaRange> want;
  };
  const MergeStep steps[] = {
      {{0x1'0000, 0x1'FFFF}, {{0x1'0000, 0x1'FFFF}}},
      {{0x1'8000, 0x2'FFFF}, {{0x1'0000, 0x2'FFFF}}},                          // overlap
      {{0x3'0000, 0x3'0FFF}, {{0x1'0000, 0x3'0FFF}}},                          // touching its end
      {{0x5'0000, 0x5'FFFF}, {{0x1'0000, 0x3'0FFF}, {0x5'0000, 0x5'FFFF}}},    // disjoint
      {{0x4'F000, 0x4'FFFF}, {{0x1'0000, 0x3'0FFF}, {0x4'F000, 0x5'FFFF}}},    // touching its start
      {{0x2'0000, 0x2'0FFF}, {{0x1'0000, 0x3'0FFF}, {0x4'F000, 0x5'FFFF}}},    // already covered
      {{0x4'1800, 0x4'1800}, {{0x1'0000, 0x3'0FFF}, {0x4'1000, 0x4'1FFF}, {0x4'F000, 0x5'FFFF}}},
      {{0x0'F000, 0x6'0000}, {{0x0'F000, 0x6'0FFF}}},                          // swallows all
  };
  for (const MergeStep& s : steps) {
    ASSERT_TRUE(a.Reserve(s.reserve).ok());
    EXPECT_EQ(Snap(a).reserved, s.want);
    EXPECT_EQ(a.allocated_count(), 0u);
    ASSERT_TRUE(a.CheckInvariants());
  }
  // Allocations never land in a reserved range, even when only it is left.
  IovaAllocator small = MakeAllocator({0x1'0000, 0x1'3FFF});
  ASSERT_TRUE(small.Reserve({0x1'2000, 0x1'2FFF}).ok());
  std::vector<uint64_t> got;
  for (;;) {
    Result<IovaRange> r = small.Alloc(kPage);
    if (!r.ok()) {
      EXPECT_EQ(r.err(), ENOSPC);
      break;
    }
    got.push_back(r->start);
  }
  EXPECT_EQ(got, (std::vector<uint64_t>{0x1'3000, 0x1'1000, 0x1'0000}));
}

// ---- fault injection ----

TEST(IovaAllocatorFailNthTest, AllocEnomemLeavesStateUnchanged) {
  FailNthGuard guard;
  IovaAllocator a = MakeAllocator(k4G);
  ASSERT_TRUE(a.Reserve(kMsiWindow).ok());
  ASSERT_TRUE(a.Alloc(kPage).ok());
  const Snapshot before = Snap(a);

  FailNth::Arm(1, FailSite::kIovaAlloc);
  EXPECT_EQ(a.Alloc(2 * kPage).err(), ENOMEM);
  EXPECT_TRUE(FailNth::Fired());
  EXPECT_EQ(Snap(a), before);
  EXPECT_TRUE(a.CheckInvariants());
  FailNth::Disarm();

  // The retry gets exactly the slot the failed call would have taken.
  Result<IovaRange> r = a.Alloc(2 * kPage);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->start, 0xFFFF'C000u);
}

TEST(IovaAllocatorFailNthTest, ShouldFailIsOnlyConsultedWhenANodeIsNeeded) {
  FailNthGuard guard;
  IovaAllocator a = MakeAllocator({0x1'0000, 0x1'0FFF});
  ASSERT_TRUE(a.Reserve({0x1'0000, 0x1'0FFF}).ok());
  FailNth::Arm(1, FailSite::kIovaAlloc);
  EXPECT_EQ(a.Alloc(kPage).err(), ENOSPC);              // nothing fits: no node
  EXPECT_EQ(a.Alloc(0).err(), EINVAL);                  // rejected: no node
  EXPECT_TRUE(a.Reserve({0x1'0000, 0x1'0FFF}).ok());    // already covered: no node
  EXPECT_EQ(a.Free(0x1'0000).err(), ENOENT);
  EXPECT_EQ(FailNth::Calls(), 0u);
  EXPECT_FALSE(FailNth::Fired());
}

TEST(IovaAllocatorFailNthTest, ReserveEnomemKeepsRangesUnmerged) {
  FailNthGuard guard;
  IovaAllocator a = MakeAllocator(k4G);
  ASSERT_TRUE(a.Reserve({0x1'0000, 0x1'FFFF}).ok());
  ASSERT_TRUE(a.Reserve({0x3'0000, 0x3'FFFF}).ok());
  ASSERT_TRUE(a.Alloc(kPage).ok());
  const Snapshot before = Snap(a);
  FailNth::Arm(1, FailSite::kIovaAlloc);
  EXPECT_EQ(a.Reserve({0x1'8000, 0x3'8000}).err(), ENOMEM);
  EXPECT_EQ(Snap(a), before);
  EXPECT_TRUE(a.CheckInvariants());
  FailNth::Disarm();
  ASSERT_TRUE(a.Reserve({0x1'8000, 0x3'8000}).ok());
  EXPECT_EQ(Snap(a).reserved, (std::vector<IovaRange>{{0x1'0000, 0x3'FFFF}}));
}

// Fails every allocation point of a fixed script in turn (fail-nth over all
// sites): each injected failure must be ENOMEM with the state untouched, and
// the script must then carry on exactly like the reference run.
TEST(IovaAllocatorFailNthTest, EveryInjectionPointOfAScript) {
  FailNthGuard guard;
  auto run = [](uint64_t fail_nth, std::vector<std::string>& log) {
    if (fail_nth != 0) FailNth::Arm(fail_nth);
    IovaAllocator a = MakeAllocator(k4G);
    auto record = [&](const char* op, const Snapshot& before, int err, uint64_t value) {
      if (err == ENOMEM) {
        EXPECT_EQ(Snap(a), before) << op;
        EXPECT_TRUE(a.CheckInvariants()) << op;
      }
      log.push_back(std::string(op) + " " + std::to_string(err) + " " + std::to_string(value));
    };
    const uint64_t sizes[] = {kPage, 3 * kPage, kPage, 0x10'0000, 2 * kPage};
    std::vector<uint64_t> live;
    Snapshot before = Snap(a);
    record("reserve", before, a.Reserve(kMsiWindow).err(), 0);
    for (uint64_t size : sizes) {
      before = Snap(a);
      Result<IovaRange> r = a.Alloc(size);
      record("alloc", before, r.err(), r.ok() ? r->start : 0);
      if (r.ok()) live.push_back(r->start);
    }
    if (live.size() > 1) {
      before = Snap(a);
      record("free", before, a.Free(live[1]).err(), 0);
    }
    before = Snap(a);
    record("reserve2", before, a.Reserve({0x1000, 0x1FFF}).err(), 0);
    before = Snap(a);
    Result<IovaRange> r = a.Alloc(kPage);
    record("alloc_last", before, r.err(), r.ok() ? r->start : 0);
    EXPECT_TRUE(a.CheckInvariants());
  };
  std::vector<std::string> reference;
  run(0, reference);
  const std::string enomem = " " + std::to_string(ENOMEM) + " ";
  int injected = 0;
  for (uint64_t n = 1;; ++n) {
    std::vector<std::string> log;
    run(n, log);
    const bool fired = FailNth::Fired();
    FailNth::Disarm();
    if (!fired) break;
    ++injected;
    SCOPED_TRACE("n=" + std::to_string(n));
    ASSERT_EQ(log.size(), reference.size());
    // Identical to the reference up to the injected failure, which is the
    // only ENOMEM; later ops may legitimately differ (different free space).
    size_t i = 0;
    while (i < log.size() && log[i] == reference[i]) ++i;
    ASSERT_LT(i, log.size());
    EXPECT_NE(log[i].find(enomem), std::string::npos) << log[i];
    for (size_t j = i + 1; j < log.size(); ++j) EXPECT_EQ(log[j].find(enomem), std::string::npos);
  }
  EXPECT_EQ(injected, 8);  // 2 reserves + 5 allocs + 1 final alloc
}

// ---- move ----

TEST(IovaAllocatorMoveTest, MovedToKeepsStateMovedFromIsEmpty) {
  IovaAllocator a = MakeAllocator(k4G);
  ASSERT_TRUE(a.Alloc(kPage).ok());
  IovaAllocator b = std::move(a);
  EXPECT_EQ(b.allocated_count(), 1u);
  EXPECT_TRUE(b.Find(0xFFFF'F000).has_value());
  EXPECT_EQ(a.allocated_count(), 0u);  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_TRUE(a.CheckInvariants());
  Result<IovaRange> r = a.Alloc(kPage);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->start, 0xFFFF'F000u);
  a = std::move(b);
  EXPECT_EQ(a.allocated_count(), 1u);
  EXPECT_TRUE(a.CheckInvariants());
}

// ---- randomized comparison with the linear-scan reference model ----

struct PropertyCase {
  const char* name;
  IovaRange space;
  uint32_t seed;
  int ops;
};

void PrintTo(const PropertyCase& c, std::ostream* os) { *os << c.name << " seed " << c.seed; }

class IovaAllocatorPropertyTest : public ::testing::TestWithParam<PropertyCase> {};

TEST_P(IovaAllocatorPropertyTest, MatchesLinearScanModel) {
  const PropertyCase& pc = GetParam();
  IovaAllocator tree = MakeAllocator(pc.space);
  Result<LinearScanIovaAllocator> model_or = LinearScanIovaAllocator::Create(pc.space, kPage);
  ASSERT_TRUE(model_or.ok());
  LinearScanIovaAllocator model = std::move(model_or).value();

  std::mt19937_64 rng(pc.seed);
  auto uniform = [&](uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  auto random_addr = [&] { return uniform(pc.space.start, pc.space.last); };
  std::vector<uint64_t> live;
  int allocs_ok = 0, enospc = 0, frees_ok = 0, eexist = 0;
  // Capped so that reservations cannot swallow a small space.
  int reserves_ok = 0;
  const int max_reserves = pc.space.size() <= 1024 * kPage ? 12 : 400;

  for (int op = 0; op < pc.ops; ++op) {
    SCOPED_TRACE("op " + std::to_string(op));
    const uint64_t kind = uniform(0, 99);
    if (kind < 45) {
      uint64_t size;
      const uint64_t shape = uniform(0, 9);
      if (shape < 6) {
        size = uniform(1, 8) * kPage;
      } else if (shape < 8) {
        size = uniform(1, 40000);
      } else if (shape < 9) {
        size = uniform(1, 64) * kPage;
      } else {
        size = uniform(1, 1024) * kPage;  // also alignment orders above kFitOrders
      }
      const uint64_t limit = uniform(0, 4) == 0 ? random_addr() : kMax;
      Result<IovaRange> a = tree.Alloc(size, limit);
      Result<IovaRange> b = model.Alloc(size, limit);
      ASSERT_EQ(a.err(), b.err()) << "size " << size << " limit " << limit;
      if (a.ok()) {
        ASSERT_EQ(*a, *b);
        live.push_back(a->start);
        ++allocs_ok;
      } else {
        ASSERT_EQ(a.err(), ENOSPC);
        ++enospc;
      }
    } else if (kind < 80) {
      uint64_t iova;
      size_t idx = 0;
      const bool bogus = live.empty() || uniform(0, 9) == 0;
      if (bogus) {
        iova = random_addr();
      } else {
        idx = uniform(0, live.size() - 1);
        iova = live[idx];
      }
      const Status a = tree.Free(iova);
      ASSERT_EQ(a, model.Free(iova));
      if (a.ok()) {
        ++frees_ok;
        if (bogus) {
          std::erase(live, iova);
        } else {
          live[idx] = live.back();
          live.pop_back();
        }
      }
    } else if (kind < 82 && reserves_ok < max_reserves) {
      // Half of the reservations aim next to live allocations so that EEXIST
      // and touching/merging cases happen even in a huge space.
      uint64_t start = random_addr();
      if (!live.empty() && uniform(0, 1) == 0) {
        const uint64_t near = live[uniform(0, live.size() - 1)];
        start = std::clamp(near + uniform(0, 8 * kPage), pc.space.start + 4 * kPage, pc.space.last) -
                4 * kPage;
      }
      const uint64_t len = uniform(1, 4 * kPage);
      const IovaRange r{start, start + len <= pc.space.last ? start + len : pc.space.last};
      const Status a = tree.Reserve(r);
      ASSERT_EQ(a, model.Reserve(r));
      if (a.err() == EEXIST) ++eexist;
      if (a.ok()) ++reserves_ok;
    } else {
      const uint64_t iova = (!live.empty() && uniform(0, 1) == 0)
                                ? live[uniform(0, live.size() - 1)] + uniform(0, kPage)
                                : random_addr();
      ASSERT_EQ(tree.Find(iova), model.Find(iova));
    }
    if (op % 256 == 0 || op == pc.ops - 1) {
      ASSERT_TRUE(tree.CheckInvariants());
      ASSERT_EQ(Snap(tree), Snap(model));
    }
  }
  // The mix must actually have exercised the interesting paths.
  EXPECT_GT(allocs_ok, pc.ops / 10);
  EXPECT_GT(frees_ok, pc.ops / 10);
  EXPECT_GT(eexist, 0);
  if (pc.space.size() <= 1024 * kPage) {
    EXPECT_GT(enospc, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Seeds, IovaAllocatorPropertyTest,
    ::testing::Values(PropertyCase{"small_space_a", {0x10'0000, 0x10'0000 + 512 * kPage - 1}, 1, 6000},
                      PropertyCase{"small_space_b", {0x10'0000, 0x10'0000 + 300 * kPage - 1}, 2, 6000},
                      PropertyCase{"tiny_space", {0x3000, 0x3000 + 37 * kPage - 1}, 3, 4000},
                      PropertyCase{"space_4g", k4G, 4, 8000},
                      PropertyCase{"space_48bit", k48Bit, 5, 8000}),
    [](const ::testing::TestParamInfo<PropertyCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace vfiosim::core
