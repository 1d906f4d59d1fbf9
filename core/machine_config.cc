#include "core/machine_config.h"

namespace vfiosim::core {

const char* ReservedTypeName(ReservedType type) {
  switch (type) {
    case ReservedType::kDirect: return "direct";
    case ReservedType::kDirectRelaxable: return "direct-relaxable";
    case ReservedType::kReserved: return "reserved";
    case ReservedType::kMsi: return "msi";
    case ReservedType::kSwMsi: return "msi";  // sysfs prints both MSI kinds as "msi"
  }
  return "reserved";
}

std::vector<ReservedRegion> MachineConfig::DefaultReservedRegions() const {
  std::vector<ReservedRegion> regions;
  switch (iommu_model) {
    case IommuModel::kIntelVtd:
    case IommuModel::kAmdVi:
      // x86 interrupt window, reported by both Intel and AMD drivers as MSI.
      regions.push_back({{0xFEE00000, 0xFEEFFFFF}, ReservedType::kMsi});
      break;
    case IommuModel::kArmSmmu:
      // Software-managed MSI window the SMMU drivers reserve for doorbell mappings.
      regions.push_back({{0x08000000, 0x080FFFFF}, ReservedType::kSwMsi});
      break;
  }
  regions.insert(regions.end(), extra_reserved.begin(), extra_reserved.end());
  return regions;
}

}  // namespace vfiosim::core
