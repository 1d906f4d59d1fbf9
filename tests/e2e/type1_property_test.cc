// Property test (issues 3, 4): random sequences of MAP/UNMAP through the
// uAPI — v1 and v2 containers, 4K/2M/1G-aligned sizes, VADDR invalidate and
// update, UNMAP ALL — against an independent reference model of the type1
// rules. After every step: the uAPI result equals the model's, the kernel
// invariants hold, and device translations (through the IOTLB) give exactly
// the model's host addresses and permissions and fault everywhere else.
#include <gtest/gtest.h>
#include <linux/vfio.h>

#include <map>
#include <random>

#include "api/test_channel.h"
#include "core/invariants.h"
#include "tests/util/vfio_fixture.h"

namespace vfiosim::testing {
namespace {

constexpr uint64_t k4K = 0x1000, k2M = 0x200000, k1G = 0x40000000;

struct Entry {
  uint64_t size;
  uint64_t vaddr;
  uint8_t prot;
  bool vaddr_invalid = false;
};

// The reference: entries keyed by IOVA, with the kernel's unmap rules written
// out independently of core/.
class Model {
 public:
  explicit Model(bool v2) : v2_(v2) {}
  std::map<uint64_t, Entry> entries;

  bool Overlaps(uint64_t iova, uint64_t size) const {
    for (const auto& [start, e] : entries) {
      if (start < iova + size && iova < start + e.size) return true;
    }
    return false;
  }
  // Returns the errno (0 on success) and the unmapped byte count.
  std::pair<int, uint64_t> Unmap(uint64_t iova, uint64_t size, bool invalidate_vaddr) {
    const uint64_t end = iova + size;
    if (v2_) {
      for (const auto& [start, e] : entries) {
        bool holds_first = start <= iova && iova < start + e.size;
        bool holds_last = start <= end - 1 && end - 1 < start + e.size;
        if ((holds_first && start != iova) || (holds_last && start + e.size != end)) return {EINVAL, 0};
      }
    }
    std::vector<uint64_t> hit;
    for (auto& [start, e] : entries) {
      if (start + e.size <= iova) continue;  // before the range
      if (start >= end) break;
      if (!v2_ && start < iova) break;       // v1 stops at an entry starting below the request
      hit.push_back(start);
    }
    uint64_t total = 0;
    if (invalidate_vaddr) {
      for (uint64_t s : hit) {
        if (entries[s].vaddr_invalid) return {EINVAL, 0};
      }
      for (uint64_t s : hit) entries[s].vaddr_invalid = true;
    }
    for (uint64_t s : hit) {
      total += entries[s].size;
      if (!invalidate_vaddr) entries.erase(s);
    }
    return {0, total};
  }
  // What a device access at `iova` must see: host address + prot, or nothing.
  std::optional<std::pair<uint64_t, uint8_t>> Lookup(uint64_t iova) const {
    auto it = entries.upper_bound(iova);
    if (it == entries.begin()) return std::nullopt;
    --it;
    if (iova >= it->first + it->second.size) return std::nullopt;
    return std::make_pair(it->second.vaddr + (iova - it->first), it->second.prot);
  }

 private:
  bool v2_;
};

class Type1PropertyTest : public ::testing::TestWithParam<std::tuple<bool, uint32_t>> {};

TEST_P(Type1PropertyTest, RandomSequencesMatchTheModel) {
  const auto [v2, seed] = GetParam();
  core::MachineConfig machine = sim::DefaultMachineConfig();
  machine.vaddr_policy = core::VaddrPolicy::kTrust;  // vaddrs are only numbers here: no DMA is done
  VfioFixture f(nullptr, machine);
  f.SetUpVfio(v2 ? VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU);
  api::TestChannel channel(f.sim());
  Model model(v2);
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  const uint64_t kUnits[] = {k4K, k2M, k1G};

  for (int step = 0; step < 400; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const int op = static_cast<int>(pick(10));
    const uint64_t unit = kUnits[pick(3)];
    const uint64_t iova = pick(64) * unit + (unit == k1G ? 0x8000000000ull : 0);  // 1G maps far up
    const uint64_t size = (1 + pick(4)) * unit;
    if (op < 5) {
      // MAP: vaddr aligned like the IOVA (superpages) or not (4K leaves).
      uint64_t vaddr = 0x10000000000ull + pick(1 << 16) * (pick(2) ? unit : k4K);
      uint8_t prot = static_cast<uint8_t>(1 + pick(3));
      int want = model.Overlaps(iova, size) ? EEXIST : 0;
      uint32_t flags = (prot & 1 ? VFIO_DMA_MAP_FLAG_READ : 0) | (prot & 2 ? VFIO_DMA_MAP_FLAG_WRITE : 0);
      errno = 0;
      int r = f.Map(iova, size, vaddr, flags);
      ASSERT_EQ(r == 0 ? 0 : errno, want) << "map " << std::hex << iova << "+" << size;
      if (want == 0) model.entries[iova] = Entry{size, vaddr, prot};
    } else if (op < 8) {
      uint64_t unmapped = 0;
      auto [want, want_size] = model.Unmap(iova, size, false);
      errno = 0;
      int r = f.Unmap(iova, size, 0, &unmapped);
      ASSERT_EQ(r == 0 ? 0 : errno, want) << "unmap " << std::hex << iova << "+" << size;
      if (want == 0) {
        EXPECT_EQ(unmapped, want_size);
      }
    } else if (op == 8 && !model.entries.empty()) {
      // VADDR invalidate of one whole entry, then update it to a new address.
      auto it = std::next(model.entries.begin(), static_cast<long>(pick(model.entries.size())));
      uint64_t start = it->first, esize = it->second.size;
      auto [want, want_size] = model.Unmap(start, esize, true);
      uint64_t got = 0;
      errno = 0;
      int r = f.Unmap(start, esize, VFIO_DMA_UNMAP_FLAG_VADDR, &got);
      ASSERT_EQ(r == 0 ? 0 : errno, want);
      if (want == 0) {
        uint64_t new_vaddr = 0x20000000000ull + pick(1 << 16) * k2M;
        ASSERT_OK(f.Map(start, esize, new_vaddr, VFIO_DMA_MAP_FLAG_VADDR));
        model.entries[start].vaddr = new_vaddr;
        model.entries[start].vaddr_invalid = false;
      }
    } else if (op == 9 && pick(8) == 0) {
      uint64_t got = 0;
      ASSERT_OK(f.Unmap(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &got));
      uint64_t want_size = 0;
      for (auto& [s, e] : model.entries) want_size += e.size;
      EXPECT_EQ(got, want_size);
      model.entries.clear();
    }

    std::vector<std::string> violations = core::CheckKernelInvariants(f.sim().kernel());
    ASSERT_TRUE(violations.empty()) << violations.front();
    // Device view through the IOTLB: sampled IOVAs in and around every entry, plus random ones.
    std::vector<uint64_t> probes;
    for (auto& [s, e] : model.entries) {
      probes.push_back(s);
      probes.push_back(s + e.size - k4K);
      probes.push_back(s + e.size);
      if (s >= k4K) probes.push_back(s - k4K);
    }
    for (int i = 0; i < 8; ++i) probes.push_back(pick(256) * k2M + pick(512) * k4K);
    for (uint64_t probe : probes) {
      auto want = model.Lookup(probe);
      auto got = channel.Translate(kEduGroup, probe, core::kProtRead);
      ASSERT_TRUE(got.has_value());
      if (!want || !(want->second & core::kProtRead)) {
        EXPECT_FALSE(got->ok) << "iova " << std::hex << probe << " must fault";
      } else {
        ASSERT_TRUE(got->ok) << "iova " << std::hex << probe << " must translate";
        EXPECT_EQ(ToU64(got->translation.Output(probe)), want->first) << std::hex << probe;
      }
    }
  }
  uint64_t ignored = 0;
  ASSERT_OK(f.Unmap(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &ignored));
  auto tables = channel.Tables(kEduGroup);
  ASSERT_TRUE(tables.has_value());
  EXPECT_EQ(tables->table_count, 1u) << "table memory returns to the empty baseline";
}

INSTANTIATE_TEST_SUITE_P(Seeds, Type1PropertyTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(1u, 2u, 3u)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "v2" : "v1") + "_seed" +
                                  std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace vfiosim::testing
