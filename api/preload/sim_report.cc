#include "api/preload/sim_report.h"

#include <set>

#include "api/container_file.h"
#include "api/device_file.h"
#include "api/group_file.h"
#include "api/test_channel.h"
#include "api/trace/ioctl_names.h"
#include "api/vfio_sim.h"
#include "core/kernel.h"
#include "sim/machine.h"

namespace vfiosim::api::preload {
namespace {

// Mappings listed one per line in the summary before "... and N more".
constexpr size_t kSummaryMappings = 8;

void Collect(core::Container& c, std::vector<MappingInfo>* out) {
  core::MutexLock lock(c.mu());
  core::Type1Iommu* iommu = c.iommu();
  if (iommu == nullptr) return;
  iommu->space().ForEach([&](const core::DmaMapping& m) {
    out->push_back(MappingInfo{c.id(), m.iova, m.size, core::ToU64(m.vaddr), m.prot, m.vaddr_invalid});
  });
}

// "1 fault", "2 faults".
std::string Count(uint64_t n, const char* what) { return std::to_string(n) + " " + what + (n == 1 ? "" : "s"); }

std::string Prot(uint8_t prot) {
  std::string s;
  s += (prot & core::kProtRead) ? 'r' : '-';
  s += (prot & core::kProtWrite) ? 'w' : '-';
  return s;
}

}  // namespace

std::vector<MappingInfo> LiveMappings(VfioSim& sim) {
  std::vector<MappingInfo> out;
  std::set<core::Container*> seen;
  for (core::GroupId g : sim.kernel().GroupIds()) {
    std::shared_ptr<core::Container> c = sim.kernel().GroupContainer(g);
    if (c && seen.insert(c.get()).second) Collect(*c, &out);
  }
  return out;
}

std::vector<MappingInfo> GroupMappings(VfioSim& sim, core::GroupId group) {
  std::vector<MappingInfo> out;
  std::shared_ptr<core::Container> c = sim.kernel().GroupContainer(group);
  if (c) Collect(*c, &out);
  return out;
}

std::vector<OpenFd> OpenSimFds(VfioSim& sim) {
  std::vector<OpenFd> out;
  for (int fd : sim.fds().OpenFds()) {
    std::shared_ptr<File> f = sim.fds().Get(fd);
    if (!f) continue;
    std::string what;
    switch (f->kind()) {
      case File::Kind::kContainer:
        what = "container " + std::to_string(static_cast<ContainerFile&>(*f).container()->id());
        break;
      case File::Kind::kGroup:
        what = "group " + std::to_string(static_cast<GroupFile&>(*f).id());
        break;
      case File::Kind::kDevice:
        what = "device " + static_cast<DeviceFile&>(*f).device()->name;
        break;
    }
    out.push_back(OpenFd{fd, std::move(what)});
  }
  return out;
}

uint64_t FaultsRecorded(VfioSim& sim, TestChannel& channel) {
  // Every port once: a group's test-channel port is its first device's port.
  std::set<sim::IommuDmaPort*> ports;
  for (core::GroupId g : sim.kernel().GroupIds()) ports.insert(&channel.Port(g));
  sim::Machine& machine = sim.machine();
  for (size_t i = 0; i < machine.device_count(); ++i) {
    sim::MachineDevice& d = machine.DeviceAt(static_cast<uint32_t>(i));
    if (d.dma) ports.insert(d.dma.get());
  }
  uint64_t n = 0;
  for (sim::IommuDmaPort* port : ports) n += port->faults().total();
  return n;
}

std::string SummaryText(VfioSim& sim, TestChannel& channel, const std::string& prefix) {
  std::vector<MappingInfo> maps = LiveMappings(sim);
  std::vector<OpenFd> fds = OpenSimFds(sim);
  uint64_t bytes = 0;
  for (const MappingInfo& m : maps) bytes += m.size;
  std::string out = prefix + "exit summary: " + Count(maps.size(), "live mapping") + " (" + trace::Hex(bytes) +
                    " bytes), " + Count(sim.kernel().pasids().allocated_count(), "PASID") + " allocated, " +
                    Count(FaultsRecorded(sim, channel), "fault") + " recorded, " +
                    Count(fds.size(), "vfio fd") + " left open\n";
  for (size_t i = 0; i < maps.size() && i < kSummaryMappings; ++i) {
    const MappingInfo& m = maps[i];
    out += prefix + "  mapping: container " + std::to_string(m.container_id) + " iova " + trace::Hex(m.iova) +
           "-" + trace::Hex(m.iova + m.size - 1) + " vaddr " + trace::Hex(m.vaddr) + " " + Prot(m.prot) +
           (m.vaddr_invalid ? " (vaddr invalidated)" : "") + "\n";
  }
  if (maps.size() > kSummaryMappings) {
    out += prefix + "  ... and " + std::to_string(maps.size() - kSummaryMappings) + " more mappings\n";
  }
  for (const OpenFd& f : fds) out += prefix + "  open fd " + std::to_string(f.fd) + ": " + f.what + "\n";
  return out;
}

}  // namespace vfiosim::api::preload
