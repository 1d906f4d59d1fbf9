#include "api/trace/ioctl_names.h"

#include <linux/vfio.h>

#include <cinttypes>
#include <cstdio>

#include "api/uapi/vfio_msi_resv_rfc.h"
#include "api/uapi/vfio_resv_iova_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"

namespace vfiosim::api::trace {
namespace {

#define VFIOSIM_FLAG(x) FlagName{x, #x}

constexpr FlagName kMapFlags[] = {
    VFIOSIM_FLAG(VFIO_DMA_MAP_FLAG_READ),
    VFIOSIM_FLAG(VFIO_DMA_MAP_FLAG_WRITE),
    VFIOSIM_FLAG(VFIO_DMA_MAP_FLAG_VADDR),
};
constexpr FlagName kMapFlagsMsi[] = {
    VFIOSIM_FLAG(VFIO_DMA_MAP_FLAG_READ),
    VFIOSIM_FLAG(VFIO_DMA_MAP_FLAG_WRITE),
    VFIOSIM_FLAG(VFIO_DMA_MAP_FLAG_RESERVED_MSI_IOVA),
};
constexpr FlagName kUnmapFlags[] = {
    VFIOSIM_FLAG(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP),
    VFIOSIM_FLAG(VFIO_DMA_UNMAP_FLAG_ALL),
    VFIOSIM_FLAG(VFIO_DMA_UNMAP_FLAG_VADDR),
};
constexpr FlagName kDirtyFlags[] = {
    VFIOSIM_FLAG(VFIO_IOMMU_DIRTY_PAGES_FLAG_START),
    VFIOSIM_FLAG(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP),
    VFIOSIM_FLAG(VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP),
};
constexpr FlagName kIommuInfoFlags[] = {
    VFIOSIM_FLAG(VFIO_IOMMU_INFO_PGSIZES),
    VFIOSIM_FLAG(VFIO_IOMMU_INFO_CAPS),
};
constexpr FlagName kGroupFlags[] = {
    VFIOSIM_FLAG(VFIO_GROUP_FLAGS_VIABLE),
    VFIOSIM_FLAG(VFIO_GROUP_FLAGS_CONTAINER_SET),
};
constexpr FlagName kDeviceFlags[] = {
    VFIOSIM_FLAG(VFIO_DEVICE_FLAGS_RESET),    VFIOSIM_FLAG(VFIO_DEVICE_FLAGS_PCI),
    VFIOSIM_FLAG(VFIO_DEVICE_FLAGS_PLATFORM), VFIOSIM_FLAG(VFIO_DEVICE_FLAGS_AMBA),
    VFIOSIM_FLAG(VFIO_DEVICE_FLAGS_CCW),      VFIOSIM_FLAG(VFIO_DEVICE_FLAGS_AP),
    VFIOSIM_FLAG(VFIO_DEVICE_FLAGS_FSL_MC),   VFIOSIM_FLAG(VFIO_DEVICE_FLAGS_CAPS),
};
constexpr FlagName kRegionFlags[] = {
    VFIOSIM_FLAG(VFIO_REGION_INFO_FLAG_READ),
    VFIOSIM_FLAG(VFIO_REGION_INFO_FLAG_WRITE),
    VFIOSIM_FLAG(VFIO_REGION_INFO_FLAG_MMAP),
    VFIOSIM_FLAG(VFIO_REGION_INFO_FLAG_CAPS),
};
constexpr FlagName kIrqInfoFlags[] = {
    VFIOSIM_FLAG(VFIO_IRQ_INFO_EVENTFD),
    VFIOSIM_FLAG(VFIO_IRQ_INFO_MASKABLE),
    VFIOSIM_FLAG(VFIO_IRQ_INFO_AUTOMASKED),
    VFIOSIM_FLAG(VFIO_IRQ_INFO_NORESIZE),
};
constexpr FlagName kIrqSetFlags[] = {
    VFIOSIM_FLAG(VFIO_IRQ_SET_DATA_NONE),      VFIOSIM_FLAG(VFIO_IRQ_SET_DATA_BOOL),
    VFIOSIM_FLAG(VFIO_IRQ_SET_DATA_EVENTFD),   VFIOSIM_FLAG(VFIO_IRQ_SET_ACTION_MASK),
    VFIOSIM_FLAG(VFIO_IRQ_SET_ACTION_UNMASK),  VFIOSIM_FLAG(VFIO_IRQ_SET_ACTION_TRIGGER),
};
constexpr FlagName kPasidFlags[] = {
    VFIOSIM_FLAG(VFIO_IOMMU_PASID_ALLOC),
    VFIOSIM_FLAG(VFIO_IOMMU_PASID_FREE),
};
constexpr FlagName kBindFlags[] = {
    VFIOSIM_FLAG(VFIO_IOMMU_BIND_GUEST_PGTBL),
    VFIOSIM_FLAG(VFIO_IOMMU_UNBIND_GUEST_PGTBL),
};

#undef VFIOSIM_FLAG

struct RequestName {
  unsigned long request;
  const char* name;
};

#define VFIOSIM_REQ(x) RequestName{x, #x}

// Valid on every VFIO fd kind (the numbers below 12 are unique).
constexpr RequestName kCommon[] = {
    VFIOSIM_REQ(VFIO_GET_API_VERSION),       VFIOSIM_REQ(VFIO_CHECK_EXTENSION),
    VFIOSIM_REQ(VFIO_SET_IOMMU),             VFIOSIM_REQ(VFIO_GROUP_GET_STATUS),
    VFIOSIM_REQ(VFIO_GROUP_SET_CONTAINER),   VFIOSIM_REQ(VFIO_GROUP_UNSET_CONTAINER),
    VFIOSIM_REQ(VFIO_GROUP_GET_DEVICE_FD),   VFIOSIM_REQ(VFIO_DEVICE_GET_INFO),
    VFIOSIM_REQ(VFIO_DEVICE_GET_REGION_INFO), VFIOSIM_REQ(VFIO_DEVICE_GET_IRQ_INFO),
    VFIOSIM_REQ(VFIO_DEVICE_SET_IRQS),       VFIOSIM_REQ(VFIO_DEVICE_RESET),
};
// Container numbers from VFIO_BASE + 12 on (type1).
constexpr RequestName kContainer[] = {
    VFIOSIM_REQ(VFIO_IOMMU_GET_INFO), VFIOSIM_REQ(VFIO_IOMMU_MAP_DMA),
    VFIOSIM_REQ(VFIO_IOMMU_UNMAP_DMA), VFIOSIM_REQ(VFIO_IOMMU_ENABLE),
    VFIOSIM_REQ(VFIO_IOMMU_DISABLE),  VFIOSIM_REQ(VFIO_IOMMU_DIRTY_PAGES),
};
// Device numbers from VFIO_BASE + 12 on.
constexpr RequestName kDevice[] = {
    VFIOSIM_REQ(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO), VFIOSIM_REQ(VFIO_DEVICE_PCI_HOT_RESET),
    VFIOSIM_REQ(VFIO_DEVICE_QUERY_GFX_PLANE),        VFIOSIM_REQ(VFIO_DEVICE_GET_GFX_DMABUF),
    VFIOSIM_REQ(VFIO_DEVICE_IOEVENTFD),              VFIOSIM_REQ(VFIO_DEVICE_FEATURE),
};

#undef VFIOSIM_REQ

const char* Find(std::span<const RequestName> table, unsigned long request) {
  for (const RequestName& r : table) {
    if (r.request == request) return r.name;
  }
  return nullptr;
}

}  // namespace

std::string Hex(uint64_t value) {
  if (value == 0) return "0";
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, value);
  return buf;
}

std::string FlagsToString(uint64_t flags, std::span<const FlagName> names) {
  if (flags == 0) return "0";
  std::string out;
  uint64_t rest = flags;
  for (const FlagName& f : names) {
    if (f.bits != 0 && (rest & f.bits) == f.bits) {
      if (!out.empty()) out += '|';
      out += f.name;
      rest &= ~f.bits;
    }
  }
  if (rest != 0) {
    if (!out.empty()) out += '|';
    out += Hex(rest);
  }
  return out;
}

std::string IoctlName(FdKind kind, unsigned long request, const DecodeOptions& opts) {
  if (opts.pasid_request_ioctl != 0 && request == opts.pasid_request_ioctl && kind != FdKind::kDevice) {
    return "VFIO_IOMMU_PASID_REQUEST";
  }
  if (opts.bind_ioctl != 0 && request == opts.bind_ioctl && kind != FdKind::kDevice) {
    return "VFIO_IOMMU_BIND";
  }
  if (opts.cache_invalidate_ioctl != 0 && request == opts.cache_invalidate_ioctl &&
      kind != FdKind::kDevice) {
    return "VFIO_IOMMU_CACHE_INVALIDATE";
  }
  if (const char* n = Find(kCommon, request)) return n;
  // Numbers shared by containers and devices: an unknown fd reads as a container.
  if (kind == FdKind::kDevice) {
    if (const char* n = Find(kDevice, request)) return n;
  } else {
    if (const char* n = Find(kContainer, request)) return n;
  }
  if (_IOC_TYPE(request) == VFIO_TYPE && _IOC_DIR(request) == _IOC_NONE && _IOC_SIZE(request) == 0 &&
      _IOC_NR(request) >= VFIO_BASE) {
    return "_IO(VFIO_TYPE, VFIO_BASE + " + std::to_string(_IOC_NR(request) - VFIO_BASE) + ")";
  }
  return Hex(request);
}

std::string ExtensionName(unsigned long arg, const DecodeOptions& opts) {
  switch (arg) {
    case VFIO_TYPE1_IOMMU: return "VFIO_TYPE1_IOMMU";
    case VFIO_SPAPR_TCE_IOMMU: return "VFIO_SPAPR_TCE_IOMMU";
    case VFIO_TYPE1v2_IOMMU: return "VFIO_TYPE1v2_IOMMU";
    case VFIO_DMA_CC_IOMMU: return "VFIO_DMA_CC_IOMMU";
    case VFIO_EEH: return "VFIO_EEH";
    case 6: return "VFIO_TYPE1_NESTING_IOMMU";
    case VFIO_SPAPR_TCE_v2_IOMMU: return "VFIO_SPAPR_TCE_v2_IOMMU";
    case VFIO_NOIOMMU_IOMMU: return "VFIO_NOIOMMU_IOMMU";
    case 9: return opts.ext9_nesting_uapi ? "VFIO_NESTING_IOMMU_UAPI" : "VFIO_UNMAP_ALL";
    case 10: return "VFIO_UPDATE_VADDR";
    default: return std::to_string(arg);
  }
}

std::string IommuCapName(uint16_t id, const DecodeOptions& opts) {
  switch (id) {
    case 1:
      if (opts.cap1_msi_resv) return "VFIO_IOMMU_TYPE1_INFO_CAP_MSI_RESV";
      if (opts.cap1_resv_iova) return "VFIO_IOMMU_TYPE1_INFO_CAP_RESV_IOVA_RANGE";
      return "VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE";
    case 2:
      return opts.cap2_nesting ? "VFIO_IOMMU_TYPE1_INFO_CAP_NESTING" : "VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION";
    case 3: return "VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL";
    default: return std::to_string(id);
  }
}

std::string RegionCapName(uint16_t id) {
  switch (id) {
    case VFIO_REGION_INFO_CAP_SPARSE_MMAP: return "VFIO_REGION_INFO_CAP_SPARSE_MMAP";
    case VFIO_REGION_INFO_CAP_TYPE: return "VFIO_REGION_INFO_CAP_TYPE";
    case VFIO_REGION_INFO_CAP_MSIX_MAPPABLE: return "VFIO_REGION_INFO_CAP_MSIX_MAPPABLE";
    case VFIO_REGION_INFO_CAP_NVLINK2_SSATGT: return "VFIO_REGION_INFO_CAP_NVLINK2_SSATGT";
    case VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD: return "VFIO_REGION_INFO_CAP_NVLINK2_LNKSPD";
    default: return std::to_string(id);
  }
}

std::string RegionIndexName(uint32_t index) {
  static constexpr const char* kNames[] = {
      "VFIO_PCI_BAR0_REGION_INDEX", "VFIO_PCI_BAR1_REGION_INDEX", "VFIO_PCI_BAR2_REGION_INDEX",
      "VFIO_PCI_BAR3_REGION_INDEX", "VFIO_PCI_BAR4_REGION_INDEX", "VFIO_PCI_BAR5_REGION_INDEX",
      "VFIO_PCI_ROM_REGION_INDEX",  "VFIO_PCI_CONFIG_REGION_INDEX", "VFIO_PCI_VGA_REGION_INDEX",
  };
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == VFIO_PCI_NUM_REGIONS);
  if (index < VFIO_PCI_NUM_REGIONS) return kNames[index];
  return std::to_string(index);
}

std::string IrqIndexName(uint32_t index) {
  static constexpr const char* kNames[] = {
      "VFIO_PCI_INTX_IRQ_INDEX", "VFIO_PCI_MSI_IRQ_INDEX", "VFIO_PCI_MSIX_IRQ_INDEX",
      "VFIO_PCI_ERR_IRQ_INDEX",  "VFIO_PCI_REQ_IRQ_INDEX",
  };
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == VFIO_PCI_NUM_IRQS);
  if (index < VFIO_PCI_NUM_IRQS) return kNames[index];
  return std::to_string(index);
}

std::span<const FlagName> MapDmaFlags(const DecodeOptions& opts) {
  if (opts.map_bit2_msi) return kMapFlagsMsi;
  return kMapFlags;
}
std::span<const FlagName> UnmapDmaFlags() { return kUnmapFlags; }
std::span<const FlagName> DirtyPagesFlags() { return kDirtyFlags; }
std::span<const FlagName> IommuInfoFlags() { return kIommuInfoFlags; }
std::span<const FlagName> GroupStatusFlags() { return kGroupFlags; }
std::span<const FlagName> DeviceInfoFlags() { return kDeviceFlags; }
std::span<const FlagName> RegionInfoFlags() { return kRegionFlags; }
std::span<const FlagName> IrqInfoFlags() { return kIrqInfoFlags; }
std::span<const FlagName> IrqSetFlags() { return kIrqSetFlags; }
std::span<const FlagName> PasidRequestFlags() { return kPasidFlags; }
std::span<const FlagName> BindFlags() { return kBindFlags; }

}  // namespace vfiosim::api::trace
