// The caching model of nested (two-stage) translation, end to end (issue 5).
//
// Like VT-d in caching mode, the simulated IOMMU caches a PASID's translations
// (IOTLB entries tagged by PASID) and its PASID entry (PASID cache) until the
// guest's VFIO_IOMMU_CACHE_INVALIDATE says otherwise. These tests repoint
// guest PTEs behind the IOMMU's back and check which invalidation makes which
// change visible, for every granularity; then the corners of the 2D walk:
// large guest leaves over a 4 KiB stage 2, 5-level tables, a guest table page
// missing from stage 2, non-canonical addresses, out-of-range PASIDs and PASID
// DMA where no binding applies.
#include <gtest/gtest.h>
#include <linux/vfio.h>

#include <cstring>
#include <optional>
#include <ostream>
#include <span>

#include "api/test_channel.h"
#include "api/uapi/iommu_vsva_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"
#include "core/container.h"
#include "core/first_level_table.h"
#include "core/kernel.h"
#include "core/nested_domain.h"
#include "tests/util/vfio_fixture.h"
#include "tests/util/vsva_requests.h"

namespace vfiosim::testing {
namespace {

using core::FaultReason;

constexpr uint64_t kGuestRamGpa = 0x40000000;  // stage-2 IOVA of the guest RAM buffer (1 GiB aligned)
constexpr size_t kGuestRamSize = 64 * 4096;
constexpr uint64_t kData = 0x20000;  // pages the guest maps first: 'a', 'b', 'c', 'd'
constexpr uint64_t kAlt = 0x28000;   // where it repoints them:      'A', 'B', 'C', 'D'
constexpr int kPages = 4;
constexpr uint64_t kGva = 0x00007f1234560000;
constexpr int kOtherGroup = 3;  // dma-test device, viable, own group

core::MachineConfig Machine(int address_width = 48, uint64_t pgsize_bitmap = 0x40201000,
                            size_t iotlb_entries = 4096) {
  core::MachineConfig m = sim::DefaultMachineConfig();
  m.address_width = address_width;
  m.pgsize_bitmap = pgsize_bitmap;
  m.iotlb_entries = iotlb_entries;
  return m;
}

// A one-byte DMA read: the byte, or the fault.
struct Probe {
  bool ok = false;
  uint8_t byte = 0;
  FaultReason reason = FaultReason::kUnknown;
  bool operator==(const Probe&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Probe& p) {
  if (p.ok) return os << "read '" << static_cast<char>(p.byte) << "'";
  return os << "fault " << core::FaultReasonName(p.reason);
}
Probe Byte(char c) { return Probe{true, static_cast<uint8_t>(c), FaultReason::kUnknown}; }
Probe Fault(FaultReason r) { return Probe{false, 0, r}; }

class NestedCachingTest : public ::testing::Test, public VfioFixture {
 protected:
  explicit NestedCachingTest(core::MachineConfig machine = Machine(), int levels = 4,
                             long type = VFIO_TYPE1_NESTING_IOMMU)
      : VfioFixture(api::FindProfile("rfc-vsva-2020"), machine),
        levels_(levels),
        type_(type),
        ram_(kGuestRamSize),
        channel_(sim()) {}

  void SetUp() override {
    SetUpVfio(type_);
    ASSERT_OK(Map(kGuestRamGpa, kGuestRamSize, ram_.va()));
    auto builder = core::GuestPageTableBuilder::Create(std::span<uint8_t>(ram_.data(), kGuestRamSize),
                                                       kGuestRamGpa, levels_);
    ASSERT_TRUE(builder.ok());
    builder_.emplace(std::move(*builder));
    for (int i = 0; i < kPages; ++i) {
      std::memset(ram_.data() + kData + i * 4096, 'a' + i, 4096);
      std::memset(ram_.data() + kAlt + i * 4096, 'A' + i, 4096);
      ASSERT_TRUE(builder_->Map(Gva(i), kGuestRamGpa + kData + i * 4096, 4096,
                                core::kProtRead | core::kProtWrite, true).ok());
    }
    if (type_ != VFIO_TYPE1_NESTING_IOMMU) return;
    p1_ = Alloc();
    p2_ = Alloc();
    ASSERT_NE(p1_, 0u);
    ASSERT_NE(p2_, 0u);
    // Both PASIDs share one guest table; their cached state is separate.
    ASSERT_OK(Bind(container(), VFIO_IOMMU_BIND_GUEST_PGTBL, p1_, builder_->root_gpa(), builder_->addr_width()));
    ASSERT_OK(Bind(container(), VFIO_IOMMU_BIND_GUEST_PGTBL, p2_, builder_->root_gpa(), builder_->addr_width()));
  }

  static uint64_t Gva(int page) { return kGva + uint64_t(page) * 4096; }

  uint32_t Alloc(int container = -1) {
    vfio_iommu_type1_pasid_request req{};
    req.argsz = sizeof(req);
    req.flags = VFIO_IOMMU_PASID_ALLOC;
    req.alloc_pasid.min = 1;
    req.alloc_pasid.max = 1000;
    int c = container < 0 ? this->container() : container;
    return sim().Ioctl(c, VFIO_IOMMU_PASID_REQUEST, &req) == 0 ? req.alloc_pasid.result : 0;
  }
  int Bind(int container, uint32_t flags, uint32_t hpasid, uint64_t gpgd, int addr_width) {
    BindRequest arg = MakeBind(flags, BindData(hpasid, gpgd, static_cast<uint32_t>(addr_width)));
    return sim().Ioctl(container, VFIO_IOMMU_BIND, arg.data());
  }
  int Invalidate(uint8_t cache, uint8_t granularity, uint32_t pasid_flags, uint32_t pasid, uint64_t addr = 0,
                 uint64_t granule = 0, uint64_t granules = 0) {
    vfio_iommu_type1_cache_invalidate inv =
        MakeInvalidation(cache, granularity, pasid_flags, pasid, addr, granule, granules);
    return sim().Ioctl(container(), VFIO_IOMMU_CACHE_INVALIDATE, &inv);
  }

  Probe Read(uint32_t pasid, uint64_t gva, int group = kEduGroup) {
    uint8_t got = 0;
    sim::DmaResult r = channel_.DmaRead(group, gva, &got, 1, pasid);
    return r.ok ? Byte(static_cast<char>(got)) : Fault(r.fault.reason);
  }
  sim::DmaResult ReadFull(uint32_t pasid, uint64_t gva, int group = kEduGroup) {
    uint8_t got = 0;
    return channel_.DmaRead(group, gva, &got, 1, pasid);
  }

  // The guest repoints page i at its alternate page, telling nobody.
  void Repoint(int page) {
    auto pte = builder_->EntryGpa(Gva(page), 1);
    ASSERT_TRUE(pte.ok());
    ASSERT_TRUE(builder_->WriteU64(*pte, (kGuestRamGpa + kAlt + page * 4096) | core::kFlPresent |
                                             core::kFlWritable | core::kFlUser).ok());
  }
  // Reads page i with every PASID (filling the caches), then repoints it.
  void WarmAndRepoint(int page) {
    for (uint32_t p : {p1_, p2_}) ASSERT_EQ(Read(p, Gva(page)), Byte('a' + page));
    Repoint(page);
  }

  core::NestedStats Stats(int group = kEduGroup) {
    core::NestedStats out;
    std::shared_ptr<core::Container> c = sim().kernel().GroupContainer(group);
    EXPECT_TRUE(c != nullptr);
    if (!c) return out;
    core::Status s = c->WithIommu([&](core::Type1Iommu& iommu) -> core::Status {
      if (iommu.nested() == nullptr) return core::Error(EOPNOTSUPP);
      out = iommu.nested()->stats();
      return core::Status::Ok();
    });
    EXPECT_TRUE(s.ok());
    return out;
  }

  const int levels_;
  const long type_;
  DmaBuffer ram_;
  api::TestChannel channel_;
  std::optional<core::GuestPageTableBuilder> builder_;
  uint32_t p1_ = 0, p2_ = 0;
};

// ---------------------------------------------------------------- invalidation granularity

TEST_F(NestedCachingTest, DomainIotlbDropsEveryPasid) {
  WarmAndRepoint(0);
  WarmAndRepoint(1);
  for (uint32_t p : {p1_, p2_}) EXPECT_EQ(Read(p, Gva(0)), Byte('a')) << "stale until invalidated";
  // The PASID cache alone holds no translations: the IOTLB stays stale.
  ASSERT_OK(Invalidate(IOMMU_CACHE_INV_TYPE_PASID, IOMMU_INV_GRANU_DOMAIN, 0, 0));
  EXPECT_EQ(Read(p1_, Gva(0)), Byte('a'));
  ASSERT_OK(Invalidate(IOMMU_CACHE_INV_TYPE_IOTLB, IOMMU_INV_GRANU_DOMAIN, 0, 0));
  for (uint32_t p : {p1_, p2_}) {
    EXPECT_EQ(Read(p, Gva(0)), Byte('A'));
    EXPECT_EQ(Read(p, Gva(1)), Byte('B'));
  }
}

TEST_F(NestedCachingTest, PasidGranularityDropsOnlyThatPasid) {
  WarmAndRepoint(0);
  ASSERT_OK(Invalidate(IOMMU_CACHE_INV_TYPE_IOTLB, IOMMU_INV_GRANU_PASID, IOMMU_INV_PASID_FLAGS_PASID, p1_));
  EXPECT_EQ(Read(p1_, Gva(0)), Byte('A'));
  EXPECT_EQ(Read(p2_, Gva(0)), Byte('a')) << "another PASID keeps its cached translation";
  ASSERT_OK(Invalidate(IOMMU_CACHE_INV_TYPE_IOTLB, IOMMU_INV_GRANU_PASID, IOMMU_INV_PASID_FLAGS_PASID, p2_));
  EXPECT_EQ(Read(p2_, Gva(0)), Byte('A'));
}

TEST_F(NestedCachingTest, AddrLeafInvalidationCoversExactlyItsGranules) {
  for (int i = 0; i < kPages; ++i) WarmAndRepoint(i);
  // Three 4 KiB granules from page 0, leaf entries only, PASID p1.
  ASSERT_OK(Invalidate(IOMMU_CACHE_INV_TYPE_IOTLB, IOMMU_INV_GRANU_ADDR,
                       IOMMU_INV_ADDR_FLAGS_PASID | IOMMU_INV_ADDR_FLAGS_LEAF, p1_, Gva(0), 4096, 3));
  EXPECT_EQ(Read(p1_, Gva(0)), Byte('A'));
  EXPECT_EQ(Read(p1_, Gva(1)), Byte('B'));
  EXPECT_EQ(Read(p1_, Gva(2)), Byte('C'));
  EXPECT_EQ(Read(p1_, Gva(3)), Byte('d')) << "past the last granule";
  for (int i = 0; i < kPages; ++i) EXPECT_EQ(Read(p2_, Gva(i)), Byte('a' + i)) << "other PASID, page " << i;
  // One 16 KiB granule from page 0 (the LEAF flag does not narrow the range) reaches page 3.
  ASSERT_OK(Invalidate(IOMMU_CACHE_INV_TYPE_IOTLB, IOMMU_INV_GRANU_ADDR,
                       IOMMU_INV_ADDR_FLAGS_PASID | IOMMU_INV_ADDR_FLAGS_LEAF, p1_, Gva(0), 4 * 4096, 1));
  EXPECT_EQ(Read(p1_, Gva(3)), Byte('D'));
}

TEST_F(NestedCachingTest, AddrWithoutPasidFlagCoversEveryPasid) {
  WarmAndRepoint(0);
  WarmAndRepoint(1);
  ASSERT_OK(Invalidate(IOMMU_CACHE_INV_TYPE_IOTLB, IOMMU_INV_GRANU_ADDR, 0, /*pasid ignored*/ 999, Gva(0), 4096, 1));
  for (uint32_t p : {p1_, p2_}) {
    EXPECT_EQ(Read(p, Gva(0)), Byte('A'));
    EXPECT_EQ(Read(p, Gva(1)), Byte('b')) << "outside the range";
  }
}

class NoIotlbTest : public NestedCachingTest {
 protected:
  NoIotlbTest() : NestedCachingTest(Machine(48, 0x40201000, /*iotlb_entries=*/0)) {}
};

TEST_F(NoIotlbTest, GuestChangesAreVisibleAtOnce) {
  WarmAndRepoint(0);
  EXPECT_EQ(Read(p1_, Gva(0)), Byte('A'));
  EXPECT_EQ(Read(p2_, Gva(0)), Byte('A'));
  // Every access walks: the second translation costs as much as the first.
  auto first = channel_.Translate(kEduGroup, Gva(1), core::kProtRead, p1_);
  auto second = channel_.Translate(kEduGroup, Gva(1), core::kProtRead, p1_);
  ASSERT_TRUE(first && first->ok && second && second->ok);
  EXPECT_GT(second->mem_refs, 0u);
  EXPECT_EQ(second->mem_refs, first->mem_refs);
}

TEST_F(NestedCachingTest, PasidCacheHitsAndMisses) {
  const core::NestedStats s0 = Stats();
  ASSERT_EQ(Read(p1_, Gva(0)), Byte('a'));  // first use of p1's entry
  core::NestedStats s = Stats();
  EXPECT_EQ(s.pasid_cache_misses, s0.pasid_cache_misses + 1);
  EXPECT_EQ(s.pasid_cache_hits, s0.pasid_cache_hits);
  ASSERT_EQ(Read(p1_, Gva(1)), Byte('b'));  // IOTLB miss, PASID cache hit
  s = Stats();
  EXPECT_EQ(s.pasid_cache_hits, s0.pasid_cache_hits + 1);
  ASSERT_EQ(Read(p1_, Gva(0)), Byte('a'));  // IOTLB hit: the PASID cache is not consulted
  EXPECT_EQ(Stats().pasid_cache_hits, s.pasid_cache_hits);
  EXPECT_EQ(Stats().pasid_cache_misses, s.pasid_cache_misses);

  // Dropping p1's PASID-cache entry: the next walk misses; p2 is untouched.
  ASSERT_EQ(Read(p2_, Gva(0)), Byte('a'));
  ASSERT_OK(Invalidate(IOMMU_CACHE_INV_TYPE_PASID, IOMMU_INV_GRANU_PASID, IOMMU_INV_PASID_FLAGS_PASID, p1_));
  s = Stats();
  ASSERT_EQ(Read(p1_, Gva(2)), Byte('c'));
  ASSERT_EQ(Read(p2_, Gva(2)), Byte('c'));
  EXPECT_EQ(Stats().pasid_cache_misses, s.pasid_cache_misses + 1);
  EXPECT_EQ(Stats().pasid_cache_hits, s.pasid_cache_hits + 1);

  // DOMAIN granularity drops every PASID's entry.
  ASSERT_OK(Invalidate(IOMMU_CACHE_INV_TYPE_PASID, IOMMU_INV_GRANU_DOMAIN, 0, 0));
  s = Stats();
  ASSERT_EQ(Read(p1_, Gva(3)), Byte('d'));
  ASSERT_EQ(Read(p2_, Gva(3)), Byte('d'));
  EXPECT_EQ(Stats().pasid_cache_misses, s.pasid_cache_misses + 2);
  EXPECT_EQ(Stats().pasid_cache_hits, s.pasid_cache_hits);
}

// ---------------------------------------------------------------- walk shapes

class FourKStage2Test : public NestedCachingTest {
 protected:
  FourKStage2Test() : NestedCachingTest(Machine(48, /*pgsize_bitmap=*/0x1000)) {}
};

TEST_F(FourKStage2Test, LargeGuestLeafIsCachedAsTheSmallerStage2Leaf) {
  struct Row {
    const char* name;
    uint64_t gva;  // aligned to its leaf
    uint64_t leaf;
  };
  const Row rows[] = {{"2 MiB", 0x00007f0000000000, core::kFlPage2M},
                      {"1 GiB", 0x00007f0040000000, core::kFlPage1G}};
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    // One guest leaf over the whole buffer's gpa (kGuestRamGpa is 1 GiB aligned).
    ASSERT_TRUE(builder_->Map(row.gva, kGuestRamGpa, row.leaf, core::kProtRead | core::kProtWrite, true).ok());
    const uint64_t gva = row.gva + kData + 0x123;
    auto t = channel_.Translate(kEduGroup, gva, core::kProtRead, p1_);
    ASSERT_TRUE(t && t->ok);
    EXPECT_EQ(t->translation.leaf_size, 4096u) << "min(guest leaf, stage-2 leaf)";
    EXPECT_EQ(t->translation.iova_base, gva & ~uint64_t{0xFFF});
    EXPECT_EQ(ToU64(t->translation.Output(gva)), ram_.va(kData + 0x123));
    EXPECT_EQ(Read(p1_, gva), Byte('a'));
    // The same 4 KiB hits; the next 4 KiB of the same guest leaf walks again.
    auto hit = channel_.Translate(kEduGroup, gva + 8, core::kProtRead, p1_);
    ASSERT_TRUE(hit && hit->ok);
    EXPECT_EQ(hit->mem_refs, 0u);
    auto next = channel_.Translate(kEduGroup, gva + 4096, core::kProtRead, p1_);
    ASSERT_TRUE(next && next->ok);
    EXPECT_GT(next->mem_refs, 0u);
    EXPECT_EQ(Read(p1_, gva + 4096), Byte('b'));
  }
}

class FiveLevelTest : public NestedCachingTest {
 protected:
  FiveLevelTest() : NestedCachingTest(Machine(57), /*levels=*/5) {}
};

TEST_F(FiveLevelTest, FiftySevenBitGuestAddresses) {
  ASSERT_EQ(builder_->addr_width(), 57);
  EXPECT_EQ(Read(p1_, Gva(2)), Byte('c'));  // a low address through all five levels
  const uint64_t high = 0x00ff123456780000;   // needs bits 48..55: not a 48-bit address
  ASSERT_TRUE(builder_->Map(high, kGuestRamGpa + kAlt, 4096, core::kProtRead, true).ok());
  EXPECT_EQ(Read(p1_, high + 5), Byte('A'));
  // Non-canonical for 57 bits: bit 56 clear but bit 57 set.
  EXPECT_EQ(Read(p1_, 0x0200000000000000), Fault(FaultReason::kOorAddress));
}

TEST_F(NestedCachingTest, GuestTablePageMissingFromStage2IsWalkEabt) {
  // Stage 2 maps the root page and the data pages, but not the pages that
  // hold the lower-level tables (the builder took pages 1..3 for them).
  auto l3 = builder_->EntryGpa(Gva(0), 3);
  ASSERT_TRUE(l3.ok());
  ASSERT_EQ(*l3 & ~uint64_t{0xFFF}, kGuestRamGpa + 4096);
  ASSERT_OK(Unmap(kGuestRamGpa, kGuestRamSize));
  ASSERT_OK(Map(kGuestRamGpa, 4096, ram_.va()));
  ASSERT_OK(Map(kGuestRamGpa + 4 * 4096, kGuestRamSize - 4 * 4096, ram_.va(4 * 4096)));
  sim::DmaResult r = ReadFull(p1_, Gva(0) + 0x10);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.fault.reason, FaultReason::kWalkEabt);
  EXPECT_TRUE(r.fault.fetch_addr_valid);
  EXPECT_EQ(r.fault.fetch_addr, *l3);
  EXPECT_TRUE(r.fault.pasid_valid);
  EXPECT_EQ(r.fault.pasid, p1_);
  EXPECT_EQ(r.fault.addr, Gva(0));
  // Mapping the table pages is a stage-2 change: seen without any invalidation.
  ASSERT_OK(Map(kGuestRamGpa + 4096, 3 * 4096, ram_.va(4096)));
  EXPECT_EQ(Read(p1_, Gva(0)), Byte('a'));
}

TEST_F(NestedCachingTest, NonCanonicalGvaIsOorAddress) {
  sim::DmaResult r = ReadFull(p1_, 0x0000800000000000);  // bit 47 set, not sign-extended
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.fault.reason, FaultReason::kOorAddress);
  EXPECT_FALSE(r.fault.fetch_addr_valid);
  EXPECT_EQ(r.fault.addr, 0x0000800000000000u);
  // Its canonical twin is a legal address with no mapping.
  EXPECT_EQ(Read(p1_, 0xffff800000000000), Fault(FaultReason::kPteFetch));
}

TEST_F(NestedCachingTest, PasidBeyondTwentyBitsIsPasidInvalid) {
  for (uint32_t pasid : {1u << 20, 0xFFFFFFFEu}) {
    sim::DmaResult r = ReadFull(pasid, Gva(0));
    ASSERT_FALSE(r.ok) << pasid;
    EXPECT_EQ(r.fault.reason, FaultReason::kPasidInvalid) << pasid;
    EXPECT_EQ(r.fault.pasid, pasid);
  }
  EXPECT_EQ(Read(0xFFFFF, Gva(0)), Fault(FaultReason::kBadPasidEntry)) << "in range, not bound";
}

class NotNestingTest : public NestedCachingTest {
 protected:
  NotNestingTest() : NestedCachingTest(Machine(), 4, VFIO_TYPE1v2_IOMMU) {}
};

TEST_F(NotNestingTest, PasidTaggedDmaIsPasidInvalid) {
  uint8_t got = 0;
  ASSERT_TRUE(channel_.DmaRead(kEduGroup, kGuestRamGpa + kData, &got, 1).ok);  // stage 2 works
  EXPECT_EQ(got, 'a');
  sim::DmaResult r = ReadFull(1, kGuestRamGpa + kData);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.fault.reason, FaultReason::kPasidInvalid);
  EXPECT_TRUE(r.fault.pasid_valid);
  EXPECT_EQ(r.fault.pasid, 1u);
}

TEST_F(NestedCachingTest, BindingsBelongToTheirContainer) {
  // A second nesting container of the same process, with its own guest RAM.
  DmaBuffer ram2(kGuestRamSize);
  const int c2 = OpenContainer();
  const int g2 = OpenGroup(kOtherGroup);
  ASSERT_OK(SetContainer(g2, c2));
  ASSERT_OK(sim().Ioctl(c2, VFIO_SET_IOMMU, static_cast<uintptr_t>(VFIO_TYPE1_NESTING_IOMMU)));
  vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof(map);
  map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  map.vaddr = ram2.va();
  map.iova = kGuestRamGpa;
  map.size = kGuestRamSize;
  ASSERT_OK(sim().Ioctl(c2, VFIO_IOMMU_MAP_DMA, &map));

  // p1 is bound in the first container only: the other device cannot use it.
  ASSERT_EQ(Read(p1_, Gva(0)), Byte('a'));
  EXPECT_EQ(Read(p1_, Gva(0), kOtherGroup), Fault(FaultReason::kBadPasidEntry));

  // PASIDs are system-wide, bindings per container: the same PASID bound in
  // the second container to another table reaches that container's memory.
  auto b2 = core::GuestPageTableBuilder::Create(std::span<uint8_t>(ram2.data(), kGuestRamSize), kGuestRamGpa, 4);
  ASSERT_TRUE(b2.ok());
  std::memset(ram2.data() + kData, 'z', 4096);
  ASSERT_TRUE(b2->Map(Gva(0), kGuestRamGpa + kData, 4096, core::kProtRead, true).ok());
  ASSERT_OK(Bind(c2, VFIO_IOMMU_BIND_GUEST_PGTBL, p1_, b2->root_gpa(), 48));
  EXPECT_EQ(Read(p1_, Gva(0), kOtherGroup), Byte('z'));
  EXPECT_EQ(Read(p1_, Gva(0)), Byte('a'));
  ASSERT_OK(Bind(c2, VFIO_IOMMU_UNBIND_GUEST_PGTBL, p1_, b2->root_gpa(), 48));
  EXPECT_EQ(Read(p1_, Gva(0), kOtherGroup), Fault(FaultReason::kBadPasidEntry));
  EXPECT_EQ(Read(p1_, Gva(0)), Byte('a')) << "the first container's binding is untouched";
}

}  // namespace
}  // namespace vfiosim::testing
