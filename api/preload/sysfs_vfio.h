// The fake sysfs and /dev/vfio of a simulated machine, laid out as Linux lays
// them out for functions bound to vfio-pci:
//
//   /sys/devices/pci0000:00/<BDF>/{vendor,device,subsystem_vendor,subsystem_device,
//        class,revision,config,resource,numa_node,uevent,modalias,
//        iommu_group -> ../../../kernel/iommu_groups/N,
//        driver -> ../../../bus/pci/drivers/vfio-pci}
//   /sys/bus/pci/devices/<BDF> -> ../../../devices/pci0000:00/<BDF>
//   /sys/bus/pci/drivers/vfio-pci/{<BDF> -> ../../../../devices/pci0000:00/<BDF>,
//        bind,unbind,new_id,remove_id}
//   /sys/kernel/iommu_groups/N/{devices/<BDF> -> ../../../../devices/pci0000:00/<BDF>,
//        reserved_regions, type}
//   /dev/vfio/{vfio, N}
//
// Every function hangs directly off its domain's root bus directory
// (pci<domain>:00) whatever its bus number: Linux nests functions behind
// bridges, but the relative links above then need a different depth per
// device; the flat layout keeps every link the same and clients that follow
// links (never count levels) see no difference.
//
// Every function of the machine's topology is listed (bridges and functions
// bound to host drivers too, as lspci would show them); its driver link
// names its driver (vfio-pci, pcieport, nvme, ...; none when unbound). Every
// IOMMU group of the topology is in /sys/kernel/iommu_groups, and /dev/vfio/N
// exists for the groups with a vfio-pci function, as on Linux. Identity and
// `config` come from the device model when the function has one (its
// power-on config space), else from the topology; BAR addresses in
// `resource` are invented (packed below 4 GiB / above 32 GiB) but their
// sizes and flags are the model's.
//
// Owned subtrees: /sys/bus/pci, /sys/kernel/iommu_groups, /sys/devices/pci<D>:00
// and /dev/vfio. The host's own entries there are hidden (a client scanning
// for devices must find the simulated ones only); /sys, /dev and the rest stay
// the host's.
//
// Thread safety: pure functions; the tree is built once.
#ifndef VFIOSIM_API_PRELOAD_SYSFS_VFIO_H_
#define VFIOSIM_API_PRELOAD_SYSFS_VFIO_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/preload/sysfs_tree.h"
#include "core/machine_config.h"
#include "core/types.h"

namespace vfiosim::api {
class VfioSim;
}

namespace vfiosim::api::preload {

struct PciBar {
  uint64_t start = 0;  // host physical address shown in `resource`
  uint64_t size = 0;   // 0: unused BAR
  uint64_t flags = 0;  // IORESOURCE_* as the kernel prints them
};

// What sysfs shows about one function's identity.
struct PciIdentity {
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint16_t subsystem_vendor = 0;
  uint16_t subsystem_device = 0;
  uint32_t class_code = 0xff0000;  // 24 bits: base, sub, prog-if
  uint8_t revision = 0;
  uint8_t interrupt_pin = 0;
  bool pcie = false;  // 4096-byte config space instead of 256
  PciBar bars[6] = {};
};

struct SysfsDevice {
  std::string bdf;  // "0000:00:01.0"
  core::GroupId group = 0;
  std::string driver = "vfio-pci";  // empty: no driver bound
  PciIdentity id;
  std::string config;  // raw config space; empty: synthesized from `id`
};

struct SysfsGroup {
  core::GroupId id = 0;
  std::vector<core::ReservedRegion> reserved;
  bool dev_node = true;  // /dev/vfio/<id> exists (the group has a vfio-pci function)
};

// The 256 (or 4096) bytes of a synthesized `config` file: the type-0 header.
std::string ConfigSpace(const PciIdentity& id);
// The `resource` file: 13 lines "0x%016llx 0x%016llx 0x%016llx" (BARs, ROM, IOV).
std::string ResourceText(const PciIdentity& id);
// /sys/kernel/iommu_groups/N/reserved_regions.
std::string ReservedRegionsText(std::span<const core::ReservedRegion> regions);

// Builds the layout above into `tree` (which must be empty).
void BuildVfioLayout(std::span<const SysfsDevice> devices, std::span<const SysfsGroup> groups,
                     SysfsTree* tree);
// Collects devices and groups from a running simulator, then builds.
void BuildVfioLayout(VfioSim& sim, SysfsTree* tree);

// Cheap pre-check before any simulator exists: could `abs_path` name
// something in an owned subtree? (Lexical; the tree decides exactly.)
bool MightBeVfioPath(std::string_view abs_path);

// The character devices of /dev/vfio.
inline constexpr unsigned kVfioMiscMajor = 10;    // /dev/vfio/vfio is misc 10:196
inline constexpr unsigned kVfioMiscMinor = 196;
inline constexpr unsigned kVfioGroupMajor = 243;  // dynamic on Linux; a typical value

}  // namespace vfiosim::api::preload

#endif  // VFIOSIM_API_PRELOAD_SYSFS_VFIO_H_
