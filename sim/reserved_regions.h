// Reserved IOVA regions of devices and IOMMU groups: what the IOMMU driver
// reports through get_resv_regions() and what
// /sys/kernel/iommu_groups/N/reserved_regions prints. The core uses them to
// build the type1 IOVA list (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) and to refuse
// mappings over MSI or reserved windows.
//
// Per IOMMU model (what the Linux drivers report for a PCI device):
//  intel-vtd: the device's RMRRs and those of bridges above it (an RMRR scoped
//    to a bridge covers its subtree), direct-relaxable for USB (class 0x0c03)
//    and graphics (base class 0x03) devices, else direct; 0..16 MiB
//    direct-relaxable for an ISA bridge (class 0x0601, the floppy workaround);
//    the interrupt window 0xfee00000..0xfeefffff as msi.
//  amd-vi: unity ranges (IVMD, from the same "rmrr" list) as direct;
//    0xfee00000..0xfeefffff as msi; with ht_hole the HyperTransport window
//    0xfd00000000..0xffffffffff as reserved.
//  arm-smmu: the software-managed MSI window 0x08000000..0x080fffff (sw-msi,
//    printed "msi") and IORT RMRs (the "rmrr" list) as direct.
// A group's list is the union over its members, sorted by start then type,
// with overlapping or adjacent regions of the same type merged (different
// types are kept apart even when they overlap), as the kernel's
// iommu_insert_resv_region() does.
//
// Thread safety: pure functions over an immutable Topology.
#ifndef VFIOSIM_SIM_RESERVED_REGIONS_H_
#define VFIOSIM_SIM_RESERVED_REGIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/types.h"
#include "sim/pci_address.h"
#include "sim/topology.h"

namespace vfiosim::sim {

// Same order and values as the kernel's enum iommu_resv_type.
enum class ReservedRegionType : uint8_t {
  kDirect = 0,
  kDirectRelaxable = 1,
  kReserved = 2,
  kMsi = 3,
  kSwMsi = 4,
};
// sysfs spelling: "direct", "direct-relaxable", "reserved", "msi", "msi"
// (the kernel prints both MSI kinds as "msi").
const char* ReservedRegionTypeName(ReservedRegionType type);

struct ReservedRegion {
  uint64_t start = 0;
  uint64_t end = 0;  // inclusive
  ReservedRegionType type = ReservedRegionType::kReserved;
  bool operator==(const ReservedRegion&) const = default;
};

inline constexpr uint64_t kX86MsiStart = 0xfee00000;
inline constexpr uint64_t kX86MsiEnd = 0xfeefffff;
inline constexpr uint64_t kArmSwMsiStart = 0x08000000;
inline constexpr uint64_t kArmSwMsiEnd = 0x080fffff;
inline constexpr uint64_t kAmdHtStart = 0xfd00000000;
inline constexpr uint64_t kAmdHtEnd = 0xffffffffff;

// Regions for one function, unsorted and unmerged (as the driver reports
// them). Empty for an unknown address.
std::vector<ReservedRegion> DeviceReservedRegions(const Topology& topology,
                                                  const PciAddress& address);
// The group's merged list (see above). Empty for an unknown group.
std::vector<ReservedRegion> GroupReservedRegions(const Topology& topology, core::GroupId group);
// Sorts and merges `regions` the way the kernel builds a group's list.
std::vector<ReservedRegion> MergeReservedRegions(std::vector<ReservedRegion> regions);
// sysfs text: one "0x%016llx 0x%016llx <type>\n" line per region.
std::string FormatReservedRegions(const std::vector<ReservedRegion>& regions);

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_RESERVED_REGIONS_H_
