#include "tests/fail_nth/machine_snapshot.h"

#include <memory>
#include <set>
#include <sstream>

#include "core/container.h"
#include "core/kernel.h"
#include "core/nested_domain.h"
#include "core/type1_iommu.h"

namespace vfiosim::testing {

MachineSnapshot TakeMachineSnapshot(api::VfioSim& sim, const std::vector<uint64_t>& probes) {
  MachineSnapshot s;
  core::Kernel& kernel = sim.kernel();
  std::set<const core::Container*> seen;
  for (core::GroupId g : kSnapshotGroups) {
    std::shared_ptr<core::Container> c = kernel.GroupContainer(g);
    s.groups.push_back({g, kernel.GroupFileOpen(g), c ? c->id() : 0, kernel.ContainerUsers(g)});
    s.type1.push_back(TakeType1Snapshot(sim, g, probes));
    if (!c || !seen.insert(c.get()).second) continue;  // a container shared by groups counts once
    (void)c->WithIommu([&](core::Type1Iommu& t) {
      t.iotlb().ForEach([&](uint32_t domain, core::Pasid pasid, const core::Translation& tr) {
        s.iotlb.push_back({c->id(), domain, pasid, tr});
      });
      if (const core::NestedDomain* nested = t.nested()) {
        nested->ForEachBinding([&](core::Pasid pasid, const core::GuestBinding& b) {
          s.bindings.push_back(
              {c->id(), pasid, b.gpgd, b.addr_width, b.gpasid, b.gpasid_valid, b.vendor_flags});
        });
      }
      return core::Status::Ok();
    });
  }
  kernel.pasids().ForEach([&](core::Pasid p, core::PasidOwner o) { s.pasids.push_back({p, o}); });
  return s;
}

std::string DiffMachineSnapshots(const MachineSnapshot& a, const MachineSnapshot& b) {
  std::ostringstream os;
  for (size_t i = 0; i < a.groups.size() && i < b.groups.size(); ++i) {
    const GroupEntry& x = a.groups[i];
    const GroupEntry& y = b.groups[i];
    if (!(x == y)) {
      os << "  group " << x.id << ": open " << x.file_open << "->" << y.file_open << " container "
         << x.container << "->" << y.container << " users " << x.users << "->" << y.users << "\n";
    }
    if (!(a.type1[i] == b.type1[i])) {
      os << "  type1 behind group " << x.id << ":\n" << DiffType1Snapshots(a.type1[i], b.type1[i]);
    }
  }
  if (a.iotlb != b.iotlb) os << "  IOTLB entries: " << a.iotlb.size() << " -> " << b.iotlb.size() << "\n";
  if (a.bindings != b.bindings) {
    os << "  bindings (container:pasid):";
    for (const BindingEntry& e : a.bindings) os << " " << e.container << ":" << e.pasid;
    os << " ->";
    for (const BindingEntry& e : b.bindings) os << " " << e.container << ":" << e.pasid;
    os << "\n";
  }
  if (a.pasids != b.pasids) {
    os << "  PASIDs (pasid@owner):";
    for (const PasidEntry& p : a.pasids) os << " " << p.pasid << "@" << p.owner;
    os << " ->";
    for (const PasidEntry& p : b.pasids) os << " " << p.pasid << "@" << p.owner;
    os << "\n";
  }
  return os.str();
}

}  // namespace vfiosim::testing
