// VFIO_IOMMU_GET_INFO conformance (spec §7.4, §8; checklist cases 34-40):
// the argsz / write-back rule, the capability chain rule, the chain's exact
// bytes per profile and machine, and the IOVA list as reserved regions shape it.
#include <gtest/gtest.h>
#include <linux/vfio.h>
#include <sys/mman.h>

#include <cstring>
#include <string>
#include <vector>

#include "api/profile.h"
#include "api/uapi/vfio_msi_resv_rfc.h"
#include "api/uapi/vfio_resv_iova_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"
#include "tests/util/type1_snapshot.h"
#include "tests/util/vfio_fixture.h"

namespace vfiosim::testing {
namespace {

const api::Profile& P(const char* name) { return *api::FindProfile(name); }

constexpr uint32_t kFlagsCaps = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
constexpr uint64_t kPgsizes = 0x40201000;
constexpr size_t kHdr = sizeof(vfio_iommu_type1_info);  // 24
constexpr uint8_t kFill = 0xa5;

// A 4 KiB user buffer pre-filled with 0xa5 holding a vfio_iommu_type1_info.
struct InfoBuffer {
  alignas(8) uint8_t bytes[4096];
  explicit InfoBuffer(uint32_t argsz) {
    std::memset(bytes, kFill, sizeof(bytes));
    std::memcpy(bytes, &argsz, sizeof(argsz));
  }
  template <typename T>
  T At(size_t offset) const {
    T v;
    std::memcpy(&v, bytes + offset, sizeof(T));
    return v;
  }
  vfio_iommu_type1_info Header() const { return At<vfio_iommu_type1_info>(0); }
  // True when every byte in [from, to) still holds the fill pattern.
  bool Untouched(size_t from, size_t to = 4096) const {
    for (size_t i = from; i < to; ++i) {
      if (bytes[i] != kFill) return false;
    }
    return true;
  }
};

int GetInfo(VfioFixture& f, InfoBuffer& b) {
  return f.sim().Ioctl(f.container(), VFIO_IOMMU_GET_INFO, b.bytes);
}

struct CapRef {
  uint32_t offset;
  uint16_t id;
  uint16_t version;
  uint32_t next;
  bool operator==(const CapRef&) const = default;
};

void PrintTo(const CapRef& c, std::ostream* os) {
  *os << "{@" << c.offset << " id " << c.id << " v" << c.version << " next " << c.next << "}";
}

// Follows the chain from cap_offset; stops on a loop or a pointer out of the buffer.
std::vector<CapRef> Chain(const InfoBuffer& b) {
  std::vector<CapRef> out;
  uint32_t at = b.Header().cap_offset;
  while (at != 0 && at + sizeof(vfio_info_cap_header) <= sizeof(b.bytes) && out.size() < 64) {
    vfio_info_cap_header h = b.At<vfio_info_cap_header>(at);
    out.push_back({at, h.id, h.version, h.next});
    at = h.next;
  }
  return out;
}

// ---------------------------------------------------------------- argsz sweep (34-38)

struct ArgszRow {
  uint32_t argsz;
  int err;
  uint32_t argsz_out;     // argsz the kernel writes back (when >= 4 bytes come back)
  bool chain;             // caps copied, cap_offset 24
};

// linux-6.1 on the 48-bit reference machine needs 116 bytes (24 + 32 + 12 + 48).
class InfoArgszTest : public ::testing::TestWithParam<ArgszRow> {};

TEST_P(InfoArgszTest, WriteBackIsMinOfArgszAnd24AndCapsOnlyWhenTheyFit) {
  const ArgszRow row = GetParam();
  VfioFixture f;
  f.SetUpVfio();
  InfoBuffer b(row.argsz);
  if (row.err != 0) {
    ExpectUnchanged(f, [&] { EXPECT_ERRNO(GetInfo(f, b), row.err); });
    EXPECT_TRUE(b.Untouched(4)) << "the user struct must stay untouched";
    EXPECT_EQ(b.At<uint32_t>(0), row.argsz);
    return;
  }
  ExpectUnchanged(f, [&] { EXPECT_OK(GetInfo(f, b)); });  // a query changes nothing either
  const size_t w = std::min<size_t>(row.argsz, kHdr);
  EXPECT_EQ(b.At<uint32_t>(0), row.argsz_out);
  EXPECT_EQ(b.At<uint32_t>(4), kFlagsCaps);  // input flags are ignored
  EXPECT_EQ(b.At<uint64_t>(8), kPgsizes);
  if (w >= 24) {
    EXPECT_EQ(b.At<uint32_t>(16), row.chain ? 24u : 0u);
    EXPECT_EQ(b.At<uint32_t>(20), 0u) << "pad";
  }
  if (row.chain) {
    EXPECT_EQ(Chain(b).size(), 3u);
    EXPECT_TRUE(b.Untouched(116));
  } else {
    EXPECT_TRUE(b.Untouched(w)) << "nothing may be written past min(argsz, 24)";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Sweep, InfoArgszTest,
    ::testing::Values(ArgszRow{0, EINVAL, 0, false}, ArgszRow{8, EINVAL, 0, false},
                      ArgszRow{15, EINVAL, 0, false}, ArgszRow{16, 0, 116, false},
                      ArgszRow{23, 0, 116, false}, ArgszRow{24, 0, 116, false},
                      ArgszRow{32, 0, 116, false}, ArgszRow{108, 0, 116, false},
                      ArgszRow{115, 0, 116, false}, ArgszRow{116, 0, 116, true},
                      ArgszRow{124, 0, 124, true}, ArgszRow{4096, 0, 4096, true}),
    [](const auto& info) { return "argsz" + std::to_string(info.param.argsz); });

// Case 37: the worked example, byte for byte.
TEST(InfoLayoutTest, Linux61ChainBytes) {
  VfioFixture f;
  f.SetUpVfio();
  InfoBuffer b(116);
  ASSERT_OK(GetInfo(f, b));
  EXPECT_EQ(Chain(b), (std::vector<CapRef>{{24, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 1, 56},
                                           {56, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1, 68},
                                           {68, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, 0}}));
  auto mig = b.At<vfio_iommu_type1_info_cap_migration>(24);
  EXPECT_EQ(mig.flags, 0u);
  EXPECT_EQ(mig.pgsize_bitmap, 0x1000u);
  EXPECT_EQ(mig.max_dirty_bitmap_size, 0x10000000u);
  EXPECT_EQ(b.At<uint32_t>(56 + 8), 65535u);  // DMA_AVAIL.avail (struct is 12 bytes, unaligned here)
  EXPECT_EQ(b.At<uint32_t>(68 + 8), 2u);      // nr_iovas
  EXPECT_EQ(b.At<uint32_t>(68 + 12), 0u);     // reserved
  EXPECT_EQ(b.At<uint64_t>(84), 0x0u);
  EXPECT_EQ(b.At<uint64_t>(92), 0xFEDFFFFFu);
  EXPECT_EQ(b.At<uint64_t>(100), 0xFEF00000u);
  EXPECT_EQ(b.At<uint64_t>(108), 0xFFFFFFFFFFFFu);
}

// Case 39: DMA_AVAIL follows the entry count.
TEST(InfoLayoutTest, DmaAvailCountsEntries) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x1000);
  for (uint64_t iova : {0x100000, 0x200000, 0x300000}) ASSERT_OK(f.Map(iova, 0x1000, buf.va()));
  InfoBuffer b(4096);
  ASSERT_OK(GetInfo(f, b));
  EXPECT_EQ(b.At<uint32_t>(56 + 8), 65532u);
  ASSERT_OK(f.Unmap(0x200000, 0x1000));
  InfoBuffer b2(4096);
  ASSERT_OK(GetInfo(f, b2));
  EXPECT_EQ(b2.At<uint32_t>(56 + 8), 65533u);
}

// Case 40: a v1 container reports exactly what a v2 one does.
TEST(InfoLayoutTest, V1ContainerIsIdentical) {
  VfioFixture v2;
  v2.SetUpVfio(VFIO_TYPE1v2_IOMMU);
  VfioFixture v1;
  v1.SetUpVfio(VFIO_TYPE1_IOMMU);
  InfoBuffer a(116), b(116);
  ASSERT_OK(GetInfo(v2, a));
  ASSERT_OK(GetInfo(v1, b));
  EXPECT_EQ(std::memcmp(a.bytes, b.bytes, sizeof(a.bytes)), 0);
}

// The 39-bit reference machine: the second IOVA range ends at 2^39 - 1.
TEST(InfoLayoutTest, ApertureFollowsAddressWidth) {
  core::MachineConfig m = sim::DefaultMachineConfig();
  m.address_width = 39;
  VfioFixture f(nullptr, m);
  f.SetUpVfio();
  InfoBuffer b(4096);
  ASSERT_OK(GetInfo(f, b));
  EXPECT_EQ(b.At<uint64_t>(108), 0x7FFFFFFFFFu);
}

// EFAULT: NULL; minsz unreadable; and the cap chain's copy-out faulting,
// which fails before the header is written (the kernel copies caps first).
TEST(InfoFaultTest, BadPointersAreEfault) {
  VfioFixture f;
  f.SetUpVfio();
  ExpectUnchanged(f, [&] {
    EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_GET_INFO, static_cast<uintptr_t>(0)),
                 EFAULT);
  });
  constexpr size_t kPage = 4096;
  auto* two = static_cast<uint8_t*>(
      mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(two, MAP_FAILED);
  ASSERT_EQ(mprotect(two + kPage, kPage, PROT_NONE), 0);
  // iova_pgsizes (bytes 8..15) unreadable.
  uint8_t* at = two + kPage - 8;
  const uint32_t argsz_flags[2] = {4096, 0};
  std::memcpy(at, argsz_flags, 8);
  EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_GET_INFO, at), EFAULT);
  // 32 writable bytes claiming 4096: the chain at 24 runs into the guard page.
  at = two + kPage - 32;
  std::memset(at, kFill, 32);
  std::memcpy(at, argsz_flags, 8);
  EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_GET_INFO, at), EFAULT);
  // Bytes 8..23 (iova_pgsizes, cap_offset, pad) keep the fill: no header
  // write-back. (Bytes 24..31 may hold part of the chain, as copy_to_user
  // can leave a partial copy behind.)
  for (size_t i = 8; i < 24; ++i) EXPECT_EQ(at[i], kFill) << "header byte " << i << " written";
  munmap(two, 2 * kPage);
}

// ---------------------------------------------------------------- chains per profile

struct ChainRow {
  const char* name;
  const char* profile;
  bool arm;
  long iommu_type;
  uint32_t argsz_needed;  // 0: no caps (argsz stays, flags PGSIZES only)
  std::vector<CapRef> chain;
};

core::MachineConfig ArmMachine() {
  core::MachineConfig arm = sim::DefaultMachineConfig();
  arm.iommu_model = core::IommuModel::kArmSmmu;
  return arm;
}

const std::vector<CapRef> kUpstreamChain = {{24, 2, 1, 56}, {56, 3, 1, 68}, {68, 1, 1, 0}};

const ChainRow kChainRows[] = {
    {"linux61", "linux-6.1", false, VFIO_TYPE1v2_IOMMU, 116, kUpstreamChain},
    {"linux618", "linux-6.18", false, VFIO_TYPE1v2_IOMMU, 116, kUpstreamChain},
    {"linux61_arm", "linux-6.1", true, VFIO_TYPE1v2_IOMMU, 116, kUpstreamChain},
    // Seed 001: no MIGRATION; a nesting container leads with NESTING (id 2).
    {"vsva_v2", "rfc-vsva-2020", false, VFIO_TYPE1v2_IOMMU, 84, {{24, 3, 1, 36}, {36, 1, 1, 0}}},
    {"vsva_nesting", "rfc-vsva-2020", false, VFIO_TYPE1_NESTING_IOMMU, 100,
     {{24, 2, 1, 40}, {40, 3, 1, 52}, {52, 1, 1, 0}}},
    // Seed 003: one RESV_IOVA_RANGE (id 1) per reserved range.
    {"resv_iova_x86", "rfc-resv-iova-2016", false, VFIO_TYPE1v2_IOMMU, 48, {{24, 1, 1, 0}}},
    {"resv_iova_arm", "rfc-resv-iova-2016", true, VFIO_TYPE1v2_IOMMU, 48, {{24, 1, 1, 0}}},
    // Seed 000: MSI_RESV (id 1) only where the MSI doorbells need a window.
    {"msi_resv_x86", "rfc-msi-resv-2016", false, VFIO_TYPE1v2_IOMMU, 0, {}},
    {"msi_resv_arm", "rfc-msi-resv-2016", true, VFIO_TYPE1v2_IOMMU, 48, {{24, 1, 1, 0}}},
};

class InfoChainTest : public ::testing::TestWithParam<ChainRow> {};

TEST_P(InfoChainTest, ChainPerProfile) {
  const ChainRow& row = GetParam();
  VfioFixture f(&P(row.profile), row.arm ? ArmMachine() : sim::DefaultMachineConfig());
  f.SetUpVfio(row.iommu_type);
  // Too small: argsz raised to what is needed, nothing past the header.
  InfoBuffer small(kHdr);
  ASSERT_OK(GetInfo(f, small));
  if (row.argsz_needed == 0) {
    EXPECT_EQ(small.Header().argsz, kHdr);
    EXPECT_EQ(small.Header().flags, uint32_t{VFIO_IOMMU_INFO_PGSIZES});
  } else {
    EXPECT_EQ(small.Header().argsz, row.argsz_needed);
    EXPECT_EQ(small.Header().flags, kFlagsCaps);
  }
  EXPECT_EQ(small.Header().cap_offset, 0u);
  EXPECT_TRUE(small.Untouched(kHdr));
  // Large enough.
  InfoBuffer big(4096);
  ASSERT_OK(GetInfo(f, big));
  EXPECT_EQ(big.Header().argsz, 4096u);
  EXPECT_EQ(big.Header().cap_offset, row.chain.empty() ? 0u : 24u);
  EXPECT_EQ(Chain(big), row.chain);
  EXPECT_TRUE(big.Untouched(row.argsz_needed == 0 ? kHdr : row.argsz_needed));
}

INSTANTIATE_TEST_SUITE_P(Profiles, InfoChainTest, ::testing::ValuesIn(kChainRows),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(InfoCapContentTest, VsvaNestingCap) {
  VfioFixture f(&P("rfc-vsva-2020"));
  f.SetUpVfio(VFIO_TYPE1_NESTING_IOMMU);
  InfoBuffer b(4096);
  ASSERT_OK(GetInfo(f, b));
  auto cap = b.At<vfio_iommu_type1_info_cap_nesting>(24);
  EXPECT_EQ(cap.header.id, VFIO_IOMMU_TYPE1_INFO_CAP_NESTING);
  EXPECT_EQ(cap.nesting_capabilities, uint32_t{VFIO_IOMMU_PASID_REQS});
  EXPECT_EQ(cap.stage1_format, 1u);  // IOMMU_PASID_FORMAT_INTEL_VTD
  EXPECT_EQ(b.At<uint32_t>(40 + 8), 65535u);  // DMA_AVAIL follows
}

TEST(InfoCapContentTest, ResvIovaRangePerReservedRange) {
  core::MachineConfig m = sim::DefaultMachineConfig();
  m.extra_reserved.push_back({{0xA0000000, 0xA00FFFFF}, core::ReservedType::kDirect});
  VfioFixture f(&P("rfc-resv-iova-2016"), m);
  f.SetUpVfio();
  InfoBuffer b(4096);
  ASSERT_OK(GetInfo(f, b));
  EXPECT_EQ(b.Header().argsz, 4096u);
  const std::vector<CapRef> chain = Chain(b);
  ASSERT_EQ(chain, (std::vector<CapRef>{{24, 1, 1, 48}, {48, 1, 1, 0}}));
  auto msi = b.At<vfio_iommu_type1_info_cap_resv_iova_range>(24);
  EXPECT_EQ(msi.start, 0xFEE00000u);
  EXPECT_EQ(msi.end, 0xFEEFFFFFu);
  auto rmrr = b.At<vfio_iommu_type1_info_cap_resv_iova_range>(48);
  EXPECT_EQ(rmrr.start, 0xA0000000u);
  EXPECT_EQ(rmrr.end, 0xA00FFFFFu);
  EXPECT_TRUE(b.Untouched(72));
}

TEST(InfoCapContentTest, ResvIovaRangeOnArmIsTheSwMsiWindow) {
  VfioFixture f(&P("rfc-resv-iova-2016"), ArmMachine());
  f.SetUpVfio();
  InfoBuffer b(4096);
  ASSERT_OK(GetInfo(f, b));
  auto cap = b.At<vfio_iommu_type1_info_cap_resv_iova_range>(24);
  EXPECT_EQ(cap.start, 0x08000000u);
  EXPECT_EQ(cap.end, 0x080FFFFFu);
}

TEST(InfoCapContentTest, MsiResvOnArm) {
  VfioFixture f(&P("rfc-msi-resv-2016"), ArmMachine());
  f.SetUpVfio();
  InfoBuffer b(4096);
  ASSERT_OK(GetInfo(f, b));
  auto cap = b.At<vfio_iommu_type1_info_cap_msi_resv>(24);
  EXPECT_EQ(cap.header.id, VFIO_IOMMU_TYPE1_INFO_CAP_MSI_RESV);
  EXPECT_EQ(cap.header.version, 1u);
  EXPECT_EQ(cap.size, 0x100000u);
  EXPECT_EQ(cap.alignment, 0x100000u);
  // The capability keeps being reported once a window is registered (the
  // seed says nothing about withdrawing it), and the window shows in no list.
  ASSERT_OK(f.Map(0x8000000, 0x100000, 0, VFIO_DMA_MAP_FLAG_RESERVED_MSI_IOVA));
  InfoBuffer after(4096);
  ASSERT_OK(GetInfo(f, after));
  EXPECT_EQ(Chain(after), (std::vector<CapRef>{{24, 1, 1, 0}}));
}

// ---------------------------------------------------------------- IOVA list (§7.1, §8)

std::vector<std::pair<uint64_t, uint64_t>> IovaRanges(const InfoBuffer& b) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const CapRef& c : Chain(b)) {
    if (c.id != VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) continue;
    const uint32_t nr = b.At<uint32_t>(c.offset + 8);
    for (uint32_t i = 0; i < nr; ++i) {
      out.push_back({b.At<uint64_t>(c.offset + 16 + 16 * i), b.At<uint64_t>(c.offset + 24 + 16 * i)});
    }
  }
  return out;
}

struct IovaListRow {
  const char* name;
  bool arm;
  std::vector<core::ReservedRegion> extra;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
};

const IovaListRow kIovaListRows[] = {
    {"x86_default", false, {}, {{0x0, 0xFEDFFFFF}, {0xFEF00000, 0xFFFFFFFFFFFF}}},
    // ARM SMMU: the software-managed MSI window is carved out.
    {"arm_sw_msi", true, {}, {{0x0, 0x7FFFFFF}, {0x8100000, 0xFFFFFFFFFFFF}}},
    // An RMRR-like DIRECT range is excluded ...
    {"x86_direct",
     false,
     {{{0xA0000000, 0xA00FFFFF}, core::ReservedType::kDirect}},
     {{0x0, 0x9FFFFFFF}, {0xA0100000, 0xFEDFFFFF}, {0xFEF00000, 0xFFFFFFFFFFFF}}},
    // ... a DIRECT_RELAXABLE one (USB, graphics) is not.
    {"x86_direct_relaxable",
     false,
     {{{0xA0000000, 0xA00FFFFF}, core::ReservedType::kDirectRelaxable}},
     {{0x0, 0xFEDFFFFF}, {0xFEF00000, 0xFFFFFFFFFFFF}}},
    // An AMD HT-hole-like RESERVED range is excluded.
    {"x86_reserved_ht_hole",
     false,
     {{{0xFD00000000, 0xFFFFFFFFFF}, core::ReservedType::kReserved}},
     {{0x0, 0xFEDFFFFF}, {0xFEF00000, 0xFCFFFFFFFF}, {0x10000000000, 0xFFFFFFFFFFFF}}},
    // A range at IOVA 0 and one adjacent to the MSI window merge into the holes.
    {"x86_direct_at_zero_and_adjacent",
     false,
     {{{0x0, 0xFFF}, core::ReservedType::kDirect},
      {{0xFEF00000, 0xFEF0FFFF}, core::ReservedType::kDirect}},
     {{0x1000, 0xFEDFFFFF}, {0xFEF10000, 0xFFFFFFFFFFFF}}},
};

class IovaListTest : public ::testing::TestWithParam<IovaListRow> {};

TEST_P(IovaListTest, ReservedRegionsShapeTheList) {
  const IovaListRow& row = GetParam();
  core::MachineConfig m = row.arm ? ArmMachine() : sim::DefaultMachineConfig();
  m.extra_reserved = row.extra;
  VfioFixture f(nullptr, m);
  f.SetUpVfio();
  InfoBuffer b(4096);
  ASSERT_OK(GetInfo(f, b));
  EXPECT_EQ(IovaRanges(b), row.ranges);
  EXPECT_EQ(b.Header().argsz, 4096u);
  // The snapshot's view of the list agrees with what GET_INFO reported.
  const Type1Snapshot s = TakeType1Snapshot(f.sim());
  ASSERT_EQ(s.iova_ranges.size(), row.ranges.size());
  for (size_t i = 0; i < row.ranges.size(); ++i) {
    EXPECT_EQ(s.iova_ranges[i].start, row.ranges[i].first);
    EXPECT_EQ(s.iova_ranges[i].last, row.ranges[i].second);
  }
}

INSTANTIATE_TEST_SUITE_P(Machines, IovaListTest, ::testing::ValuesIn(kIovaListRows),
                         [](const auto& info) { return std::string(info.param.name); });

// The required argsz follows the number of IOVA ranges: 24 + 32 + 12 + 16 + 16n.
TEST(IovaListTest2, NeededArgszGrowsWithRanges) {
  core::MachineConfig m = sim::DefaultMachineConfig();
  m.extra_reserved.push_back({{0xA0000000, 0xA00FFFFF}, core::ReservedType::kDirect});
  VfioFixture f(nullptr, m);
  f.SetUpVfio();
  InfoBuffer b(16);
  ASSERT_OK(GetInfo(f, b));
  EXPECT_EQ(b.Header().argsz, 24u + 32 + 12 + 16 + 3 * 16);
  EXPECT_TRUE(b.Untouched(16));
}

}  // namespace
}  // namespace vfiosim::testing
