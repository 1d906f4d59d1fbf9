// MachineSnapshot: everything a failing call must leave alone, machine-wide,
// for the fail-nth sweeps and the limit tests.
//
// It is Type1Snapshot (mappings, counters, IOVA list, page-table samples,
// IOTLB size, memlock; tests/util/type1_snapshot.h) for every group a test
// attaches, plus what that snapshot does not cover: each group's file and
// container attachment, the IOTLB entries themselves (per container), every
// guest PASID binding and every allocated PASID with its owning process.
//
// Invariants: two snapshots compare equal iff every field is equal; taking a
// snapshot changes nothing (page-table samples use the const walker, the
// IOTLB is only iterated). Containers not attached to any of kSnapshotGroups
// are invisible to it.
//
// Thread safety: takes the kernel's and containers' locks like any ioctl;
// meant for single-threaded test bodies.
#ifndef VFIOSIM_TESTS_FAIL_NTH_MACHINE_SNAPSHOT_H_
#define VFIOSIM_TESTS_FAIL_NTH_MACHINE_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "api/vfio_sim.h"
#include "core/page_table.h"
#include "core/pasid_allocator.h"
#include "tests/util/type1_snapshot.h"

namespace vfiosim::testing {

// Every group the fail-nth and limit tests attach (edu, dma-test, ring, NIC).
inline constexpr core::GroupId kSnapshotGroups[] = {1, 3, 4, 5};

struct GroupEntry {
  core::GroupId id = 0;
  bool file_open = false;
  uint32_t container = 0;  // container id, 0 = none
  uint32_t users = 0;
  bool operator==(const GroupEntry&) const = default;
};

struct IotlbEntry {
  uint32_t container = 0;
  uint32_t domain = 0;
  core::Pasid pasid = 0;
  core::Translation t;
  bool operator==(const IotlbEntry&) const = default;
};

struct BindingEntry {
  uint32_t container = 0;
  core::Pasid pasid = 0;
  uint64_t gpgd = 0;
  int addr_width = 0;
  uint64_t gpasid = 0;
  bool gpasid_valid = false;
  uint64_t vendor_flags = 0;
  bool operator==(const BindingEntry&) const = default;
};

struct PasidEntry {
  core::Pasid pasid = 0;
  core::PasidOwner owner = 0;
  bool operator==(const PasidEntry&) const = default;
};

struct MachineSnapshot {
  std::vector<GroupEntry> groups;    // one per kSnapshotGroups entry
  std::vector<Type1Snapshot> type1;  // one per kSnapshotGroups entry
  std::vector<IotlbEntry> iotlb;
  std::vector<BindingEntry> bindings;
  std::vector<PasidEntry> pasids;
  bool operator==(const MachineSnapshot&) const = default;
};

// `probes` are sampled in every instance's page table besides the defaults.
MachineSnapshot TakeMachineSnapshot(api::VfioSim& sim, const std::vector<uint64_t>& probes = {});

// Human-readable list of what differs ("" when equal).
std::string DiffMachineSnapshots(const MachineSnapshot& before, const MachineSnapshot& after);

}  // namespace vfiosim::testing

#endif  // VFIOSIM_TESTS_FAIL_NTH_MACHINE_SNAPSHOT_H_
