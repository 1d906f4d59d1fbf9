// VFIO_IOMMU_MAP_DMA conformance (spec §7.5, §8; checklist cases 41-54 and
// the 6.18 variants of 45/46), per profile where behaviour differs. Every
// failing call is checked to leave the type1 state untouched.
#include <gtest/gtest.h>
#include <linux/vfio.h>
#include <sys/mman.h>

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "api/profile.h"
#include "api/uapi/vfio_msi_resv_rfc.h"
#include "core/fault_injection.h"
#include "core/kernel.h"
#include "tests/util/type1_snapshot.h"
#include "tests/util/vfio_fixture.h"

namespace vfiosim::testing {
namespace {

const api::Profile& P(const char* name) { return *api::FindProfile(name); }

constexpr uint32_t kRW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
constexpr uint32_t kR = VFIO_DMA_MAP_FLAG_READ;
constexpr uint32_t kW = VFIO_DMA_MAP_FLAG_WRITE;
constexpr uint32_t kBit2 = 1u << 2;  // VADDR upstream, RESERVED_MSI_IOVA in seed 000
constexpr size_t kPage = 0x1000;

// Where a row's vaddr points.
enum class Va { kBuf, kBufPlus800, kHole, kHalf, kReadOnly, kNoAccess, kLiteral };

// Memory the rows point at: a plain buffer, an unmapped hole between two
// mapped pages, a two-page range whose second page is unmapped, and a
// read-only buffer.
class Buffers {
 public:
  Buffers() : buf_(0x40000), ro_(0x2000, PROT_READ), none_(0x1000, PROT_NONE) {
    auto* three = static_cast<uint8_t*>(
        mmap(nullptr, 3 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    munmap(three + kPage, kPage);
    hole_ = three;
    auto* two = static_cast<uint8_t*>(
        mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    munmap(two + kPage, kPage);
    half_ = two;
  }
  ~Buffers() {
    munmap(hole_, kPage);
    munmap(hole_ + 2 * kPage, kPage);
    munmap(half_, kPage);
  }
  uint64_t Resolve(Va va, uint64_t literal) const {
    switch (va) {
      case Va::kBuf: return buf_.va();
      case Va::kBufPlus800: return buf_.va(0x800);
      case Va::kHole: return reinterpret_cast<uint64_t>(hole_ + kPage);
      case Va::kHalf: return reinterpret_cast<uint64_t>(half_);
      case Va::kReadOnly: return ro_.va();
      case Va::kNoAccess: return none_.va();
      case Va::kLiteral: return literal;
    }
    return literal;
  }
  const DmaBuffer& buf() const { return buf_; }

 private:
  DmaBuffer buf_;
  DmaBuffer ro_;
  DmaBuffer none_;
  uint8_t* hole_;
  uint8_t* half_;
};

int MapRaw(VfioFixture& f, uint32_t argsz, uint32_t flags, uint64_t vaddr, uint64_t iova,
           uint64_t size) {
  vfio_iommu_type1_dma_map map{};
  map.argsz = argsz;
  map.flags = flags;
  map.vaddr = vaddr;
  map.iova = iova;
  map.size = size;
  return f.sim().Ioctl(f.container(), VFIO_IOMMU_MAP_DMA, &map);
}

std::string RowName(std::string name) {
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

// ---------------------------------------------------------------- failing MAPs

struct FailRow {
  const char* name;
  uint32_t flags;
  uint64_t iova;
  uint64_t size;
  Va va;
  uint64_t literal;  // vaddr for Va::kLiteral
  int err_61;        // linux-6.1 (classic)
  int err_618;       // linux-6.18 (overflow checked first, EOVERFLOW)
};

// Each row runs on a container holding M(0x100000, 0x10000).
const FailRow kFailRows[] = {
    // Case 42: flag checks.
    {"c42_flags_none", 0, 0x200000, 0x1000, Va::kBuf, 0, EINVAL, EINVAL},
    {"c42_flag_bit3", 0x8, 0x200000, 0x1000, Va::kBuf, 0, EINVAL, EINVAL},
    {"flag_bit3_with_rw", 0xb, 0x200000, 0x1000, Va::kBuf, 0, EINVAL, EINVAL},
    {"flag_bit31", 0x80000003, 0x200000, 0x1000, Va::kBuf, 0, EINVAL, EINVAL},
    {"c42_rw_and_vaddr", 7, 0x200000, 0x1000, Va::kBuf, 0, EINVAL, EINVAL},
    // Cases 43, 44: size and alignment.
    {"c43_size_0", kRW, 0x200000, 0, Va::kBuf, 0, EINVAL, EINVAL},
    {"c44_iova_unaligned", kRW, 0x200800, 0x1000, Va::kBuf, 0, EINVAL, EINVAL},
    {"c44_vaddr_unaligned", kRW, 0x200000, 0x1000, Va::kBufPlus800, 0, EINVAL, EINVAL},
    {"c44_size_unaligned", kRW, 0x200000, 0x1800, Va::kBuf, 0, EINVAL, EINVAL},
    {"size_page_plus_1", kRW, 0x200000, 0x1001, Va::kBuf, 0, EINVAL, EINVAL},
    // Cases 45, 46: address overflow; EOVERFLOW from 6.18.
    {"c45_iova_wrap", kRW, 0xFFFFFFFFFFFFF000, 0x2000, Va::kBuf, 0, EINVAL, EOVERFLOW},
    {"c46_vaddr_wrap", kRW, 0x200000, 0x2000, Va::kLiteral, 0xFFFFFFFFFFFFF000, EINVAL, EOVERFLOW},
    // Ending exactly at 2^64-1 is no overflow: it fails the aperture check.
    {"iova_top_page", kRW, 0xFFFFFFFFFFFFF000, 0x1000, Va::kBuf, 0, EINVAL, EINVAL},
    // 6.18 order (§7.5): size 0, then overflow, then prot, then alignment.
    {"order_flags_none_and_wrap", 0, 0xFFFFFFFFFFFFF000, 0x2000, Va::kBuf, 0, EINVAL, EOVERFLOW},
    {"order_rw_vaddr_and_wrap", 7, 0xFFFFFFFFFFFFF000, 0x2000, Va::kBuf, 0, EINVAL, EOVERFLOW},
    {"order_vaddr_flag_and_wrap", kBit2, 0xFFFFFFFFFFFFF000, 0x2000, Va::kBuf, 0, EINVAL,
     EOVERFLOW},
    {"order_unaligned_and_wrap", kRW, 0xFFFFFFFFFFFFF800, 0x1000, Va::kBuf, 0, EINVAL, EOVERFLOW},
    {"order_flags_none_size_0_top", 0, 0xFFFFFFFFFFFFF000, 0, Va::kBuf, 0, EINVAL, EINVAL},
    {"order_unaligned_vaddr_wrap", kRW, 0x200000, 0x2000, Va::kLiteral, 0xFFFFFFFFFFFFF800, EINVAL,
     EOVERFLOW},
    // The wrapper's flag mask runs before do_map in every version.
    {"order_unknown_flag_and_wrap", 0x8, 0xFFFFFFFFFFFFF000, 0x2000, Va::kBuf, 0, EINVAL, EINVAL},
    // Case 47: overlaps.
    {"c47_duplicate", kRW, 0x100000, 0x10000, Va::kBuf, 0, EEXIST, EEXIST},
    {"c47_overlap_tail", kRW, 0x10F000, 0x2000, Va::kBuf, 0, EEXIST, EEXIST},
    {"overlap_head", kRW, 0xFF000, 0x2000, Va::kBuf, 0, EEXIST, EEXIST},
    {"overlap_superset", kRW, 0xFF000, 0x20000, Va::kBuf, 0, EEXIST, EEXIST},
    {"overlap_inside", kRW, 0x104000, 0x1000, Va::kBuf, 0, EEXIST, EEXIST},
    // Cases 48, 49: IOVA list (MSI window, aperture).
    {"c48_msi_window_start", kRW, 0xFEE00000, 0x1000, Va::kBuf, 0, EINVAL, EINVAL},
    {"c48_msi_window_end", kRW, 0xFEEFF000, 0x1000, Va::kBuf, 0, EINVAL, EINVAL},
    {"c48_msi_window_straddle", kRW, 0xFEDFF000, 0x2000, Va::kBuf, 0, EINVAL, EINVAL},
    {"c49_above_aperture", kRW, 0x1000000000000, 0x1000, Va::kBuf, 0, EINVAL, EINVAL},
    {"straddle_aperture_end", kRW, 0xFFFFFFFFF000, 0x2000, Va::kBuf, 0, EINVAL, EINVAL},
    // Cases 51, 52: pinning.
    {"c51_vaddr_unmapped", kRW, 0x200000, 0x1000, Va::kHole, 0, EFAULT, EFAULT},
    {"vaddr_half_unmapped", kRW, 0x200000, 0x2000, Va::kHalf, 0, EFAULT, EFAULT},
    {"vaddr_prot_none", kR, 0x200000, 0x1000, Va::kNoAccess, 0, EFAULT, EFAULT},
    {"vaddr_null", kRW, 0x200000, 0x1000, Va::kLiteral, 0, EFAULT, EFAULT},
    {"vaddr_kernel", kRW, 0x200000, 0x1000, Va::kLiteral, 0xffff888000000000, EFAULT, EFAULT},
    {"c52_rw_on_read_only", kRW, 0x200000, 0x1000, Va::kReadOnly, 0, EFAULT, EFAULT},
    {"c52_write_on_read_only", kW, 0x200000, 0x1000, Va::kReadOnly, 0, EFAULT, EFAULT},
    // Case 73 (first part): VADDR update of an IOVA nobody mapped.
    {"c73_vaddr_update_unmapped", kBit2, 0x200000, 0x2000, Va::kBuf, 0, ENOENT, ENOENT},
};

class MapFailTest : public ::testing::TestWithParam<std::tuple<const char*, FailRow>> {};

TEST_P(MapFailTest, FailsWithTheKernelErrnoAndChangesNothing) {
  const auto& [profile, row] = GetParam();
  VfioFixture f(&P(profile));
  f.SetUpVfio();
  Buffers bufs;
  ASSERT_OK(f.Map(0x100000, 0x10000, bufs.buf().va()));
  const int want = std::string(profile) == "linux-6.18" ? row.err_618 : row.err_61;
  ExpectUnchanged(
      f,
      [&] {
        EXPECT_ERRNO(MapRaw(f, sizeof(vfio_iommu_type1_dma_map), row.flags,
                            bufs.Resolve(row.va, row.literal), row.iova, row.size),
                     want);
      },
      kEduGroup, {row.iova & ~uint64_t{0xFFF}});
}

INSTANTIATE_TEST_SUITE_P(Rows, MapFailTest,
                         ::testing::Combine(::testing::Values("linux-6.1", "linux-6.18"),
                                            ::testing::ValuesIn(kFailRows)),
                         [](const auto& info) {
                           return RowName(std::string(std::get<0>(info.param)) + "_" +
                                          std::get<1>(info.param).name);
                         });

// ---------------------------------------------------------------- successful MAPs

struct OkRow {
  const char* name;
  uint32_t flags;
  uint64_t iova;
  uint64_t size;
  Va va;
};

// Each row runs on a container holding M(0x100000, 0x10000).
const OkRow kOkRows[] = {
    {"c47_adjacent_above", kRW, 0x110000, 0x1000, Va::kBuf},
    {"adjacent_below", kRW, 0xFF000, 0x1000, Va::kBuf},
    {"c50_iova_0", kRW, 0x0, 0x1000, Va::kBuf},
    {"c52_read_only_flag_on_read_only_buffer", kR, 0x200000, 0x1000, Va::kReadOnly},
    {"read_only", kR, 0x200000, 0x1000, Va::kBuf},
    {"write_only", kW, 0x200000, 0x1000, Va::kBuf},
    {"below_msi_window", kRW, 0xFEDFF000, 0x1000, Va::kBuf},
    {"above_msi_window", kRW, 0xFEF00000, 0x1000, Va::kBuf},
    {"above_4g", kRW, 0x100000000, 0x1000, Va::kBuf},
    {"last_page_of_aperture", kRW, 0xFFFFFFFFF000, 0x1000, Va::kBuf},
    {"same_vaddr_other_iova", kRW, 0x300000, 0x10000, Va::kBuf},
};

class MapOkTest : public ::testing::TestWithParam<std::tuple<const char*, OkRow>> {};

TEST_P(MapOkTest, AddsExactlyOneEntry) {
  const auto& [profile, row] = GetParam();
  VfioFixture f(&P(profile));
  f.SetUpVfio();
  Buffers bufs;
  ASSERT_OK(f.Map(0x100000, 0x10000, bufs.buf().va()));
  const Type1Snapshot before = TakeType1Snapshot(f.sim());
  const uint64_t vaddr = bufs.Resolve(row.va, 0);
  EXPECT_OK(MapRaw(f, sizeof(vfio_iommu_type1_dma_map), row.flags, vaddr, row.iova, row.size));
  const Type1Snapshot after = TakeType1Snapshot(f.sim());
  ASSERT_EQ(after.mappings.size(), before.mappings.size() + 1);
  EXPECT_EQ(after.dma_avail, before.dma_avail - 1);
  EXPECT_EQ(after.memlock_locked, before.memlock_locked + row.size);
  const uint8_t prot = static_cast<uint8_t>(row.flags & kRW);
  bool found = false;
  for (const MappingState& m : after.mappings) {
    if (m.iova != row.iova) continue;
    found = true;
    EXPECT_EQ(m, (MappingState{row.iova, row.size, vaddr, prot, false, false}));
  }
  EXPECT_TRUE(found);
  // The IO page table maps the first and the last page to the buffer.
  for (const TranslationSample& t : after.translations) {
    if (t.iova == row.iova || t.iova == row.iova + row.size - kPage) {
      EXPECT_TRUE(t.ok) << std::hex << t.iova;
      EXPECT_EQ(t.output, vaddr + (t.iova - row.iova));
      EXPECT_EQ(t.prot, prot);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, MapOkTest,
                         ::testing::Combine(::testing::Values("linux-6.1", "linux-6.18"),
                                            ::testing::ValuesIn(kOkRows)),
                         [](const auto& info) {
                           return RowName(std::string(std::get<0>(info.param)) + "_" +
                                          std::get<1>(info.param).name);
                         });

// ---------------------------------------------------------------- argsz sweep

struct ArgszRow {
  uint32_t argsz;
  int err;  // 0 = maps
};

class MapArgszTest : public ::testing::TestWithParam<ArgszRow> {};

// Case 41 and the general argsz rule: minsz 32; anything larger is accepted
// and MAP writes nothing back at all.
TEST_P(MapArgszTest, MinszIs32AndNothingIsWrittenBack) {
  const ArgszRow row = GetParam();
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x1000);
  alignas(8) uint8_t user[4096];
  std::memset(user, 0xa5, sizeof(user));
  vfio_iommu_type1_dma_map map{};
  map.argsz = row.argsz;
  map.flags = kRW;
  map.vaddr = buf.va();
  map.iova = 0x100000;
  map.size = 0x1000;
  std::memcpy(user, &map, sizeof(map));
  uint8_t expect[4096];
  std::memcpy(expect, user, sizeof(user));
  if (row.err != 0) {
    ExpectUnchanged(f, [&] {
      EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_MAP_DMA, user), row.err);
    });
  } else {
    EXPECT_OK(f.sim().Ioctl(f.container(), VFIO_IOMMU_MAP_DMA, user));
    EXPECT_EQ(TakeType1Snapshot(f.sim()).mappings.size(), 1u);
  }
  EXPECT_EQ(std::memcmp(user, expect, sizeof(user)), 0) << "MAP_DMA wrote to the user buffer";
}

INSTANTIATE_TEST_SUITE_P(Sweep, MapArgszTest,
                         ::testing::Values(ArgszRow{0, EINVAL}, ArgszRow{31, EINVAL},
                                           ArgszRow{32, 0}, ArgszRow{40, 0}, ArgszRow{256, 0},
                                           ArgszRow{4096, 0}),
                         [](const auto& info) { return "argsz" + std::to_string(info.param.argsz); });

// EFAULT: NULL, and a struct whose minsz bytes run into an unmapped page.
TEST(MapFaultTest, UnreadableArgumentIsEfault) {
  VfioFixture f;
  f.SetUpVfio();
  ExpectUnchanged(f, [&] {
    EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_MAP_DMA, static_cast<uintptr_t>(0)),
                 EFAULT);
  });
  // A PROT_NONE guard page (not munmap: a later mmap could reuse the hole).
  auto* two = static_cast<uint8_t*>(
      mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(two, MAP_FAILED);
  ASSERT_EQ(mprotect(two + kPage, kPage, PROT_NONE), 0);
  DmaBuffer buf(0x1000);
  vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof(map);
  map.flags = kRW;
  map.vaddr = buf.va();
  map.iova = 0x100000;
  map.size = 0x1000;
  // Only the first 24 bytes are readable: size (bytes 24..31) is not.
  uint8_t* at = two + kPage - 24;
  std::memcpy(at, &map, 24);
  ExpectUnchanged(f, [&] {
    EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_MAP_DMA, at), EFAULT);
  });
  munmap(two, 2 * kPage);
}

// ---------------------------------------------------------------- flag matrix per profile

struct FlagRow {
  const char* profile;
  bool arm;  // machine with an ARM SMMU (software-managed MSI window)
  uint32_t flags;
  int err;  // 0 = success
};

// Upstream mask READ|WRITE|VADDR; seed 000 gives bit 2 to RESERVED_MSI_IOVA
// (refused where no MSI window is needed: x86); seed 003 does not know bit 2.
// The VADDR rows aim at an unmapped IOVA, hence ENOENT where bit 2 is VADDR.
const FlagRow kFlagRows[] = {
    {"linux-6.1", false, 0, EINVAL},        {"linux-6.1", false, kR, 0},
    {"linux-6.1", false, kW, 0},            {"linux-6.1", false, kRW, 0},
    {"linux-6.1", false, kBit2, ENOENT},    {"linux-6.1", false, kBit2 | kR, EINVAL},
    {"linux-6.1", false, kBit2 | kW, EINVAL}, {"linux-6.1", false, kBit2 | kRW, EINVAL},
    {"linux-6.1", false, 0x8 | kRW, EINVAL}, {"linux-6.1", false, 0x10 | kRW, EINVAL},
    {"linux-6.18", false, kRW, 0},          {"linux-6.18", false, kBit2, ENOENT},
    {"linux-6.18", false, kBit2 | kRW, EINVAL}, {"linux-6.18", false, 0x8 | kRW, EINVAL},
    {"rfc-vsva-2020", false, kRW, 0},       {"rfc-vsva-2020", false, kBit2, ENOENT},
    {"rfc-msi-resv-2016", false, kRW, 0},   {"rfc-msi-resv-2016", false, kR, 0},
    {"rfc-msi-resv-2016", false, kBit2, EINVAL},
    {"rfc-msi-resv-2016", false, 0x8 | kRW, EINVAL},
    {"rfc-msi-resv-2016", true, kBit2, 0},  {"rfc-msi-resv-2016", true, kRW, 0},
    {"rfc-resv-iova-2016", false, kRW, 0},  {"rfc-resv-iova-2016", false, kBit2, EINVAL},
    {"rfc-resv-iova-2016", false, kBit2 | kRW, EINVAL},
    {"rfc-resv-iova-2016", false, 0x8 | kRW, EINVAL},
};

core::MachineConfig ArmMachine() {
  core::MachineConfig arm = sim::DefaultMachineConfig();
  arm.iommu_model = core::IommuModel::kArmSmmu;
  return arm;
}

class MapFlagTest : public ::testing::TestWithParam<FlagRow> {};

TEST_P(MapFlagTest, MaskPerProfile) {
  const FlagRow row = GetParam();
  VfioFixture f(&P(row.profile), row.arm ? ArmMachine() : sim::DefaultMachineConfig());
  f.SetUpVfio();
  DmaBuffer buf(0x2000);
  if (row.err == 0) {
    EXPECT_OK(MapRaw(f, sizeof(vfio_iommu_type1_dma_map), row.flags, buf.va(), 0x200000, 0x2000));
    EXPECT_EQ(TakeType1Snapshot(f.sim()).mappings.size(), 1u);
  } else {
    ExpectUnchanged(f, [&] {
      EXPECT_ERRNO(MapRaw(f, sizeof(vfio_iommu_type1_dma_map), row.flags, buf.va(), 0x200000, 0x2000),
                   row.err);
    });
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, MapFlagTest, ::testing::ValuesIn(kFlagRows),
                         [](const auto& info) {
                           return RowName(std::string(info.param.profile) +
                                          (info.param.arm ? "_arm" : "_x86") + "_flags" +
                                          std::to_string(info.param.flags));
                         });

// Seed 000 on ARM: RESERVED_MSI_IOVA registers a window with no backing.
TEST(MsiWindowTest, RegistrationPinsNothingAndMapsNothing) {
  VfioFixture f(&P("rfc-msi-resv-2016"), ArmMachine());
  f.SetUpVfio();
  const Type1Snapshot before = TakeType1Snapshot(f.sim());
  // vaddr is ignored: junk (even unaligned) is accepted.
  EXPECT_OK(MapRaw(f, sizeof(vfio_iommu_type1_dma_map), VFIO_DMA_MAP_FLAG_RESERVED_MSI_IOVA,
                   0x123, 0x8000000, 0x100000));
  const Type1Snapshot after = TakeType1Snapshot(f.sim());
  ASSERT_EQ(after.mappings.size(), 1u);
  EXPECT_EQ(after.mappings[0].iova, 0x8000000u);
  EXPECT_EQ(after.mappings[0].size, 0x100000u);
  EXPECT_TRUE(after.mappings[0].msi_reserved);
  EXPECT_EQ(after.memlock_locked, before.memlock_locked);  // nothing pinned
  EXPECT_EQ(after.dma_avail, before.dma_avail - 1);
  EXPECT_EQ(after.page_table_count, before.page_table_count);  // nothing mapped
  for (const TranslationSample& t : after.translations) {
    if (t.iova == 0x8000000 || t.iova == 0x80ff000) {
      EXPECT_FALSE(t.ok);
    }
  }
  // Overlapping the window is an overlap like any other; alignment still applies.
  DmaBuffer buf(0x1000);
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0x80ff000, 0x1000, buf.va()), EEXIST); });
  ExpectUnchanged(f, [&] {
    EXPECT_ERRNO(MapRaw(f, sizeof(vfio_iommu_type1_dma_map), VFIO_DMA_MAP_FLAG_RESERVED_MSI_IOVA,
                        0, 0x20000800, 0x100000),
                 EINVAL);
  });
}

// ---------------------------------------------------------------- dma_entry_limit

core::MachineConfig SmallLimitMachine() {
  core::MachineConfig m = sim::DefaultMachineConfig();
  m.dma_entry_limit = 8;
  return m;
}

// Cases 53, 54 with dma_entry_limit = 8.
TEST(DmaEntryLimitTest, EnospcAtTheLimitAndBeforeTheRangeCheck) {
  VfioFixture f(nullptr, SmallLimitMachine());
  f.SetUpVfio();
  DmaBuffer buf(0x1000);
  for (uint64_t i = 0; i < 8; ++i) ASSERT_OK(f.Map(0x10000000 + i * kPage, kPage, buf.va()));
  EXPECT_EQ(TakeType1Snapshot(f.sim()).dma_avail, 0u);
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0x20000000, kPage, buf.va()), ENOSPC); });
  // Case 54: EEXIST precedes ENOSPC, ENOSPC precedes the IOVA-list check.
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0x10000000, kPage, buf.va()), EEXIST); });
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0xFEE00000, kPage, buf.va()), ENOSPC); });
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0x1000000000000, kPage, buf.va()), ENOSPC); });
  // ... but the argument checks come first.
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0x20000800, kPage, buf.va()), EINVAL); });
  // Case 53: one unmap frees one slot.
  uint64_t unmapped = 0;
  ASSERT_OK(f.Unmap(0x10003000, kPage, 0, &unmapped));
  EXPECT_EQ(unmapped, kPage);
  EXPECT_EQ(TakeType1Snapshot(f.sim()).dma_avail, 1u);
  EXPECT_OK(f.Map(0x20000000, kPage, buf.va()));
  EXPECT_ERRNO(f.Map(0x20001000, kPage, buf.va()), ENOSPC);
  // A failed map (EFAULT) gives its slot back.
  ASSERT_OK(f.Unmap(0x20000000, kPage));
  EXPECT_ERRNO(f.Map(0x20000000, kPage, 0), EFAULT);
  EXPECT_EQ(TakeType1Snapshot(f.sim()).dma_avail, 1u);
  EXPECT_OK(f.Map(0x20000000, kPage, buf.va()));
}

// Case 53 at the real default: 65535 entries, as the transcript's
// lim.map_until_failure.
TEST(DmaEntryLimitTest, DefaultLimitIs65535) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x1000);
  uint32_t ok = 0;
  for (uint64_t i = 0; i < 70000; ++i) {
    if (f.Map(0x10000000 + i * kPage, kPage, buf.va()) != 0) break;
    ++ok;
  }
  EXPECT_EQ(ok, 65535u);
  EXPECT_ERRNO(f.Map(0x8000000, kPage, buf.va()), ENOSPC);
  EXPECT_EQ(TakeType1Snapshot(f.sim()).dma_avail, 0u);
  uint64_t unmapped = 0;
  ASSERT_OK(f.Unmap(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &unmapped));
  EXPECT_EQ(unmapped, 65535u * kPage);
  EXPECT_EQ(TakeType1Snapshot(f.sim()).dma_avail, 65535u);
}

// ---------------------------------------------------------------- allocation failures

// Every fallible step of a MAP (mapping record, each page-table page) fails
// in turn with ENOMEM; each failure must leave nothing behind.
TEST(MapAllocFailureTest, EachFailurePointLeavesNothingBehind) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x3000);
  ASSERT_OK(f.Map(0x100000, 0x1000, buf.va()));
  const Type1Snapshot before = TakeType1Snapshot(f.sim(), kEduGroup, {0x8000000000, 0x8000002000});
  uint64_t n = 1;
  for (; n < 64; ++n) {
    core::FailNth::Arm(n);
    const int r = f.Map(0x8000000000, 0x3000, buf.va());  // a fresh 512 GiB slot: 3 new tables
    const int err = errno;
    const bool fired = core::FailNth::Fired();
    core::FailNth::Disarm();
    if (!fired) {
      EXPECT_EQ(r, 0);
      break;
    }
    EXPECT_EQ(r, -1) << "failure point " << n;
    EXPECT_EQ(err, ENOMEM) << "failure point " << n;
    const Type1Snapshot after = TakeType1Snapshot(f.sim(), kEduGroup, {0x8000000000, 0x8000002000});
    EXPECT_TRUE(before == after) << "failure point " << n << ":\n" << DiffType1Snapshots(before, after);
  }
  EXPECT_GE(n, 3u) << "expected at least a record and page-table pages to be allocated";
  EXPECT_EQ(TakeType1Snapshot(f.sim()).mappings.size(), 2u);
}

// The per-container page-table budget: a map that would pass it fails ENOMEM
// and gives back every table it took.
TEST(MapAllocFailureTest, PageTableBudget) {
  core::MachineConfig m = sim::DefaultMachineConfig();
  m.page_table_bytes_limit = 4 * 4096;  // root + one path of 3 tables (4-level, 48-bit)
  VfioFixture f(nullptr, m);
  f.SetUpVfio();
  DmaBuffer buf(0x2000);
  ASSERT_OK(f.Map(0x100000, 0x1000, buf.va()));
  EXPECT_EQ(TakeType1Snapshot(f.sim()).page_table_count, 4u);
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0x8000000000, 0x1000, buf.va()), ENOMEM); },
                  kEduGroup, {0x8000000000});
  EXPECT_OK(f.Map(0x101000, 0x1000, buf.va()));  // same leaf table: no new one needed
}

// ---------------------------------------------------------------- RLIMIT_MEMLOCK

// The transcript's lim.memlock.* sequence: every mapping is charged in full,
// even when it pins pages another mapping already pinned.
TEST(MemlockTest, EnomemPastTheLimitAndReleasedOnUnmap) {
  VfioFixture f;
  f.SetUpVfio();
  f.sim().kernel().SetMemlockLimit(0x10000);
  DmaBuffer buf(0x30000);
  ASSERT_OK(f.Map(0x100000, 0x8000, buf.va()));
  ASSERT_OK(f.Map(0x200000, 0x8000, buf.va(0x8000)));
  EXPECT_EQ(f.sim().kernel().memlock().locked.load(), 0x10000u);
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0x300000, 0x1000, buf.va(0x10000)), ENOMEM); });
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0x400000, 0x1000, buf.va()), ENOMEM); });
  uint64_t unmapped = 0;
  ASSERT_OK(f.Unmap(0x100000, 0x8000, 0, &unmapped));
  EXPECT_EQ(unmapped, 0x8000u);
  EXPECT_EQ(f.sim().kernel().memlock().locked.load(), 0x8000u);
  EXPECT_OK(f.Map(0x300000, 0x1000, buf.va(0x10000)));
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0x500000, 0x10000, buf.va(0x20000)), ENOMEM); });
  ASSERT_OK(f.Unmap(0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &unmapped));
  EXPECT_EQ(unmapped, 0x9000u);
  EXPECT_EQ(f.sim().kernel().memlock().locked.load(), 0u);
  // With the charge gone the full limit is available again.
  EXPECT_OK(f.Map(0x500000, 0x10000, buf.va(0x20000)));
}

// Releasing the container (its last group leaving) unpins everything; closing
// only the container fd does not, the group keeps the container alive.
TEST(MemlockTest, ReleasedWithTheContainer) {
  VfioFixture f;
  f.SetUpVfio();
  f.sim().kernel().SetMemlockLimit(0x10000);
  DmaBuffer buf(0x10000);
  ASSERT_OK(f.Map(0x100000, 0x10000, buf.va()));
  EXPECT_EQ(f.sim().kernel().memlock().locked.load(), 0x10000u);
  ASSERT_OK(f.sim().Close(f.container()));
  EXPECT_EQ(f.sim().kernel().memlock().locked.load(), 0x10000u);
  ASSERT_OK(f.sim().Close(f.group()));
  EXPECT_EQ(f.sim().kernel().memlock().locked.load(), 0u);
  EXPECT_FALSE(TakeType1Snapshot(f.sim()).has_container);
  // A new container can pin up to the limit again.
  f.SetUpVfio();
  EXPECT_OK(f.Map(0x100000, 0x10000, buf.va()));
}

TEST(MemlockTest, ReleasedOnUnsetContainer) {
  VfioFixture f;
  f.SetUpVfio();
  f.sim().kernel().SetMemlockLimit(0x10000);
  DmaBuffer buf(0x4000);
  ASSERT_OK(f.Map(0x100000, 0x4000, buf.va()));
  ASSERT_OK(f.Map(0x200000, 0x4000, buf.va()));
  EXPECT_EQ(f.sim().kernel().memlock().locked.load(), 0x8000u);
  ASSERT_OK(f.sim().Ioctl(f.group(), VFIO_GROUP_UNSET_CONTAINER));
  EXPECT_EQ(f.sim().kernel().memlock().locked.load(), 0u);
}

// ---------------------------------------------------------------- reserved regions (§8)

core::MachineConfig WithExtraRegion(core::ReservedType type) {
  core::MachineConfig m = sim::DefaultMachineConfig();
  m.extra_reserved.push_back({{0xA0000000, 0xA00FFFFF}, type});
  return m;
}

// An RMRR-like DIRECT range is carved out of the IOVA list: maps fail EINVAL.
TEST(ReservedRegionMapTest, DirectRangeIsNotMappable) {
  VfioFixture f(nullptr, WithExtraRegion(core::ReservedType::kDirect));
  f.SetUpVfio();
  DmaBuffer buf(0x2000);
  for (uint64_t iova : {0xA0000000ull, 0xA00FF000ull, 0xA0080000ull}) {
    ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(iova, kPage, buf.va()), EINVAL); }, kEduGroup,
                    {iova});
  }
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0x9FFFF000, 0x2000, buf.va()), EINVAL); });
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0xA00FF000, 0x2000, buf.va()), EINVAL); });
  EXPECT_OK(f.Map(0x9FFFF000, kPage, buf.va()));
  EXPECT_OK(f.Map(0xA0100000, kPage, buf.va()));
}

// A DIRECT_RELAXABLE range (USB / graphics RMRR) stays mappable.
TEST(ReservedRegionMapTest, RelaxableRangeIsMappable) {
  VfioFixture f(nullptr, WithExtraRegion(core::ReservedType::kDirectRelaxable));
  f.SetUpVfio();
  DmaBuffer buf(0x2000);
  EXPECT_OK(f.Map(0xA0080000, kPage, buf.va()));
  EXPECT_OK(f.Map(0x9FFFF000, 0x2000, buf.va()));  // straddling its start is fine too
  EXPECT_EQ(TakeType1Snapshot(f.sim()).mappings.size(), 2u);
}

// A reserved (AMD HT-hole-like) range is excluded like DIRECT.
TEST(ReservedRegionMapTest, ReservedRangeIsNotMappable) {
  VfioFixture f(nullptr, WithExtraRegion(core::ReservedType::kReserved));
  f.SetUpVfio();
  DmaBuffer buf(0x1000);
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0xA0000000, kPage, buf.va()), EINVAL); });
}

// A group joining a live container brings its own reserved regions: one that
// overlaps an existing mapping makes SET_CONTAINER fail EINVAL with nothing
// changed (vfio_iommu_resv_conflict); a relaxable one never conflicts; a
// disjoint one shrinks the IOVA list until the group leaves again.
TEST(ReservedRegionMapTest, JoiningGroupsRegionsAgainstMappings) {
  const core::ReservedRegion msi{{0xFEE00000, 0xFEEFFFFF}, core::ReservedType::kMsi};
  for (const auto& [type, join_err] :
       {std::pair{core::ReservedType::kDirect, EINVAL}, std::pair{core::ReservedType::kReserved, EINVAL},
        std::pair{core::ReservedType::kDirectRelaxable, 0}}) {
    SCOPED_TRACE(core::ReservedTypeName(type));
    VfioFixture f;
    f.sim().machine().AddPciDevice("0000:03:00.0", 0x1b36, 0x0005, 5);
    f.sim().kernel().SetGroupReservedRegions(5, {msi, {{0x101000, 0x101FFF}, type}});
    f.SetUpVfio();
    DmaBuffer buf(0x4000);
    ASSERT_OK(f.Map(0x100000, 0x4000, buf.va()));
    const int g5 = f.OpenGroup(5);
    ASSERT_GE(g5, 0);
    if (join_err != 0) {
      ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.SetContainer(g5, f.container()), join_err); });
      EXPECT_EQ(f.GroupFlags(g5), uint32_t{VFIO_GROUP_FLAGS_VIABLE});
      EXPECT_EQ(f.sim().kernel().GroupContainer(5), nullptr);
    } else {
      EXPECT_OK(f.SetContainer(g5, f.container()));
      EXPECT_EQ(TakeType1Snapshot(f.sim()).iova_ranges.size(), 2u);  // nothing carved out
    }
  }
  // Disjoint: the list loses the region while the group is attached.
  VfioFixture f;
  f.sim().machine().AddPciDevice("0000:03:00.0", 0x1b36, 0x0005, 5);
  f.sim().kernel().SetGroupReservedRegions(
      5, {msi, {{0xA0000000, 0xA00FFFFF}, core::ReservedType::kDirect}});
  f.SetUpVfio();
  DmaBuffer buf(0x1000);
  ASSERT_OK(f.Map(0x100000, 0x1000, buf.va()));
  const int g5 = f.OpenGroup(5);
  ASSERT_OK(f.SetContainer(g5, f.container()));
  EXPECT_EQ(TakeType1Snapshot(f.sim()).iova_ranges.size(), 3u);
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.Map(0xA0000000, kPage, buf.va()), EINVAL); });
  ASSERT_OK(f.sim().Ioctl(g5, VFIO_GROUP_UNSET_CONTAINER));
  EXPECT_EQ(TakeType1Snapshot(f.sim()).iova_ranges.size(), 2u);
  EXPECT_OK(f.Map(0xA0000000, kPage, buf.va()));
}

}  // namespace
}  // namespace vfiosim::testing
