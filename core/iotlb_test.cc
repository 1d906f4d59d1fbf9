#include "core/iotlb.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <iterator>
#include <random>
#include <set>
#include <tuple>
#include <vector>

namespace vfiosim::core {
namespace {

constexpr uint64_t K4 = kPageSize4K;
constexpr uint64_t M2 = kPageSize2M;
constexpr uint64_t G1 = kPageSize1G;
constexpr uint8_t kRW = kProtRead | kProtWrite;

Translation T(uint64_t iova_base, uint64_t out, uint64_t leaf, uint8_t prot = kRW) {
  return Translation{iova_base, HostVa{out}, leaf, prot};
}

// (domain, pasid, translation) of every live entry, as a comparable set.
using Entry = std::tuple<uint32_t, Pasid, uint64_t, uint64_t, uint64_t, uint8_t>;
std::set<Entry> Contents(const Iotlb& tlb) {
  std::set<Entry> s;
  tlb.ForEach([&](uint32_t d, Pasid p, const Translation& t) {
    s.emplace(d, p, t.iova_base, ToU64(t.output_base), t.leaf_size, t.prot);
  });
  return s;
}

TEST(IotlbTest, CapacityRoundsUpToWholeSets) {
  struct Case {
    size_t entries, capacity;
  } cases[] = {{0, 0}, {1, 4}, {4, 4}, {5, 8}, {100, 128}, {4096, 4096},
               {size_t{1} << 40, Iotlb::kMaxEntries}};
  for (const Case& c : cases) {
    EXPECT_EQ(Iotlb(c.entries).capacity(), c.capacity) << c.entries;
  }
}

TEST(IotlbTest, ZeroCapacityDisablesTheCache) {
  Iotlb tlb(0);
  tlb.Insert(1, kNoPasid, T(0, 0x1000, K4));
  EXPECT_EQ(tlb.size(), 0u);
  EXPECT_EQ(tlb.Lookup(1, kNoPasid, 0, kProtRead), nullptr);
  EXPECT_EQ(tlb.Lookup(1, kNoPasid, 0, kProtRead), nullptr);
  EXPECT_EQ(tlb.stats().misses, 2u);
  EXPECT_EQ(tlb.stats().hits, 0u);
  tlb.InvalidateRange(1, 0, ~uint64_t{0});
  tlb.InvalidateAll();
  EXPECT_EQ(tlb.stats().invalidations, 0u);
  EXPECT_EQ(tlb.stats().invalidation_requests, 2u);
}

TEST(IotlbTest, HitsMissesAndTags) {
  Iotlb tlb(64);
  tlb.Insert(1, kNoPasid, T(0x5000, 0x9000, K4));
  tlb.Insert(1, 7, T(G1, 0x40000000, G1, kProtRead));
  tlb.Insert(2, kNoPasid, T(4 * M2, 0xA00000, M2, kProtWrite));
  EXPECT_EQ(tlb.size(), 3u);

  const Translation* t = tlb.Lookup(1, kNoPasid, 0x5123, kProtRead | kProtWrite);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(ToU64(t->Output(0x5123)), 0x9123u);
  t = tlb.Lookup(1, 7, G1 + 12345678, kProtRead);  // anywhere inside the 1G entry
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(ToU64(t->Output(G1 + 12345678)), 0x40000000u + 12345678);
  t = tlb.Lookup(2, kNoPasid, 5 * M2 - 1, kProtWrite);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->leaf_size, M2);
  EXPECT_EQ(tlb.stats().hits, 3u);
  EXPECT_EQ(tlb.stats().misses, 0u);

  // Each tag component matters.
  EXPECT_EQ(tlb.Lookup(2, kNoPasid, 0x5000, kProtRead), nullptr);  // other domain
  EXPECT_EQ(tlb.Lookup(1, 3, 0x5000, kProtRead), nullptr);         // other PASID
  EXPECT_EQ(tlb.Lookup(1, kNoPasid, G1, kProtRead), nullptr);      // PASID-only entry
  EXPECT_EQ(tlb.Lookup(1, kNoPasid, 0x6000, kProtRead), nullptr);  // next page
  EXPECT_EQ(tlb.Lookup(2, kNoPasid, 5 * M2, kProtWrite), nullptr);  // next 2M
  // A cached entry without the requested permission is a miss.
  EXPECT_EQ(tlb.Lookup(1, 7, G1, kProtWrite), nullptr);
  EXPECT_EQ(tlb.Lookup(2, kNoPasid, 4 * M2, kProtRead | kProtWrite), nullptr);
  EXPECT_EQ(tlb.stats().misses, 7u);
  EXPECT_EQ(tlb.stats().hits, 3u);
  tlb.ResetStats();
  EXPECT_EQ(tlb.stats().misses, 0u);
  EXPECT_EQ(tlb.stats().hits, 0u);
  EXPECT_EQ(tlb.size(), 3u);
}

TEST(IotlbTest, MalformedInsertsAreIgnored) {
  Iotlb tlb(16);
  tlb.Insert(1, kNoPasid, T(0x1000, 0, 3 * K4));  // not a leaf size
  tlb.Insert(1, kNoPasid, T(0x1000, 0, M2));      // not aligned to its size
  EXPECT_EQ(tlb.size(), 0u);
}

TEST(IotlbTest, ReinsertRefreshesInPlace) {
  Iotlb tlb(4);
  tlb.Insert(1, kNoPasid, T(0x5000, 0x9000, K4, kProtRead));
  tlb.Insert(1, kNoPasid, T(0x5000, 0x7000, K4, kRW));
  EXPECT_EQ(tlb.size(), 1u);
  EXPECT_EQ(tlb.stats().evictions, 0u);
  const Translation* t = tlb.Lookup(1, kNoPasid, 0x5000, kProtWrite);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(ToU64(t->output_base), 0x7000u);
}

TEST(IotlbTest, EvictsWhenASetIsFullButNeverTheMostRecentlyUsed) {
  Iotlb tlb(4);  // a single 4-way set
  for (uint64_t i = 0; i < 4; ++i) tlb.Insert(1, kNoPasid, T(i * K4, i * K4, K4));
  EXPECT_EQ(tlb.size(), 4u);
  EXPECT_EQ(tlb.stats().evictions, 0u);
  for (uint64_t i = 4; i < 40; ++i) {
    const uint64_t mru = (i - 1 - (i % 3)) * K4;  // some entry inserted before
    const bool cached = tlb.Lookup(1, kNoPasid, mru, kProtRead) != nullptr;
    tlb.Insert(1, kNoPasid, T(i * K4, i * K4, K4));
    EXPECT_EQ(tlb.size(), 4u);
    EXPECT_EQ(tlb.stats().evictions, i - 3);
    if (cached) {
      EXPECT_NE(tlb.Lookup(1, kNoPasid, mru, kProtRead), nullptr) << i;
    }
    EXPECT_NE(tlb.Lookup(1, kNoPasid, i * K4, kProtRead), nullptr) << i;
  }
}

TEST(IotlbTest, SequentialPagesUseAllSets) {
  Iotlb tlb(1024);
  for (uint64_t i = 0; i < 1024; ++i) tlb.Insert(3, kNoPasid, T(i * K4, i * K4, K4));
  EXPECT_EQ(tlb.size(), 1024u);
  EXPECT_EQ(tlb.stats().evictions, 0u);
}

TEST(IotlbTest, RangeInvalidationRemovesOverlappingSuperpagesOnly) {
  Iotlb tlb(256);
  tlb.Insert(1, kNoPasid, T(0, 0, G1));
  tlb.Insert(1, kNoPasid, T(G1, 0, M2));
  tlb.Insert(1, kNoPasid, T(G1 + M2, 0, K4));
  tlb.Insert(1, 9, T(G1 + M2, 0, K4));
  tlb.Insert(1, 9, T(G1 + M2 + K4, 0, K4));
  tlb.Insert(2, kNoPasid, T(G1 + M2, 0, K4));
  // One byte at the end of the 1G entry and the first page of the 2M entry.
  tlb.InvalidateRange(1, G1 - 1, K4);
  EXPECT_EQ(tlb.Lookup(1, kNoPasid, 5, kProtRead), nullptr);
  EXPECT_EQ(tlb.Lookup(1, kNoPasid, G1 + M2 - 1, kProtRead), nullptr);
  EXPECT_NE(tlb.Lookup(1, kNoPasid, G1 + M2, kProtRead), nullptr);
  EXPECT_EQ(tlb.stats().invalidations, 2u);
  // All PASIDs of domain 1, not domain 2; the range ends where the next page starts.
  tlb.InvalidateRange(1, G1 + M2, K4);
  EXPECT_EQ(tlb.Lookup(1, kNoPasid, G1 + M2, kProtRead), nullptr);
  EXPECT_EQ(tlb.Lookup(1, 9, G1 + M2, kProtRead), nullptr);
  EXPECT_NE(tlb.Lookup(1, 9, G1 + M2 + K4, kProtRead), nullptr);
  EXPECT_NE(tlb.Lookup(2, kNoPasid, G1 + M2, kProtRead), nullptr);
  EXPECT_EQ(tlb.size(), 2u);
  EXPECT_EQ(tlb.stats().invalidations, 4u);
  EXPECT_EQ(tlb.stats().invalidation_requests, 2u);
  // Size 0 removes nothing; a size past 2^64 is clipped.
  tlb.InvalidateRange(1, 0, 0);
  EXPECT_EQ(tlb.size(), 2u);
  tlb.InvalidateRange(2, G1, ~uint64_t{0});
  EXPECT_EQ(tlb.size(), 1u);
}

TEST(IotlbTest, PasidDomainAndGlobalInvalidation) {
  Iotlb tlb(256);
  for (uint32_t d : {1u, 2u}) {
    for (Pasid p : {kNoPasid, Pasid{4}, Pasid{5}}) {
      tlb.Insert(d, p, T(0x1000, 0x1000, K4));
      tlb.Insert(d, p, T(4 * M2, 0, M2));
    }
  }
  EXPECT_EQ(tlb.size(), 12u);
  tlb.InvalidatePasidRange(1, 4, 0, M2);
  EXPECT_EQ(tlb.Lookup(1, 4, 0x1000, kProtRead), nullptr);
  EXPECT_NE(tlb.Lookup(1, 4, 4 * M2, kProtRead), nullptr);
  EXPECT_NE(tlb.Lookup(1, 5, 0x1000, kProtRead), nullptr);
  EXPECT_EQ(tlb.size(), 11u);
  tlb.InvalidatePasid(1, 5);
  EXPECT_EQ(tlb.Lookup(1, 5, 4 * M2, kProtRead), nullptr);
  EXPECT_NE(tlb.Lookup(2, 5, 4 * M2, kProtRead), nullptr);
  EXPECT_EQ(tlb.size(), 9u);
  tlb.InvalidateDomain(2);
  EXPECT_EQ(tlb.size(), 3u);
  EXPECT_NE(tlb.Lookup(1, kNoPasid, 0x1000, kProtRead), nullptr);
  tlb.InvalidateAll();
  EXPECT_EQ(tlb.size(), 0u);
  EXPECT_EQ(tlb.Lookup(1, kNoPasid, 0x1000, kProtRead), nullptr);
  EXPECT_EQ(tlb.stats().invalidations, 12u);
  EXPECT_EQ(tlb.stats().invalidation_requests, 4u);
  // The cache is still usable after a full flush.
  tlb.Insert(1, kNoPasid, T(G1, 0, G1));
  EXPECT_NE(tlb.Lookup(1, kNoPasid, G1 + 77, kProtRead), nullptr);
}

// Property: after every invalidation, the live entries are exactly the entries
// before minus those the invalidation covers; every surviving entry still hits.
// Small and huge ranges exercise both the per-page probe and the full scan.
TEST(IotlbTest, RandomInvalidationsRemoveExactlyTheCoveredEntries) {
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    std::mt19937_64 rng(seed);
    Iotlb tlb(seed % 2 ? 512 : 32);  // 32: evictions interleave with the rest
    const Pasid pasids[] = {kNoPasid, 1, 2};
    const uint64_t leaves[] = {K4, M2, G1};
    for (int step = 0; step < 3000; ++step) {
      const uint32_t domain = 1 + rng() % 2;
      const Pasid pasid = pasids[rng() % 3];
      if (rng() % 4 != 0) {
        const uint64_t leaf = leaves[rng() % 10 < 6 ? 0 : rng() % 2 + 1];
        const uint64_t base = (rng() % (4 * G1 / leaf)) * leaf;
        tlb.Insert(domain, pasid, T(base, rng() % (uint64_t{1} << 40) & ~(leaf - 1), leaf));
        continue;
      }
      const std::set<Entry> before = Contents(tlb);
      ASSERT_EQ(before.size(), tlb.size());
      // 0 range, 1 PASID range, 2 PASID, 3 domain, 4 range to 2^64, 5 all.
      static constexpr unsigned kKinds[] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 4, 4, 4, 5};
      const unsigned kind = kKinds[rng() % std::size(kKinds)];
      uint64_t first = (rng() % (4 * G1 / K4)) * K4 + (rng() % 2 ? rng() % K4 : 0);
      uint64_t size = rng() % 4 == 0 ? (rng() % 64) * M2 : (rng() % 64) * K4 + rng() % 3;
      if (kind == 4) size = ~uint64_t{0} - first + 1 + rng() % 5;  // to 2^64 and past it
      auto covered = [&](const Entry& e) {
        const auto& [d, p, base, out, leaf, prot] = e;
        if (d != domain) return false;
        switch (kind) {
          case 0:
          case 4: break;  // InvalidateRange: all PASIDs
          case 1:
            if (p != pasid) return false;
            break;
          case 2: return p == pasid;  // InvalidatePasid
          case 3: return true;        // InvalidateDomain
          case 5: return true;        // InvalidateAll (checked separately)
        }
        if (size == 0) return false;
        const uint64_t last = first + size - 1 < first ? ~uint64_t{0} : first + size - 1;
        return base <= last && base + leaf - 1 >= first;
      };
      switch (kind) {
        case 0:
        case 4: tlb.InvalidateRange(domain, first, size); break;
        case 1: tlb.InvalidatePasidRange(domain, pasid, first, size); break;
        case 2: tlb.InvalidatePasid(domain, pasid); break;
        case 3: tlb.InvalidateDomain(domain); break;
        case 5: tlb.InvalidateAll(); break;
      }
      std::set<Entry> want;
      if (kind != 5) {
        for (const Entry& e : before) {
          if (!covered(e)) want.insert(e);
        }
      }
      ASSERT_EQ(Contents(tlb), want) << "seed " << seed << " step " << step << " kind " << kind;
      ASSERT_EQ(tlb.size(), want.size());
      // Every survivor hits (possibly through another live entry that covers
      // the same address, e.g. a 4K entry inside a cached 2M one).
      for (const auto& [d, p, base, out, leaf, prot] : want) {
        const uint64_t addr = base + leaf - 1;
        const Translation* t = tlb.Lookup(d, p, addr, kProtRead);
        ASSERT_NE(t, nullptr);
        ASSERT_TRUE(want.count(Entry{d, p, t->iova_base, ToU64(t->output_base), t->leaf_size,
                                     t->prot}));
        ASSERT_TRUE(addr >= t->iova_base && addr - t->iova_base < t->leaf_size);
      }
    }
    EXPECT_GT(tlb.stats().invalidations, 100u);
    if (tlb.capacity() == 32) {
      EXPECT_GT(tlb.stats().evictions, 100u);
    }
  }
}

}  // namespace
}  // namespace vfiosim::core
