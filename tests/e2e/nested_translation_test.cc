// End to end (issue 5): a client builds a 4-level guest page table in its own
// buffer, maps that buffer with MAP_DMA (stage 2), allocates a PASID, binds
// the table, and a device DMAs with that PASID at guest virtual addresses,
// landing on the right bytes of client memory. After unbind the same access
// faults. Guest table changes are invisible until the matching invalidation.
#include <gtest/gtest.h>
#include <linux/vfio.h>

#include <cstring>
#include <span>

#include "api/test_channel.h"
#include "api/uapi/iommu_vsva_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"
#include "core/first_level_table.h"
#include "tests/util/vfio_fixture.h"
#include "tests/util/vsva_requests.h"

namespace vfiosim::testing {
namespace {

constexpr uint64_t kGuestRamGpa = 0x40000000;  // stage-2 IOVA of the guest RAM buffer
constexpr size_t kGuestRamSize = 64 * 4096;
constexpr uint64_t kDataPage = 0x30000;         // offset of the data pages in the buffer
constexpr uint64_t kGva = 0x00007f1234560000;   // where the guest maps them

class NestedE2eTest : public ::testing::Test, public VfioFixture {
 protected:
  explicit NestedE2eTest(core::MachineConfig machine = sim::DefaultMachineConfig())
      : VfioFixture(api::FindProfile("rfc-vsva-2020"), machine), ram_(kGuestRamSize), channel_(sim()) {}

  void SetUp() override {
    SetUpVfio(VFIO_TYPE1_NESTING_IOMMU);
    ASSERT_OK(Map(kGuestRamGpa, kGuestRamSize, ram_.va()));
    auto builder = core::GuestPageTableBuilder::Create(std::span<uint8_t>(ram_.data(), kGuestRamSize),
                                                       kGuestRamGpa, 4);
    ASSERT_TRUE(builder.ok());
    builder_.emplace(std::move(*builder));
    ASSERT_TRUE(builder_->Map(kGva, kGuestRamGpa + kDataPage, 4096, core::kProtRead | core::kProtWrite, true).ok());
    ASSERT_TRUE(builder_->Map(kGva + 4096, kGuestRamGpa + kDataPage + 4096, 4096, core::kProtRead, true).ok());
    pasid_ = AllocPasid(1, 1000);
    ASSERT_GT(pasid_, 0u);
  }

  uint32_t AllocPasid(uint32_t min, uint32_t max) {
    vfio_iommu_type1_pasid_request req{};
    req.argsz = sizeof(req);
    req.flags = VFIO_IOMMU_PASID_ALLOC;
    req.alloc_pasid.min = min;
    req.alloc_pasid.max = max;
    if (sim().Ioctl(container(), VFIO_IOMMU_PASID_REQUEST, &req) != 0) return 0;
    return req.alloc_pasid.result;
  }

  int BindCall(uint32_t flags, uint32_t hpasid, uint64_t gpgd) {
    BindRequest arg = MakeBind(flags, BindData(hpasid, gpgd));
    return sim().Ioctl(container(), VFIO_IOMMU_BIND, arg.data());
  }

  int Invalidate(uint8_t cache, uint8_t granularity, uint32_t pasid, uint64_t addr, uint64_t pages) {
    const uint32_t flags = PasidFlagFor(granularity);
    vfio_iommu_type1_cache_invalidate inv = MakeInvalidation(cache, granularity, flags, pasid, addr, 4096, pages);
    return sim().Ioctl(container(), VFIO_IOMMU_CACHE_INVALIDATE, &inv);
  }

  DmaBuffer ram_;
  api::TestChannel channel_;
  std::optional<core::GuestPageTableBuilder> builder_;
  uint32_t pasid_ = 0;
};

TEST_F(NestedE2eTest, DmaAtGuestVirtualAddressesHitsClientMemory) {
  ASSERT_OK(BindCall(VFIO_IOMMU_BIND_GUEST_PGTBL, pasid_, builder_->root_gpa()));
  const char kMessage[] = "written by a device at a guest virtual address";
  sim::DmaResult w = channel_.DmaWrite(kEduGroup, kGva + 0x10, kMessage, sizeof(kMessage), pasid_);
  ASSERT_TRUE(w.ok) << core::FaultReasonName(w.fault.reason);
  EXPECT_EQ(std::memcmp(ram_.data() + kDataPage + 0x10, kMessage, sizeof(kMessage)), 0);

  ram_.data()[kDataPage + 4096 + 7] = 0x5c;  // the read-only guest page
  uint8_t got = 0;
  ASSERT_TRUE(channel_.DmaRead(kEduGroup, kGva + 4096 + 7, &got, 1, pasid_).ok);
  EXPECT_EQ(got, 0x5c);

  // Writing through a read-only first-level entry is a permission fault.
  sim::DmaResult denied = channel_.DmaWrite(kEduGroup, kGva + 4096, kMessage, 4, pasid_);
  ASSERT_FALSE(denied.ok);
  EXPECT_EQ(denied.fault.reason, core::FaultReason::kPermission);
  EXPECT_TRUE(denied.fault.pasid_valid);
  EXPECT_EQ(denied.fault.pasid, pasid_);
  EXPECT_EQ(denied.fault.addr, kGva + 4096);

  // An unmapped guest virtual address: the first level has no entry.
  sim::DmaResult missing = channel_.DmaRead(kEduGroup, kGva + 2 * 4096, &got, 1, pasid_);
  ASSERT_FALSE(missing.ok);
  EXPECT_EQ(missing.fault.reason, core::FaultReason::kPteFetch);

  // The same DMA without a PASID is a stage-2 access at IOVA kGva: nothing there.
  EXPECT_FALSE(channel_.DmaRead(kEduGroup, kGva, &got, 1).ok);

  // After unbind the PASID entry is gone.
  ASSERT_OK(BindCall(VFIO_IOMMU_UNBIND_GUEST_PGTBL, pasid_, builder_->root_gpa()));
  sim::DmaResult after = channel_.DmaRead(kEduGroup, kGva + 0x10, &got, 1, pasid_);
  ASSERT_FALSE(after.ok);
  EXPECT_EQ(after.fault.reason, core::FaultReason::kBadPasidEntry);
  EXPECT_GE(channel_.Port(kEduGroup).faults().total(), 3u);
}

TEST_F(NestedE2eTest, GuestTableChangeNeedsTheMatchingInvalidation) {
  ASSERT_OK(BindCall(VFIO_IOMMU_BIND_GUEST_PGTBL, pasid_, builder_->root_gpa()));
  std::memset(ram_.data() + kDataPage, 'A', 4096);
  std::memset(ram_.data() + kDataPage + 2 * 4096, 'B', 4096);
  uint8_t got = 0;
  ASSERT_TRUE(channel_.DmaRead(kEduGroup, kGva, &got, 1, pasid_).ok);
  ASSERT_EQ(got, 'A');

  // The guest repoints its PTE at another page, as a guest OS would, without telling the IOMMU.
  auto pte = builder_->EntryGpa(kGva, 1);
  ASSERT_TRUE(pte.ok());
  ASSERT_TRUE(builder_->WriteU64(*pte, (kGuestRamGpa + kDataPage + 2 * 4096) | core::kFlPresent |
                                           core::kFlWritable | core::kFlUser).ok());
  ASSERT_TRUE(channel_.DmaRead(kEduGroup, kGva, &got, 1, pasid_).ok);
  EXPECT_EQ(got, 'A') << "the IOTLB still holds the old translation";

  // An invalidation of another PASID or another range changes nothing.
  uint32_t other = AllocPasid(1, 1000);
  ASSERT_OK(Invalidate(IOMMU_CACHE_INV_TYPE_IOTLB, IOMMU_INV_GRANU_ADDR, other, kGva, 1));
  ASSERT_OK(Invalidate(IOMMU_CACHE_INV_TYPE_IOTLB, IOMMU_INV_GRANU_ADDR, pasid_, kGva + 0x100000, 1));
  ASSERT_TRUE(channel_.DmaRead(kEduGroup, kGva, &got, 1, pasid_).ok);
  EXPECT_EQ(got, 'A');

  // The matching invalidation makes the change visible.
  ASSERT_OK(Invalidate(IOMMU_CACHE_INV_TYPE_IOTLB, IOMMU_INV_GRANU_ADDR, pasid_, kGva, 1));
  ASSERT_TRUE(channel_.DmaRead(kEduGroup, kGva, &got, 1, pasid_).ok);
  EXPECT_EQ(got, 'B');
}

TEST_F(NestedE2eTest, PasidGranularityInvalidation) {
  ASSERT_OK(BindCall(VFIO_IOMMU_BIND_GUEST_PGTBL, pasid_, builder_->root_gpa()));
  ram_.data()[kDataPage] = 'A';
  ram_.data()[kDataPage + 2 * 4096] = 'B';
  uint8_t got = 0;
  ASSERT_TRUE(channel_.DmaRead(kEduGroup, kGva, &got, 1, pasid_).ok);
  auto pte = builder_->EntryGpa(kGva, 1);
  ASSERT_TRUE(builder_->WriteU64(*pte, (kGuestRamGpa + kDataPage + 2 * 4096) | core::kFlPresent).ok());
  ASSERT_OK(Invalidate(IOMMU_CACHE_INV_TYPE_IOTLB, IOMMU_INV_GRANU_PASID, pasid_, 0, 0));
  ASSERT_TRUE(channel_.DmaRead(kEduGroup, kGva, &got, 1, pasid_).ok);
  EXPECT_EQ(got, 'B');
}

TEST_F(NestedE2eTest, StageTwoUnmapIsSeenWithoutInvalidation) {
  ASSERT_OK(BindCall(VFIO_IOMMU_BIND_GUEST_PGTBL, pasid_, builder_->root_gpa()));
  uint8_t got = 0;
  ASSERT_TRUE(channel_.DmaRead(kEduGroup, kGva, &got, 1, pasid_).ok);
  uint64_t unmapped = 0;
  ASSERT_OK(Unmap(kGuestRamGpa, kGuestRamSize, 0, &unmapped));
  sim::DmaResult r = channel_.DmaRead(kEduGroup, kGva, &got, 1, pasid_);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.fault.reason, core::FaultReason::kWalkEabt);  // the guest root is gone from stage 2
}

class NestedRefsTest : public NestedE2eTest {
 protected:
  static core::MachineConfig FourKOnly() {
    core::MachineConfig m = sim::DefaultMachineConfig();
    m.pgsize_bitmap = 0x1000;  // stage 2 in 4 KiB leaves: 4 references per stage-2 walk
    return m;
  }
  NestedRefsTest() : NestedE2eTest(FourKOnly()) {}
};

TEST_F(NestedRefsTest, ColdTwoDimensionalWalkCosts24References) {
  ASSERT_OK(BindCall(VFIO_IOMMU_BIND_GUEST_PGTBL, pasid_, builder_->root_gpa()));
  auto t = channel_.Translate(kEduGroup, kGva, core::kProtRead, pasid_);
  ASSERT_TRUE(t.has_value());
  ASSERT_TRUE(t->ok);
  EXPECT_EQ(t->mem_refs, 24u);  // 4 guest levels x (4 stage-2 refs + 1) + 4 for the final gpa
  auto hot = channel_.Translate(kEduGroup, kGva, core::kProtRead, pasid_);
  ASSERT_TRUE(hot.has_value() && hot->ok);
  EXPECT_EQ(hot->mem_refs, 0u);  // IOTLB hit
  EXPECT_EQ(ToU64(hot->translation.Output(kGva)), ram_.va(kDataPage));
}

}  // namespace
}  // namespace vfiosim::testing
