// The built-in default machine (declared in sim/topology.h, documented there
// and in sim/topologies/default.json, which must describe the same machine).
#include <utility>

#include "sim/topology.h"

namespace vfiosim::sim {
namespace {

PciFunction Endpoint(PciAddress address, uint16_t vendor, uint16_t device, uint32_t class_code,
                     uint8_t revision, std::string model, std::string driver) {
  PciFunction f = DefaultFunction(FunctionKind::kEndpoint);
  f.address = address;
  f.vendor_id = vendor;
  f.device_id = device;
  f.class_code = class_code;
  f.revision = revision;
  f.model = std::move(model);
  f.driver = std::move(driver);
  return f;
}

}  // namespace

TopologySpec DefaultTopologySpec() {
  TopologySpec spec;
  spec.profile = "default";
  spec.iommu = IommuParams{};  // intel-vtd, 48 bits, 0x40201000, no CC, IR on
  spec.dma_entry_limit = kDefaultDmaEntryLimit;
  spec.group_base = 0;
  spec.root_buses = {PciBusId{0x0000, 0x00}};

  // group 0: the q35 host bridge, as in the reference VM, so edu lands in group 1.
  PciFunction host = DefaultFunction(FunctionKind::kHostBridge);
  host.address = {0x0000, 0x00, 0x00, 0};
  host.name = "Q35 host bridge";
  spec.functions.push_back(host);

  // group 1: QEMU's edu device, a root-complex integrated endpoint.
  PciFunction edu =
      Endpoint({0x0000, 0x00, 0x01, 0}, 0x1234, 0x11e8, 0x00ff00, 0x10, "edu", "vfio-pci");
  edu.name = "QEMU edu";
  edu.pinned_group = 1;
  spec.functions.push_back(edu);

  // group 2: a root port with ACS ...
  PciFunction port = DefaultFunction(FunctionKind::kRootPort);
  port.address = {0x0000, 0x00, 0x02, 0};
  port.secondary_bus = 0x01;
  port.acs = true;
  spec.functions.push_back(port);

  // group 3: ... isolating the PASID-capable DMA test device below it.
  PciFunction dma =
      Endpoint({0x0000, 0x01, 0x00, 0}, 0x1234, 0x5d01, 0x088000, 0x01, "dma-test", "vfio-pci");
  dma.subsystem_vendor_id = 0x1234;
  dma.subsystem_id = 0x5d01;
  dma.name = "vfio-sim DMA test device";
  spec.functions.push_back(dma);

  // group 4: the descriptor-ring device, another RCiEP.
  PciFunction ring =
      Endpoint({0x0000, 0x00, 0x03, 0}, 0x1234, 0x5d02, 0x080100, 0x01, "ring", "vfio-pci");
  ring.subsystem_vendor_id = 0x1234;
  ring.subsystem_id = 0x5d02;
  ring.name = "vfio-sim ring device";
  spec.functions.push_back(ring);

  // group 5: a two-function NIC without ACS: both functions share one group.
  for (uint8_t fn = 0; fn < 2; ++fn) {
    PciFunction nic =
        Endpoint({0x0000, 0x00, 0x04, fn}, 0x8086, 0x10c9, 0x020000, 0x01, "generic", "vfio-pci");
    nic.name = "82576 dual-port NIC";
    spec.functions.push_back(nic);
  }

  // group 6: an NVMe controller still bound to the host's nvme driver, so its
  // group is not viable for VFIO.
  PciFunction nvme =
      Endpoint({0x0000, 0x00, 0x05, 0}, 0x1b36, 0x0010, 0x010802, 0x02, "generic", "nvme");
  nvme.name = "QEMU NVMe controller";
  spec.functions.push_back(nvme);
  return spec;
}

Topology DefaultTopology() {
  // The spec is fixed and covered by tests; an empty Topology would only be
  // returned if someone broke it, and the tests would say so.
  core::Result<Topology> t = Topology::Build(DefaultTopologySpec());
  return t.ok() ? std::move(t).value() : Topology();
}

}  // namespace vfiosim::sim
