// IOMMU group formation over a validated PCI tree: the Linux rules of
// drivers/iommu/iommu.c pci_device_group() (bus-isolation form) plus group
// numbering. Topology::Build() calls this; topology.h states the rules, and
// tests reach them through Topology.
//
// Why parent-before-child order matters: like the kernel, each function either
// joins an existing group (its bridge's, a sibling's) or starts a new one, and
// never has to merge two groups, because everything that could pull it into a
// group has already been placed.
//
// Thread safety: pure function over its arguments.
#ifndef VFIOSIM_SIM_IOMMU_GROUPS_H_
#define VFIOSIM_SIM_IOMMU_GROUPS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "core/types.h"
#include "sim/topology.h"

namespace vfiosim::sim {

struct GroupFormationError {
  size_t function = 0;  // index into the functions vector
  std::string message;
};

// `functions` must be in Topology's depth-first order with `parent`, `pcie`
// and `multifunction` derived. Sets each function's `group` and fills
// *groups (sorted by id). Returns false (nothing changed) when pinned group
// numbers conflict or numbering would pass kMaxGroupId.
bool FormIommuGroups(std::vector<PciFunction>& functions, core::GroupId group_base,
                     std::vector<IommuGroup>* groups, GroupFormationError* error);

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_IOMMU_GROUPS_H_
