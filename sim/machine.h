// Machine: one simulated computer — the kernel model, the PCI functions of
// its topology, and behind each function a device model wired to a DMA port
// (translation through the function's IOMMU group) and an interrupt sink
// (the client's eventfds).
//
// Built from a Topology (file or the built-in default), or empty and filled
// from code with AddPciDevice. The api/ layer reaches a function through
// `DeviceAt(model_index)`; core only knows names and groups.
//
// Thread safety: construct and add devices before clients run; afterwards
// the Machine's structure is read-only and every part locks itself.
#ifndef VFIOSIM_SIM_MACHINE_H_
#define VFIOSIM_SIM_MACHINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/behavior.h"
#include "core/kernel.h"
#include "core/machine_config.h"
#include "sim/eventfd_irq_sink.h"
#include "sim/iommu_dma_port.h"
#include "sim/pci_device.h"
#include "sim/topology.h"

namespace vfiosim::sim {

struct MachineDevice {
  std::string bdf;  // "0000:00:01.0"
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint16_t subsystem_vendor = 0;
  uint16_t subsystem_device = 0;
  uint32_t class_code = 0;
  uint8_t revision = 0;
  std::string driver = "vfio-pci";
  core::GroupId group = 0;
  bool host_bound = false;
  std::unique_ptr<PciDevice> model;
  std::unique_ptr<IommuDmaPort> dma;
  std::unique_ptr<EventfdIrqSink> irq;

  bool supports_reset() const { return model && model->SupportsReset(); }
};

class Machine {
 public:
  // An empty machine (no devices) with this IOMMU and kernel behaviour.
  Machine(core::MachineConfig config, core::KernelBehavior behavior);
  ~Machine();

  // Every vfio-pci function of the topology becomes a device in its IOMMU
  // group; other members of such groups (bridges, host-bound functions)
  // join the group for viability. Reserved regions come from the topology
  // when `topology_regions`, else from `config`'s IOMMU model.
  static core::Result<std::unique_ptr<Machine>> Build(const Topology& topology, core::MachineConfig config,
                                                      core::KernelBehavior behavior, bool topology_regions);

  core::Kernel& kernel() { return kernel_; }
  const core::MachineConfig& config() const { return kernel_.machine(); }
  const Topology& topology() const { return topology_; }

  // Adds a generic PCI function (identity only) to IOMMU group `group`.
  MachineDevice& AddPciDevice(std::string bdf, uint16_t vendor, uint16_t device, core::GroupId group,
                              bool host_bound = false);
  MachineDevice& DeviceAt(uint32_t model_index) { return *devices_[model_index]; }
  const MachineDevice& DeviceAt(uint32_t model_index) const { return *devices_[model_index]; }
  size_t device_count() const { return devices_.size(); }
  // nullptr when no function has that address.
  MachineDevice* FindDevice(std::string_view bdf);

 private:
  core::Status AddFunction(const PciFunction& fn, std::string bdf, core::GroupId group, bool vfio_bound,
                           bool host_bound);

  core::Kernel kernel_;
  Topology topology_;
  std::vector<std::unique_ptr<MachineDevice>> devices_;
};

// The built-in default machine's configuration (Intel VT-d, 48-bit, 4K|2M|1G).
core::MachineConfig DefaultMachineConfig();
// The IOMMU part of a topology as a core machine configuration.
core::MachineConfig MachineConfigFromTopology(const Topology& topology);

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_MACHINE_H_
