// Seed 001 (vSVA RFC v3.1) uAPI conformance matrix (issue 5): every error
// path of VFIO_IOMMU_PASID_REQUEST, VFIO_IOMMU_BIND and
// VFIO_IOMMU_CACHE_INVALIDATE with its exact errno and in the order
// api/container_vsva.cc documents (spec §10), for both vSVA profiles.
//
// Every failing call is checked to change nothing. The fixture leaves the
// machine in a state where any hidden side effect is visible: PASID counts
// of two processes, a bound PASID whose IOTLB entry is deliberately STALE
// (the guest repointed its PTE without invalidating), an allocated but
// unbound PASID, and another process's PASID. A failing call that freed,
// allocated, bound, unbound or flushed anything changes the snapshot.
#include <gtest/gtest.h>
#include <linux/vfio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

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
constexpr uint64_t kPageA = 0x30000;  // buffer offset the guest PTE first points at
constexpr uint64_t kPageB = 0x32000;  // where the guest repoints it
constexpr uint64_t kGva = 0x00007f1234560000;
constexpr uint64_t kOtherProcess = 0x7fff0001;  // above pid_max: never the test's own pid
constexpr int kOtherGroup = 3;                  // dma-test device, viable, own group
constexpr uint32_t kUnallocated = 4242;

const api::Profile* P(const char* name) { return api::FindProfile(name); }

// The outcome of a one-byte DMA read with a PASID.
struct Probe {
  bool ok = false;
  uint8_t byte = 0;
  core::FaultReason reason = core::FaultReason::kUnknown;
  bool operator==(const Probe&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Probe& p) {
  if (p.ok) return os << "read '" << static_cast<char>(p.byte) << "'";
  return os << "fault " << core::FaultReasonName(p.reason);
}

// Everything a failing vSVA call must leave alone.
struct Snapshot {
  size_t allocated = 0, mine = 0, others = 0;
  Probe bound, spare;
  bool operator==(const Snapshot&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Snapshot& s) {
  return os << "{allocated " << s.allocated << ", mine " << s.mine << ", others " << s.others
            << ", bound " << s.bound << ", spare " << s.spare << "}";
}

// PASID_REQUEST with room past the 20-byte struct, to see what is written back.
struct PasidBuf {
  vfio_iommu_type1_pasid_request req;
  uint8_t tail[12];
};
static_assert(sizeof(PasidBuf) == 32);

struct BindRow {
  const char* name;
  uint32_t argsz;
  uint32_t flags;
  void (*mutate)(iommu_gpasid_bind_data&, uint32_t foreign);
  int err;
};
constexpr uint32_t kBindFlag = VFIO_IOMMU_BIND_GUEST_PGTBL, kUnbindFlag = VFIO_IOMMU_UNBIND_GUEST_PGTBL;

// A row's change to an otherwise valid payload (`d`; `foreign` is the other
// process's PASID).
#define VFIOSIM_MUT(body) \
  []([[maybe_unused]] iommu_gpasid_bind_data& d, [[maybe_unused]] uint32_t foreign) { body; }

// Payload checks shared by BIND and UNBIND (the payload is validated for both).
#define VFIOSIM_PAYLOAD_ROWS(F)                                                     \
  {"version 0", 80, F, VFIOSIM_MUT(d.version = 0), EINVAL},                          \
  {"version 2", 80, F, VFIOSIM_MUT(d.version = 2), EINVAL},                          \
  {"format 0", 80, F, VFIOSIM_MUT(d.format = 0), EINVAL},                            \
  {"format 2", 80, F, VFIOSIM_MUT(d.format = 2), EINVAL},                            \
  {"flags bit 1", 80, F, VFIOSIM_MUT(d.flags = 2), EINVAL},                          \
  {"flags bit 63", 80, F, VFIOSIM_MUT(d.flags = 1ull << 63 | 1), EINVAL},            \
  {"padding[0]", 80, F, VFIOSIM_MUT(d.padding[0] = 1), EINVAL},                      \
  {"padding[11]", 80, F, VFIOSIM_MUT(d.padding[11] = 0x80), EINVAL},                 \
  {"vtd flags 1<<6", 80, F, VFIOSIM_MUT(d.vtd.flags = 1 << 6), EINVAL},              \
  {"vtd flags 1<<63", 80, F, VFIOSIM_MUT(d.vtd.flags = 1ull << 63), EINVAL},         \
  {"hpasid 0", 80, F, VFIOSIM_MUT(d.hpasid = 0), EINVAL},                            \
  {"hpasid 2^20", 80, F, VFIOSIM_MUT(d.hpasid = 1 << 20), EINVAL},                   \
  {"hpasid 2^32 + valid", 80, F, VFIOSIM_MUT(d.hpasid |= 1ull << 32), EINVAL},       \
  {"addr_width 39", 80, F, VFIOSIM_MUT(d.addr_width = 39), EINVAL},                  \
  {"addr_width 57 on 48", 80, F, VFIOSIM_MUT(d.addr_width = 57), EINVAL},            \
  {"addr_width 0", 80, F, VFIOSIM_MUT(d.addr_width = 0), EINVAL},                    \
  {"gpgd bit 52", 80, F, VFIOSIM_MUT(d.gpgd |= 1ull << 52), EINVAL},                 \
  {"gpgd bit 63", 80, F, VFIOSIM_MUT(d.gpgd |= 1ull << 63), EINVAL},                 \
  {"hpasid unallocated", 80, F, VFIOSIM_MUT(d.hpasid = kUnallocated), ENOENT},       \
  {"hpasid of another process", 80, F, VFIOSIM_MUT(d.hpasid = foreign), EACCES}

class VsvaTest : public ::testing::Test, public VfioFixture {
 protected:
  explicit VsvaTest(const api::Profile* profile = P("rfc-vsva-2020"),
                    core::MachineConfig machine = sim::DefaultMachineConfig(),
                    long type = VFIO_TYPE1_NESTING_IOMMU)
      : VfioFixture(profile, machine), type_(type), ram_(kGuestRamSize), channel_(sim()) {}

  void SetUp() override {
    SetUpVfio(type_);
    ASSERT_OK(Map(kGuestRamGpa, kGuestRamSize, ram_.va()));
    auto builder = core::GuestPageTableBuilder::Create(std::span<uint8_t>(ram_.data(), kGuestRamSize),
                                                       kGuestRamGpa, 4);
    ASSERT_TRUE(builder.ok());
    builder_.emplace(std::move(*builder));
    ASSERT_TRUE(builder_->Map(kGva, kGuestRamGpa + kPageA, 4096, core::kProtRead | core::kProtWrite, true).ok());
    std::memset(ram_.data() + kPageA, 'A', 4096);
    std::memset(ram_.data() + kPageB, 'B', 4096);
    if (type_ != VFIO_TYPE1_NESTING_IOMMU) return;

    // Another process with its own nesting container owns one PASID.
    sim().ActAsProcess(kOtherProcess);
    other_container_ = OpenContainer();
    other_group_ = OpenGroup(kOtherGroup);
    ASSERT_OK(SetContainer(other_group_, other_container_));
    ASSERT_OK(sim().Ioctl(other_container_, VFIO_SET_IOMMU, static_cast<uintptr_t>(VFIO_TYPE1_NESTING_IOMMU)));
    foreign_ = Alloc(1, 1000, other_container_);
    sim().ActAsProcess(self_);
    ASSERT_NE(foreign_, 0u);

    bound_ = Alloc(1, 1000);
    spare_ = Alloc(1, 1000);
    ASSERT_NE(bound_, 0u);
    ASSERT_NE(spare_, 0u);
    ASSERT_OK(Bind(VFIO_IOMMU_BIND_GUEST_PGTBL, BindData(bound_)));
    MakeStale();
  }

  // Caches the bound PASID's translation of kGva ('A'), then repoints the
  // guest PTE at page B without an invalidation: the IOTLB is now stale.
  void MakeStale() {
    SetPte(kPageA);
    ASSERT_OK(Invalidate(Inv(IOMMU_CACHE_INV_TYPE_IOTLB, IOMMU_INV_GRANU_DOMAIN)));
    ASSERT_EQ(ProbeDma(bound_).byte, 'A');
    SetPte(kPageB);
    ASSERT_EQ(ProbeDma(bound_).byte, 'A') << "the IOTLB should hold the old translation";
  }
  void SetPte(uint64_t page) {
    auto pte = builder_->EntryGpa(kGva, 1);
    ASSERT_TRUE(pte.ok());
    ASSERT_TRUE(builder_->WriteU64(*pte, (kGuestRamGpa + page) | core::kFlPresent | core::kFlWritable |
                                             core::kFlUser).ok());
  }

  Probe ProbeDma(uint32_t pasid, int group = kEduGroup) {
    uint8_t got = 0;
    sim::DmaResult r = channel_.DmaRead(group, kGva, &got, 1, pasid);
    return Probe{r.ok, r.ok ? got : uint8_t{0}, r.ok ? core::FaultReason::kUnknown : r.fault.reason};
  }

  Snapshot Take() {
    core::PasidAllocator& a = sim().kernel().pasids();
    return Snapshot{a.allocated_count(), a.CountOwnedBy(self_), a.CountOwnedBy(kOtherProcess),
                    ProbeDma(bound_), ProbeDma(spare_)};
  }

  int PasidRequest(void* arg, int container = -1) {
    return sim().Ioctl(container < 0 ? this->container() : container, VFIO_IOMMU_PASID_REQUEST, arg);
  }
  // ALLOC [min, max]; the PASID, or 0 when the call failed.
  uint32_t Alloc(uint32_t min, uint32_t max, int container = -1) {
    vfio_iommu_type1_pasid_request req{};
    req.argsz = sizeof(req);
    req.flags = VFIO_IOMMU_PASID_ALLOC;
    req.alloc_pasid.min = min;
    req.alloc_pasid.max = max;
    return PasidRequest(&req, container) == 0 ? req.alloc_pasid.result : 0;
  }
  int Free(uint32_t pasid, int container = -1) {
    vfio_iommu_type1_pasid_request req{};
    req.argsz = sizeof(req);
    req.flags = VFIO_IOMMU_PASID_FREE;
    req.free_pasid = pasid;
    return PasidRequest(&req, container);
  }

  iommu_gpasid_bind_data BindData(uint64_t hpasid) const {
    iommu_gpasid_bind_data data{};
    data.version = IOMMU_UAPI_VERSION;
    data.format = IOMMU_PASID_FORMAT_INTEL_VTD;
    data.gpgd = builder_->root_gpa();
    data.hpasid = hpasid;
    data.addr_width = 48;
    return data;
  }
  // vfio_iommu_type1_bind {argsz, flags, data[]} with the payload at +8.
  int Bind(uint32_t flags, const iommu_gpasid_bind_data& data, uint32_t argsz = 80, int container = -1) {
    BindRequest arg = MakeBind(flags, data, argsz);
    return sim().Ioctl(container < 0 ? this->container() : container, VFIO_IOMMU_BIND, arg.data());
  }

  // A valid request for (cache, granularity) that, if applied, covers kGva
  // for the bound PASID.
  vfio_iommu_type1_cache_invalidate Inv(uint8_t cache, uint8_t granularity) const {
    const uint32_t flags = PasidFlagFor(granularity);
    vfio_iommu_type1_cache_invalidate inv = MakeInvalidation(cache, granularity, flags, bound_, kGva, 4096, 1);
    return inv;
  }
  int Invalidate(vfio_iommu_type1_cache_invalidate inv) {
    return sim().Ioctl(container(), VFIO_IOMMU_CACHE_INVALIDATE, &inv);
  }

  // Each row must fail with its errno and leave the snapshot alone; the
  // payload starts from a valid bind of `target`.
  void ExpectBindRowsFail(std::span<const BindRow> rows, uint32_t target) {
    for (const BindRow& row : rows) {
      SCOPED_TRACE(row.name);
      const Snapshot before = Take();
      iommu_gpasid_bind_data data = BindData(target);
      row.mutate(data, foreign_);
      EXPECT_ERRNO(Bind(row.flags, data, row.argsz), row.err);
      EXPECT_EQ(Take(), before);
    }
  }

  const long type_;
  const uint64_t self_ = sim().process();
  DmaBuffer ram_;
  api::TestChannel channel_;
  std::optional<core::GuestPageTableBuilder> builder_;
  int other_container_ = -1, other_group_ = -1;
  uint32_t bound_ = 0, spare_ = 0, foreign_ = 0;
};

// ---------------------------------------------------------------- PASID_REQUEST

TEST_F(VsvaTest, FixtureStateIsWhatTheChecksRelyOn) {
  Snapshot s = Take();
  EXPECT_EQ(s.mine, 2u);
  EXPECT_EQ(s.others, 1u);
  EXPECT_EQ(s.allocated, 3u);
  EXPECT_EQ(s.bound, (Probe{true, 'A', core::FaultReason::kUnknown}));  // stale
  EXPECT_EQ(s.spare, (Probe{false, 0, core::FaultReason::kBadPasidEntry}));
}

struct PasidRow {
  const char* name;
  uint32_t argsz;
  uint32_t flags;
  uint32_t a, b;  // ALLOC: min, max. FREE: a = free_pasid (kForeign/kBound: fixture PASIDs)
  int err;
};
constexpr uint32_t kForeign = 0xF0F0F0F0, kBound = 0xB0B0B0B0;
constexpr uint32_t kAlloc = VFIO_IOMMU_PASID_ALLOC, kFree = VFIO_IOMMU_PASID_FREE;

TEST_F(VsvaTest, PasidRequestErrorsChangeNothing) {
  const PasidRow rows[] = {
      {"argsz 0", 0, kAlloc, 1, 10, EINVAL},
      {"argsz 7", 7, kAlloc, 1, 10, EINVAL},
      {"unknown flag 4", 32, 4, 1, 10, EINVAL},
      {"ALLOC | bit 31", 32, kAlloc | 0x80000000u, 1, 10, EINVAL},
      {"flags 0", 32, 0, 1, 10, EINVAL},
      {"ALLOC | FREE", 32, kAlloc | kFree, 1, 10, EINVAL},
      {"ALLOC argsz 8", 8, kAlloc, 1, 10, EINVAL},
      {"ALLOC argsz 19", 19, kAlloc, 1, 10, EINVAL},
      {"min > max", 32, kAlloc, 11, 10, EINVAL},
      {"max 0x100000", 32, kAlloc, 1, 0x100000, EINVAL},
      {"max ~0", 32, kAlloc, 0x100000, 0xFFFFFFFF, EINVAL},
      {"FREE argsz 11", 11, kFree, kBound, 0, EINVAL},
      {"FREE unallocated", 32, kFree, kUnallocated, 0, ENOENT},
      {"FREE 0", 32, kFree, 0, 0, ENOENT},
      {"FREE 0x100000", 32, kFree, 0x100000, 0, ENOENT},
      {"FREE another process's", 32, kFree, kForeign, 0, EACCES},
  };
  for (const PasidRow& row : rows) {
    SCOPED_TRACE(row.name);
    const Snapshot before = Take();
    PasidBuf buf;
    std::memset(&buf, 0xa5, sizeof(buf));
    buf.req.argsz = row.argsz;
    buf.req.flags = row.flags;
    const uint32_t a = row.a == kForeign ? foreign_ : row.a == kBound ? bound_ : row.a;
    if (row.flags == kFree) {
      buf.req.free_pasid = a;
    } else {
      buf.req.alloc_pasid.min = a;
      buf.req.alloc_pasid.max = row.b;
    }
    PasidBuf sent = buf;
    EXPECT_ERRNO(PasidRequest(&buf), row.err);
    EXPECT_EQ(std::memcmp(&buf, &sent, sizeof(buf)), 0) << "a failed request wrote to user memory";
    EXPECT_EQ(Take(), before);
  }
}

TEST_F(VsvaTest, PasidRequestBadPointersFault) {
  const Snapshot before = Take();
  EXPECT_ERRNO(sim().Ioctl(container(), VFIO_IOMMU_PASID_REQUEST, uintptr_t{0}), EFAULT);
  // Two pages, the second inaccessible: a header that is readable but an
  // ALLOC body that runs into the hole, then a header in the hole itself.
  DmaBuffer pages(2 * 4096);
  ASSERT_EQ(mprotect(pages.data() + 4096, 4096, PROT_NONE), 0);
  vfio_iommu_type1_pasid_request req{sizeof(req), kAlloc, {{1, 1000, 0}}};
  std::memcpy(pages.data() + 4096 - 8, &req, 8);
  EXPECT_ERRNO(PasidRequest(pages.data() + 4096 - 8), EFAULT);
  EXPECT_ERRNO(PasidRequest(pages.data() + 4096), EFAULT);
  EXPECT_EQ(Take(), before);
}

TEST_F(VsvaTest, AllocWritesBackOnlyTheResult) {
  PasidBuf buf;
  std::memset(&buf, 0xa5, sizeof(buf));
  buf.req.argsz = sizeof(buf);
  buf.req.flags = kAlloc;
  buf.req.alloc_pasid.min = 100;
  buf.req.alloc_pasid.max = 200;
  PasidBuf want = buf;
  want.req.alloc_pasid.result = 100;  // the lowest free PASID of the range
  ASSERT_OK(PasidRequest(&buf));
  EXPECT_EQ(std::memcmp(&buf, &want, sizeof(buf)), 0) << "result at 16, nothing else";
  EXPECT_TRUE(sim().kernel().pasids().IsOwnedBy(100, self_));

  // argsz exactly 20 is enough; FREE writes nothing back.
  vfio_iommu_type1_pasid_request exact{20, kAlloc, {{100, 200, 0}}};
  ASSERT_OK(PasidRequest(&exact));
  EXPECT_EQ(exact.alloc_pasid.result, 101u);
  PasidBuf free_buf;
  std::memset(&free_buf, 0xa5, sizeof(free_buf));
  free_buf.req.argsz = sizeof(free_buf);
  free_buf.req.flags = kFree;
  free_buf.req.free_pasid = 101;
  PasidBuf free_sent = free_buf;
  ASSERT_OK(PasidRequest(&free_buf));
  EXPECT_EQ(std::memcmp(&free_buf, &free_sent, sizeof(free_buf)), 0);
  EXPECT_FALSE(sim().kernel().pasids().IsOwnedBy(101, self_));
}

TEST_F(VsvaTest, WriteBackFaultLeaksNoPasid) {
  // The lowest free PASID, found by allocating and freeing it.
  const uint32_t next = Alloc(1, 1000);
  ASSERT_NE(next, 0u);
  ASSERT_OK(Free(next));
  DmaBuffer page(4096);
  vfio_iommu_type1_pasid_request req{sizeof(req), kAlloc, {{1, 1000, 0}}};
  std::memcpy(page.data(), &req, sizeof(req));
  ASSERT_EQ(mprotect(page.data(), 4096, PROT_READ), 0);
  const Snapshot before = Take();
  EXPECT_ERRNO(PasidRequest(page.data()), EFAULT);
  EXPECT_EQ(Take(), before);
  EXPECT_EQ(Alloc(1, 1000), next) << "the PASID of the failed call must be free again";
}

TEST_F(VsvaTest, PasidZeroIsNeverHandedOut) {
  EXPECT_NE(Alloc(0, 0xFFFFF), 0u);
  EXPECT_FALSE(sim().kernel().pasids().IsOwnedBy(0, self_));
  const Snapshot before = Take();
  vfio_iommu_type1_pasid_request req{sizeof(req), kAlloc, {{0, 0, 0x5a5a5a5a}}};
  EXPECT_EQ(PasidRequest(&req), -1) << "[0, 0] holds no allocatable PASID";
  EXPECT_EQ(req.alloc_pasid.result, 0x5a5a5a5au);
  EXPECT_EQ(Take(), before);
}

// Regression (fixed): ALLOC [0, 0] used to fail with EINVAL from core
// PasidAllocator::Alloc, not with the ENOSPC every other "no free PASID in a
// syntactically valid range" gets. The uAPI layer accepts [0, 0]
// (min <= max <= 0xFFFFF), and in the kernel every allocator failure
// (ioasid_alloc -> INVALID_IOASID) maps to ENOSPC; PASID 0 being reserved
// makes [0, 0] an exhausted range, not a malformed one.
TEST_F(VsvaTest, AllocOfOnlyPasidZeroIsEnospc) {
  vfio_iommu_type1_pasid_request req{sizeof(req), kAlloc, {{0, 0, 0}}};
  EXPECT_ERRNO(PasidRequest(&req), ENOSPC);
}

TEST_F(VsvaTest, ExhaustedRangeIsEnospc) {
  ASSERT_EQ(Alloc(500, 501), 500u);
  ASSERT_EQ(Alloc(500, 501), 501u);
  const Snapshot before = Take();
  vfio_iommu_type1_pasid_request req{sizeof(req), kAlloc, {{500, 501, 0}}};
  EXPECT_ERRNO(PasidRequest(&req), ENOSPC);
  EXPECT_EQ(Take(), before);
  EXPECT_EQ(Alloc(499, 501), 499u) << "a wider range still has room";
}

TEST_F(VsvaTest, QuotaIsAThousandPerProcessAndFreeingMakesRoom) {
  ASSERT_EQ(sim().kernel().pasids().quota(), 1000u);
  std::vector<uint32_t> got;
  while (sim().kernel().pasids().CountOwnedBy(self_) < 1000) {
    uint32_t p = Alloc(1, 0xFFFFF);
    ASSERT_NE(p, 0u) << "after " << got.size();
    got.push_back(p);
  }
  const Snapshot full = Take();
  vfio_iommu_type1_pasid_request req{sizeof(req), kAlloc, {{1, 0xFFFFF, 0}}};
  EXPECT_ERRNO(PasidRequest(&req), ENOSPC);  // the 1001st
  EXPECT_EQ(Take(), full);
  // The quota is per process: the other process still allocates.
  sim().ActAsProcess(kOtherProcess);
  EXPECT_NE(Alloc(1, 0xFFFFF, other_container_), 0u);
  sim().ActAsProcess(self_);
  ASSERT_OK(Free(got[500]));
  EXPECT_EQ(Alloc(1, 0xFFFFF), got[500]) << "the freed PASID is the lowest free one";
  EXPECT_ERRNO(PasidRequest(&req), ENOSPC);
}

// Opens a nesting container for `group` as the current process.
struct ExtraContainer {
  int container = -1, group = -1;
};
ExtraContainer OpenNesting(VfioFixture& f, int group) {
  ExtraContainer e{f.OpenContainer(), f.OpenGroup(group)};
  EXPECT_OK(f.SetContainer(e.group, e.container));
  EXPECT_OK(f.sim().Ioctl(e.container, VFIO_SET_IOMMU, static_cast<uintptr_t>(VFIO_TYPE1_NESTING_IOMMU)));
  return e;
}

TEST_F(VsvaTest, ContainersOfOneProcessShareTheQuota) {
  sim().kernel().pasids().set_quota(6);  // same rule as 1000, fewer calls
  ExtraContainer second = OpenNesting(*this, 4);
  ASSERT_NE(Alloc(1, 1000), 0u);                    // 3 held
  ASSERT_NE(Alloc(1, 1000, second.container), 0u);  // 4
  const uint32_t via_second = Alloc(1, 1000, second.container);
  ASSERT_NE(via_second, 0u);                        // 5
  ASSERT_NE(Alloc(1, 1000), 0u);                    // 6
  const Snapshot full = Take();
  EXPECT_EQ(full.mine, 6u);
  vfio_iommu_type1_pasid_request req{sizeof(req), kAlloc, {{1, 1000, 0}}};
  EXPECT_ERRNO(PasidRequest(&req), ENOSPC);
  EXPECT_ERRNO(PasidRequest(&req, second.container), ENOSPC);
  EXPECT_EQ(Take(), full);
  // PASIDs belong to the process, not the container it used.
  ASSERT_OK(Free(via_second));
  EXPECT_EQ(Alloc(1, 1000), via_second);
}

TEST_F(VsvaTest, PasidsGoWithTheProcessLastNestingContainer) {
  ExtraContainer second = OpenNesting(*this, 4);
  ASSERT_NE(Alloc(1, 1000, second.container), 0u);
  Snapshot s = Take();
  ASSERT_EQ(s.mine, 3u);
  ASSERT_EQ(s.allocated, 4u);
  // The first container loses its only group: its IOMMU instance goes, the
  // process still has the second container, so its PASIDs stay.
  ASSERT_OK(sim().Ioctl(group(), VFIO_GROUP_UNSET_CONTAINER));
  EXPECT_EQ(sim().kernel().pasids().CountOwnedBy(self_), 3u);
  EXPECT_EQ(sim().kernel().pasids().allocated_count(), 4u);
  // Closing the second container's group releases the last one: all go.
  ASSERT_OK(sim().Close(second.group));
  EXPECT_EQ(sim().kernel().pasids().CountOwnedBy(self_), 0u);
  EXPECT_EQ(sim().kernel().pasids().allocated_count(), 1u);
  EXPECT_TRUE(sim().kernel().pasids().IsOwnedBy(foreign_, kOtherProcess));
  // The other process's UNSET_CONTAINER releases its PASID too.
  sim().ActAsProcess(kOtherProcess);
  ASSERT_OK(sim().Ioctl(other_group_, VFIO_GROUP_UNSET_CONTAINER));
  EXPECT_EQ(sim().kernel().pasids().allocated_count(), 0u);
}

TEST_F(VsvaTest, FreeOfABoundPasidUnbindsIt) {
  ASSERT_TRUE(ProbeDma(bound_).ok);
  const size_t allocated = Take().allocated;
  ASSERT_OK(Free(bound_));
  EXPECT_EQ(ProbeDma(bound_).reason, core::FaultReason::kBadPasidEntry);
  EXPECT_EQ(Take().allocated, allocated - 1);
  // Reallocated, the number comes back unbound: binding it again is not EBUSY.
  ASSERT_EQ(Alloc(bound_, bound_), bound_);
  EXPECT_EQ(ProbeDma(bound_).reason, core::FaultReason::kBadPasidEntry);
  ASSERT_OK(Bind(VFIO_IOMMU_BIND_GUEST_PGTBL, BindData(bound_)));
  EXPECT_EQ(ProbeDma(bound_).byte, 'B') << "a new bind walks the current guest table";
}

// Regression (fixed): PASID_FREE used to tear down the binding only in the container the request
// came through (core Kernel::PasidFree: "a binding of it in this container
// goes too"). A binding of the same PASID in another nesting container of the
// process survives the free: that container's device still DMAs through it,
// UNBIND there fails ENOENT (the PASID is no longer allocated, so the binding
// cannot be removed short of closing the container), and the number can be
// handed to another process while it is still live in a PASID entry. After
// FREE the PASID must be bound nowhere.
TEST_F(VsvaTest, FreeUnbindsThePasidInEveryContainerOfTheProcess) {
  ExtraContainer second = OpenNesting(*this, 4);
  vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof(map);
  map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  map.vaddr = ram_.va();
  map.iova = kGuestRamGpa;
  map.size = kGuestRamSize;
  ASSERT_OK(sim().Ioctl(second.container, VFIO_IOMMU_MAP_DMA, &map));
  ASSERT_OK(Bind(VFIO_IOMMU_BIND_GUEST_PGTBL, BindData(bound_), 80, second.container));
  ASSERT_EQ(ProbeDma(bound_, 4).byte, 'B');
  ASSERT_OK(Free(bound_));
  EXPECT_EQ(ProbeDma(bound_).reason, core::FaultReason::kBadPasidEntry);
  EXPECT_EQ(ProbeDma(bound_, 4).reason, core::FaultReason::kBadPasidEntry);
}

// ---------------------------------------------------------------- BIND

TEST_F(VsvaTest, BindErrorsChangeNothing) {
  // Target: the allocated, unbound PASID; a check that were skipped would bind it.
  const BindRow rows[] = {
      {"argsz 0", 0, kBindFlag, VFIOSIM_MUT(), EINVAL},
      {"argsz 7", 7, kBindFlag, VFIOSIM_MUT(), EINVAL},
      {"flags 0", 80, 0, VFIOSIM_MUT(), EINVAL},
      {"BIND | UNBIND", 80, kBindFlag | kUnbindFlag, VFIOSIM_MUT(), EINVAL},
      {"unknown flag 4", 80, 4, VFIOSIM_MUT(), EINVAL},
      {"BIND | bit 31", 80, kBindFlag | 0x80000000u, VFIOSIM_MUT(), EINVAL},
      {"argsz 8", 8, kBindFlag, VFIOSIM_MUT(), EINVAL},
      {"argsz 79", 79, kBindFlag, VFIOSIM_MUT(), EINVAL},
      VFIOSIM_PAYLOAD_ROWS(kBindFlag),
  };
  ExpectBindRowsFail(rows, spare_);
  const Snapshot before = Take();
  EXPECT_ERRNO(Bind(kBindFlag, BindData(bound_)), EBUSY);
  EXPECT_EQ(Take(), before);
}

TEST_F(VsvaTest, UnbindErrorsChangeNothing) {
  // Target: the bound PASID; a check that were skipped would unbind it.
  const BindRow rows[] = {
      {"argsz 79", 79, kUnbindFlag, VFIOSIM_MUT(), EINVAL},
      {"UNBIND | bit 31", 80, kUnbindFlag | 0x80000000u, VFIOSIM_MUT(), EINVAL},
      VFIOSIM_PAYLOAD_ROWS(kUnbindFlag),
  };
  ExpectBindRowsFail(rows, bound_);
  const Snapshot before = Take();
  EXPECT_ERRNO(Bind(kUnbindFlag, BindData(spare_)), EINVAL);  // unbind of an unbound PASID
  EXPECT_EQ(Take(), before);
}

TEST_F(VsvaTest, BindPayloadUnreadableFaults) {
  DmaBuffer pages(2 * 4096);
  ASSERT_EQ(mprotect(pages.data() + 4096, 4096, PROT_NONE), 0);
  for (uint32_t flags : {kBindFlag, kUnbindFlag}) {
    const Snapshot before = Take();
    vfio_iommu_type1_bind header{};
    header.argsz = 80;
    header.flags = flags;
    std::memcpy(pages.data() + 4096 - 8, &header, 8);  // the payload would be in the hole
    EXPECT_ERRNO(sim().Ioctl(container(), VFIO_IOMMU_BIND, pages.data() + 4096 - 8), EFAULT);
    EXPECT_ERRNO(sim().Ioctl(container(), VFIO_IOMMU_BIND, uintptr_t{0}), EFAULT);
    EXPECT_EQ(Take(), before);
  }
}

TEST_F(VsvaTest, BindAcceptsEveryValidOption) {
  struct Row {
    const char* name;
    uint32_t argsz;
    void (*mutate)(iommu_gpasid_bind_data&);
  };
  const Row rows[] = {
      {"plain", 80, [](iommu_gpasid_bind_data&) {}},
      {"guest PASID", 80, [](iommu_gpasid_bind_data& d) { d.flags = IOMMU_SVA_GPASID_VAL; d.gpasid = 77; }},
      {"all vtd flags", 80, [](iommu_gpasid_bind_data& d) { d.vtd.flags = 0x3F; d.vtd.pat = 0x00070406; }},
      {"gpgd low bits ignored", 80, [](iommu_gpasid_bind_data& d) { d.gpgd |= 0xFFF; }},
      {"argsz past the struct", 120, [](iommu_gpasid_bind_data&) {}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    iommu_gpasid_bind_data data = BindData(spare_);
    row.mutate(data);
    ASSERT_OK(Bind(kBindFlag, data, row.argsz));
    EXPECT_EQ(ProbeDma(spare_).byte, 'B');
    ASSERT_OK(Bind(kUnbindFlag, data, row.argsz));
    EXPECT_EQ(ProbeDma(spare_).reason, core::FaultReason::kBadPasidEntry);
  }
}

TEST_F(VsvaTest, BindAfterUnbindWorks) {
  ASSERT_OK(Bind(kUnbindFlag, BindData(bound_)));
  EXPECT_EQ(ProbeDma(bound_).reason, core::FaultReason::kBadPasidEntry);
  EXPECT_ERRNO(Bind(kUnbindFlag, BindData(bound_)), EINVAL);
  ASSERT_OK(Bind(kBindFlag, BindData(bound_)));
  EXPECT_EQ(ProbeDma(bound_).byte, 'B') << "unbind flushed the stale translation";
}

class Vsva57Test : public VsvaTest {
 protected:
  static core::MachineConfig La57() {
    core::MachineConfig m = sim::DefaultMachineConfig();
    m.address_width = 57;
    return m;
  }
  Vsva57Test() : VsvaTest(P("rfc-vsva-2020"), La57()) {}
};

TEST_F(Vsva57Test, FiveLevelGuestTablesNeedA57BitHost) {
  iommu_gpasid_bind_data data = BindData(spare_);
  data.addr_width = 57;
  EXPECT_OK(Bind(kBindFlag, data));
  data.addr_width = 39;
  EXPECT_ERRNO(Bind(kBindFlag, data), EINVAL);
}

// ---------------------------------------------------------------- non-nesting

class VsvaNotNestingTest : public VsvaTest {
 protected:
  VsvaNotNestingTest() : VsvaTest(P("rfc-vsva-2020"), sim::DefaultMachineConfig(), VFIO_TYPE1v2_IOMMU) {}
};

TEST_F(VsvaNotNestingTest, EveryWellFormedRequestIsEopnotsupp) {
  // The argsz/flags (and ALLOC range) checks come first, as in the series'
  // vfio_iommu_type1_pasid_request; from there on a type1v2 container answers
  // EOPNOTSUPP, whatever the flags combination or the payload.
  struct Row {
    const char* name;
    unsigned long cmd;
    uint32_t argsz, flags;
    int err;
    uint32_t min = 1, max = 1000;  // PASID_REQUEST range
  };
  const Row rows[] = {
      {"PASID argsz 7", VFIO_IOMMU_PASID_REQUEST, 7, kAlloc, EINVAL},
      {"ALLOC argsz 19", VFIO_IOMMU_PASID_REQUEST, 19, kAlloc, EINVAL},
      {"ALLOC min > max", VFIO_IOMMU_PASID_REQUEST, 20, kAlloc, EINVAL, 11, 10},
      {"ALLOC max 0x100000", VFIO_IOMMU_PASID_REQUEST, 20, kAlloc, EINVAL, 1, 0x100000},
      {"PASID flag 4", VFIO_IOMMU_PASID_REQUEST, 20, 4, EINVAL},
      {"ALLOC", VFIO_IOMMU_PASID_REQUEST, 20, kAlloc, EOPNOTSUPP},
      {"FREE", VFIO_IOMMU_PASID_REQUEST, 20, kFree, EOPNOTSUPP},
      {"PASID flags 0", VFIO_IOMMU_PASID_REQUEST, 20, 0, EOPNOTSUPP},
      {"ALLOC | FREE", VFIO_IOMMU_PASID_REQUEST, 20, kAlloc | kFree, EOPNOTSUPP},
      {"BIND argsz 7", VFIO_IOMMU_BIND, 7, kBindFlag, EINVAL},
      {"BIND | UNBIND", VFIO_IOMMU_BIND, 80, kBindFlag | kUnbindFlag, EINVAL},
      {"BIND", VFIO_IOMMU_BIND, 80, kBindFlag, EOPNOTSUPP},
      {"UNBIND", VFIO_IOMMU_BIND, 80, kUnbindFlag, EOPNOTSUPP},
      {"BIND argsz 8", VFIO_IOMMU_BIND, 8, kBindFlag, EOPNOTSUPP},
      {"INVALIDATE argsz 55", VFIO_IOMMU_CACHE_INVALIDATE, 55, 0, EINVAL},
      {"INVALIDATE flags 1", VFIO_IOMMU_CACHE_INVALIDATE, 56, 1, EINVAL},
      {"INVALIDATE", VFIO_IOMMU_CACHE_INVALIDATE, 56, 0, EOPNOTSUPP},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    alignas(8) uint8_t arg[128] = {};
    std::memcpy(arg, &row.argsz, 4);
    std::memcpy(arg + 4, &row.flags, 4);
    // A PASID range / bind payload / invalidation that would be valid on a nesting container.
    if (row.cmd == VFIO_IOMMU_PASID_REQUEST) {
      const uint32_t range[2] = {row.min, row.max};
      std::memcpy(arg + 8, range, sizeof(range));
    } else if (row.cmd == VFIO_IOMMU_BIND) {
      iommu_gpasid_bind_data data = BindData(1);
      std::memcpy(arg + 8, &data, sizeof(data));
    } else {
      uint32_t version = IOMMU_UAPI_VERSION;
      std::memcpy(arg + 8, &version, 4);
      arg[12] = IOMMU_CACHE_INV_TYPE_IOTLB;
    }
    EXPECT_ERRNO(sim().Ioctl(container(), row.cmd, arg), row.err);
  }
  EXPECT_EQ(sim().kernel().pasids().allocated_count(), 0u);
}

// ---------------------------------------------------------------- CACHE_INVALIDATE

// Both seed-001 profiles: malformed data is swallowed (0) by rfc-vsva-2020,
// as the RFC's vfio layer ignored the iommu core's answer, and is EINVAL in
// rfc-vsva-2020-strict. Either way nothing is invalidated.
class InvalidateTest : public ::testing::WithParamInterface<const char*>, public VsvaTest {
 protected:
  InvalidateTest() : VsvaTest(P(GetParam())) {}
  bool strict() { return !sim().profile().behavior.cache_invalidate_swallows_errors; }
};

TEST_P(InvalidateTest, HeaderErrorsAreEinvalInEveryProfile) {
  struct Row {
    const char* name;
    uint32_t argsz, flags;
  };
  const Row rows[] = {{"argsz 0", 0, 0}, {"argsz 8", 8, 0}, {"argsz 55", 55, 0},
                      {"flags 1", 56, 1}, {"flags bit 31", 56, 0x80000000u}};
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const Snapshot before = Take();
    vfio_iommu_type1_cache_invalidate inv = Inv(IOMMU_CACHE_INV_TYPE_IOTLB, IOMMU_INV_GRANU_DOMAIN);
    inv.argsz = row.argsz;
    inv.flags = row.flags;
    EXPECT_ERRNO(Invalidate(inv), EINVAL);
    EXPECT_EQ(Take(), before);
  }
  EXPECT_ERRNO(sim().Ioctl(container(), VFIO_IOMMU_CACHE_INVALIDATE, uintptr_t{0}), EFAULT);
}

TEST_P(InvalidateTest, MalformedDataInvalidatesNothing) {
  using Info = iommu_cache_invalidate_info;
  struct Row {
    const char* name;
    uint8_t cache, granularity;
    void (*mutate)(Info&);
  };
  constexpr uint8_t kIotlb = IOMMU_CACHE_INV_TYPE_IOTLB;
  const Row rows[] = {
      {"version 0", kIotlb, IOMMU_INV_GRANU_DOMAIN, [](Info& i) { i.version = 0; }},
      {"version 2", kIotlb, IOMMU_INV_GRANU_DOMAIN, [](Info& i) { i.version = 2; }},
      {"cache bit 3", kIotlb, IOMMU_INV_GRANU_DOMAIN, [](Info& i) { i.cache |= 0x08; }},
      {"cache bit 7", kIotlb, IOMMU_INV_GRANU_DOMAIN, [](Info& i) { i.cache |= 0x80; }},
      {"granularity 3", kIotlb, IOMMU_INV_GRANU_DOMAIN, [](Info& i) { i.granularity = 3; }},
      {"granularity 255", kIotlb, IOMMU_INV_GRANU_DOMAIN, [](Info& i) { i.granularity = 255; }},
      {"padding[0]", kIotlb, IOMMU_INV_GRANU_DOMAIN, [](Info& i) { i.padding[0] = 1; }},
      {"padding[1]", kIotlb, IOMMU_INV_GRANU_DOMAIN, [](Info& i) { i.padding[1] = 0x80; }},
      {"PASID flags bit 2", kIotlb, IOMMU_INV_GRANU_PASID, [](Info& i) { i.pasid_info.flags |= 4; }},
      {"PASID flags bit 31", kIotlb, IOMMU_INV_GRANU_PASID, [](Info& i) { i.pasid_info.flags |= 1u << 31; }},
      {"ADDR flags bit 3", kIotlb, IOMMU_INV_GRANU_ADDR, [](Info& i) { i.addr_info.flags |= 8; }},
      {"ADDR flags bit 31", kIotlb, IOMMU_INV_GRANU_ADDR,
       [](Info& i) { i.addr_info.flags |= 1u << 31 | IOMMU_INV_ADDR_FLAGS_LEAF; }},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const Snapshot before = Take();
    vfio_iommu_type1_cache_invalidate inv = Inv(row.cache, row.granularity);
    row.mutate(inv.cache_info);
    if (strict()) {
      EXPECT_ERRNO(Invalidate(inv), EINVAL);
    } else {
      EXPECT_OK(Invalidate(inv));
    }
    EXPECT_EQ(Take(), before) << "the stale translation must stay stale";
  }
  // The probe can see an invalidation: a valid one makes the change visible.
  ASSERT_OK(Invalidate(Inv(IOMMU_CACHE_INV_TYPE_IOTLB, IOMMU_INV_GRANU_DOMAIN)));
  EXPECT_EQ(ProbeDma(bound_).byte, 'B');
}

TEST_P(InvalidateTest, GranularityCacheValidityTable) {
  // The seed's table: DOMAIN{IOTLB, PASID}, PASID{all}, ADDR{IOTLB, DEV_IOTLB}.
  const uint8_t valid[IOMMU_INV_GRANU_NR] = {
      IOMMU_CACHE_INV_TYPE_IOTLB | IOMMU_CACHE_INV_TYPE_PASID,
      IOMMU_CACHE_INV_TYPE_IOTLB | IOMMU_CACHE_INV_TYPE_DEV_IOTLB | IOMMU_CACHE_INV_TYPE_PASID,
      IOMMU_CACHE_INV_TYPE_IOTLB | IOMMU_CACHE_INV_TYPE_DEV_IOTLB,
  };
  int invalid_pairs = 0;
  for (uint8_t g = 0; g < IOMMU_INV_GRANU_NR; ++g) {
    for (uint8_t cache = 1; cache < 8; ++cache) {
      SCOPED_TRACE(::testing::Message() << "granularity " << int{g} << " cache " << int{cache});
      MakeStale();
      const Snapshot before = Take();
      if (cache & ~valid[g]) {
        ++invalid_pairs;
        if (strict()) {
          EXPECT_ERRNO(Invalidate(Inv(cache, g)), EINVAL);
        } else {
          EXPECT_OK(Invalidate(Inv(cache, g)));
        }
        EXPECT_EQ(Take(), before);
      } else {
        EXPECT_OK(Invalidate(Inv(cache, g)));
        // Only the IOTLB bit touches cached translations (DEV_IOTLB is not modelled).
        EXPECT_EQ(ProbeDma(bound_).byte, (cache & IOMMU_CACHE_INV_TYPE_IOTLB) ? 'B' : 'A');
      }
    }
  }
  EXPECT_EQ(invalid_pairs, 8);  // DOMAIN x {2,3,6,7}, ADDR x {4,5,6,7}
}

INSTANTIATE_TEST_SUITE_P(Profiles, InvalidateTest, ::testing::Values("rfc-vsva-2020", "rfc-vsva-2020-strict"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param) == "rfc-vsva-2020" ? "Lenient" : "Strict";
                         });

}  // namespace
}  // namespace vfiosim::testing
