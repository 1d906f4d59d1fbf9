// Limits and isolation (issue 9): the three resource limits answer the
// kernel's errno, change nothing and recover once something is released;
// groups can be reused after close; PASIDs and DMA stay within their
// process and container.
//
//   dma_entry_limit            MAP past the limit -> ENOSPC (vfio_dma_do_map)
//   pasid_quota                ALLOC past the quota -> ENOSPC (per process)
//   page_table_bytes_limit     MAP needing tables past the cap -> ENOMEM
//
// Every refused call is checked with a full MachineSnapshot before/after.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/vfio.h>
#include <unistd.h>

#include <cstring>

#include "api/test_channel.h"
#include "api/uapi/vfio_vsva_rfc.h"
#include "core/invariants.h"
#include "tests/fail_nth/machine_snapshot.h"
#include "tests/fail_nth/world.h"

namespace vfiosim::testing {
namespace {

using ::testing::IsEmpty;

constexpr uint64_t kOtherProcess = 0x7fff0001;  // above pid_max: never the test's own pid

// Runs `call`, which must return `err`, and checks that nothing changed.
template <typename Call>
void ExpectRefused(World& w, int err, Call call, std::vector<uint64_t> probes = {}) {
  const MachineSnapshot before = TakeMachineSnapshot(w.sim(), probes);
  EXPECT_EQ(call(), err) << "want " << strerrorname_np(err);
  const MachineSnapshot after = TakeMachineSnapshot(w.sim(), probes);
  EXPECT_TRUE(before == after) << DiffMachineSnapshots(before, after);
  EXPECT_THAT(core::CheckKernelInvariants(w.sim().kernel()), IsEmpty());
}

// Every guest binding must name a PASID that is allocated: a binding left
// behind by a free would let the PASID's next owner inherit a translation.
void ExpectBindingsOwned(World& w) {
  const MachineSnapshot s = TakeMachineSnapshot(w.sim());
  for (const BindingEntry& b : s.bindings) {
    bool allocated = false;
    for (const PasidEntry& p : s.pasids) allocated |= p.pasid == b.pasid;
    EXPECT_TRUE(allocated) << "container " << b.container << " still binds freed PASID " << b.pasid;
  }
}

core::MachineConfig Config() {
  core::MachineConfig m = sim::DefaultMachineConfig();
  m.vaddr_policy = core::VaddrPolicy::kTrust;
  return m;
}

// ---------------------------------------------------------------- limits

TEST(LimitsTest, DmaEntryLimitIsEnospcAndRecoversAfterUnmap) {
  core::MachineConfig m = Config();
  m.dma_entry_limit = 4;
  World w(api::FindProfile("linux-6.1"), m);
  w.SetUpVfio(VFIO_TYPE1v2_IOMMU);
  for (uint64_t i = 0; i < 4; ++i) ASSERT_EQ(w.MapE(0x100000 + i * k2M, k4K, kTrustVa + i * k4K), 0);
  uint32_t avail = 99;
  ASSERT_EQ(w.GetInfoE(&avail), 0);
  EXPECT_EQ(avail, 0u);
  ExpectRefused(w, ENOSPC, [&] { return w.MapE(0x10000000, k4K, kTrustVa); }, {0x10000000});
  // EEXIST is checked before the limit (vfio_find_dma comes first).
  ExpectRefused(w, EEXIST, [&] { return w.MapE(0x100000, k4K, kTrustVa); });
  // A second container has a limit of its own.
  int g3 = -1;
  const int c2 = w.NewContainer(kSecondGroup, VFIO_TYPE1v2_IOMMU, &g3);
  ASSERT_GE(c2, 0);
  EXPECT_EQ(w.MapE(0x10000000, k4K, kTrustVa, kRw, c2), 0);
  // Releasing one entry gives exactly one back.
  ASSERT_EQ(w.UnmapE(0x100000, k4K), 0);
  ASSERT_EQ(w.GetInfoE(&avail), 0);
  EXPECT_EQ(avail, 1u);
  EXPECT_EQ(w.MapE(0x10000000, k4K, kTrustVa), 0);
  EXPECT_EQ(w.MapE(0x20000000, k4K, kTrustVa), ENOSPC);
  EXPECT_THAT(core::CheckKernelInvariants(w.sim().kernel()), IsEmpty());
}

TEST(LimitsTest, PasidQuotaIsEnospcPerProcessAndRecoversAfterFree) {
  core::MachineConfig m = Config();
  m.pasid_quota = 3;
  World w(api::FindProfile("rfc-vsva-2020"), m);
  w.SetUpNesting();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  uint32_t p[3] = {};
  for (uint32_t& pasid : p) ASSERT_EQ(w.PasidAllocE(&pasid), 0);
  uint32_t extra = 0;
  ExpectRefused(w, ENOSPC, [&] { return w.PasidAllocE(&extra); });
  // The quota is per process: another process still gets its own three.
  w.sim().ActAsProcess(kOtherProcess);
  int g3 = -1;
  const int c2 = w.NewContainer(kSecondGroup, VFIO_TYPE1_NESTING_IOMMU, &g3);
  ASSERT_GE(c2, 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(w.PasidAllocE(&extra, c2), 0);
  ExpectRefused(w, ENOSPC, [&] { return w.PasidAllocE(&extra, c2); });
  // ... and shared by all containers of a process.
  w.sim().ActAsProcess(getpid());
  int g4 = -1;
  const int c3 = w.NewContainer(4, VFIO_TYPE1_NESTING_IOMMU, &g4);
  ASSERT_GE(c3, 0);
  ExpectRefused(w, ENOSPC, [&] { return w.PasidAllocE(&extra, c3); });
  // Freeing one (through any of the process's containers) makes room for one.
  ASSERT_EQ(w.PasidFreeE(p[1], c3), 0);
  EXPECT_EQ(w.PasidAllocE(&extra), 0);
  EXPECT_EQ(extra, p[1]) << "the lowest free PASID comes back";
  EXPECT_EQ(w.PasidAllocE(&extra), ENOSPC);
  // A range with nothing free is ENOSPC too, for a process under its quota.
  w.sim().ActAsProcess(kOtherProcess);
  ASSERT_EQ(w.PasidFreeE(4, c2), 0);
  ExpectRefused(w, ENOSPC, [&] { return w.PasidAllocE(&extra, c2, 1, 3); });
}

TEST(LimitsTest, PageTableCapIsEnomemAndRecoversAfterUnmap) {
  core::MachineConfig m = Config();
  m.page_table_bytes_limit = 4 * 4096;  // root + one PDPT, PD and leaf table
  World w(api::FindProfile("linux-6.1"), m);
  w.SetUpVfio(VFIO_TYPE1v2_IOMMU);
  ASSERT_EQ(w.MapE(0x100000, k4K, kTrustVa), 0);
  EXPECT_EQ(w.channel().Tables(kEduGroup)->table_count, 4u);
  // 1 GiB up needs a new PD and leaf table: over the cap.
  ExpectRefused(w, ENOMEM, [&] { return w.MapE(k1G, k4K, kTrustVa); }, {k1G});
  // 16 MiB of 4K leaves needs eight more leaf tables.
  ExpectRefused(w, ENOMEM, [&] { return w.MapE(k16M, k16M, kTrustVa + k4K); }, {k16M, k16M + k16M - k4K});
  // A 2M leaf in the existing PD needs no table: fine under the cap.
  EXPECT_EQ(w.MapE(k2M, k2M, kTrustVa), 0);
  EXPECT_EQ(w.MapE(0x101000, k4K, kTrustVa), 0);
  // The cap is per container.
  int g3 = -1;
  const int c2 = w.NewContainer(kSecondGroup, VFIO_TYPE1v2_IOMMU, &g3);
  ASSERT_GE(c2, 0);
  EXPECT_EQ(w.MapE(k1G, k4K, kTrustVa, kRw, c2), 0);
  // Unmapping everything frees the tables; the refused map now fits.
  ASSERT_EQ(w.UnmapE(0, 0, VFIO_DMA_UNMAP_FLAG_ALL), 0);
  EXPECT_EQ(w.channel().Tables(kEduGroup)->table_count, 1u);
  EXPECT_EQ(w.MapE(k1G, k4K, kTrustVa), 0);
  EXPECT_THAT(core::CheckKernelInvariants(w.sim().kernel()), IsEmpty());
}

// ---------------------------------------------------------------- groups

TEST(IsolationTest, GroupIsReusableAfterClose) {
  World w(api::FindProfile("linux-6.1"), Config());
  w.SetUpVfio(VFIO_TYPE1v2_IOMMU);
  ASSERT_EQ(w.MapE(0x100000, k2M, kTrustVa), 0);
  EXPECT_EQ(w.OpenGroup(), -1) << "a group file is exclusive";
  EXPECT_EQ(errno, EBUSY);
  // Closing the only group releases the container's IOMMU and its mappings.
  ASSERT_OK(w.sim().Close(w.group()));
  EXPECT_EQ(w.sim().kernel().memlock().locked.load(), 0u);
  EXPECT_EQ(w.MapE(0x100000, k4K, kTrustVa), EINVAL) << "no IOMMU driver any more";
  EXPECT_THAT(core::CheckKernelInvariants(w.sim().kernel()), IsEmpty());
  // The same group and the same container work again from scratch.
  const int g = w.OpenGroup();
  ASSERT_GE(g, 0);
  EXPECT_EQ(w.SetContainerE(g), 0);
  EXPECT_EQ(w.SetIommuE(VFIO_TYPE1v2_IOMMU), 0);
  EXPECT_EQ(w.MapE(0x100000, k2M, kTrustVa), 0);
  uint32_t avail = 0;
  EXPECT_EQ(w.GetInfoE(&avail), 0);
  EXPECT_EQ(avail, sim::DefaultMachineConfig().dma_entry_limit - 1);
  EXPECT_THAT(core::CheckKernelInvariants(w.sim().kernel()), IsEmpty());
}

TEST(IsolationTest, OpenDeviceKeepsTheGroupUntilItCloses) {
  World w(api::FindProfile("linux-6.1"), Config());
  w.SetUpVfio(VFIO_TYPE1v2_IOMMU);
  char name[] = "0000:00:01.0";
  const int device = w.sim().Ioctl(w.group(), VFIO_GROUP_GET_DEVICE_FD, name);
  ASSERT_GE(device, 0);
  ASSERT_EQ(w.MapE(0x100000, k4K, kTrustVa), 0);
  ASSERT_OK(w.sim().Close(w.group()));
  // The device file holds the group file: still open, still attached.
  EXPECT_EQ(w.OpenGroup(), -1);
  EXPECT_EQ(errno, EBUSY);
  EXPECT_EQ(w.MapE(0x200000, k4K, kTrustVa), 0);
  ASSERT_OK(w.sim().Close(device));
  EXPECT_EQ(w.sim().kernel().GroupContainer(kEduGroup), nullptr);
  EXPECT_EQ(w.sim().kernel().memlock().locked.load(), 0u);
  const int g = w.OpenGroup();
  EXPECT_GE(g, 0);
  EXPECT_EQ(w.SetContainerE(g), 0);
  EXPECT_THAT(core::CheckKernelInvariants(w.sim().kernel()), IsEmpty());
}

// ---------------------------------------------------------------- DMA and PASIDs

TEST(IsolationTest, DeviceReachesOnlyItsOwnContainersMappings) {
  World w(api::FindProfile("linux-6.1"), sim::DefaultMachineConfig());
  w.SetUpVfio(VFIO_TYPE1v2_IOMMU);
  const uint64_t mine = w.Buffer(k4K), theirs = w.Buffer(k4K);
  std::memset(reinterpret_cast<void*>(mine), 'A', k4K);
  std::memset(reinterpret_cast<void*>(theirs), 'B', k4K);
  ASSERT_EQ(w.MapE(0x100000, k4K, mine), 0);
  int g3 = -1;
  const int c2 = w.NewContainer(kSecondGroup, VFIO_TYPE1v2_IOMMU, &g3);
  ASSERT_GE(c2, 0);
  ASSERT_EQ(w.MapE(0x200000, k4K, theirs, kRw, c2), 0);
  uint8_t byte = 0;
  // Group 3's device faults on container 1's IOVA and may not write there.
  const MachineSnapshot before = TakeMachineSnapshot(w.sim());
  sim::DmaResult r = w.channel().DmaRead(kSecondGroup, 0x100000, &byte, 1);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.fault.reason, core::FaultReason::kPteFetch);
  const uint8_t evil = 'X';
  EXPECT_FALSE(w.channel().DmaWrite(kSecondGroup, 0x100000, &evil, 1).ok);
  EXPECT_FALSE(w.channel().DmaWrite(kEduGroup, 0x200000, &evil, 1).ok);
  EXPECT_TRUE(before == TakeMachineSnapshot(w.sim()));
  EXPECT_EQ(reinterpret_cast<uint8_t*>(mine)[0], 'A');
  EXPECT_EQ(reinterpret_cast<uint8_t*>(theirs)[0], 'B');
  EXPECT_EQ(w.channel().Port(kSecondGroup).faults().size(), 2u);
  // The same IOVA in both containers reaches each container's own memory.
  ASSERT_EQ(w.MapE(0x100000, k4K, theirs, kRw, c2), 0);
  ASSERT_TRUE(w.channel().DmaRead(kEduGroup, 0x100000, &byte, 1).ok);
  EXPECT_EQ(byte, 'A');
  ASSERT_TRUE(w.channel().DmaRead(kSecondGroup, 0x100000, &byte, 1).ok);
  EXPECT_EQ(byte, 'B');
}

TEST(IsolationTest, PasidsStayWithTheirProcess) {
  World w(api::FindProfile("rfc-vsva-2020"), sim::DefaultMachineConfig());
  w.SetUpNesting();  // process A: nesting container on group 1
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  w.AllocAndBind();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const uint32_t a_pasid = w.pasid();
  // Process B: its own nesting container on group 3, its own PASID.
  w.sim().ActAsProcess(kOtherProcess);
  int g3 = -1;
  const int cb = w.NewContainer(kSecondGroup, VFIO_TYPE1_NESTING_IOMMU, &g3);
  ASSERT_GE(cb, 0);
  w.MapGuestRam(cb);
  uint32_t b_pasid = 0;
  ASSERT_EQ(w.PasidAllocE(&b_pasid, cb), 0);
  EXPECT_NE(b_pasid, a_pasid);
  // B can neither free, bind nor unbind A's PASID, in any container.
  ExpectRefused(w, EACCES, [&] { return w.PasidFreeE(a_pasid, cb); });
  ExpectRefused(w, EACCES, [&] { return w.BindE(VFIO_IOMMU_BIND_GUEST_PGTBL, a_pasid, cb); });
  ExpectRefused(w, EACCES, [&] { return w.BindE(VFIO_IOMMU_UNBIND_GUEST_PGTBL, a_pasid, cb); });
  ExpectRefused(w, EACCES, [&] { return w.PasidFreeE(a_pasid); });
  ExpectRefused(w, EACCES, [&] { return w.BindE(VFIO_IOMMU_UNBIND_GUEST_PGTBL, a_pasid); });
  ASSERT_EQ(w.BindE(VFIO_IOMMU_BIND_GUEST_PGTBL, b_pasid, cb), 0);
  // A can't touch B's.
  w.sim().ActAsProcess(getpid());
  ExpectRefused(w, EACCES, [&] { return w.BindE(VFIO_IOMMU_BIND_GUEST_PGTBL, b_pasid); });
  ExpectRefused(w, EACCES, [&] { return w.PasidFreeE(b_pasid); });
  // Devices see only the bindings of their own container.
  uint8_t byte = 0;
  EXPECT_TRUE(w.channel().DmaRead(kEduGroup, kGva, &byte, 1, a_pasid).ok);
  EXPECT_TRUE(w.channel().DmaRead(kSecondGroup, kGva, &byte, 1, b_pasid).ok);
  sim::DmaResult r = w.channel().DmaRead(kSecondGroup, kGva, &byte, 1, a_pasid);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.fault.reason, core::FaultReason::kBadPasidEntry);
  r = w.channel().DmaRead(kEduGroup, kGva, &byte, 1, b_pasid);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.fault.reason, core::FaultReason::kBadPasidEntry);
  // B goes away (its last nesting container): its PASIDs go, A's stay.
  core::PasidAllocator& pasids = w.sim().kernel().pasids();
  ASSERT_EQ(pasids.CountOwnedBy(kOtherProcess), 1u);
  ASSERT_OK(w.sim().Close(g3));
  ASSERT_OK(w.sim().Close(cb));
  EXPECT_EQ(pasids.CountOwnedBy(kOtherProcess), 0u);
  EXPECT_TRUE(pasids.IsOwnedBy(a_pasid, getpid()));
  EXPECT_TRUE(w.channel().DmaRead(kEduGroup, kGva, &byte, 1, a_pasid).ok);
  EXPECT_EQ(byte, 'G');
  ExpectBindingsOwned(w);
  EXPECT_THAT(core::CheckKernelInvariants(w.sim().kernel()), IsEmpty());
}

TEST(IsolationTest, FreedPasidLeavesEveryBindingBeforeItIsReused) {
  World w(api::FindProfile("rfc-vsva-2020"), sim::DefaultMachineConfig());
  w.SetUpNesting();  // process A, container 1 on group 1
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  w.AllocAndBind();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  const uint32_t pasid = w.pasid();
  // A binds the same PASID in its second container and frees it there.
  int g3 = -1;
  const int c2 = w.NewContainer(kSecondGroup, VFIO_TYPE1_NESTING_IOMMU, &g3);
  ASSERT_GE(c2, 0);
  w.MapGuestRam(c2);
  ASSERT_EQ(w.BindE(VFIO_IOMMU_BIND_GUEST_PGTBL, pasid, c2), 0);
  ASSERT_EQ(w.PasidFreeE(pasid, c2), 0);
  EXPECT_THAT(TakeMachineSnapshot(w.sim()).bindings, IsEmpty()) << "both bindings go with the PASID";
  ExpectBindingsOwned(w);
  // Process B is handed the same number: A's device must not translate it.
  w.sim().ActAsProcess(kOtherProcess);
  int g4 = -1;
  const int cb = w.NewContainer(4, VFIO_TYPE1_NESTING_IOMMU, &g4);
  ASSERT_GE(cb, 0);
  uint32_t reused = 0;
  ASSERT_EQ(w.PasidAllocE(&reused, cb), 0);
  ASSERT_EQ(reused, pasid) << "the lowest free PASID is reused";
  uint8_t byte = 0;
  sim::DmaResult r = w.channel().DmaRead(kEduGroup, kGva, &byte, 1, reused);
  EXPECT_FALSE(r.ok) << "A's device still translates B's PASID";
  EXPECT_EQ(r.fault.reason, core::FaultReason::kBadPasidEntry);
  EXPECT_FALSE(w.channel().DmaRead(kSecondGroup, kGva, &byte, 1, reused).ok);
  // ... and A can no longer name it.
  w.sim().ActAsProcess(getpid());
  EXPECT_EQ(w.BindE(VFIO_IOMMU_BIND_GUEST_PGTBL, reused), EACCES);
  EXPECT_EQ(w.PasidFreeE(reused), EACCES);
  EXPECT_THAT(core::CheckKernelInvariants(w.sim().kernel()), IsEmpty());
}

TEST(IsolationTest, ProcessesPasidIsUsableInAllItsContainers) {
  World w(api::FindProfile("rfc-vsva-2020"), sim::DefaultMachineConfig());
  w.SetUpNesting();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  uint32_t pasid = 0;
  ASSERT_EQ(w.PasidAllocE(&pasid), 0);
  int g3 = -1;
  const int c2 = w.NewContainer(kSecondGroup, VFIO_TYPE1_NESTING_IOMMU, &g3);
  ASSERT_GE(c2, 0);
  w.MapGuestRam(c2);
  // One mm, one PASID space: the second container binds the same PASID.
  EXPECT_EQ(w.BindE(VFIO_IOMMU_BIND_GUEST_PGTBL, pasid, c2), 0);
  EXPECT_EQ(w.BindE(VFIO_IOMMU_BIND_GUEST_PGTBL, pasid, c2), EBUSY);
  uint8_t byte = 0;
  EXPECT_TRUE(w.channel().DmaRead(kSecondGroup, kGva, &byte, 1, pasid).ok);
  EXPECT_FALSE(w.channel().DmaRead(kEduGroup, kGva, &byte, 1, pasid).ok) << "not bound in container 1";
  // Closing one container keeps the process's PASIDs (the vfio_mm lives on).
  ASSERT_OK(w.sim().Close(g3));
  ASSERT_OK(w.sim().Close(c2));
  EXPECT_TRUE(w.sim().kernel().pasids().IsOwnedBy(pasid, getpid()));
  EXPECT_EQ(w.BindE(VFIO_IOMMU_BIND_GUEST_PGTBL, pasid), 0);
  // The last nesting container of the process releases them.
  ASSERT_OK(w.sim().Close(w.group()));
  EXPECT_EQ(w.sim().kernel().pasids().allocated_count(), 0u);
  ExpectBindingsOwned(w);
  EXPECT_THAT(core::CheckKernelInvariants(w.sim().kernel()), IsEmpty());
}

}  // namespace
}  // namespace vfiosim::testing
