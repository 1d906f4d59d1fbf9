// Human-readable views of a Topology: an `lspci -tv`-style tree and the IOMMU
// group listing with each group's reserved regions in sysfs format.
//
// The tree follows lspci's drawing: "-[dddd:bb]-" opens a root bus, "+-" /
// "\-" mark a bus's non-last / last device, "--" a bus's only device, and a
// bridge shows "-[bb]-" (or "-[bb-ss]-" for a range) before the bus it
// creates. Unlike lspci, each non-bridge function also shows its driver and
// IOMMU group, which is what a VFIO user needs to see:
//
//   -[0000:00]-+-00.0  8086:29c0 Q35 host bridge  driver=none  group=0
//              +-01.0  1234:11e8 QEMU edu  driver=vfio-pci  group=1
//              +-02.0-[01]----00.0  1234:5d01 vfio-sim DMA test device  driver=vfio-pci  group=3
//              ...
//   IOMMU groups (intel-vtd, 48-bit):
//   group 1:
//     0000:00:01.0  1234:11e8 QEMU edu  endpoint  driver=vfio-pci
//     reserved_regions:
//       0x00000000fee00000 0x00000000feefffff msi
//
// Thread safety: pure functions.
#ifndef VFIOSIM_SIM_TOPOLOGY_RENDER_H_
#define VFIOSIM_SIM_TOPOLOGY_RENDER_H_

#include <string>

#include "sim/topology.h"

namespace vfiosim::sim {

// The tree followed by a blank line and the group listing.
std::string RenderTree(const Topology& topology);
// Only the lspci-like tree.
std::string RenderPciTree(const Topology& topology);
// Only the group listing.
std::string RenderIommuGroups(const Topology& topology);

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_TOPOLOGY_RENDER_H_
