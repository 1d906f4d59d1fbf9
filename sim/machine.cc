#include "sim/machine.h"

#include <nlohmann/json.hpp>

#include "sim/devices/dma_test_device.h"
#include "sim/devices/edu.h"
#include "sim/devices/generic_device.h"
#include "sim/devices/ring_device.h"
#include "sim/reserved_regions.h"

namespace vfiosim::sim {
namespace {

core::ReservedType ToCore(ReservedRegionType type) {
  switch (type) {
    case ReservedRegionType::kDirect: return core::ReservedType::kDirect;
    case ReservedRegionType::kDirectRelaxable: return core::ReservedType::kDirectRelaxable;
    case ReservedRegionType::kReserved: return core::ReservedType::kReserved;
    case ReservedRegionType::kMsi: return core::ReservedType::kMsi;
    case ReservedRegionType::kSwMsi: return core::ReservedType::kSwMsi;
  }
  return core::ReservedType::kReserved;
}

core::IommuModel ToCore(IommuModel model) {
  switch (model) {
    case IommuModel::kIntelVtd: return core::IommuModel::kIntelVtd;
    case IommuModel::kAmdVi: return core::IommuModel::kAmdVi;
    case IommuModel::kArmSmmu: return core::IommuModel::kArmSmmu;
  }
  return core::IommuModel::kIntelVtd;
}

// The device model a topology function names; parameters come from its JSON.
core::Result<std::unique_ptr<PciDevice>> MakeModel(const PciFunction& fn) {
  nlohmann::json params = nlohmann::json::parse(fn.params_json, nullptr, /*allow_exceptions=*/false);
  if (!params.is_object()) params = nlohmann::json::object();
  auto as_model = [](auto result) -> core::Result<std::unique_ptr<PciDevice>> {
    if (!result.ok()) return result.status();
    return std::unique_ptr<PciDevice>(std::move(*result));
  };
  if (fn.model == "edu") {
    EduDevice::Options o;
    if (params.contains("dma_mask") && params["dma_mask"].is_number_unsigned()) {
      o.dma_mask = params["dma_mask"].get<uint64_t>();
    }
    return as_model(EduDevice::Create(o));
  }
  if (fn.model == "dma-test") {
    DmaTestDevice::Options o;
    if (params.contains("pasid_width") && params["pasid_width"].is_number_unsigned()) {
      o.pasid_width = static_cast<uint8_t>(params["pasid_width"].get<unsigned>());
    }
    if (params.contains("ats") && params["ats"].is_boolean()) o.ats = params["ats"].get<bool>();
    return as_model(DmaTestDevice::Create(o));
  }
  if (fn.model == "ring") return as_model(RingDevice::Create());
  Type0Header header{.vendor_id = fn.vendor_id, .device_id = fn.device_id, .revision = fn.revision,
                     .class_code = fn.class_code, .subsystem_vendor_id = fn.subsystem_vendor_id,
                     .subsystem_id = fn.subsystem_id, .interrupt_pin = 1};
  return as_model(GenericDevice::Create(header, fn.pcie));
}

}  // namespace

Machine::Machine(core::MachineConfig config, core::KernelBehavior behavior)
    : kernel_(std::move(config), behavior) {}

Machine::~Machine() = default;

MachineDevice* Machine::FindDevice(std::string_view bdf) {
  for (auto& d : devices_) {
    if (d->bdf == bdf) return d.get();
  }
  return nullptr;
}

core::Status Machine::AddFunction(const PciFunction& fn, std::string bdf, core::GroupId group,
                                  bool vfio_bound, bool host_bound) {
  auto d = std::make_unique<MachineDevice>();
  d->bdf = std::move(bdf);
  d->vendor = fn.vendor_id;
  d->device = fn.device_id;
  d->subsystem_vendor = fn.subsystem_vendor_id;
  d->subsystem_device = fn.subsystem_id;
  d->class_code = fn.class_code;
  d->revision = fn.revision;
  d->driver = fn.driver;
  d->group = group;
  d->host_bound = host_bound;
  if (fn.kind == FunctionKind::kEndpoint) {
    core::Result<std::unique_ptr<PciDevice>> model = MakeModel(fn);
    if (!model.ok()) return model.status();
    d->model = std::move(*model);
    d->dma = std::make_unique<IommuDmaPort>(&kernel_, group);
    d->irq = std::make_unique<EventfdIrqSink>();
    d->model->Attach(d->dma.get(), d->irq.get());
    // The identity a model reports wins over what the topology file says.
    d->vendor = static_cast<uint16_t>(d->model->power_on_config().Get16(0));
    d->device = static_cast<uint16_t>(d->model->power_on_config().Get16(2));
  }
  uint32_t index = static_cast<uint32_t>(devices_.size());
  kernel_.AddDevice(group, d->bdf, host_bound, index, vfio_bound);
  devices_.push_back(std::move(d));
  return core::Status::Ok();
}

core::Result<std::unique_ptr<Machine>> Machine::Build(const Topology& topology, core::MachineConfig config,
                                                      core::KernelBehavior behavior, bool topology_regions) {
  auto machine = std::make_unique<Machine>(std::move(config), behavior);
  machine->topology_ = topology;
  for (const IommuGroup& group : topology.groups()) {
    // /dev/vfio/N exists only for groups with a vfio-pci device.
    bool has_vfio = false;
    for (const PciAddress& addr : group.devices) {
      const PciFunction* fn = topology.Find(addr);
      has_vfio |= fn != nullptr && fn->driver == "vfio-pci";
    }
    if (!has_vfio) continue;
    for (const PciAddress& addr : group.devices) {
      const PciFunction* fn = topology.Find(addr);
      const bool vfio = fn->driver == "vfio-pci";
      VFIOSIM_RETURN_IF_ERROR(
          machine->AddFunction(*fn, addr.ToString(), group.id, vfio, !vfio && !DriverAllowsUserDma(fn->driver)));
    }
    if (topology_regions) {
      std::vector<core::ReservedRegion> regions;
      for (const ReservedRegion& r : GroupReservedRegions(topology, group.id)) {
        regions.push_back({{r.start, r.end}, ToCore(r.type)});
      }
      machine->kernel_.SetGroupReservedRegions(group.id, std::move(regions));
    }
  }
  return machine;
}

MachineDevice& Machine::AddPciDevice(std::string bdf, uint16_t vendor, uint16_t device, core::GroupId group,
                                     bool host_bound) {
  PciFunction fn = DefaultFunction(FunctionKind::kEndpoint);
  core::Result<PciAddress> addr = PciAddress::Parse(bdf);
  if (addr.ok()) fn.address = *addr;
  fn.vendor_id = vendor;
  fn.device_id = device;
  fn.model = "generic";
  fn.driver = host_bound ? "host" : "vfio-pci";
  core::Status s = AddFunction(fn, std::move(bdf), group, /*vfio_bound=*/true, host_bound);
  (void)s;  // a generic model only fails under fail-nth injection
  return *devices_.back();
}

core::MachineConfig DefaultMachineConfig() { return core::MachineConfig{}; }

core::MachineConfig MachineConfigFromTopology(const Topology& topology) {
  core::MachineConfig c;
  const IommuParams& p = topology.iommu();
  c.iommu_model = ToCore(p.model);
  c.address_width = static_cast<int>(p.address_width);
  c.pgsize_bitmap = p.pgsize_bitmap;
  c.enforce_cache_coherency = p.cache_coherency;
  c.interrupt_remapping = p.interrupt_remapping;
  c.dma_entry_limit = topology.dma_entry_limit();
  return c;
}

}  // namespace vfiosim::sim
