// Type1Iommu::AttachGroup / DetachGroup against reserved regions (spec §7.1,
// §7.2, §8): a *joining* group whose non-relaxable reserved region overlaps an
// existing mapping is refused with EINVAL and nothing changes; the IOVA list
// follows the attached groups; the other attach refusals and their order.
// Checked on the backend directly so that every region type and edge can be
// tried without building machines; tests/uapi/type1_map_test.cc has the same
// rule end to end (Kernel::SetGroupReservedRegions + SET_CONTAINER).
#include "core/type1_iommu.h"

#include <gtest/gtest.h>

#include <vector>

#include "core/fault_injection.h"

namespace vfiosim::core {
namespace {

constexpr uint64_t kPage = 0x1000;
const ReservedRegion kMsi{{0xFEE00000, 0xFEEFFFFF}, ReservedType::kMsi};

MachineConfig TrustingMachine() {
  MachineConfig m;
  m.vaddr_policy = VaddrPolicy::kTrust;  // no real memory behind the vaddrs below
  return m;
}

// Everything AttachGroup could disturb.
struct State {
  size_t groups;
  std::vector<IovaRange> iova_ranges;
  std::vector<std::pair<uint64_t, uint64_t>> mappings;
  uint32_t dma_avail;
  size_t tables;
  uint64_t locked;
  bool operator==(const State&) const = default;
};

class Type1AttachTest : public ::testing::Test {
 protected:
  Type1AttachTest()
      : machine_(TrustingMachine()),
        iommu_(/*v2=*/true, /*nesting=*/false, /*domain_id=*/1, machine_, behavior_, &memlock_) {}

  Status Map(uint64_t iova, uint64_t size) {
    MapRequest req;
    req.read = req.write = true;
    req.vaddr = 0x7f0000000000 + iova;
    req.iova = iova;
    req.size = size;
    return iommu_.Map(req);
  }
  State Snapshot() const {
    State s{iommu_.group_count(), iommu_.space().IovaRanges(), {}, iommu_.dma_avail(),
            iommu_.page_table().table_count(), memlock_.locked.load()};
    iommu_.space().ForEach([&](const DmaMapping& m) { s.mappings.push_back({m.iova, m.size}); });
    return s;
  }

  MachineConfig machine_;
  KernelBehavior behavior_;
  MemlockAccount memlock_;
  Type1Iommu iommu_;
};

struct ConflictRow {
  const char* name;
  ReservedRegion region;  // the joining group's extra region
  int err;                // 0 = joins
};

class Type1AttachConflictTest : public Type1AttachTest,
                                public ::testing::WithParamInterface<ConflictRow> {};

// The container holds M(0x100000, 0x4000); group 2 joins with one extra region.
TEST_P(Type1AttachConflictTest, RegionOverlappingAMapping) {
  const ConflictRow& row = GetParam();
  ASSERT_TRUE(iommu_.AttachGroup(1, {kMsi}).ok());
  ASSERT_TRUE(Map(0x100000, 0x4000).ok());
  const State before = Snapshot();
  Status s = iommu_.AttachGroup(2, {kMsi, row.region});
  EXPECT_EQ(s.err(), row.err);
  if (row.err != 0) {
    EXPECT_TRUE(Snapshot() == before);
    EXPECT_FALSE(iommu_.HasGroup(2));
    // The mapping is still usable and the list unchanged.
    EXPECT_TRUE(iommu_.page_table().Translate(0x100000, kProtRead).ok);
  } else {
    EXPECT_TRUE(iommu_.HasGroup(2));
    EXPECT_EQ(iommu_.group_count(), 2u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Regions, Type1AttachConflictTest,
    ::testing::Values(
        ConflictRow{"direct_over_mapping", {{0x101000, 0x101FFF}, ReservedType::kDirect}, EINVAL},
        ConflictRow{"direct_covering_mapping", {{0x0, 0xFFFFFF}, ReservedType::kDirect}, EINVAL},
        ConflictRow{"direct_touching_last_page", {{0x103000, 0x200000}, ReservedType::kDirect}, EINVAL},
        ConflictRow{"reserved_over_mapping", {{0x100000, 0x100FFF}, ReservedType::kReserved}, EINVAL},
        ConflictRow{"msi_over_mapping", {{0x102000, 0x102FFF}, ReservedType::kMsi}, EINVAL},
        ConflictRow{"sw_msi_over_mapping", {{0x100000, 0x1FFFFF}, ReservedType::kSwMsi}, EINVAL},
        // DIRECT_RELAXABLE never conflicts: it is not carved out of the list.
        ConflictRow{"relaxable_over_mapping", {{0x100000, 0x103FFF}, ReservedType::kDirectRelaxable}, 0},
        // Adjacent, not overlapping.
        ConflictRow{"direct_just_below", {{0xFF000, 0xFFFFF}, ReservedType::kDirect}, 0},
        ConflictRow{"direct_just_above", {{0x104000, 0x104FFF}, ReservedType::kDirect}, 0}),
    [](const auto& info) { return std::string(info.param.name); });

// A joining group's regions shrink the list; leaving grows it back.
TEST_F(Type1AttachTest, ListFollowsTheAttachedGroups) {
  ASSERT_TRUE(iommu_.AttachGroup(1, {kMsi}).ok());
  const std::vector<IovaRange> one = iommu_.space().IovaRanges();
  EXPECT_EQ(one, (std::vector<IovaRange>{{0x0, 0xFEDFFFFF}, {0xFEF00000, 0xFFFFFFFFFFFF}}));
  ASSERT_TRUE(iommu_.AttachGroup(2, {kMsi, {{0xA0000000, 0xA00FFFFF}, ReservedType::kDirect}}).ok());
  EXPECT_EQ(iommu_.space().IovaRanges(),
            (std::vector<IovaRange>{{0x0, 0x9FFFFFFF}, {0xA0100000, 0xFEDFFFFF}, {0xFEF00000, 0xFFFFFFFFFFFF}}));
  EXPECT_EQ(Map(0xA0000000, kPage).err(), EINVAL);
  iommu_.DetachGroup(2);
  EXPECT_EQ(iommu_.space().IovaRanges(), one);
  EXPECT_TRUE(Map(0xA0000000, kPage).ok());
}

// The other refusals of vfio_iommu_type1_attach_group, each with no change.
TEST_F(Type1AttachTest, OtherRefusals) {
  ASSERT_TRUE(iommu_.AttachGroup(1, {kMsi}).ok());
  ASSERT_TRUE(Map(0x100000, 0x2000).ok());
  const State before = Snapshot();
  // Already attached.
  EXPECT_EQ(iommu_.AttachGroup(1, {kMsi}).err(), EINVAL);
  // Nothing would be left of the IOVA list.
  EXPECT_EQ(iommu_.AttachGroup(3, {{{0x0, 0xFFFFFFFFFFFF}, ReservedType::kReserved}}).err(), EINVAL);
  // Allocation failure.
  FailNth::Arm(1, FailSite::kObjectAlloc);
  EXPECT_EQ(iommu_.AttachGroup(4, {kMsi}).err(), ENOMEM);
  FailNth::Disarm();
  EXPECT_TRUE(Snapshot() == before);
  // vaddrs invalidated: EBUSY, before anything else (even an already-attached group).
  UnmapRequest inval;
  inval.iova = 0x100000;
  inval.size = 0x2000;
  inval.invalidate_vaddr = true;
  ASSERT_TRUE(iommu_.Unmap(inval).ok());
  const State invalid = Snapshot();
  EXPECT_EQ(iommu_.AttachGroup(5, {kMsi}).err(), EBUSY);
  EXPECT_EQ(iommu_.AttachGroup(1, {kMsi}).err(), EBUSY);
  EXPECT_TRUE(Snapshot() == invalid);
}

// Without interrupt remapping the attach fails EPERM (after the list checks).
TEST(Type1AttachMachineTest, NoInterruptRemapping) {
  MachineConfig m = TrustingMachine();
  m.interrupt_remapping = false;
  KernelBehavior b;
  MemlockAccount memlock;
  Type1Iommu iommu(true, false, 1, m, b, &memlock);
  EXPECT_EQ(iommu.AttachGroup(1, {kMsi}).err(), EPERM);
  EXPECT_EQ(iommu.group_count(), 0u);
  // The empty-list check comes first.
  EXPECT_EQ(iommu.AttachGroup(1, {{{0x0, 0xFFFFFFFFFFFF}, ReservedType::kReserved}}).err(), EINVAL);
  m.allow_unsafe_interrupts = true;
  Type1Iommu unsafe(true, false, 1, m, b, &memlock);
  EXPECT_TRUE(unsafe.AttachGroup(1, {kMsi}).ok());
}

}  // namespace
}  // namespace vfiosim::core
