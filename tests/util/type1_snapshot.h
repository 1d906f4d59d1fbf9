// Type1Snapshot: the complete observable state of one container's type1
// instance, for "a failing call changed nothing" checks in the uAPI suites.
//
// The kernel promises (and the spec relies on) failing MAP/UNMAP/DIRTY/INFO
// calls leaving the IOMMU exactly as it was. Comparing ioctl results alone
// cannot see a stray page-table entry, a leaked memlock charge or a half-set
// vaddr-invalid mark, so the snapshot reads the model directly through
// `Kernel::GroupContainer(group)->WithIommu(...)`: the mapping records, the
// counters, the IOVA list, the page table (table count plus a sample of
// translations over every mapping's first and last page and a fixed set of
// probe IOVAs), the IOTLB occupancy and the process's memlock account.
//
// Invariant: two snapshots compare equal iff every field above is equal;
// page-table samples are taken with access 0 (no permission filter) through
// the const walker, so taking a snapshot never changes the IOTLB.
//
// Thread safety: taking a snapshot locks the container like any ioctl; the
// helpers are meant for single-threaded test bodies.
#ifndef VFIOSIM_TESTS_UTIL_TYPE1_SNAPSHOT_H_
#define VFIOSIM_TESTS_UTIL_TYPE1_SNAPSHOT_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <source_location>
#include <string>
#include <vector>

#include "api/vfio_sim.h"
#include "core/range.h"
#include "core/types.h"
#include "tests/util/vfio_fixture.h"

namespace vfiosim::testing {

// One DMA mapping record (struct vfio_dma) as the snapshot sees it.
struct MappingState {
  uint64_t iova = 0;
  uint64_t size = 0;
  uint64_t vaddr = 0;
  uint8_t prot = 0;
  bool vaddr_invalid = false;
  bool msi_reserved = false;
  bool operator==(const MappingState&) const = default;
};

// The IO page table's answer for one IOVA.
struct TranslationSample {
  uint64_t iova = 0;
  bool ok = false;
  uint64_t output = 0;     // host VA of `iova` when ok
  uint64_t leaf_size = 0;  // when ok
  uint8_t prot = 0;        // when ok
  int fault = 0;           // FaultReason when !ok
  bool operator==(const TranslationSample&) const = default;
};

struct Type1Snapshot {
  bool has_container = false;  // the group is attached to a container
  bool has_iommu = false;      // ... which has a type1 instance
  // Everything below is meaningful only with has_iommu.
  bool v2 = false;
  size_t group_count = 0;
  std::vector<MappingState> mappings;  // in IOVA order
  uint32_t dma_avail = 0;
  bool dirty_tracking = false;
  uint32_t vaddr_invalid_count = 0;
  std::vector<core::IovaRange> iova_ranges;
  size_t page_table_count = 0;
  std::vector<TranslationSample> translations;
  size_t iotlb_size = 0;
  // Process-wide (the kernel's), so it is meaningful even without an instance.
  uint64_t memlock_locked = 0;

  bool operator==(const Type1Snapshot&) const = default;
};

// IOVAs sampled in every snapshot besides each mapping's first and last page:
// the addresses the suites map at, the x86 MSI window, the aperture's edges.
const std::vector<uint64_t>& DefaultProbeIovas();

// Snapshot of the instance behind `group`'s container; `extra_iovas` are
// sampled in the page table too (e.g. where a failing MAP aimed).
Type1Snapshot TakeType1Snapshot(api::VfioSim& sim, core::GroupId group = kEduGroup,
                                const std::vector<uint64_t>& extra_iovas = {});

// Human-readable list of the fields that differ ("" when equal).
std::string DiffType1Snapshots(const Type1Snapshot& before, const Type1Snapshot& after);

// gtest printers.
void PrintTo(const Type1Snapshot& s, std::ostream* os);
void PrintTo(const MappingState& m, std::ostream* os);

// Runs `call` (which performs and checks a failing ioctl) and expects the
// type1 state of `group`'s container to be identical before and after.
template <typename Call>
void ExpectUnchanged(VfioFixture& fixture, Call&& call, core::GroupId group = kEduGroup,
                     std::initializer_list<uint64_t> extra_iovas = {},
                     std::source_location where = std::source_location::current()) {
  ::testing::ScopedTrace trace(where.file_name(), static_cast<int>(where.line()),
                               "ExpectUnchanged");
  const std::vector<uint64_t> extra(extra_iovas);
  const Type1Snapshot before = TakeType1Snapshot(fixture.sim(), group, extra);
  call();
  const Type1Snapshot after = TakeType1Snapshot(fixture.sim(), group, extra);
  EXPECT_TRUE(before == after) << "type1 state changed by a failing call:\n"
                               << DiffType1Snapshots(before, after);
}

}  // namespace vfiosim::testing

#endif  // VFIOSIM_TESTS_UTIL_TYPE1_SNAPSHOT_H_
