#include "core/pasid_allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/fault_injection.h"

namespace vfiosim::core {
namespace {

constexpr Pasid kMax20 = (1u << 20) - 1;

// Snapshot of the allocator's (pasid -> owner) relation, for "no state
// change" checks and invariant checks.
std::map<Pasid, PasidOwner> Snapshot(const PasidAllocator& a) {
  std::map<Pasid, PasidOwner> m;
  a.ForEach([&](Pasid p, PasidOwner o) { m.emplace(p, o); });
  return m;
}

// Invariants of the header: PASID 0 never allocated, all in range, counts
// consistent with ForEach.
void CheckInvariants(const PasidAllocator& a) {
  std::map<PasidOwner, size_t> per_owner;
  size_t n = 0;
  Pasid last = 0;
  a.ForEach([&](Pasid p, PasidOwner o) {
    EXPECT_NE(p, 0u);
    EXPECT_LE(p, a.max_pasid());
    EXPECT_GT(p, last) << "ForEach must be in increasing order";
    last = p;
    ++per_owner[o];
    ++n;
  });
  EXPECT_EQ(n, a.allocated_count());
  for (const auto& [owner, count] : per_owner) EXPECT_EQ(a.CountOwnedBy(owner), count);
  // Outside ForEach (f must not re-enter): the point queries agree with it.
  for (const auto& [p, o] : Snapshot(a)) {
    EXPECT_TRUE(a.IsOwnedBy(p, o));
    EXPECT_FALSE(a.IsOwnedBy(p, o + 1));
  }
  EXPECT_FALSE(a.IsOwnedBy(0, 0));
}

class PasidAllocatorTest : public ::testing::Test {
 protected:
  void TearDown() override { FailNth::Disarm(); }
};

TEST_F(PasidAllocatorTest, DefaultsAndEmptyState) {
  PasidAllocator a;
  EXPECT_EQ(a.quota(), 1000u);
  EXPECT_EQ(a.max_pasid(), kMax20);
  EXPECT_EQ(a.allocated_count(), 0u);
  EXPECT_EQ(a.CountOwnedBy(7), 0u);
  EXPECT_FALSE(a.IsOwnedBy(0, 0));
  EXPECT_FALSE(a.IsOwnedBy(1, 7));
  EXPECT_TRUE(Snapshot(a).empty());
}

TEST_F(PasidAllocatorTest, AllocReturnsLowestFreeAndNeverZero) {
  PasidAllocator a;
  for (Pasid want = 1; want <= 5; ++want) {
    Result<Pasid> p = a.Alloc(1, 0, kMax20);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, want);
  }
  ASSERT_TRUE(a.Free(1, 3).ok());
  EXPECT_EQ(*a.Alloc(2, 0, kMax20), 3u);  // hole refilled first, by any owner
  EXPECT_EQ(*a.Alloc(2, 0, kMax20), 6u);
  EXPECT_EQ(*a.Alloc(2, 100, 200), 100u);
  EXPECT_EQ(*a.Alloc(2, 100, 200), 101u);
  EXPECT_TRUE(a.IsOwnedBy(3, 2));
  EXPECT_FALSE(a.IsOwnedBy(3, 1));
  CheckInvariants(a);
}

struct RangeCase {
  const char* name;
  uint32_t bits;
  Pasid min, max;
  int err;         // 0 = success
  Pasid expected;  // when err == 0
};

class PasidRangeTest : public ::testing::TestWithParam<RangeCase> {};

TEST_P(PasidRangeTest, ClampsOrRejects) {
  const RangeCase& c = GetParam();
  PasidAllocator a(c.bits);
  const auto before = Snapshot(a);
  Result<Pasid> p = a.Alloc(1, c.min, c.max);
  if (c.err == 0) {
    ASSERT_TRUE(p.ok()) << "errno " << p.err();
    EXPECT_EQ(*p, c.expected);
  } else {
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.err(), c.err);
    EXPECT_EQ(Snapshot(a), before);
    EXPECT_EQ(a.CountOwnedBy(1), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ranges, PasidRangeTest,
    ::testing::Values(
        RangeCase{"min_gt_max", 20, 5, 4, EINVAL, 0},
        RangeCase{"zero_only", 20, 0, 0, ENOSPC, 0},  // regression: PASID 0 is reserved, the range is exhausted
        RangeCase{"above_space", 20, 1u << 20, 1u << 21, EINVAL, 0},
        RangeCase{"far_above_space", 20, 0x80000000u, 0xFFFFFFFFu, EINVAL, 0},
        RangeCase{"zero_clamped_to_one", 20, 0, 10, 0, 1},
        RangeCase{"max_clamped", 20, kMax20, 0xFFFFFFFFu, 0, kMax20},
        RangeCase{"single", 20, 77, 77, 0, 77},
        RangeCase{"top_single", 20, kMax20, kMax20, 0, kMax20},
        RangeCase{"small_space_top", 4, 15, 15, 0, 15},
        RangeCase{"small_space_above", 4, 16, 16, EINVAL, 0},
        RangeCase{"bits_clamped_to_20", 32, 1u << 20, 1u << 20, EINVAL, 0},
        RangeCase{"one_bit_space", 1, 0, 100, 0, 1},
        RangeCase{"bits_zero_clamped_to_one", 0, 1, 1, 0, 1}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(PasidAllocatorTest, ExhaustedRangeIsEnospcWithoutStateChange) {
  PasidAllocator a(20, 100000);
  for (Pasid p = 10; p <= 20; ++p) ASSERT_EQ(*a.Alloc(1, 10, 20), p);
  const auto before = Snapshot(a);
  Result<Pasid> r = a.Alloc(2, 10, 20);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err(), ENOSPC);
  EXPECT_EQ(Snapshot(a), before);
  EXPECT_EQ(a.CountOwnedBy(2), 0u);
  // Outside the crowded range there is room.
  EXPECT_EQ(*a.Alloc(2, 10, 21), 21u);
}

TEST_F(PasidAllocatorTest, WholeSmallSpaceFillsThenEnospc) {
  PasidAllocator a(7, 1000);  // PASIDs 1..127
  for (Pasid want = 1; want <= 127; ++want) ASSERT_EQ(*a.Alloc(9, 0, 0xFFFFFFFF), want);
  EXPECT_EQ(a.Alloc(9, 0, 0xFFFFFFFF).err(), ENOSPC);
  EXPECT_EQ(a.allocated_count(), 127u);
  ASSERT_TRUE(a.Free(9, 64).ok());
  EXPECT_EQ(*a.Alloc(9, 1, 127), 64u);
  CheckInvariants(a);
}

TEST_F(PasidAllocatorTest, QuotaIsPerOwnerAndCheckedFirst) {
  PasidAllocator a(20, 3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a.Alloc(1, 1, kMax20).ok());
  const auto before = Snapshot(a);
  EXPECT_EQ(a.Alloc(1, 1, kMax20).err(), ENOSPC);
  // Quota is checked before the range, so even a bad-but-valid range says ENOSPC.
  EXPECT_EQ(a.Alloc(1, 500, 500).err(), ENOSPC);
  EXPECT_EQ(Snapshot(a), before);
  // Another owner has its own quota.
  EXPECT_TRUE(a.Alloc(2, 1, kMax20).ok());
  // Freeing one gives the slot back.
  ASSERT_TRUE(a.Free(1, 2).ok());
  EXPECT_EQ(*a.Alloc(1, 1, kMax20), 2u);
}

TEST_F(PasidAllocatorTest, ArgumentErrorsComeBeforeQuota) {
  PasidAllocator a(20, 0);
  EXPECT_EQ(a.Alloc(1, 9, 8).err(), EINVAL);
  EXPECT_EQ(a.Alloc(1, 0x100000, 0x100001).err(), EINVAL);  // wholly above the 20-bit space
  EXPECT_EQ(a.Alloc(1, 1, 1).err(), ENOSPC);  // quota 0
}

TEST_F(PasidAllocatorTest, SetQuotaBelowHeldKeepsPasids) {
  PasidAllocator a;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(a.Alloc(1, 1, kMax20).ok());
  a.set_quota(2);
  EXPECT_EQ(a.quota(), 2u);
  EXPECT_EQ(a.CountOwnedBy(1), 5u);
  EXPECT_EQ(a.Alloc(1, 1, kMax20).err(), ENOSPC);
  EXPECT_EQ(a.FreeRange(1, 1, 3), 3u);
  EXPECT_EQ(a.Alloc(1, 1, kMax20).err(), ENOSPC);  // holds 2 == quota
  ASSERT_TRUE(a.Free(1, 4).ok());
  EXPECT_TRUE(a.Alloc(1, 1, kMax20).ok());
}

TEST_F(PasidAllocatorTest, FreeErrors) {
  PasidAllocator a;
  const Pasid p = *a.Alloc(1, 1, kMax20);
  struct Case {
    const char* name;
    PasidOwner owner;
    Pasid pasid;
    int err;
  } cases[] = {
      {"never_allocated", 1, p + 1, ENOENT},
      {"zero", 1, 0, ENOENT},
      {"beyond_space", 1, 1u << 20, ENOENT},
      {"no_pasid", 1, kNoPasid, ENOENT},
      {"other_owner", 2, p, EACCES},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto before = Snapshot(a);
    EXPECT_EQ(a.Free(c.owner, c.pasid).err(), c.err);
    EXPECT_EQ(Snapshot(a), before);
  }
  EXPECT_TRUE(a.Free(1, p).ok());
  EXPECT_EQ(a.Free(1, p).err(), ENOENT);  // double free
  EXPECT_EQ(a.allocated_count(), 0u);
  EXPECT_EQ(a.CountOwnedBy(1), 0u);
}

TEST_F(PasidAllocatorTest, FreeRangeSkipsOthersAndFreeIds) {
  PasidAllocator a;
  // Interleave owners: odd PASIDs to 1, even to 2.
  for (Pasid p = 1; p <= 20; ++p) ASSERT_EQ(*a.Alloc(p % 2 ? 1 : 2, p, p), p);
  ASSERT_TRUE(a.Free(1, 7).ok());
  EXPECT_EQ(a.FreeRange(1, 5, 12), 3u);  // 5, 9, 11 (7 already free)
  for (Pasid p : {5u, 7u, 9u, 11u}) EXPECT_FALSE(a.IsOwnedBy(p, 1)) << p;
  for (Pasid p : {6u, 8u, 10u, 12u}) EXPECT_TRUE(a.IsOwnedBy(p, 2)) << p;
  EXPECT_TRUE(a.IsOwnedBy(3, 1));
  EXPECT_TRUE(a.IsOwnedBy(13, 1));
  EXPECT_EQ(a.FreeRange(1, 12, 11), 0u);   // min > max: nothing
  EXPECT_EQ(a.FreeRange(3, 0, kMax20), 0u);  // unknown owner
  EXPECT_EQ(a.CountOwnedBy(1), 6u);
  EXPECT_EQ(a.CountOwnedBy(2), 10u);
  EXPECT_EQ(a.FreeRange(1, 0, 0xFFFFFFFF), 6u);
  EXPECT_EQ(a.CountOwnedBy(1), 0u);
  EXPECT_EQ(a.allocated_count(), 10u);
  CheckInvariants(a);
}

TEST_F(PasidAllocatorTest, ReleaseOwnerFreesEverythingItHeld) {
  PasidAllocator a;
  std::vector<Pasid> mine;
  for (int i = 0; i < 50; ++i) {
    mine.push_back(*a.Alloc(1, 1, kMax20));
    ASSERT_TRUE(a.Alloc(2, 1, kMax20).ok());
  }
  a.ReleaseOwner(1);
  a.ReleaseOwner(99);  // unknown owner: no-op
  EXPECT_EQ(a.CountOwnedBy(1), 0u);
  EXPECT_EQ(a.CountOwnedBy(2), 50u);
  EXPECT_EQ(a.allocated_count(), 50u);
  for (Pasid p : mine) EXPECT_EQ(a.Free(1, p).err(), ENOENT);
  // The released PASIDs are reusable, lowest first.
  EXPECT_EQ(*a.Alloc(3, 1, kMax20), mine.front());
  CheckInvariants(a);
}

TEST_F(PasidAllocatorTest, InjectedEnomemLeavesStateUnchanged) {
  PasidAllocator a;
  ASSERT_TRUE(a.Alloc(1, 1, kMax20).ok());
  const auto before = Snapshot(a);
  FailNth::Arm(1, FailSite::kPasidAlloc);
  Result<Pasid> r = a.Alloc(5, 1, kMax20);  // new owner and a new chunk-free path
  EXPECT_TRUE(FailNth::Fired());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err(), ENOMEM);
  EXPECT_EQ(Snapshot(a), before);
  EXPECT_EQ(a.CountOwnedBy(5), 0u);
  EXPECT_EQ(a.allocated_count(), 1u);
  FailNth::Disarm();
  EXPECT_EQ(*a.Alloc(5, 1, kMax20), 2u);
}

TEST_F(PasidAllocatorTest, FailNthSweepOverAllocSequence) {
  // Every ShouldFail point of a sequence of allocations, failed in turn:
  // exactly the armed one fails with ENOMEM and nothing else changes.
  for (uint64_t n = 1; n <= 4; ++n) {
    SCOPED_TRACE(n);
    PasidAllocator a;
    FailNth::Arm(n, FailSite::kPasidAlloc);
    std::map<Pasid, PasidOwner> expect;
    for (uint64_t i = 1; i <= 4; ++i) {
      const auto before = Snapshot(a);
      Result<Pasid> r = a.Alloc(i, 1000 * i, kMax20);
      if (i == n) {
        EXPECT_EQ(r.err(), ENOMEM);
        EXPECT_EQ(Snapshot(a), before);
      } else {
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(*r, 1000 * i);
      }
    }
    EXPECT_TRUE(FailNth::Fired());
    FailNth::Disarm();
  }
}

TEST_F(PasidAllocatorTest, SearchCrossesSummaryLevels) {
  // Fill [1, 70000] so the search from 1 must skip > 1000 full leaf words and
  // several full summary words.
  PasidAllocator a(20, 1u << 20);
  for (Pasid p = 1; p <= 70000; ++p) ASSERT_EQ(*a.Alloc(1, 1, kMax20), p);
  EXPECT_EQ(*a.Alloc(1, 1, kMax20), 70001u);
  ASSERT_TRUE(a.Free(1, 65536).ok());  // a hole exactly on a level-2 boundary
  EXPECT_EQ(*a.Alloc(1, 1, kMax20), 65536u);
  ASSERT_TRUE(a.Free(1, 4095).ok());
  ASSERT_TRUE(a.Free(1, 64).ok());
  EXPECT_EQ(*a.Alloc(1, 100, kMax20), 4095u);
  EXPECT_EQ(*a.Alloc(1, 1, kMax20), 64u);
  EXPECT_EQ(a.Alloc(1, 1, 70001).err(), ENOSPC);
  EXPECT_EQ(*a.Alloc(1, 1, 70002), 70002u);
}

TEST_F(PasidAllocatorTest, FullSpaceThenEveryRangeIsEnospc) {
  PasidAllocator a(20, 1u << 20);
  for (Pasid want = 1; want <= kMax20; ++want) {
    Result<Pasid> r = a.Alloc(want % 3, 1, kMax20);
    ASSERT_TRUE(r.ok()) << want;
    ASSERT_EQ(*r, want);
  }
  EXPECT_EQ(a.allocated_count(), size_t{kMax20});
  EXPECT_EQ(a.Alloc(1, 1, kMax20).err(), ENOSPC);
  EXPECT_EQ(a.Alloc(1, kMax20, kMax20).err(), ENOSPC);
  ASSERT_TRUE(a.Free(kMax20 % 3, kMax20).ok());
  EXPECT_EQ(*a.Alloc(0, 1, kMax20), kMax20);
  a.ReleaseOwner(0);
  a.ReleaseOwner(1);
  a.ReleaseOwner(2);
  EXPECT_EQ(a.allocated_count(), 0u);
  EXPECT_EQ(*a.Alloc(1, 1, kMax20), 1u);
}

// Randomized differential test against a std::set reference model.
TEST_F(PasidAllocatorTest, MatchesReferenceModel) {
  PasidAllocator a(12, 40);  // small space: collisions and exhaustion happen
  std::map<Pasid, PasidOwner> model;
  std::mt19937 rng(12345);
  const Pasid top = a.max_pasid();
  for (int step = 0; step < 20000; ++step) {
    const PasidOwner owner = rng() % 5;
    const int op = rng() % 10;
    if (op < 6) {
      Pasid lo = rng() % (top + 3);
      Pasid hi = rng() % (top + 3);
      if (rng() % 4 == 0) std::swap(lo, hi);
      Result<Pasid> r = a.Alloc(owner, lo, hi);
      // Reference.
      int want_err = 0;
      Pasid want = 0;
      const Pasid clo = std::max<Pasid>(lo, 1), chi = std::min<Pasid>(hi, top);
      size_t held = 0;
      for (auto& [p, o] : model) held += o == owner;
      if (lo > hi || clo > chi) {
        want_err = EINVAL;
      } else if (held >= 40) {
        want_err = ENOSPC;
      } else {
        want_err = ENOSPC;
        for (Pasid p = clo; p <= chi; ++p) {
          if (!model.count(p)) {
            want = p;
            want_err = 0;
            break;
          }
        }
      }
      ASSERT_EQ(r.err(), want_err) << "step " << step;
      if (want_err == 0) {
        ASSERT_EQ(*r, want);
        model[want] = owner;
      }
    } else if (op < 8) {
      const Pasid p = rng() % (top + 2);
      auto it = model.find(p);
      const int want_err = it == model.end() ? ENOENT : it->second != owner ? EACCES : 0;
      ASSERT_EQ(a.Free(owner, p).err(), want_err);
      if (want_err == 0) model.erase(it);
    } else if (op < 9) {
      Pasid lo = rng() % (top + 1), hi = rng() % (top + 1);
      size_t want = 0;
      for (auto it = model.begin(); it != model.end();) {
        if (lo <= hi && it->first >= lo && it->first <= hi && it->second == owner) {
          it = model.erase(it);
          ++want;
        } else {
          ++it;
        }
      }
      ASSERT_EQ(a.FreeRange(owner, lo, hi), want);
    } else if (rng() % 8 == 0) {
      a.ReleaseOwner(owner);
      std::erase_if(model, [&](const auto& kv) { return kv.second == owner; });
    }
    if (step % 500 == 0) {
      ASSERT_EQ(Snapshot(a), model);
      CheckInvariants(a);
    }
  }
  EXPECT_EQ(Snapshot(a), model);
}

TEST_F(PasidAllocatorTest, ConcurrentOwnersGetDistinctPasids) {
  PasidAllocator a(20, 100000);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::vector<Pasid>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Result<Pasid> r = a.Alloc(t, 1, kMax20);
        if (r.ok()) got[t].push_back(*r);
        if (i % 3 == 0 && r.ok()) {
          if (a.Free(t, *r).ok()) got[t].pop_back();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<Pasid> all;
  size_t total = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (Pasid p : got[t]) {
      EXPECT_TRUE(a.IsOwnedBy(p, t));
      all.insert(p);
    }
    total += got[t].size();
    EXPECT_EQ(a.CountOwnedBy(t), got[t].size());
  }
  EXPECT_EQ(all.size(), total) << "a PASID was handed out twice";
  EXPECT_EQ(a.allocated_count(), total);
  CheckInvariants(a);
}

}  // namespace
}  // namespace vfiosim::core
