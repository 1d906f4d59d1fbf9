#include "sim/topology.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "sim/iommu_groups.h"

namespace vfiosim::sim {
namespace {

using Subject = TopologyError::Subject;

std::string Hex(uint64_t value, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%0*llx", digits, static_cast<unsigned long long>(value));
  return buf;
}

std::string BusHex(uint8_t bus) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%02x", bus);
  return buf;
}

bool ValidDriverName(std::string_view driver) {
  if (driver.size() > 64) return false;
  for (char c : driver) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Collects the first error; every check below returns false through it.
class ErrorSink {
 public:
  explicit ErrorSink(TopologyError* out) : out_(out) {}
  bool Fail(Subject subject, size_t index, std::string field, std::string message) {
    if (out_ != nullptr)
      *out_ = TopologyError{subject, index, std::move(field), std::move(message)};
    return false;
  }

 private:
  TopologyError* out_;
};

bool ValidateMachine(const TopologySpec& spec, ErrorSink& err) {
  const IommuParams& io = spec.iommu;
  if (io.address_width != 39 && io.address_width != 48 && io.address_width != 57) {
    return err.Fail(Subject::kMachine, 0, "iommu/address_width",
                    "expected 39, 48 or 57, got " + std::to_string(io.address_width));
  }
  if (io.pgsize_bitmap == 0 || (io.pgsize_bitmap & 0xfff) != 0) {
    return err.Fail(Subject::kMachine, 0, "iommu/pgsize_bitmap",
                    "expected a non-zero page-size bitmap with no bits below 4 KiB (0x1000), got " +
                        Hex(io.pgsize_bitmap, 1));
  }
  if (io.ht_hole && io.model != IommuModel::kAmdVi) {
    return err.Fail(Subject::kMachine, 0, "iommu/ht_hole",
                    std::string("the HyperTransport hole exists only on amd-vi, not on ") +
                        IommuModelName(io.model));
  }
  if (spec.group_base > kMaxGroupId) {
    return err.Fail(Subject::kMachine, 0, "group_base",
                    "expected at most " + std::to_string(kMaxGroupId));
  }
  return true;
}

// Checks one function on its own (no neighbours) and normalizes params_json.
bool ValidateFunction(PciFunction& f, size_t i, ErrorSink& err) {
  const bool bridge = IsBridgeKind(f.kind);
  if (!f.address.IsValid()) {
    return err.Fail(Subject::kFunction, i, "address",
                    "device must be <= 31 and function <= 7 in " + f.address.ToString());
  }
  if (!ValidDriverName(f.driver)) {
    return err.Fail(
        Subject::kFunction, i, "driver",
        "expected a driver name of at most 64 letters, digits, '_', '-' or '.', got \"" + f.driver +
            "\"");
  }
  if (f.kind != FunctionKind::kEndpoint && f.driver == "vfio-pci") {
    return err.Fail(Subject::kFunction, i, "driver",
                    std::string("vfio-pci binds only normal (type 0) functions, not a ") +
                        FunctionKindName(f.kind));
  }
  if (f.kind == FunctionKind::kEndpoint) {
    if (!IsKnownDeviceModel(f.model)) {
      return err.Fail(Subject::kFunction, i, "model",
                      "unknown device model \"" + f.model +
                          "\"; expected one of \"edu\", \"dma-test\", \"ring\", \"generic\"");
    }
  } else if (!f.model.empty()) {
    return err.Fail(Subject::kFunction, i, "model", "only endpoints carry a device model");
  }
  nlohmann::json params = nlohmann::json::parse(f.params_json, nullptr, /*allow_exceptions=*/false);
  if (params.is_discarded() || !params.is_object()) {
    return err.Fail(Subject::kFunction, i, "params", "expected a JSON object");
  }
  if (f.kind != FunctionKind::kEndpoint && !params.empty()) {
    return err.Fail(Subject::kFunction, i, "params", "only endpoints take model parameters");
  }
  f.params_json = params.dump();  // canonical: sorted keys, no spaces
  for (const core::IovaRange& r : f.rmrr) {
    if (r.start > r.last || !core::IsAligned(r.start, 0x1000) || (r.last & 0xfff) != 0xfff) {
      return err.Fail(Subject::kFunction, i, "rmrr",
                      "range [" + Hex(r.start, 1) + ", " + Hex(r.last, 1) +
                          "] must have start <= end, start 4 KiB aligned and end at the last "
                          "byte of a 4 KiB page");
    }
  }
  if (f.acs && (f.kind == FunctionKind::kHostBridge || f.kind == FunctionKind::kPcieToPciBridge)) {
    return err.Fail(Subject::kFunction, i, "acs",
                    std::string("ACS is not applicable to a ") + FunctionKindName(f.kind));
  }
  if (f.pinned_group && *f.pinned_group > kMaxGroupId) {
    return err.Fail(Subject::kFunction, i, "group",
                    "expected a group number of at most " + std::to_string(kMaxGroupId));
  }
  const uint32_t base_sub = f.class_code >> 8;
  if (f.kind == FunctionKind::kHostBridge && base_sub != 0x0600) {
    return err.Fail(Subject::kFunction, i, "class",
                    "a host-bridge needs class 0x0600xx, got " + Hex(f.class_code, 6));
  }
  if (bridge && f.kind != FunctionKind::kHostBridge) {
    if (base_sub != 0x0604) {
      return err.Fail(Subject::kFunction, i, "class",
                      std::string("a ") + FunctionKindName(f.kind) +
                          " needs the PCI-to-PCI bridge class 0x0604xx, got " +
                          Hex(f.class_code, 6));
    }
    if (f.secondary_bus <= f.address.bus) {
      return err.Fail(Subject::kFunction, i, "secondary_bus",
                      "secondary bus " + BusHex(f.secondary_bus) +
                          " must be above the bridge's own bus " + BusHex(f.address.bus));
    }
  }
  return true;
}

// Where `child` (a function on the bus created by `parent`) may sit.
bool ValidatePlacement(const PciFunction& child, size_t ci, const PciFunction* parent,
                       ErrorSink& err) {
  const FunctionKind k = child.kind;
  if (parent == nullptr) {
    if (k == FunctionKind::kSwitchUpstream || k == FunctionKind::kSwitchDownstream) {
      return err.Fail(Subject::kFunction, ci, "kind",
                      std::string("a ") + FunctionKindName(k) + " cannot sit on a root bus");
    }
    return true;
  }
  if (k == FunctionKind::kHostBridge) {
    return err.Fail(Subject::kFunction, ci, "kind", "a host-bridge must sit on a root bus");
  }
  const std::string where =
      std::string(FunctionKindName(parent->kind)) + " " + parent->address.ToString();
  switch (parent->kind) {
    case FunctionKind::kRootPort:
    case FunctionKind::kSwitchDownstream:
      if (k == FunctionKind::kRootPort || k == FunctionKind::kSwitchDownstream) {
        return err.Fail(Subject::kFunction, ci, "kind",
                        std::string("a ") + FunctionKindName(k) + " cannot sit below " + where);
      }
      if (child.address.device != 0) {
        return err.Fail(Subject::kFunction, ci, "address",
                        "the PCIe link below " + where + " carries only device 00, not " +
                            child.address.ToString());
      }
      return true;
    case FunctionKind::kSwitchUpstream:
      if (k != FunctionKind::kSwitchDownstream) {
        return err.Fail(Subject::kFunction, ci, "kind",
                        "only switch-downstream ports sit on the internal bus of " + where);
      }
      return true;
    case FunctionKind::kPcieToPciBridge:
      if (k != FunctionKind::kEndpoint) {
        return err.Fail(Subject::kFunction, ci, "kind",
                        "only conventional PCI endpoints sit below " + where);
      }
      if (child.acs) {
        return err.Fail(Subject::kFunction, ci, "acs",
                        "ACS is a PCIe capability; a conventional PCI device below " + where +
                            " cannot have it");
      }
      return true;
    default:
      return err.Fail(Subject::kFunction, ci, "address", "no bus below " + where);
  }
}

}  // namespace

const char* IommuModelName(IommuModel model) {
  switch (model) {
    case IommuModel::kIntelVtd:
      return "intel-vtd";
    case IommuModel::kAmdVi:
      return "amd-vi";
    case IommuModel::kArmSmmu:
      return "arm-smmu";
  }
  return "?";
}

const char* FunctionKindName(FunctionKind kind) {
  switch (kind) {
    case FunctionKind::kEndpoint:
      return "endpoint";
    case FunctionKind::kHostBridge:
      return "host-bridge";
    case FunctionKind::kRootPort:
      return "root-port";
    case FunctionKind::kSwitchUpstream:
      return "switch-upstream";
    case FunctionKind::kSwitchDownstream:
      return "switch-downstream";
    case FunctionKind::kPcieToPciBridge:
      return "pcie-to-pci-bridge";
  }
  return "?";
}

bool IsBridgeKind(FunctionKind kind) {
  return kind == FunctionKind::kRootPort || kind == FunctionKind::kSwitchUpstream ||
         kind == FunctionKind::kSwitchDownstream || kind == FunctionKind::kPcieToPciBridge;
}

bool IsKnownDeviceModel(std::string_view model) {
  return std::find(std::begin(kDeviceModels), std::end(kDeviceModels), model) !=
         std::end(kDeviceModels);
}

bool DriverAllowsUserDma(std::string_view driver) {
  return driver.empty() || driver == "vfio-pci" || driver == "pci-stub" || driver == "pcieport";
}

PciFunction DefaultFunction(FunctionKind kind) {
  PciFunction f;
  f.kind = kind;
  switch (kind) {
    case FunctionKind::kEndpoint:
      f.model = "generic";
      f.driver = "vfio-pci";
      break;
    case FunctionKind::kHostBridge:
      f.vendor_id = 0x8086, f.device_id = 0x29c0, f.class_code = 0x060000;
      break;
    case FunctionKind::kRootPort:
      f.vendor_id = 0x1b36, f.device_id = 0x000c, f.class_code = 0x060400;
      f.driver = "pcieport";
      break;
    case FunctionKind::kSwitchUpstream:
      f.vendor_id = 0x104c, f.device_id = 0x8232, f.class_code = 0x060400;
      f.driver = "pcieport";
      break;
    case FunctionKind::kSwitchDownstream:
      f.vendor_id = 0x104c, f.device_id = 0x8233, f.class_code = 0x060400;
      f.driver = "pcieport";
      break;
    case FunctionKind::kPcieToPciBridge:
      f.vendor_id = 0x1b36, f.device_id = 0x000e, f.class_code = 0x060400;
      break;
  }
  return f;
}

core::Result<Topology> Topology::Build(TopologySpec spec, TopologyError* error) {
  ErrorSink err(error);
  const auto fail = [] { return core::Result<Topology>(core::Error(EINVAL)); };
  if (!ValidateMachine(spec, err)) return fail();

  std::set<PciBusId> roots;
  for (size_t r = 0; r < spec.root_buses.size(); ++r) {
    if (!roots.insert(spec.root_buses[r]).second) {
      err.Fail(Subject::kRootBus, r, "bus_id",
               "duplicate root bus " + spec.root_buses[r].ToString());
      return fail();
    }
  }

  std::vector<PciFunction>& fs = spec.functions;
  std::map<PciAddress, size_t> by_address;
  std::map<PciBusId, size_t> bridge_of_bus;  // secondary bus -> bridge (spec index)
  for (size_t i = 0; i < fs.size(); ++i) {
    if (!ValidateFunction(fs[i], i, err)) return fail();
    if (!by_address.emplace(fs[i].address, i).second) {
      err.Fail(Subject::kFunction, i, "address", "duplicate address " + fs[i].address.ToString());
      return fail();
    }
    if (IsBridgeKind(fs[i].kind)) {
      const PciBusId sec{fs[i].address.domain, fs[i].secondary_bus};
      if (roots.count(sec) != 0) {
        err.Fail(Subject::kFunction, i, "secondary_bus",
                 "bus " + sec.ToString() + " is a root bus");
        return fail();
      }
      auto [it, inserted] = bridge_of_bus.emplace(sec, i);
      if (!inserted) {
        err.Fail(Subject::kFunction, i, "secondary_bus",
                 "bus " + sec.ToString() + " is already the secondary bus of " +
                     fs[it->second].address.ToString());
        return fail();
      }
    }
  }

  // Derive parents, check placement, group functions per bus.
  std::map<PciBusId, std::vector<size_t>> on_bus;
  std::vector<int> spec_parent(fs.size(), -1);
  for (size_t i = 0; i < fs.size(); ++i) {
    const PciBusId bus{fs[i].address.domain, fs[i].address.bus};
    const PciFunction* parent = nullptr;
    if (auto it = bridge_of_bus.find(bus); it != bridge_of_bus.end()) {
      spec_parent[i] = static_cast<int>(it->second);
      parent = &fs[it->second];
    } else if (roots.count(bus) == 0) {
      err.Fail(Subject::kFunction, i, "address",
               "bus " + bus.ToString() + " of " + fs[i].address.ToString() +
                   " is neither a root bus nor the secondary bus of a bridge");
      return fail();
    }
    if (!ValidatePlacement(fs[i], i, parent, err)) return fail();
    fs[i].pcie = fs[i].kind != FunctionKind::kHostBridge &&
                 !(parent != nullptr && parent->kind == FunctionKind::kPcieToPciBridge);
    on_bus[bus].push_back(i);
  }

  // Slots: function 0 must exist; more than one function makes it multifunction.
  std::map<std::pair<PciBusId, uint8_t>, std::vector<size_t>> slots;
  for (size_t i = 0; i < fs.size(); ++i) {
    slots[{{fs[i].address.domain, fs[i].address.bus}, fs[i].address.device}].push_back(i);
  }
  for (const auto& [key, members] : slots) {
    PciAddress fn0 = fs[members[0]].address;
    fn0.function = 0;
    if (by_address.count(fn0) == 0) {
      size_t i = *std::min_element(members.begin(), members.end());
      err.Fail(Subject::kFunction, i, "address",
               fs[i].address.ToString() + " has no function 0 in its slot (" + fn0.ToString() +
                   " is missing; Linux does not scan functions 1-7 without it)");
      return fail();
    }
    for (size_t i : members) fs[i].multifunction = members.size() > 1;
  }

  // Depth-first order: root buses by id, each bus by devfn, a bridge's subtree
  // right after it. Subordinate bus numbers are computed on the way back up.
  for (auto& [bus, members] : on_bus) {
    std::sort(members.begin(), members.end(),
              [&](size_t a, size_t b) { return fs[a].address < fs[b].address; });
  }
  std::vector<size_t> order;
  std::vector<int> new_index(fs.size(), -1);
  // Returns the highest bus number in the subtree of `bus`.
  auto visit = [&](auto&& self, PciBusId bus) -> uint8_t {
    uint8_t highest = bus.bus;
    auto it = on_bus.find(bus);
    if (it == on_bus.end()) return highest;
    for (size_t i : it->second) {
      new_index[i] = static_cast<int>(order.size());
      order.push_back(i);
      if (IsBridgeKind(fs[i].kind)) {
        fs[i].subordinate_bus = self(self, PciBusId{bus.domain, fs[i].secondary_bus});
        highest = std::max(highest, fs[i].subordinate_bus);
      }
    }
    return highest;
  };
  std::map<uint16_t, std::vector<std::pair<uint8_t, uint8_t>>> root_ranges;
  for (const PciBusId& root : roots) {
    root_ranges[root.domain].push_back({root.bus, visit(visit, root)});
  }
  // Bus ranges of siblings (and of root buses in a domain) must not overlap,
  // or a bus number would be routed to two places.
  for (const auto& [bus, members] : on_bus) {
    std::vector<size_t> bridges;
    for (size_t i : members) {
      if (IsBridgeKind(fs[i].kind)) bridges.push_back(i);
    }
    std::sort(bridges.begin(), bridges.end(),
              [&](size_t a, size_t b) { return fs[a].secondary_bus < fs[b].secondary_bus; });
    for (size_t k = 1; k < bridges.size(); ++k) {
      const PciFunction& lo = fs[bridges[k - 1]];
      const PciFunction& hi = fs[bridges[k]];
      if (hi.secondary_bus <= lo.subordinate_bus) {
        err.Fail(Subject::kFunction, bridges[k], "secondary_bus",
                 "bus range [" + BusHex(hi.secondary_bus) + "-" + BusHex(hi.subordinate_bus) +
                     "] of " + hi.address.ToString() + " overlaps bus range [" +
                     BusHex(lo.secondary_bus) + "-" + BusHex(lo.subordinate_bus) + "] of " +
                     lo.address.ToString());
        return fail();
      }
    }
  }
  for (auto& [domain, ranges] : root_ranges) {
    std::sort(ranges.begin(), ranges.end());
    for (size_t k = 1; k < ranges.size(); ++k) {
      if (ranges[k].first <= ranges[k - 1].second) {
        const PciBusId id{domain, ranges[k].first};
        size_t r =
            static_cast<size_t>(std::find(spec.root_buses.begin(), spec.root_buses.end(), id) -
                                spec.root_buses.begin());
        err.Fail(Subject::kRootBus, r, "bus_id",
                 "root bus " + id.ToString() + " lies inside the bus range of root bus " +
                     PciBusId{domain, ranges[k - 1].first}.ToString() + " (up to " +
                     BusHex(ranges[k - 1].second) + ")");
        return fail();
      }
    }
  }

  Topology t;
  t.functions_.reserve(order.size());
  for (size_t i : order) {
    PciFunction f = std::move(fs[i]);
    f.parent = spec_parent[i] < 0 ? -1 : new_index[static_cast<size_t>(spec_parent[i])];
    t.functions_.push_back(std::move(f));
  }
  GroupFormationError group_error;
  if (!FormIommuGroups(t.functions_, spec.group_base, &t.groups_, &group_error)) {
    // Report against the caller's spec order, and blame the pin or the base.
    const size_t i = order[group_error.function];
    if (t.functions_[group_error.function].pinned_group) {
      err.Fail(Subject::kFunction, i, "group", std::move(group_error.message));
    } else {
      err.Fail(Subject::kMachine, 0, "group_base", std::move(group_error.message));
    }
    return fail();
  }

  t.profile_ = std::move(spec.profile);
  t.iommu_ = spec.iommu;
  t.dma_entry_limit_ = spec.dma_entry_limit;
  t.group_base_ = spec.group_base;
  t.root_buses_.assign(roots.begin(), roots.end());
  return t;
}

const PciFunction* Topology::Find(const PciAddress& address) const {
  for (const PciFunction& f : functions_) {
    if (f.address == address) return &f;
  }
  return nullptr;
}

const IommuGroup* Topology::FindGroup(core::GroupId id) const {
  auto it = std::lower_bound(groups_.begin(), groups_.end(), id,
                             [](const IommuGroup& g, core::GroupId v) { return g.id < v; });
  return it != groups_.end() && it->id == id ? &*it : nullptr;
}

core::Result<core::GroupId> Topology::GroupOf(const PciAddress& address) const {
  const PciFunction* f = Find(address);
  if (f == nullptr) return core::Error(ENODEV);
  return f->group;
}

std::vector<PciAddress> Topology::ParentChain(const PciAddress& address) const {
  std::vector<PciAddress> chain;
  const PciFunction* f = Find(address);
  while (f != nullptr && f->parent >= 0) {
    f = &functions_[static_cast<size_t>(f->parent)];
    chain.push_back(f->address);
  }
  return chain;
}

}  // namespace vfiosim::sim
