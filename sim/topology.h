// Topology: the simulated machine's PCI hierarchy, its IOMMU parameters, and
// the IOMMU groups Linux would form on it.
//
// What it models:
//  - One or more root buses (host bridges; several may share a PCI domain if
//    their bus ranges do not overlap), each holding root-complex integrated endpoints (RCiEPs), root
//    ports and host-bridge functions; root ports and switch downstream ports
//    lead to a PCIe link (device 00 only); switch upstream ports to the
//    switch's internal bus of downstream ports; PCIe-to-PCI bridges to a
//    conventional PCI bus of endpoints.
//  - The machine's IOMMU (Intel VT-d, AMD-Vi or ARM SMMU): address width, page
//    sizes, enforce-snoop support, interrupt remapping, AMD's HyperTransport
//    hole, and per-device direct-mapped ranges (Intel RMRR / AMD IVMD / ARM RMR).
//  - IOMMU group formation following drivers/iommu/iommu.c pci_device_group()
//    in the bus-isolation form of Jason Gunthorpe's 2025 patch series "iommu:
//    Compute iommu_groups properly for PCIe switches" (posted to linux-pci;
//    we did not check whether it is merged), because the older upward walk
//    gives each downstream port of a switch without ACS its own group although
//    the ports can reach each other. Rules, evaluated parent-before-child:
//      * a root bus is isolating: an RCiEP gets its own group;
//      * functions of one multifunction device that lack ACS share a group
//        (functions with ACS are split off);
//      * a root port without ACS does not isolate: it and everything below it
//        form one group (deliberately kept from the older kernel code, which
//        did this for every root port lacking ACS; the series trusts root
//        ports that have no ACS capability at all, which would hide exactly
//        the configuration this simulator wants to show);
//      * a switch's internal bus isolates only if every downstream port has
//        ACS; otherwise all downstream ports and everything below them share
//        one group (the upstream port keeps its own);
//      * a PCIe-to-PCI bridge and every conventional device behind it share one
//        group: conventional PCI has no requester-id isolation and the bridge
//        takes ownership of (aliases) its secondary side's transactions;
//      * once a group is non-isolating, everything downstream of it joins it.
//    Group numbers are handed out in depth-first address order (root buses by
//    domain:bus, functions by devfn, a bridge's subtree right after it)
//    starting at group_base, skipping numbers pinned by a function's
//    pinned_group; the group of a pinned function takes the pinned number.
//    The formation itself lives in sim/iommu_groups.cc; reserved regions per
//    group in sim/reserved_regions.h; the built-in machine in
//    sim/default_topology.cc.
//
// Invariants after Build(): addresses unique; every function's bus is a root
// bus or the secondary bus of exactly one bridge; functions() is in the
// depth-first order above and `parent` indexes into it; every slot in use has
// function 0; every function belongs to exactly one group; groups() sorted by
// id, ids unique.
// Thread safety: a built Topology is immutable; const methods may be called
// from any number of threads.
#ifndef VFIOSIM_SIM_TOPOLOGY_H_
#define VFIOSIM_SIM_TOPOLOGY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/range.h"
#include "core/status.h"
#include "core/types.h"
#include "sim/pci_address.h"

namespace vfiosim::sim {

enum class IommuModel : uint8_t { kIntelVtd, kAmdVi, kArmSmmu };
// "intel-vtd", "amd-vi", "arm-smmu" (the topology-file spelling).
const char* IommuModelName(IommuModel model);

struct IommuParams {
  IommuModel model = IommuModel::kIntelVtd;
  uint32_t address_width = 48;          // input address bits: 39, 48 or 57
  uint64_t pgsize_bitmap = 0x40201000;  // 4 KiB | 2 MiB | 1 GiB
  bool cache_coherency = false;         // enforce snoop: CHECK_EXTENSION(VFIO_DMA_CC_IOMMU)
  bool interrupt_remapping = true;      // isolated MSI; type1 refuses unsafe interrupts without it
  bool ht_hole = false;                 // AMD only: 0xfd_0000_0000..0xff_ffff_ffff reserved
  bool operator==(const IommuParams&) const = default;
};

enum class FunctionKind : uint8_t {
  kEndpoint,          // RCiEP on a root bus, PCIe endpoint, or conventional PCI device
  kHostBridge,        // host bridge function on a root bus (q35's 00:00.0)
  kRootPort,          // PCIe root port
  kSwitchUpstream,    // PCIe switch upstream port
  kSwitchDownstream,  // PCIe switch downstream port
  kPcieToPciBridge,   // PCIe-to-PCI bridge; conventional PCI below
};
// "endpoint", "host-bridge", "root-port", "switch-upstream",
// "switch-downstream", "pcie-to-pci-bridge".
const char* FunctionKindName(FunctionKind kind);
// True for the kinds that own a secondary bus.
bool IsBridgeKind(FunctionKind kind);

// Device-model names an endpoint may carry.
inline constexpr std::string_view kDeviceModels[] = {"edu", "dma-test", "ring", "generic"};
bool IsKnownDeviceModel(std::string_view model);

// Drivers that leave a group usable by VFIO: none bound, vfio-pci, or a driver
// that does no kernel DMA of its own (pci-stub, pcieport; in the kernel these
// set driver_managed_dma). Any other bound driver makes the group non-viable.
bool DriverAllowsUserDma(std::string_view driver);

inline constexpr uint32_t kDefaultDmaEntryLimit = 65535;
// Largest group number (the kernel allocates group ids as non-negative ints).
inline constexpr core::GroupId kMaxGroupId = 0x7fffffff;

struct PciFunction {
  // ---- Described by the topology (input to Topology::Build) ----
  PciAddress address;
  FunctionKind kind = FunctionKind::kEndpoint;
  std::string name;  // optional label for humans (lspci-like output)
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint16_t subsystem_vendor_id = 0;
  uint16_t subsystem_id = 0;
  uint32_t class_code = 0;  // 24 bits: base class, subclass, programming interface
  uint8_t revision = 0;
  // ACS capability present with the isolation controls (source validation,
  // request/completion redirect, upstream forwarding) enabled.
  bool acs = false;
  std::string model;               // endpoints: one of kDeviceModels; empty for bridges
  std::string driver;              // bound driver; empty = none
  std::string params_json = "{}";  // device-model parameters, a JSON object, passed through
  // Direct-mapped ranges (Intel RMRR, AMD IVMD unity map, ARM IORT RMR) naming
  // this function; on a bridge they also cover every function below it.
  // Inclusive, 4 KiB granular.
  std::vector<core::IovaRange> rmrr;
  std::optional<core::GroupId> pinned_group;
  uint8_t secondary_bus = 0;  // bridge kinds except kHostBridge

  // ---- Derived by Topology::Build (ignored on input) ----
  int parent = -1;              // index in functions() of the bridge above; -1 on a root bus
  uint8_t subordinate_bus = 0;  // bridges: highest bus number in the subtree
  bool pcie = true;             // false for host bridges and conventional PCI devices
  bool multifunction = false;   // another function shares the slot
  core::GroupId group = 0;

  bool operator==(const PciFunction&) const = default;
};

// A function of `kind` with the kind's defaults: QEMU's ids and class for
// bridges (root port 1b36:000c, switch ports 104c:8232/8233, PCIe-to-PCI
// bridge 1b36:000e, host bridge 8086:29c0), driver "pcieport" for ports,
// model "generic" and driver "vfio-pci" for endpoints.
PciFunction DefaultFunction(FunctionKind kind);

struct TopologySpec {
  std::string profile;
  IommuParams iommu;
  uint32_t dma_entry_limit = kDefaultDmaEntryLimit;
  core::GroupId group_base = 0;
  std::vector<PciBusId> root_buses;
  std::vector<PciFunction> functions;  // any order
};

// Why Build() refused a spec, and which part of it. `field` uses the
// topology-file key names so the loader can turn it into a JSON path.
struct TopologyError {
  enum class Subject { kMachine, kRootBus, kFunction };
  Subject subject = Subject::kMachine;
  size_t index = 0;   // into spec.root_buses or spec.functions
  std::string field;  // e.g. "address", "group", "iommu/address_width"; may be empty
  std::string message;
};

struct IommuGroup {
  core::GroupId id = 0;
  std::vector<PciAddress> devices;  // sorted by address
  bool viable = true;               // every member's driver passes DriverAllowsUserDma
  bool operator==(const IommuGroup&) const = default;
};

class Topology {
 public:
  Topology() = default;  // an empty machine (no buses)

  // Validates `spec`, derives the tree and forms the groups. EINVAL with
  // *error filled (if non-null) when the spec is inconsistent.
  static core::Result<Topology> Build(TopologySpec spec, TopologyError* error = nullptr);

  const std::string& profile() const { return profile_; }
  const IommuParams& iommu() const { return iommu_; }
  uint32_t dma_entry_limit() const { return dma_entry_limit_; }
  core::GroupId group_base() const { return group_base_; }
  const std::vector<PciBusId>& root_buses() const { return root_buses_; }
  const std::vector<PciFunction>& functions() const { return functions_; }
  const std::vector<IommuGroup>& groups() const { return groups_; }

  // nullptr when absent.
  const PciFunction* Find(const PciAddress& address) const;
  const IommuGroup* FindGroup(core::GroupId id) const;
  // ENODEV when no such function.
  core::Result<core::GroupId> GroupOf(const PciAddress& address) const;
  // Bridges above `address`, nearest first (a root port or bridge on a root
  // bus last). Empty for root-bus functions and unknown addresses.
  std::vector<PciAddress> ParentChain(const PciAddress& address) const;

  bool operator==(const Topology&) const = default;

 private:
  std::string profile_;
  IommuParams iommu_;
  uint32_t dma_entry_limit_ = kDefaultDmaEntryLimit;
  core::GroupId group_base_ = 0;
  std::vector<PciBusId> root_buses_;
  std::vector<PciFunction> functions_;
  std::vector<IommuGroup> groups_;
};

// The built-in machine used by the demo, the tests and the preload. Kept in
// sync with sim/topologies/default.json (a test checks they are equal):
//   group 0  0000:00:00.0  8086:29c0 host bridge (q35 MCH), no driver
//   group 1  0000:00:01.0  1234:11e8 QEMU edu, RCiEP, vfio-pci (pinned to 1)
//   group 2  0000:00:02.0  1b36:000c root port with ACS, pcieport
//   group 3  0000:01:00.0  1234:5d01 DMA test device (PASID), vfio-pci
//   group 4  0000:00:03.0  1234:5d02 descriptor-ring device, RCiEP, vfio-pci
//   group 5  0000:00:04.0  8086:10c9 dual-port NIC function 0, no ACS, vfio-pci
//            0000:00:04.1  8086:10c9 function 1 (shares the group), vfio-pci
//   group 6  0000:00:05.0  1b36:0010 NVMe controller bound to "nvme": NOT viable
// 1234:5d01 and 1234:5d02 (with matching subsystem ids, rev 0x01, classes
// 0x088000 and 0x080100) are the identities sim/devices/ gives its DMA test and
// ring device models: vfio-sim's own picks in the vendor id QEMU uses for its
// unofficial devices; they name no real device.
// IOMMU: Intel VT-d, 48-bit, pgsize 0x40201000, no enforce snoop, interrupt
// remapping on, dma_entry_limit 65535, group_base 0, profile "default".
TopologySpec DefaultTopologySpec();
Topology DefaultTopology();

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_TOPOLOGY_H_
