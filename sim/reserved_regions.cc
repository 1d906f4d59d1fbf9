#include "sim/reserved_regions.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <optional>

namespace vfiosim::sim {
namespace {

// Intel's device_rmrr_is_relaxable(): USB controllers and GPUs keep using
// their RMRR only until their driver takes over, so the kernel lets the
// region be dropped when the device is assigned.
bool RmrrIsRelaxable(const PciFunction& f) {
  return (f.class_code >> 8) == 0x0c03 || (f.class_code >> 16) == 0x03;
}

}  // namespace

const char* ReservedRegionTypeName(ReservedRegionType type) {
  switch (type) {
    case ReservedRegionType::kDirect:
      return "direct";
    case ReservedRegionType::kDirectRelaxable:
      return "direct-relaxable";
    case ReservedRegionType::kReserved:
      return "reserved";
    case ReservedRegionType::kMsi:
      return "msi";
    case ReservedRegionType::kSwMsi:
      return "msi";
  }
  return "?";
}

std::vector<ReservedRegion> DeviceReservedRegions(const Topology& topology,
                                                  const PciAddress& address) {
  std::vector<ReservedRegion> out;
  const PciFunction* f = topology.Find(address);
  if (f == nullptr) return out;

  // Direct ranges naming the function itself or a bridge above it.
  std::vector<core::IovaRange> direct = f->rmrr;
  for (const PciAddress& up : topology.ParentChain(address)) {
    const PciFunction* bridge = topology.Find(up);
    direct.insert(direct.end(), bridge->rmrr.begin(), bridge->rmrr.end());
  }

  switch (topology.iommu().model) {
    case IommuModel::kIntelVtd: {
      const ReservedRegionType type =
          RmrrIsRelaxable(*f) ? ReservedRegionType::kDirectRelaxable : ReservedRegionType::kDirect;
      for (const core::IovaRange& r : direct) out.push_back({r.start, r.last, type});
      // Legacy ISA DMA (the floppy controller) behind an LPC/ISA bridge.
      if ((f->class_code >> 8) == 0x0601) {
        out.push_back({0, 16 * 1024 * 1024 - 1, ReservedRegionType::kDirectRelaxable});
      }
      out.push_back({kX86MsiStart, kX86MsiEnd, ReservedRegionType::kMsi});
      break;
    }
    case IommuModel::kAmdVi:
      for (const core::IovaRange& r : direct) {
        out.push_back({r.start, r.last, ReservedRegionType::kDirect});
      }
      out.push_back({kX86MsiStart, kX86MsiEnd, ReservedRegionType::kMsi});
      if (topology.iommu().ht_hole) {
        out.push_back({kAmdHtStart, kAmdHtEnd, ReservedRegionType::kReserved});
      }
      break;
    case IommuModel::kArmSmmu:
      out.push_back({kArmSwMsiStart, kArmSwMsiEnd, ReservedRegionType::kSwMsi});
      for (const core::IovaRange& r : direct) {
        out.push_back({r.start, r.last, ReservedRegionType::kDirect});
      }
      break;
  }
  return out;
}

std::vector<ReservedRegion> MergeReservedRegions(std::vector<ReservedRegion> regions) {
  std::stable_sort(regions.begin(), regions.end(),
                   [](const ReservedRegion& a, const ReservedRegion& b) {
                     return a.start != b.start ? a.start < b.start : a.type < b.type;
                   });
  std::vector<ReservedRegion> out;
  // Index in `out` of the last region kept per type: only same-type regions
  // merge, and in start order only the latest one can touch the next.
  std::array<std::optional<size_t>, 5> last_of_type;
  for (const ReservedRegion& r : regions) {
    std::optional<size_t>& last = last_of_type[static_cast<size_t>(r.type)];
    if (last) {
      ReservedRegion& top = out[*last];
      const bool touches =
          top.end == std::numeric_limits<uint64_t>::max() || r.start <= top.end + 1;
      if (touches) {
        top.end = std::max(top.end, r.end);
        continue;
      }
    }
    last = out.size();
    out.push_back(r);
  }
  return out;
}

std::vector<ReservedRegion> GroupReservedRegions(const Topology& topology, core::GroupId group) {
  std::vector<ReservedRegion> all;
  const IommuGroup* g = topology.FindGroup(group);
  if (g == nullptr) return all;
  for (const PciAddress& member : g->devices) {
    std::vector<ReservedRegion> mine = DeviceReservedRegions(topology, member);
    all.insert(all.end(), mine.begin(), mine.end());
  }
  return MergeReservedRegions(std::move(all));
}

std::string FormatReservedRegions(const std::vector<ReservedRegion>& regions) {
  std::string out;
  for (const ReservedRegion& r : regions) {
    char line[80];
    std::snprintf(line, sizeof(line), "0x%016llx 0x%016llx %s\n",
                  static_cast<unsigned long long>(r.start), static_cast<unsigned long long>(r.end),
                  ReservedRegionTypeName(r.type));
    out += line;
  }
  return out;
}

}  // namespace vfiosim::sim
