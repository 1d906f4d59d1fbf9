// Fail-nth for device-side steps that have no errno (issue 9): a DMA whose
// fault record cannot be queued or signalled, and an interrupt whose eventfd
// cannot be written. The kernel drops such a record (counted) or loses the
// signal (eventfd_signal returns nothing to report): the device must see the
// same DMA result, the loss must be counted, and nothing else in the
// machine may change. Sweeps run per site and over all sites, like
// fail_nth_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/vfio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "api/test_channel.h"
#include "core/fault_injection.h"
#include "core/invariants.h"
#include "tests/fail_nth/machine_snapshot.h"
#include "tests/fail_nth/world.h"

namespace vfiosim::testing {
namespace {

using core::FailNth;
using core::FailSite;
using ::testing::IsEmpty;

void MappedReadOnly(World& w) {
  w.SetUpVfio(VFIO_TYPE1v2_IOMMU);
  ASSERT_EQ(w.MapE(0x100000, k4K, w.Buffer(k4K), VFIO_DMA_MAP_FLAG_READ), 0);
}
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

// ---------------------------------------------------------------- device DMA

struct DmaCase {
  const char* name;
  const char* profile;
  void (*setup)(World&);
  core::GroupId group;
  uint64_t iova;
  bool write;
  bool use_pasid;  // tag the DMA with the world's PASID
  bool ok;         // expected result
  core::FaultReason reason;
};

void PrintTo(const DmaCase& c, std::ostream* os) { *os << c.name; }

const DmaCase kDmaCases[] = {
    {"UnmappedIova", "linux-6.1", MappedReadOnly, kEduGroup, 0x900000, false, false, false,
     core::FaultReason::kPteFetch},
    {"WriteToReadOnly", "linux-6.1", MappedReadOnly, kEduGroup, 0x100000, true, false, false,
     core::FaultReason::kPermission},
    {"GroupWithoutContainer", "linux-6.1", MappedReadOnly, kSecondGroup, 0x100000, false, false, false,
     core::FaultReason::kPteFetch},
    {"UnboundPasid", "rfc-vsva-2020", NestingAllocated, kEduGroup, kGva, false, true, false,
     core::FaultReason::kBadPasidEntry},
    {"MappedRead", "linux-6.1", MappedReadOnly, kEduGroup, 0x100000, false, false, true,
     core::FaultReason::kUnknown},
    {"BoundPasidRead", "rfc-vsva-2020", NestingBound, kEduGroup, kGva, false, true, true,
     core::FaultReason::kUnknown},
};

struct PortState {
  size_t queued = 0;
  uint64_t dropped = 0;
  uint64_t total = 0;
  uint64_t signal_failures = 0;
  uint64_t eventfd_count = 0;  // read (and reset) from the eventfd
};

PortState ReadPort(sim::IommuDmaPort& port, int efd) {
  PortState s;
  s.queued = port.faults().size();
  s.dropped = port.faults().dropped();
  s.total = port.faults().total();
  s.signal_failures = port.stats().signal_failures.load();
  uint64_t count = 0;
  if (read(efd, &count, sizeof(count)) == sizeof(count)) s.eventfd_count = count;
  return s;
}

class FailNthDmaTest : public ::testing::TestWithParam<DmaCase> {
 protected:
  // One DMA with the n-th fallible call matching `site` failing; returns
  // whether the injector fired. Checks everything that must hold either way.
  bool RunOnce(uint64_t n, FailSite site, PortState* before_port, PortState* after_port) {
    const DmaCase& c = GetParam();
    auto w = std::make_unique<World>(api::FindProfile(c.profile), sim::DefaultMachineConfig());
    c.setup(*w);
    if (HasFatalFailure()) return false;
    const int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    sim::IommuDmaPort& port = w->channel().Port(c.group);
    port.set_fault_eventfd(efd);
    *before_port = ReadPort(port, efd);
    const MachineSnapshot before = TakeMachineSnapshot(w->sim(), {c.iova});
    uint8_t data[64] = {};
    sim::DmaResult r;
    bool fired = false;
    {
      ArmedScope armed(n, site);
      const core::Pasid pasid = c.use_pasid ? w->pasid() : core::kNoPasid;
      r = c.write ? w->channel().DmaWrite(c.group, c.iova, data, sizeof(data), pasid)
                  : w->channel().DmaRead(c.group, c.iova, data, sizeof(data), pasid);
      fired = FailNth::Fired();
    }
    *after_port = ReadPort(port, efd);
    port.set_fault_eventfd(-1);
    close(efd);
    EXPECT_EQ(r.ok, c.ok) << "the device must see the same result with or without injection";
    if (!r.ok) {
      EXPECT_EQ(r.fault.reason, c.reason) << core::FaultReasonName(r.fault.reason);
      EXPECT_EQ(r.fault.addr, c.iova & ~(k4K - 1));
    }
    if (!c.ok) {  // a successful DMA may fill the IOTLB; a faulting one changes nothing
      const MachineSnapshot after = TakeMachineSnapshot(w->sim(), {c.iova});
      EXPECT_TRUE(before == after) << DiffMachineSnapshots(before, after);
    }
    EXPECT_THAT(core::CheckKernelInvariants(w->sim().kernel()), IsEmpty());
    return fired;
  }
};

TEST_P(FailNthDmaTest, FaultRecordingFailuresAreCountedNotPropagated) {
  const DmaCase& c = GetParam();
  PortState before, after;
  // No injection: a fault is queued and signalled once.
  EXPECT_FALSE(RunOnce(~uint64_t{0} >> 1, FailSite::kAny, &before, &after));
  ASSERT_FALSE(HasFatalFailure());
  const uint64_t faults = c.ok ? 0 : 1;
  EXPECT_EQ(after.queued, before.queued + faults);
  EXPECT_EQ(after.total, before.total + faults);
  EXPECT_EQ(after.dropped, before.dropped);
  EXPECT_EQ(after.eventfd_count, faults);

  // The fault-queue entry fails: the record is dropped and counted.
  bool fired = RunOnce(1, FailSite::kFaultQueue, &before, &after);
  EXPECT_EQ(fired, !c.ok);
  EXPECT_EQ(after.queued, before.queued);
  EXPECT_EQ(after.total, before.total + faults);
  EXPECT_EQ(after.dropped, before.dropped + faults);
  EXPECT_EQ(after.signal_failures, before.signal_failures);

  // The eventfd write fails: the record is queued, the failure counted.
  fired = RunOnce(1, FailSite::kEventfdSignal, &before, &after);
  EXPECT_EQ(fired, !c.ok);
  EXPECT_EQ(after.queued, before.queued + faults);
  EXPECT_EQ(after.signal_failures, before.signal_failures + faults);
  EXPECT_EQ(after.eventfd_count, 0u);

  // All sites: the sweep ends after the step's fallible calls (2 for a fault).
  uint64_t n = 1;
  while (RunOnce(n, FailSite::kAny, &before, &after)) {
    ASSERT_LE(++n, kMaxSweep);
    ASSERT_FALSE(HasFatalFailure());
  }
  EXPECT_EQ(n - 1, c.ok ? 0u : 2u) << "fallible calls of one DMA";
}

INSTANTIATE_TEST_SUITE_P(Cases, FailNthDmaTest, ::testing::ValuesIn(kDmaCases),
                         [](const ::testing::TestParamInfo<DmaCase>& info) { return info.param.name; });

// ---------------------------------------------------------------- SET_IRQS

// VFIO_DEVICE_SET_IRQS ACTION_TRIGGER with DATA_NONE signals the registered
// eventfd. A failed signal is silent (eventfd_signal() reports nothing): the
// ioctl still succeeds, the eventfd stays at 0, and nothing else changes.
class FailNthIrqTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(FailNthIrqTest, FailedEventfdSignalIsSilentAndChangesNothing) {
  const uint32_t index = GetParam();
  uint64_t n = 1;
  for (;; ++n) {
    ASSERT_LE(n, kMaxSweep);
    SCOPED_TRACE("n = " + std::to_string(n));
    World w(api::FindProfile("linux-6.1"), sim::DefaultMachineConfig());
    w.SetUpVfio(VFIO_TYPE1v2_IOMMU);
    ASSERT_FALSE(HasFatalFailure());
    w.OpenDevice();
    ASSERT_FALSE(HasFatalFailure());
    const int efd = w.NewEventfd();
    ASSERT_EQ(w.SetIrqsE(index, VFIO_IRQ_SET_ACTION_TRIGGER, efd), 0);
    const MachineSnapshot before = TakeMachineSnapshot(w.sim());
    int err = 0;
    bool fired = false;
    {
      ArmedScope armed(n, FailSite::kAny);
      err = w.SetIrqsE(index, VFIO_IRQ_SET_ACTION_TRIGGER, -1);
      fired = FailNth::Fired();
    }
    uint64_t count = 0;
    const bool signalled = read(efd, &count, sizeof(count)) == sizeof(count) && count == 1;
    EXPECT_EQ(err, 0);
    EXPECT_EQ(signalled, !fired);
    EXPECT_TRUE(before == TakeMachineSnapshot(w.sim()));
    // The vector is still wired: the next trigger signals.
    EXPECT_EQ(w.SetIrqsE(index, VFIO_IRQ_SET_ACTION_TRIGGER, -1), 0);
    EXPECT_EQ(read(efd, &count, sizeof(count)), static_cast<ssize_t>(sizeof(count)));
    if (!fired) break;
  }
  EXPECT_EQ(n - 1, 1u) << "one fallible call (the eventfd write) per trigger";
}

INSTANTIATE_TEST_SUITE_P(Indexes, FailNthIrqTest,
                         ::testing::Values(VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX),
                         [](const ::testing::TestParamInfo<uint32_t>& info) {
                           return info.param == VFIO_PCI_INTX_IRQ_INDEX ? "Intx" : "Msi";
                         });

}  // namespace
}  // namespace vfiosim::testing
