#include "sim/machine.h"

namespace vfiosim::sim {

Machine::Machine(core::MachineConfig config, core::KernelBehavior behavior)
    : kernel_(std::move(config), behavior) {}

Machine::~Machine() = default;

MachineDevice& Machine::AddPciDevice(std::string bdf, uint16_t vendor, uint16_t device,
                                     core::GroupId group, bool host_bound) {
  auto d = std::make_unique<MachineDevice>();
  d->bdf = bdf;
  d->vendor = vendor;
  d->device = device;
  d->group = group;
  d->host_bound = host_bound;
  uint32_t index = static_cast<uint32_t>(devices_.size());
  kernel_.AddDevice(group, std::move(bdf), host_bound, index);
  devices_.push_back(std::move(d));
  return *devices_.back();
}

core::MachineConfig DefaultMachineConfig() { return core::MachineConfig{}; }

void AddDefaultDevices(Machine& machine) {
  machine.AddPciDevice("0000:00:01.0", 0x1234, 0x11e8, 1);
}

}  // namespace vfiosim::sim
