// Machine: one simulated computer — the kernel model plus the PCI functions
// that sit in its IOMMU groups and the device models behind them.
//
// Built from code (AddPciDevice) or, later, from a topology. The api/ layer
// reaches device models through `DeviceAt(model_index)`; core only knows
// the devices' names and groups.
//
// Thread safety: construct and add devices before clients run; afterwards
// the Machine is read-only and the Kernel handles its own locking.
#ifndef VFIOSIM_SIM_MACHINE_H_
#define VFIOSIM_SIM_MACHINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/behavior.h"
#include "core/kernel.h"
#include "core/machine_config.h"

namespace vfiosim::sim {

// What vfio-pci reports about a function that has no richer device model.
struct MachineDevice {
  std::string bdf;  // "0000:00:01.0"
  uint16_t vendor = 0;
  uint16_t device = 0;
  core::GroupId group = 0;
  bool host_bound = false;
  bool supports_reset = false;
  uint32_t device_regions = 0;  // regions beyond the 9 standard vfio-pci ones
};

class Machine {
 public:
  Machine(core::MachineConfig config, core::KernelBehavior behavior);
  ~Machine();

  core::Kernel& kernel() { return kernel_; }
  const core::MachineConfig& config() const { return kernel_.machine(); }

  // Adds a PCI function to IOMMU group `group` (created on first use).
  MachineDevice& AddPciDevice(std::string bdf, uint16_t vendor, uint16_t device, core::GroupId group,
                              bool host_bound = false);
  const MachineDevice& DeviceAt(uint32_t model_index) const { return *devices_[model_index]; }
  size_t device_count() const { return devices_.size(); }

 private:
  core::Kernel kernel_;
  std::vector<std::unique_ptr<MachineDevice>> devices_;
};

// The built-in default machine's configuration (Intel VT-d, 48-bit, 4K|2M|1G).
core::MachineConfig DefaultMachineConfig();
// Adds the default machine's devices: QEMU's edu device at 0000:00:01.0 in group 1.
void AddDefaultDevices(Machine& machine);

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_MACHINE_H_
