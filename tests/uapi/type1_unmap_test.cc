// VFIO_IOMMU_UNMAP_DMA conformance (spec §7.6; checklist cases 55-75 and the
// 6.18 variant of 59): argument checks, v1 vs v2 rules, UNMAP_ALL, VADDR
// invalidation and update, per-profile flag masks and seed 000's MSI window.
// Every failing call is checked to leave the type1 state and the user's
// struct untouched.
#include <gtest/gtest.h>
#include <linux/vfio.h>
#include <sys/mman.h>

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "api/profile.h"
#include "api/uapi/vfio_msi_resv_rfc.h"
#include "core/container.h"
#include "core/kernel.h"
#include "tests/util/type1_snapshot.h"
#include "tests/util/vfio_fixture.h"

namespace vfiosim::testing {
namespace {

const api::Profile& P(const char* name) { return *api::FindProfile(name); }

constexpr uint32_t kDirty = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
constexpr uint32_t kAll = VFIO_DMA_UNMAP_FLAG_ALL;
constexpr uint32_t kVaddr = VFIO_DMA_UNMAP_FLAG_VADDR;
constexpr uint64_t kPage = 0x1000;

std::string RowName(std::string name) {
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

int MapVaddr(VfioFixture& f, uint64_t iova, uint64_t size, uint64_t vaddr,
             uint32_t flags = VFIO_DMA_MAP_FLAG_VADDR) {
  return f.Map(iova, size, vaddr, flags);
}

// A device-side translation (IOTLB first, then the walk, cached on success),
// as a DMA from the group's device would do it.
core::WalkResult DeviceTranslate(VfioFixture& f, uint64_t iova) {
  core::WalkResult out;
  auto c = f.sim().kernel().GroupContainer(kEduGroup);
  if (c == nullptr) return out;
  (void)c->WithIommu([&](core::Type1Iommu& t) {
    out = t.Translate(iova, core::kProtRead);
    return core::Status::Ok();
  });
  return out;
}

// ---------------------------------------------------------------- failing UNMAPs

struct FailRow {
  const char* name;
  uint32_t argsz;
  uint32_t flags;
  uint64_t iova;
  uint64_t size;
  int err_61;
  int err_618;
};

// Each row runs on a container holding M(0x100000, 0x10000) and
// M(0x200000, 0x200000).
const FailRow kFailRows[] = {
    {"c55_v2_bisect", 24, 0, 0x200000, 0x100000, EINVAL, EINVAL},
    {"bisect_first_page", 24, 0, 0x100000, 0x1000, EINVAL, EINVAL},
    {"bisect_inner_page", 24, 0, 0x101000, 0x1000, EINVAL, EINVAL},
    {"straddle_start", 24, 0, 0xff000, 0x2000, EINVAL, EINVAL},
    {"straddle_end", 24, 0, 0x10f000, 0x2000, EINVAL, EINVAL},
    {"straddle_two_entries", 24, 0, 0x108000, 0x100000, EINVAL, EINVAL},
    {"c56_argsz_23", 23, 0, 0x100000, 0x10000, EINVAL, EINVAL},
    {"argsz_0", 0, 0, 0x100000, 0x10000, EINVAL, EINVAL},
    {"c56_flag_bit3", 24, 0x8, 0x100000, 0x10000, EINVAL, EINVAL},
    {"flag_bit31", 24, 0x80000000, 0x100000, 0x10000, EINVAL, EINVAL},
    {"c57_dirty_with_all", 24, kDirty | kAll, 0, 0, EINVAL, EINVAL},
    {"c57_dirty_with_vaddr", 24, kDirty | kVaddr, 0x100000, 0x10000, EINVAL, EINVAL},
    {"c58_iova_unaligned", 24, 0, 0x100800, 0x1000, EINVAL, EINVAL},
    {"c58_size_0", 24, 0, 0x100000, 0, EINVAL, EINVAL},
    {"c58_size_unaligned", 24, 0, 0x100000, 0x1800, EINVAL, EINVAL},
    {"c59_wrap", 24, 0, 0xFFFFFFFFFFFFF000, 0x2000, EINVAL, EOVERFLOW},
    {"wrap_unaligned_size", 24, 0, 0xFFFFFFFFFFFFF000, 0x1800, EINVAL, EINVAL},
    {"wrap_unaligned_iova", 24, 0, 0xFFFFFFFFFFFFF800, 0x2000, EINVAL, EINVAL},
    {"c69_all_nonzero_iova", 24, kAll, 0x1000, 0, EINVAL, EINVAL},
    {"c69_all_nonzero_size", 24, kAll, 0, 0x1000, EINVAL, EINVAL},
    {"all_unaligned_iova", 24, kAll, 0x800, 0, EINVAL, EINVAL},
    {"vaddr_bisect", 24, kVaddr, 0x100000, 0x1000, EINVAL, EINVAL},
    {"vaddr_wrap", 24, kVaddr, 0xFFFFFFFFFFFFF000, 0x2000, EINVAL, EOVERFLOW},
};

class UnmapFailTest : public ::testing::TestWithParam<std::tuple<const char*, FailRow>> {};

TEST_P(UnmapFailTest, FailsAndTouchesNothing) {
  const auto& [profile, row] = GetParam();
  VfioFixture f(&P(profile));
  f.SetUpVfio();
  DmaBuffer buf(0x200000);
  ASSERT_OK(f.Map(0x100000, 0x10000, buf.va()));
  ASSERT_OK(f.Map(0x200000, 0x200000, buf.va()));
  const int want = std::string(profile) == "linux-6.18" ? row.err_618 : row.err_61;
  vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = row.argsz;
  unmap.flags = row.flags;
  unmap.iova = row.iova;
  unmap.size = row.size;
  const vfio_iommu_type1_dma_unmap copy = unmap;
  ExpectUnchanged(f, [&] {
    EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_UNMAP_DMA, &unmap), want);
  });
  // The kernel copies the struct back only on success.
  EXPECT_EQ(std::memcmp(&unmap, &copy, sizeof(unmap)), 0);
}

INSTANTIATE_TEST_SUITE_P(Rows, UnmapFailTest,
                         ::testing::Combine(::testing::Values("linux-6.1", "linux-6.18"),
                                            ::testing::ValuesIn(kFailRows)),
                         [](const auto& info) {
                           return RowName(std::string(std::get<0>(info.param)) + "_" +
                                          std::get<1>(info.param).name);
                         });

// ---------------------------------------------------------------- v1 vs v2 (cases 60-67)

struct Range {
  uint64_t iova;
  uint64_t size;
};

struct RuleRow {
  const char* name;
  bool v2;
  std::vector<Range> maps;
  Range unmap;
  int err;                     // 0 = success
  uint64_t unmapped;           // written-back size on success
  std::vector<Range> remain;   // mappings left afterwards
};

const RuleRow kRuleRows[] = {
    {"c60_v2_empty_range", true, {{0x100000, 0x1000}}, {0x800000, 0x1000}, 0, 0, {{0x100000, 0x1000}}},
    {"c60_v1_empty_range", false, {{0x100000, 0x1000}}, {0x800000, 0x1000}, 0, 0, {{0x100000, 0x1000}}},
    {"c61_v2_second_page", true, {{0x100000, 0x2000}}, {0x101000, 0x1000}, EINVAL, 0, {{0x100000, 0x2000}}},
    {"c61_v2_first_page", true, {{0x100000, 0x2000}}, {0x100000, 0x1000}, EINVAL, 0, {{0x100000, 0x2000}}},
    {"c62_v2_superset", true, {{0x100000, 0x2000}}, {0x0, 0x200000}, 0, 0x2000, {}},
    {"c63_v2_two_adjacent", true, {{0x100000, 0x1000}, {0x101000, 0x1000}}, {0x100000, 0x2000}, 0,
     0x2000, {}},
    {"v2_exact", true, {{0x100000, 0x2000}}, {0x100000, 0x2000}, 0, 0x2000, {}},
    {"v2_one_of_two", true, {{0x100000, 0x1000}, {0x101000, 0x1000}}, {0x101000, 0x1000}, 0, 0x1000,
     {{0x100000, 0x1000}}},
    {"v2_superset_around", true, {{0x400000, 0x2000}}, {0x3ff000, 0x4000}, 0, 0x2000, {}},
    {"c64_v1_second_page", false, {{0x100000, 0x2000}}, {0x101000, 0x1000}, 0, 0, {{0x100000, 0x2000}}},
    {"c65_v1_first_page_takes_all", false, {{0x100000, 0x2000}}, {0x100000, 0x1000}, 0, 0x2000, {}},
    {"c66_v1_before_entry", false, {{0x101000, 0x2000}}, {0x100000, 0x1000}, 0, 0, {{0x101000, 0x2000}}},
    {"c66_v1_covering_start", false, {{0x101000, 0x2000}}, {0x100000, 0x2000}, 0, 0x2000, {}},
    {"c67_v1_walk_stops", false, {{0x100000, 0x2000}, {0x102000, 0x1000}}, {0x101000, 0x2000}, 0, 0,
     {{0x100000, 0x2000}, {0x102000, 0x1000}}},
    {"v1_straddle_start", false, {{0x400000, 0x4000}}, {0x3ff000, 0x2000}, 0, 0x4000, {}},
    {"v1_middle", false, {{0x400000, 0x4000}}, {0x401000, 0x2000}, 0, 0, {{0x400000, 0x4000}}},
    {"v1_superset", false, {{0x400000, 0x4000}}, {0x3ff000, 0x6000}, 0, 0x4000, {}},
    {"v1_two_adjacent", false, {{0x100000, 0x1000}, {0x101000, 0x1000}}, {0x100000, 0x2000}, 0,
     0x2000, {}},
};

class UnmapRuleTest : public ::testing::TestWithParam<std::tuple<const char*, RuleRow>> {};

TEST_P(UnmapRuleTest, FollowsTheVersionRules) {
  const auto& [profile, row] = GetParam();
  VfioFixture f(&P(profile));
  f.SetUpVfio(row.v2 ? VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU);
  DmaBuffer buf(0x10000);
  for (const Range& m : row.maps) ASSERT_OK(f.Map(m.iova, m.size, buf.va()));
  const Type1Snapshot before = TakeType1Snapshot(f.sim());
  uint64_t written = 0xdead;
  if (row.err != 0) {
    ExpectUnchanged(f, [&] {
      EXPECT_ERRNO(f.Unmap(row.unmap.iova, row.unmap.size, 0, &written), row.err);
    });
    EXPECT_EQ(written, row.unmap.size) << "user size field must stay as it was";
  } else {
    EXPECT_OK(f.Unmap(row.unmap.iova, row.unmap.size, 0, &written));
    EXPECT_EQ(written, row.unmapped);
  }
  const Type1Snapshot after = TakeType1Snapshot(f.sim());
  ASSERT_EQ(after.mappings.size(), row.remain.size());
  for (size_t i = 0; i < row.remain.size(); ++i) {
    EXPECT_EQ(after.mappings[i].iova, row.remain[i].iova);
    EXPECT_EQ(after.mappings[i].size, row.remain[i].size);
  }
  const uint32_t removed = static_cast<uint32_t>(row.maps.size() - row.remain.size());
  EXPECT_EQ(after.dma_avail, before.dma_avail + removed);
  uint64_t remain_bytes = 0;
  for (const Range& m : row.remain) remain_bytes += m.size;
  EXPECT_EQ(after.memlock_locked, remain_bytes);
  // Removed entries are gone from the IO page table too.
  for (const TranslationSample& t : after.translations) {
    bool mapped = false;
    for (const Range& m : row.remain) mapped |= t.iova >= m.iova && t.iova < m.iova + m.size;
    EXPECT_EQ(t.ok, mapped) << std::hex << t.iova;
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, UnmapRuleTest,
                         ::testing::Combine(::testing::Values("linux-6.1", "linux-6.18"),
                                            ::testing::ValuesIn(kRuleRows)),
                         [](const auto& info) {
                           return RowName(std::string(std::get<0>(info.param)) + "_" +
                                          std::get<1>(info.param).name);
                         });

// Classic kernels compute the walk's end as iova + size modulo 2^64: a request
// reaching exactly 2^64 unmaps nothing (transcript unmap.size_max); 6.18 fixed it.
TEST(UnmapTopOfSpaceTest, RequestEndingAt2To64) {
  for (const char* profile : {"linux-6.1", "linux-6.18"}) {
    SCOPED_TRACE(profile);
    VfioFixture f(&P(profile));
    f.SetUpVfio();
    DmaBuffer buf(0x1000);
    ASSERT_OK(f.Map(0x100000, 0x1000, buf.va()));
    uint64_t written = 0;
    EXPECT_OK(f.Unmap(0x1000, 0xFFFFFFFFFFFFF000, 0, &written));
    const bool fixed = std::string(profile) == "linux-6.18";
    EXPECT_EQ(written, fixed ? 0x1000u : 0u);
    EXPECT_EQ(TakeType1Snapshot(f.sim()).mappings.size(), fixed ? 0u : 1u);
  }
}

// ---------------------------------------------------------------- argsz sweep

struct ArgszRow {
  uint32_t argsz;
  int err;
};

class UnmapArgszTest : public ::testing::TestWithParam<ArgszRow> {};

// minsz 24: only those 24 bytes are written back, and only on success.
TEST_P(UnmapArgszTest, MinszIs24AndOnly24BytesComeBack) {
  const ArgszRow row = GetParam();
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x2000);
  ASSERT_OK(f.Map(0x100000, 0x2000, buf.va()));
  alignas(8) uint8_t user[4096];
  std::memset(user, 0xa5, sizeof(user));
  vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = row.argsz;
  unmap.flags = 0;
  unmap.iova = 0;
  unmap.size = 0x200000;
  std::memcpy(user, &unmap, sizeof(unmap));
  uint8_t expect[4096];
  std::memcpy(expect, user, sizeof(user));
  if (row.err != 0) {
    ExpectUnchanged(f, [&] {
      EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_UNMAP_DMA, user), row.err);
    });
  } else {
    EXPECT_OK(f.sim().Ioctl(f.container(), VFIO_IOMMU_UNMAP_DMA, user));
    vfio_iommu_type1_dma_unmap out;
    std::memcpy(&out, user, sizeof(out));
    EXPECT_EQ(out.argsz, row.argsz);
    EXPECT_EQ(out.flags, 0u);
    EXPECT_EQ(out.iova, 0u);
    EXPECT_EQ(out.size, 0x2000u);
    const uint64_t size = 0x2000;
    std::memcpy(expect + offsetof(vfio_iommu_type1_dma_unmap, size), &size, sizeof(size));
    EXPECT_TRUE(TakeType1Snapshot(f.sim()).mappings.empty());
  }
  EXPECT_EQ(std::memcmp(user, expect, sizeof(user)), 0) << "bytes past what the kernel writes changed";
}

INSTANTIATE_TEST_SUITE_P(Sweep, UnmapArgszTest,
                         ::testing::Values(ArgszRow{0, EINVAL}, ArgszRow{23, EINVAL},
                                           ArgszRow{24, 0}, ArgszRow{32, 0}, ArgszRow{48, 0},
                                           ArgszRow{4096, 0}),
                         [](const auto& info) { return "argsz" + std::to_string(info.param.argsz); });

// EFAULT: NULL, and minsz bytes running into an inaccessible page.
TEST(UnmapFaultTest, UnreadableArgumentIsEfault) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x1000);
  ASSERT_OK(f.Map(0x100000, 0x1000, buf.va()));
  ExpectUnchanged(f, [&] {
    EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_UNMAP_DMA, static_cast<uintptr_t>(0)),
                 EFAULT);
  });
  auto* two = static_cast<uint8_t*>(
      mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(two, MAP_FAILED);
  ASSERT_EQ(mprotect(two + kPage, kPage, PROT_NONE), 0);
  vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = sizeof(unmap);
  unmap.iova = 0x100000;
  unmap.size = 0x1000;
  uint8_t* at = two + kPage - 16;  // size (bytes 16..23) unreadable
  std::memcpy(at, &unmap, 16);
  ExpectUnchanged(f, [&] {
    EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_UNMAP_DMA, at), EFAULT);
  });
  munmap(two, 2 * kPage);
}

// ---------------------------------------------------------------- flags per profile

struct FlagRow {
  const char* profile;
  uint32_t flags;
  int err;
};

// The 2016 RFCs predate every UNMAP flag (GET_DIRTY_BITMAP 5.8, ALL and VADDR 5.12).
const FlagRow kFlagRows[] = {
    {"linux-6.1", 0, 0},
    {"linux-6.1", kAll, 0},
    {"linux-6.1", kVaddr, 0},
    {"linux-6.1", 0x8, EINVAL},
    {"linux-6.18", kAll, 0},
    {"linux-6.18", 0x8, EINVAL},
    {"rfc-vsva-2020", kAll, 0},
    {"rfc-msi-resv-2016", 0, 0},
    {"rfc-msi-resv-2016", kDirty, EINVAL},
    {"rfc-msi-resv-2016", kAll, EINVAL},
    {"rfc-msi-resv-2016", kVaddr, EINVAL},
    {"rfc-msi-resv-2016", 0x8, EINVAL},
    {"rfc-resv-iova-2016", 0, 0},
    {"rfc-resv-iova-2016", kDirty, EINVAL},
    {"rfc-resv-iova-2016", kAll, EINVAL},
    {"rfc-resv-iova-2016", kVaddr, EINVAL},
    {"rfc-resv-iova-2016", 0x8, EINVAL},
};

class UnmapFlagTest : public ::testing::TestWithParam<FlagRow> {};

TEST_P(UnmapFlagTest, MaskPerProfile) {
  const FlagRow row = GetParam();
  VfioFixture f(&P(row.profile));
  f.SetUpVfio();
  DmaBuffer buf(0x2000);
  ASSERT_OK(f.Map(0x100000, 0x2000, buf.va()));
  const bool all = row.flags & kAll;
  uint64_t written = 0;
  if (row.err == 0) {
    EXPECT_OK(f.Unmap(all ? 0 : 0x100000, all ? 0 : 0x2000, row.flags, &written));
    EXPECT_EQ(written, 0x2000u);
  } else {
    ExpectUnchanged(f, [&] {
      EXPECT_ERRNO(f.Unmap(all ? 0 : 0x100000, all ? 0 : 0x2000, row.flags), row.err);
    });
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, UnmapFlagTest, ::testing::ValuesIn(kFlagRows),
                         [](const auto& info) {
                           return RowName(std::string(info.param.profile) + "_flags" +
                                          std::to_string(info.param.flags));
                         });

// ---------------------------------------------------------------- UNMAP_ALL (68, 69, 75)

class UnmapAllTest : public ::testing::Test, public VfioFixture {
 protected:
  void SetUp() override {
    SetUpVfio();
    ASSERT_OK(Map(0x100000, 0x1000, buf_.va()));
    ASSERT_OK(Map(0x200000, 0x2000, buf_.va()));
    ASSERT_OK(Map(0xFEF00000, 0x2000, buf_.va()));
  }
  DmaBuffer buf_{0x2000};
};

// Case 68.
TEST_F(UnmapAllTest, RemovesEverything) {
  EXPECT_EQ(TakeType1Snapshot(sim()).dma_avail, 65532u);
  uint64_t written = 0;
  EXPECT_OK(Unmap(0, 0, kAll, &written));
  EXPECT_EQ(written, 0x5000u);
  const Type1Snapshot s = TakeType1Snapshot(sim());
  EXPECT_TRUE(s.mappings.empty());
  EXPECT_EQ(s.dma_avail, 65535u);
  EXPECT_EQ(s.memlock_locked, 0u);
  for (const TranslationSample& t : s.translations) EXPECT_FALSE(t.ok) << std::hex << t.iova;
  // Again on the empty container: success, 0 bytes.
  EXPECT_OK(Unmap(0, 0, kAll, &written));
  EXPECT_EQ(written, 0u);
}

// Case 75: ALL|VADDR invalidates every vaddr and removes nothing.
TEST_F(UnmapAllTest, AllWithVaddrInvalidatesEverything) {
  const Type1Snapshot before = TakeType1Snapshot(sim());
  uint64_t written = 0;
  EXPECT_OK(Unmap(0, 0, kAll | kVaddr, &written));
  EXPECT_EQ(written, 0x5000u);
  const Type1Snapshot after = TakeType1Snapshot(sim());
  ASSERT_EQ(after.mappings.size(), 3u);
  for (const MappingState& m : after.mappings) EXPECT_TRUE(m.vaddr_invalid);
  EXPECT_EQ(after.vaddr_invalid_count, 3u);
  EXPECT_EQ(after.dma_avail, before.dma_avail);
  EXPECT_EQ(after.memlock_locked, before.memlock_locked);
  EXPECT_EQ(after.translations, before.translations);  // the IOMMU keeps mapping them
  // A second ALL|VADDR finds an invalid entry and undoes its own marks.
  ExpectUnchanged(*this, [&] { EXPECT_ERRNO(Unmap(0, 0, kAll | kVaddr), EINVAL); });
  // Plain ALL removes invalidated entries too and clears the count.
  EXPECT_OK(Unmap(0, 0, kAll, &written));
  EXPECT_EQ(written, 0x5000u);
  EXPECT_EQ(TakeType1Snapshot(sim()).vaddr_invalid_count, 0u);
}

// ---------------------------------------------------------------- VADDR (70-74)

class VaddrTest : public ::testing::Test, public VfioFixture {
 protected:
  void SetUp() override {
    SetUpVfio();
    ASSERT_OK(Map(0x100000, 0x2000, old_.va()));
  }
  DmaBuffer old_{0x2000};
  DmaBuffer new_{0x2000};
};

// Cases 70, 71.
TEST_F(VaddrTest, InvalidateKeepsTheMappingButBlocksRemap) {
  const Type1Snapshot before = TakeType1Snapshot(sim());
  uint64_t written = 0;
  EXPECT_OK(Unmap(0x100000, 0x2000, kVaddr, &written));
  EXPECT_EQ(written, 0x2000u);
  const Type1Snapshot after = TakeType1Snapshot(sim());
  ASSERT_EQ(after.mappings.size(), 1u);
  EXPECT_TRUE(after.mappings[0].vaddr_invalid);
  EXPECT_EQ(after.vaddr_invalid_count, 1u);
  EXPECT_EQ(after.dma_avail, before.dma_avail);
  EXPECT_EQ(after.memlock_locked, before.memlock_locked);
  EXPECT_EQ(after.translations, before.translations);
  ExpectUnchanged(*this, [&] { EXPECT_ERRNO(Map(0x100000, 0x2000, new_.va()), EEXIST); });
  ExpectUnchanged(*this, [&] { EXPECT_ERRNO(Unmap(0x100000, 0x2000, kVaddr), EINVAL); });
}

// A VADDR invalidation that meets an already-invalid entry undoes its own marks.
TEST_F(VaddrTest, FailedInvalidationUndoesEarlierMarks) {
  ASSERT_OK(Map(0x102000, 0x1000, old_.va()));
  ASSERT_OK(Unmap(0x102000, 0x1000, kVaddr));
  ExpectUnchanged(*this, [&] { EXPECT_ERRNO(Unmap(0x100000, 0x3000, kVaddr), EINVAL); });
  const Type1Snapshot s = TakeType1Snapshot(sim());
  ASSERT_EQ(s.mappings.size(), 2u);
  EXPECT_FALSE(s.mappings[0].vaddr_invalid);
  EXPECT_TRUE(s.mappings[1].vaddr_invalid);
  EXPECT_EQ(s.vaddr_invalid_count, 1u);
}

// Cases 72, 73.
TEST_F(VaddrTest, UpdateRestoresTheEntry) {
  ASSERT_OK(Unmap(0x100000, 0x2000, kVaddr));
  // Case 73: the checks of the update path.
  ExpectUnchanged(*this, [&] { EXPECT_ERRNO(MapVaddr(*this, 0x300000, 0x2000, new_.va()), ENOENT); });
  ExpectUnchanged(*this, [&] { EXPECT_ERRNO(MapVaddr(*this, 0x100000, 0x1000, new_.va()), EINVAL); });
  ExpectUnchanged(*this, [&] { EXPECT_ERRNO(MapVaddr(*this, 0x101000, 0x1000, new_.va()), EINVAL); });
  ExpectUnchanged(*this, [&] { EXPECT_ERRNO(MapVaddr(*this, 0x0ff000, 0x2000, new_.va()), EINVAL); });
  ExpectUnchanged(*this, [&] {
    EXPECT_ERRNO(MapVaddr(*this, 0x100000, 0x2000, new_.va(),
                          VFIO_DMA_MAP_FLAG_VADDR | VFIO_DMA_MAP_FLAG_READ),
                 EINVAL);
  });
  ExpectUnchanged(*this, [&] {
    EXPECT_ERRNO(MapVaddr(*this, 0x100000, 0x2000, new_.va() + 0x800), EINVAL);
  });
  // Case 72.
  const Type1Snapshot before = TakeType1Snapshot(sim());
  EXPECT_OK(MapVaddr(*this, 0x100000, 0x2000, new_.va()));
  const Type1Snapshot after = TakeType1Snapshot(sim());
  ASSERT_EQ(after.mappings.size(), 1u);
  EXPECT_EQ(after.mappings[0], (MappingState{0x100000, 0x2000, new_.va(), 3, false, false}));
  EXPECT_EQ(after.vaddr_invalid_count, 0u);
  EXPECT_EQ(after.dma_avail, before.dma_avail);  // no new entry
  EXPECT_EQ(after.memlock_locked, before.memlock_locked);
  // In the simulator the pages are reached through the new address.
  for (const TranslationSample& t : after.translations) {
    if (t.iova == 0x100000) {
      EXPECT_EQ(t.output, new_.va());
    }
  }
  ExpectUnchanged(*this, [&] { EXPECT_ERRNO(MapVaddr(*this, 0x100000, 0x2000, new_.va()), EINVAL); });
  // The entry is an ordinary one again.
  uint64_t written = 0;
  EXPECT_OK(Unmap(0x100000, 0x2000, 0, &written));
  EXPECT_EQ(written, 0x2000u);
}

// The update path pins nothing and checks nothing about the new vaddr beyond
// alignment and wrap (vfio_dma_do_map only stores it): an address with no
// memory behind it is accepted.
TEST_F(VaddrTest, UpdateDoesNotPinTheNewVaddr) {
  for (uint64_t vaddr : {uint64_t{0}, uint64_t{0x7ffffffff000} - 0x1000}) {
    SCOPED_TRACE(vaddr);
    ASSERT_OK(Unmap(0x100000, 0x2000, kVaddr));
    EXPECT_OK(MapVaddr(*this, 0x100000, 0x2000, vaddr));
    EXPECT_EQ(TakeType1Snapshot(sim()).mappings[0].vaddr, vaddr);
  }
}

// Regression (fixed): the kernel accepts any page-aligned, non-wrapping vaddr on the update
// path (spec §7.5 step 5; vfio_dma_do_map's set_vaddr branch only calls
// vfio_change_dma_owner and stores the value). vfio-sim used to fail with
// EINVAL for addresses the IO page table cannot hold (>= 2^52); it now keeps
// the old translation for addresses outside the user half.
TEST_F(VaddrTest, UpdateAcceptsAnyAlignedVaddr) {
  for (uint64_t vaddr : {uint64_t{0x10000000000000}, uint64_t{0xffff888000000000}}) {
    SCOPED_TRACE(vaddr);
    ASSERT_OK(Unmap(0x100000, 0x2000, kVaddr));
    EXPECT_OK(MapVaddr(*this, 0x100000, 0x2000, vaddr));
    EXPECT_EQ(TakeType1Snapshot(sim()).vaddr_invalid_count, 0u);
  }
}

// Case 74: no group may join while vaddrs are invalid.
TEST_F(VaddrTest, AttachRefusedWhileInvalid) {
  sim().machine().AddPciDevice("0000:03:00.0", 0x1b36, 0x0005, 5);
  ASSERT_OK(Unmap(0x100000, 0x2000, kVaddr));
  const int g5 = OpenGroup(5);
  ASSERT_GE(g5, 0);
  ExpectUnchanged(*this, [&] { EXPECT_ERRNO(SetContainer(g5, container()), EBUSY); });
  EXPECT_EQ(GroupFlags(g5), uint32_t{VFIO_GROUP_FLAGS_VIABLE});
  EXPECT_EQ(sim().kernel().GroupContainer(5), nullptr);
  // Once the vaddr is back the group can join.
  ASSERT_OK(MapVaddr(*this, 0x100000, 0x2000, new_.va()));
  EXPECT_OK(SetContainer(g5, container()));
  EXPECT_EQ(TakeType1Snapshot(sim()).group_count, 2u);
}

// ---------------------------------------------------------------- IOTLB

// Translations a device cached must not outlive the mapping.
TEST(UnmapIotlbTest, UnmapDropsCachedTranslations) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x3000);
  ASSERT_OK(f.Map(0x100000, 0x2000, buf.va()));
  ASSERT_OK(f.Map(0x200000, 0x1000, buf.va(0x2000)));
  EXPECT_TRUE(DeviceTranslate(f, 0x100000).ok);
  EXPECT_TRUE(DeviceTranslate(f, 0x101000).ok);
  EXPECT_TRUE(DeviceTranslate(f, 0x200000).ok);
  EXPECT_EQ(TakeType1Snapshot(f.sim()).iotlb_size, 3u);
  // A refused unmap keeps the cache (and everything else) as it was.
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Unmap(0x101000, 0x1000), EINVAL); });
  ASSERT_OK(f.Unmap(0x100000, 0x2000));
  EXPECT_EQ(TakeType1Snapshot(f.sim()).iotlb_size, 1u);
  EXPECT_FALSE(DeviceTranslate(f, 0x100000).ok);
  EXPECT_FALSE(DeviceTranslate(f, 0x101000).ok);
  EXPECT_TRUE(DeviceTranslate(f, 0x200000).ok);
  ASSERT_OK(f.Unmap(0, 0, kAll));
  EXPECT_EQ(TakeType1Snapshot(f.sim()).iotlb_size, 0u);
  EXPECT_FALSE(DeviceTranslate(f, 0x200000).ok);
}

// After a VADDR update the device reaches the new address, not a stale cached one.
TEST(UnmapIotlbTest, VaddrUpdateDropsCachedTranslations) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer old_buf(0x1000), new_buf(0x1000);
  ASSERT_OK(f.Map(0x100000, 0x1000, old_buf.va()));
  ASSERT_EQ(core::ToU64(DeviceTranslate(f, 0x100000).translation.Output(0x100000)), old_buf.va());
  ASSERT_OK(f.Unmap(0x100000, 0x1000, kVaddr));
  ASSERT_OK(MapVaddr(f, 0x100000, 0x1000, new_buf.va()));
  const core::WalkResult w = DeviceTranslate(f, 0x100000);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(core::ToU64(w.translation.Output(0x100000)), new_buf.va());
}

// v1 containers: UNMAP_ALL takes everything too (transcript v1.unmap.all).
TEST(UnmapAllV1Test, AllOnV1) {
  VfioFixture f;
  f.SetUpVfio(VFIO_TYPE1_IOMMU);
  DmaBuffer buf(0x2000);
  ASSERT_OK(f.Map(0x100000, 0x1000, buf.va()));
  ASSERT_OK(f.Map(0x200000, 0x2000, buf.va()));
  uint64_t written = 0;
  EXPECT_OK(f.Unmap(0, 0, kAll, &written));
  EXPECT_EQ(written, 0x3000u);
  EXPECT_TRUE(TakeType1Snapshot(f.sim()).mappings.empty());
}

// ---------------------------------------------------------------- seed 000 MSI window

core::MachineConfig ArmMachine() {
  core::MachineConfig arm = sim::DefaultMachineConfig();
  arm.iommu_model = core::IommuModel::kArmSmmu;
  return arm;
}

// A registered MSI window is skipped by UNMAP: it stays until the container goes.
TEST(MsiWindowUnmapTest, WindowIsNotUnmappable) {
  VfioFixture f(&P("rfc-msi-resv-2016"), ArmMachine());
  f.SetUpVfio();
  DmaBuffer buf(0x1000);
  ASSERT_OK(f.Map(0x100000, 0x1000, buf.va()));
  ASSERT_OK(f.Map(0x10000000, 0x1000, buf.va()));
  ASSERT_OK(f.Map(0x8000000, 0x100000, 0, VFIO_DMA_MAP_FLAG_RESERVED_MSI_IOVA));
  const MappingState window{0x8000000, 0x100000, 0, 0, false, true};
  uint64_t written = 0;
  // Exactly the window: nothing unmapped.
  EXPECT_OK(f.Unmap(0x8000000, 0x100000, 0, &written));
  EXPECT_EQ(written, 0u);
  // A range covering everything: only the real mappings go.
  EXPECT_OK(f.Unmap(0, 0x20000000, 0, &written));
  EXPECT_EQ(written, 0x2000u);
  const Type1Snapshot s = TakeType1Snapshot(f.sim());
  ASSERT_EQ(s.mappings.size(), 1u);
  EXPECT_EQ(s.mappings[0], window);
  EXPECT_EQ(s.memlock_locked, 0u);
  // vfio-sim's reading of the seed (whose checks are not public, spec §8):
  // the window is a vfio_dma entry like any other -- it holds a DMA_AVAIL
  // slot and v2 refuses to bisect it -- it is only skipped by the walk.
  EXPECT_EQ(s.dma_avail, 65534u);
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Unmap(0x8000000, 0x1000), EINVAL); });
  // Container release takes it with it.
  ASSERT_OK(f.sim().Ioctl(f.group(), VFIO_GROUP_UNSET_CONTAINER));
  EXPECT_FALSE(TakeType1Snapshot(f.sim()).has_container);
}

}  // namespace
}  // namespace vfiosim::testing
