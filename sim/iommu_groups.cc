#include "sim/iommu_groups.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

namespace vfiosim::sim {
namespace {

// How a bus lets transactions from below reach other devices on it: the
// kernel's enum pci_bus_isolation, reduced to what the model can express.
enum class BusIsolation {
  kIsolated,              // everything goes up to the IOMMU
  kBridgeNonIsolated,     // the bridge and the whole bus form one group
  kSwitchDspNonIsolated,  // a switch's downstream ports reach each other, not the USP
};

// pci_acs_enabled() for a function of a multifunction device: only a PCIe
// function with the ACS controls enabled keeps its peers from looping back
// through it. ACS is never applicable to a PCIe-to-PCI bridge.
bool FunctionAcsEnabled(const PciFunction& f) {
  return f.pcie && f.kind != FunctionKind::kPcieToPciBridge && f.acs;
}

// Isolation of the bus created by the bridge at index `p` (-1: a root bus).
BusIsolation IsolationBelow(const std::vector<PciFunction>& fs, int p) {
  // Root buses are trusted, as the kernel does: the root complex is expected
  // to send whatever reaches it to the IOMMU.
  if (p < 0) return BusIsolation::kIsolated;
  const PciFunction& b = fs[static_cast<size_t>(p)];
  switch (b.kind) {
    case FunctionKind::kRootPort:
      return b.acs ? BusIsolation::kIsolated : BusIsolation::kBridgeNonIsolated;
    case FunctionKind::kSwitchDownstream:
      return BusIsolation::kIsolated;  // a point-to-point link; the DSP's ACS acts on the switch
                                       // bus
    case FunctionKind::kSwitchUpstream:
      // Any downstream port without ACS can turn upstream traffic around to
      // every other downstream port, so one spoils the whole internal bus.
      for (const PciFunction& f : fs) {
        if (f.parent == p && !f.acs) return BusIsolation::kSwitchDspNonIsolated;
      }
      return BusIsolation::kIsolated;
    default:
      // PCIe-to-PCI bridge: a conventional bus has no requester-id isolation
      // and the bridge aliases its secondary side, so it joins the group.
      return BusIsolation::kBridgeNonIsolated;
  }
}

struct Work {
  std::vector<size_t> members;
  bool non_isolated = false;  // everything downstream of a member joins
};

// Places every function in a (yet unnumbered) group; returns group index per function.
std::vector<size_t> Place(const std::vector<PciFunction>& fs, std::vector<Work>* work) {
  const size_t n = fs.size();
  std::vector<int> group_of(n, -1);
  auto create = [&](size_t i, bool non_isolated) {
    group_of[i] = static_cast<int>(work->size());
    work->push_back(Work{{i}, non_isolated});
  };
  auto join = [&](size_t i, int g) {
    group_of[i] = g;
    (*work)[static_cast<size_t>(g)].members.push_back(i);
  };
  for (size_t i = 0; i < n; ++i) {
    const PciFunction& f = fs[i];
    const int parent_group = f.parent < 0 ? -1 : group_of[static_cast<size_t>(f.parent)];
    if (parent_group >= 0 && (*work)[static_cast<size_t>(parent_group)].non_isolated) {
      join(i, parent_group);
      continue;
    }
    switch (IsolationBelow(fs, f.parent)) {
      case BusIsolation::kBridgeNonIsolated:
        join(i, parent_group);
        (*work)[static_cast<size_t>(parent_group)].non_isolated = true;
        break;
      case BusIsolation::kSwitchDspNonIsolated: {
        int g = -1;
        for (size_t j = 0; j < i && g < 0; ++j) {
          if (fs[j].parent == f.parent) g = group_of[j];
        }
        if (g >= 0) {
          join(i, g);
        } else {
          create(i, /*non_isolated=*/true);
        }
        break;
      }
      case BusIsolation::kIsolated: {
        if (!f.multifunction || FunctionAcsEnabled(f)) {
          create(i, false);
          break;
        }
        // Functions of one slot without ACS can reach each other inside the
        // device (get_pci_function_alias_group()).
        int g = -1;
        bool has_peer = false;
        for (size_t j = 0; j < n; ++j) {
          if (j == i || !fs[j].address.SameSlot(f.address) || FunctionAcsEnabled(fs[j])) continue;
          has_peer = true;
          if (group_of[j] >= 0) g = group_of[j];
        }
        if (g >= 0) {
          join(i, g);
        } else {
          // If one of these functions is a bridge, the loopback reaches its
          // subtree as well, so the group is non-isolating.
          create(i, has_peer);
        }
        break;
      }
    }
  }
  std::vector<size_t> result(n);
  for (size_t i = 0; i < n; ++i) result[i] = static_cast<size_t>(group_of[i]);
  return result;
}

}  // namespace

bool FormIommuGroups(std::vector<PciFunction>& functions, core::GroupId group_base,
                     std::vector<IommuGroup>* groups, GroupFormationError* error) {
  auto fail = [&](size_t i, std::string message) {
    if (error != nullptr) *error = GroupFormationError{i, std::move(message)};
    return false;
  };
  std::vector<Work> work;
  const std::vector<size_t> group_of = Place(functions, &work);
  const size_t n = functions.size();

  // Pins: one number per group, one group per number.
  std::vector<std::optional<core::GroupId>> pin(work.size());
  std::vector<size_t> pin_owner(work.size());
  std::map<core::GroupId, size_t> pinned_by;  // number -> function
  for (size_t i = 0; i < n; ++i) {
    if (!functions[i].pinned_group) continue;
    const size_t g = group_of[i];
    const core::GroupId want = *functions[i].pinned_group;
    if (pin[g] && *pin[g] != want) {
      return fail(i, "pinned group " + std::to_string(want) + " conflicts with pinned group " +
                         std::to_string(*pin[g]) + " of " +
                         functions[pin_owner[g]].address.ToString() +
                         ", which is in the same IOMMU group");
    }
    if (auto it = pinned_by.find(want); it != pinned_by.end() && group_of[it->second] != g) {
      return fail(i, "group number " + std::to_string(want) + " is already pinned by " +
                         functions[it->second].address.ToString() +
                         ", which is in a different IOMMU group");
    }
    pin[g] = want;
    pin_owner[g] = i;
    pinned_by.emplace(want, i);
  }

  // Numbers in depth-first order of each group's first member.
  std::vector<core::GroupId> number(work.size());
  std::vector<bool> numbered(work.size(), false);
  uint64_t next = group_base;
  for (size_t i = 0; i < n; ++i) {
    const size_t g = group_of[i];
    if (numbered[g]) continue;
    if (pin[g]) {
      number[g] = *pin[g];
    } else {
      while (pinned_by.count(static_cast<core::GroupId>(next)) != 0) ++next;
      if (next > kMaxGroupId) {
        return fail(i, "group numbers starting at " + std::to_string(group_base) + " run past " +
                           std::to_string(kMaxGroupId));
      }
      number[g] = static_cast<core::GroupId>(next++);
    }
    numbered[g] = true;
  }

  groups->clear();
  for (size_t g = 0; g < work.size(); ++g) {
    IommuGroup group;
    group.id = number[g];
    for (size_t i : work[g].members) {
      functions[i].group = number[g];
      group.devices.push_back(functions[i].address);
      group.viable = group.viable && DriverAllowsUserDma(functions[i].driver);
    }
    groups->push_back(std::move(group));
  }
  // Members listed by address, as `ls /sys/kernel/iommu_groups/N/devices` shows them.
  for (IommuGroup& g : *groups) std::sort(g.devices.begin(), g.devices.end());
  std::sort(groups->begin(), groups->end(),
            [](const IommuGroup& a, const IommuGroup& b) { return a.id < b.id; });
  return true;
}

}  // namespace vfiosim::sim
