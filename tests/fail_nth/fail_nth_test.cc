// Fail-nth sweeps (issue 9): every fallible step of a uAPI call fails in turn
// and the call must answer the kernel's errno (ENOMEM) and change nothing.
//
// For each scenario (a short uAPI sequence ending in the step under test) and
// for n = 1, 2, ...: build a fresh machine, run the set-up, take a snapshot
// of the whole model, arm core::FailNth for the n-th fallible call, run the
// step, disarm. Either the injector did not fire (n is past the step's
// fallible calls: the step must succeed and the sweep ends) or the step must
// fail with ENOMEM, the snapshot must be identical, CheckKernelInvariants
// must be empty, and the same step must then succeed without injection
// (a failure leaves nothing behind that blocks a retry). The sweep runs over
// all sites together (FailSite::kAny) and over each site alone; the per-site
// failure counts must add up to the all-sites count, so a site that is
// consulted but never fails the call (a swallowed failure) shows up.
//
// The snapshot is MachineSnapshot (machine_snapshot.h): Type1Snapshot for
// every group the scenarios use plus group attachment, IOTLB entries, PASIDs
// with their owners and guest bindings. Page-table samples include every 4K
// page of the step's target range, so a stray leaf anywhere in a half-done
// MAP is caught.
//
// Steps without an errno (device DMA recording a fault, an interrupt's
// eventfd signal) are swept in dma_fail_nth_test.cc.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/vfio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/test_channel.h"
#include "api/uapi/vfio_vsva_rfc.h"
#include "core/fault_injection.h"
#include "core/invariants.h"
#include "tests/fail_nth/machine_snapshot.h"
#include "tests/fail_nth/world.h"

namespace vfiosim::testing {
namespace {

using core::FailNth;
using core::FailSite;
using ::testing::IsEmpty;

constexpr FailSite kSites[] = {
    FailSite::kMappingAlloc, FailSite::kPageTableAlloc, FailSite::kPasidAlloc,
    FailSite::kFaultQueue,   FailSite::kEventfdSignal,  FailSite::kDirtyBitmapAlloc,
    FailSite::kIovaAlloc,    FailSite::kObjectAlloc,
};

const char* SiteName(FailSite site) {
  switch (site) {
    case FailSite::kAny: return "any";
    case FailSite::kMappingAlloc: return "mapping";
    case FailSite::kPageTableAlloc: return "page-table";
    case FailSite::kPasidAlloc: return "pasid";
    case FailSite::kFaultQueue: return "fault-queue";
    case FailSite::kEventfdSignal: return "eventfd";
    case FailSite::kDirtyBitmapAlloc: return "dirty-bitmap";
    case FailSite::kIovaAlloc: return "iova";
    case FailSite::kObjectAlloc: return "object";
  }
  return "?";
}

// ---------------------------------------------------------------- scenarios

struct Scenario {
  const char* name;
  const char* profile;  // uAPI profile name
  bool trust;           // VaddrPolicy::kTrust (addresses are never touched)
  void (*setup)(World&);
  int (*step)(World&);
  uint64_t probe_iova = 0;  // every 4K page of [probe_iova, +probe_size) is sampled
  uint64_t probe_size = 0;
  uint64_t min_calls = 0;   // fallible calls the step is known to make, at least
  // Extra uAPI-level checks after a failed step, for state the snapshot
  // cannot see (device interrupt and BAR state).
  void (*after_failure)(World&) = nullptr;
};

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

std::unique_ptr<World> MakeWorld(const Scenario& sc) {
  core::MachineConfig machine = sim::DefaultMachineConfig();
  if (sc.trust) machine.vaddr_policy = core::VaddrPolicy::kTrust;
  return std::make_unique<World>(api::FindProfile(sc.profile), machine);
}

std::vector<uint64_t> Probes(const Scenario& sc) {
  std::vector<uint64_t> out;
  if (sc.probe_size == 0) return out;
  // Every page up to 16 MiB; coarser (every 2M plus the edges) beyond.
  const uint64_t stride = sc.probe_size <= k16M ? k4K : k2M;
  for (uint64_t off = 0; off < sc.probe_size; off += stride) out.push_back(sc.probe_iova + off);
  out.push_back(sc.probe_iova + sc.probe_size - k4K);
  out.push_back(sc.probe_iova + sc.probe_size);
  return out;
}

void None(World&) {}
void Opened(World& w) { w.OpenBoth(false); }
void Attached(World& w) { w.OpenBoth(true); }
void Type1v2(World& w) { w.SetUpVfio(VFIO_TYPE1v2_IOMMU); }
// A v2 container with a 2 MiB leaf at 2M and a 4K mapping at 1M (kTrust).
void TwoMappings(World& w) {
  w.SetUpVfio(VFIO_TYPE1v2_IOMMU);
  ASSERT_EQ(w.MapE(0x100000, k4K, kTrustVa + 0x100000), 0);
  ASSERT_EQ(w.MapE(k2M, k2M, kTrustVa + k2M), 0);
}
void VaddrInvalid(World& w) {
  TwoMappings(w);
  ASSERT_EQ(w.UnmapE(k2M, k2M, VFIO_DMA_UNMAP_FLAG_VADDR), 0);
}
void Dirty(World& w) {
  TwoMappings(w);
  ASSERT_EQ(w.DirtyE(VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
}
void Nesting(World& w) { w.SetUpNesting(); }
void NestingAllocated(World& w) {
  w.SetUpNesting();
  if (::testing::Test::HasFatalFailure()) return;
  w.AllocOnly();
}
void NestingBound(World& w) {
  w.SetUpNesting();
  if (::testing::Test::HasFatalFailure()) return;
  w.AllocAndBind();
}

void WithSecondGroup(World& w) {
  TwoMappings(w);
  if (::testing::Test::HasFatalFailure()) return;
  w.OpenSecondGroup();
}
void SecondGroupAttached(World& w) {
  WithSecondGroup(w);
  if (::testing::Test::HasFatalFailure()) return;
  ASSERT_EQ(w.SetContainerE(w.second_group()), 0);
}

// A 16 MiB real buffer at a client address that is 4K- but not 2M-aligned,
// so the IO page table needs 4096 4K leaves (8 leaf tables).
int Map16MReal(World& w) {
  const uint64_t base = w.Buffer(k16M + k2M);
  uint64_t va = (base + k2M - 1) / k2M * k2M + k4K;  // 2M-aligned plus 4K: never a 2M leaf
  return w.MapE(k16M, k16M, va);
}

void DeviceOpen(World& w) {
  Type1v2(w);
  if (::testing::Test::HasFatalFailure()) return;
  w.OpenDevice();
}
void IntxEventfd(World& w) {
  DeviceOpen(w);
  if (::testing::Test::HasFatalFailure()) return;
  ASSERT_EQ(w.SetIrqsE(VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, w.NewEventfd()), 0);
}
// MSI is still off: a DATA_NONE trigger of it is EINVAL (and changes nothing).
void MsiStillOff(World& w) {
  EXPECT_EQ(w.SetIrqsE(VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, -1), EINVAL);
}
// BAR 0 of edu: 1 MiB, mmappable, region offset 0.
int MmapBar0(World& w) {
  const intptr_t r = w.sim().MmapErrno(nullptr, k4K, PROT_READ | PROT_WRITE, MAP_SHARED, w.device(), 0);
  return r < 0 && r >= -4095 ? static_cast<int>(-r) : 0;
}
void NoBarMapping(World& w) { EXPECT_EQ(w.sim().mapping_count(), 0u); }

const Scenario kScenarios[] = {
    // ---- container, group and IOMMU set-up
    {"OpenContainer", "linux-6.1", false, None, [](World& w) { return w.OpenContainer() < 0 ? errno : 0; }},
    {"OpenGroup", "linux-6.1", false, None, [](World& w) { return w.OpenGroup() < 0 ? errno : 0; }},
    {"SetContainer", "linux-6.1", false, Opened, [](World& w) { return w.SetContainerE(w.group()); }},
    {"SetIommuType1v2", "linux-6.1", false, Attached,
     [](World& w) { return w.SetIommuE(VFIO_TYPE1v2_IOMMU); }, 0, 0, 2},
    {"SetIommuType1", "linux-6.1", false, Attached, [](World& w) { return w.SetIommuE(VFIO_TYPE1_IOMMU); },
     0, 0, 2},
    {"SetIommuNesting", "rfc-vsva-2020", false, Attached,
     [](World& w) { return w.SetIommuE(VFIO_TYPE1_NESTING_IOMMU); }, 0, 0, 2},
    {"AttachSecondGroupToMappedContainer", "linux-6.1", true, WithSecondGroup,
     [](World& w) { return w.SetContainerE(w.second_group()); }, 0, 0, 1},
    {"UnsetSecondGroup", "linux-6.1", true, SecondGroupAttached,
     [](World& w) { return w.UnsetContainerE(w.second_group()); }},
    {"UnsetLastGroupReleasesMappings", "linux-6.1", true, TwoMappings,
     [](World& w) { return w.UnsetContainerE(w.group()); }},
    {"GetDeviceFd", "linux-6.1", false, Type1v2,
     [](World& w) {
       char name[] = "0000:00:01.0";
       return w.Errno(w.sim().IoctlErrno(w.group(), VFIO_GROUP_GET_DEVICE_FD, reinterpret_cast<uintptr_t>(name)));
     }},
    {"GetInfo", "linux-6.1", true, TwoMappings, [](World& w) { return w.GetInfoE(); }},
    // ---- MAP_DMA
    {"Map4KRealMemory", "linux-6.1", false, Type1v2,
     [](World& w) { return w.MapE(0x100000, k4K, w.Buffer(k4K)); }, 0x100000, k4K, 4},
    {"Map4KBesideMapping", "linux-6.1", true, TwoMappings,
     [](World& w) { return w.MapE(0x101000, k4K, kTrustVa + 0x101000); }, 0x101000, k4K, 1},
    {"Map2M", "linux-6.1", true, Type1v2, [](World& w) { return w.MapE(k2M, k2M, kTrustVa); }, k2M, k2M, 3},
    {"Map1G", "linux-6.1", true, Type1v2, [](World& w) { return w.MapE(k1G, k1G, kTrustVa); }, k1G, k1G, 2},
    {"Map16MAt4K", "linux-6.1", true, Type1v2,
     [](World& w) { return w.MapE(k16M, k16M, kTrustVa + k4K); }, k16M, k16M, 11},
    {"Map16MAt4KRealMemory", "linux-6.1", false, Type1v2, Map16MReal, k16M, k16M, 11},
    {"Map16MAt4KIntoPopulatedTable", "linux-6.1", true, TwoMappings,
     [](World& w) { return w.MapE(k16M, k16M, kTrustVa + k4K); }, k16M, k16M, 9},
    {"MapOnNestingContainer", "rfc-vsva-2020", false, NestingBound,
     [](World& w) { return w.MapE(0x100000, k4K, w.Buffer(k4K)); }, 0x100000, k4K, 1},
    // ---- UNMAP_DMA and VADDR
    {"Unmap2M", "linux-6.1", true, TwoMappings, [](World& w) { return w.UnmapE(k2M, k2M); }},
    {"UnmapAll", "linux-6.1", true, TwoMappings,
     [](World& w) { return w.UnmapE(0, 0, VFIO_DMA_UNMAP_FLAG_ALL); }},
    {"UnmapWithDirtyBitmap", "linux-6.1", true, Dirty, [](World& w) { return w.UnmapWithBitmapE(k2M, k2M); }},
    {"InvalidateVaddr", "linux-6.1", true, TwoMappings,
     [](World& w) { return w.UnmapE(k2M, k2M, VFIO_DMA_UNMAP_FLAG_VADDR); }},
    // 2M leaf -> 512 4K leaves (a split needs a new leaf table).
    {"UpdateVaddr2MLeafTo4KLeaves", "linux-6.1", true, VaddrInvalid,
     [](World& w) { return w.MapE(k2M, k2M, kTrustVa + k4K, VFIO_DMA_MAP_FLAG_VADDR); }, k2M, k2M, 1},
    {"UpdateVaddrSameAlignment", "linux-6.1", true, VaddrInvalid,
     [](World& w) { return w.MapE(k2M, k2M, kTrustVa + k1G, VFIO_DMA_MAP_FLAG_VADDR); }, k2M, k2M},
    // ---- dirty tracking
    {"DirtyStart", "linux-6.1", true, TwoMappings,
     [](World& w) { return w.DirtyE(VFIO_IOMMU_DIRTY_PAGES_FLAG_START); }, 0, 0, 1},
    {"DirtyGetBitmap", "linux-6.1", true, Dirty,
     [](World& w) { return w.DirtyE(VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, 0, 2 * k2M); }},
    {"DirtyStop", "linux-6.1", true, Dirty, [](World& w) { return w.DirtyE(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP); }},
    // ---- seed 001 vSVA on a nesting container
    {"PasidAlloc", "rfc-vsva-2020", false, Nesting,
     [](World& w) {
       uint32_t pasid = 0;
       return w.PasidAllocE(&pasid);
     },
     0, 0, 1},
    {"PasidAllocNextToBound", "rfc-vsva-2020", false, NestingBound,
     [](World& w) {
       uint32_t pasid = 0;
       return w.PasidAllocE(&pasid);
     },
     0, 0, 1},
    {"Bind", "rfc-vsva-2020", false, NestingAllocated,
     [](World& w) { return w.BindE(VFIO_IOMMU_BIND_GUEST_PGTBL, w.pasid()); }},
    {"Unbind", "rfc-vsva-2020", false, NestingBound,
     [](World& w) { return w.BindE(VFIO_IOMMU_UNBIND_GUEST_PGTBL, w.pasid()); }},
    {"PasidFreeBound", "rfc-vsva-2020", false, NestingBound, [](World& w) { return w.PasidFreeE(w.pasid()); }},
    {"CacheInvalidate", "rfc-vsva-2020", false, NestingBound, [](World& w) { return w.InvalidateAllE(); }},
    {"UnsetNestingContainerReleasesPasids", "rfc-vsva-2020", false, NestingBound,
     [](World& w) { return w.UnsetContainerE(w.group()); }},
    // ---- device interrupts and BARs
    {"SetIrqsMsiEventfd", "linux-6.1", false, DeviceOpen,
     [](World& w) { return w.SetIrqsE(VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, w.NewEventfd()); }, 0,
     0, 1, MsiStillOff},
    {"SetIrqsIntxEventfd", "linux-6.1", false, DeviceOpen,
     [](World& w) { return w.SetIrqsE(VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, w.NewEventfd()); }},
    {"SetIrqsIntxUnmaskEventfd", "linux-6.1", false, IntxEventfd,
     [](World& w) { return w.SetIrqsE(VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, w.NewEventfd()); }, 0,
     0, 1},
    {"MmapBar", "linux-6.1", false, DeviceOpen, MmapBar0, 0, 0, 1, NoBarMapping},
};

// ---------------------------------------------------------------- the sweep

// The number of fallible calls matching `site` that the step makes.
uint64_t CountCalls(const Scenario& sc, FailSite site) {
  std::unique_ptr<World> w = MakeWorld(sc);
  sc.setup(*w);
  if (::testing::Test::HasFatalFailure()) return 0;
  ArmedScope armed(~uint64_t{0}, site);
  (void)sc.step(*w);
  return FailNth::Calls();
}

// Fails the step's n-th fallible call matching `site` for n = 1, 2, ...;
// returns how many injected failures the step reported.
uint64_t Sweep(const Scenario& sc, FailSite site) {
  const std::vector<uint64_t> probes = Probes(sc);
  uint64_t failures = 0;
  for (uint64_t n = 1;; ++n) {
    if (n > kMaxSweep) {
      ADD_FAILURE() << "the sweep did not end after " << kMaxSweep << " injected failures";
      return failures;
    }
    SCOPED_TRACE(std::string("site ") + SiteName(site) + ", n = " + std::to_string(n));
    std::unique_ptr<World> w = MakeWorld(sc);
    sc.setup(*w);
    if (::testing::Test::HasFatalFailure()) return failures;
    const MachineSnapshot before = TakeMachineSnapshot(w->sim(), probes);
    int err = 0;
    bool fired = false;
    {
      ArmedScope armed(n, site);
      err = sc.step(*w);
      fired = FailNth::Fired();
    }
    std::vector<std::string> violations = core::CheckKernelInvariants(w->sim().kernel());
    EXPECT_THAT(violations, IsEmpty());
    if (!fired) {
      EXPECT_EQ(err, 0) << "the step fails without an injected failure: " << strerrorname_np(err);
      return failures;
    }
    ++failures;
    EXPECT_EQ(err, ENOMEM) << "got " << (err == 0 ? "success (the failure was swallowed)" : strerrorname_np(err));
    const MachineSnapshot after = TakeMachineSnapshot(w->sim(), probes);
    EXPECT_TRUE(before == after) << "state changed by a failed step:\n" << DiffMachineSnapshots(before, after);
    if (sc.after_failure != nullptr) sc.after_failure(*w);
    // Nothing left behind may block the same call once allocations succeed.
    EXPECT_EQ(sc.step(*w), 0) << "retry without injection";
    EXPECT_THAT(core::CheckKernelInvariants(w->sim().kernel()), IsEmpty()) << "after the retry";
  }
}

class FailNthSweepTest : public ::testing::TestWithParam<Scenario> {};

TEST_P(FailNthSweepTest, EveryFallibleCallFailsWithEnomemAndChangesNothing) {
  const Scenario& sc = GetParam();
  const uint64_t calls = CountCalls(sc, FailSite::kAny);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_GE(calls, sc.min_calls) << "the step makes fewer fallible calls than it must";
  EXPECT_EQ(Sweep(sc, FailSite::kAny), calls);
  std::ostringstream report;
  report << "[fail-nth] " << sc.name << ": " << calls << " fallible call(s)";
  uint64_t per_site_total = 0;
  for (FailSite site : kSites) {
    const uint64_t site_calls = CountCalls(sc, site);
    const uint64_t failures = Sweep(sc, site);
    EXPECT_EQ(failures, site_calls) << SiteName(site);
    per_site_total += failures;
    if (site_calls != 0) report << " " << SiteName(site) << "=" << site_calls;
  }
  EXPECT_EQ(per_site_total, calls) << "per-site sweeps disagree with the all-sites sweep";
  std::cout << report.str() << std::endl;
  RecordProperty("fallible_calls", static_cast<int>(calls));
}

INSTANTIATE_TEST_SUITE_P(Scenarios, FailNthSweepTest, ::testing::ValuesIn(kScenarios),
                         [](const ::testing::TestParamInfo<Scenario>& info) { return info.param.name; });

}  // namespace
}  // namespace vfiosim::testing
