// Names for a VFIO ioctl trace: ioctl requests, flag words and extension
// numbers, spelled as <linux/vfio.h> (or the seed RFC headers) spell them.
//
// Why the fd kind matters: VFIO reuses request numbers across fd types
// (VFIO_BASE + 12 is VFIO_IOMMU_GET_INFO on a container and
// VFIO_DEVICE_GET_PCI_HOT_RESET_INFO on a device), so a name is looked up per
// kind. Why DecodeOptions exist: the seed profiles give some numbers another
// meaning (cap id 1, cap id 2, map flag bit 2, extension 9, VFIO_BASE + 22..24);
// the caller describes the machine's profile and the decoder never guesses.
//
// Thread safety: pure functions.
#ifndef VFIOSIM_API_TRACE_IOCTL_NAMES_H_
#define VFIOSIM_API_TRACE_IOCTL_NAMES_H_

#include <cstdint>
#include <span>
#include <string>

namespace vfiosim::api::trace {

// What a traced fd stands for.
enum class FdKind : uint8_t { kUnknown, kContainer, kGroup, kDevice };

// The profile-dependent meanings of numbers (all off = upstream Linux).
struct DecodeOptions {
  unsigned long pasid_request_ioctl = 0;     // seed 001 (0: absent)
  unsigned long bind_ioctl = 0;              // seed 001
  unsigned long cache_invalidate_ioctl = 0;  // seed 001
  bool cap1_msi_resv = false;   // cap id 1 is MSI_RESV (seed 000)
  bool cap1_resv_iova = false;  // cap id 1 is RESV_IOVA_RANGE (seed 003)
  bool cap2_nesting = false;    // cap id 2 is NESTING (seed 001)
  bool map_bit2_msi = false;    // MAP_DMA flag bit 2 is RESERVED_MSI_IOVA (seed 000)
  bool ext9_nesting_uapi = false;  // extension 9 is VFIO_NESTING_IOMMU_UAPI (seed 001)
};

struct FlagName {
  uint64_t bits;
  const char* name;
};

// "0" for zero, else "0x..." in lower case (strace's style for addresses).
std::string Hex(uint64_t value);
// Known bits joined by '|', leftover bits as one hex number: "A|B|0x8"; "0" for none.
std::string FlagsToString(uint64_t flags, std::span<const FlagName> names);

// "VFIO_IOMMU_MAP_DMA"; an unknown VFIO number as "_IO(VFIO_TYPE, VFIO_BASE + 40)";
// anything else as hex.
std::string IoctlName(FdKind kind, unsigned long request, const DecodeOptions& opts);
// CHECK_EXTENSION / SET_IOMMU argument: "VFIO_TYPE1v2_IOMMU", else decimal.
std::string ExtensionName(unsigned long arg, const DecodeOptions& opts);
// IOMMU type1 GET_INFO capability id: "VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE", else decimal.
std::string IommuCapName(uint16_t id, const DecodeOptions& opts);
// Region-info capability id: "VFIO_REGION_INFO_CAP_SPARSE_MMAP", else decimal.
std::string RegionCapName(uint16_t id);
// vfio-pci region / irq index: "VFIO_PCI_BAR0_REGION_INDEX", else decimal.
std::string RegionIndexName(uint32_t index);
std::string IrqIndexName(uint32_t index);

// Flag tables (used by the decoder and its tests).
std::span<const FlagName> MapDmaFlags(const DecodeOptions& opts);
std::span<const FlagName> UnmapDmaFlags();
std::span<const FlagName> DirtyPagesFlags();
std::span<const FlagName> IommuInfoFlags();
std::span<const FlagName> GroupStatusFlags();
std::span<const FlagName> DeviceInfoFlags();
std::span<const FlagName> RegionInfoFlags();
std::span<const FlagName> IrqInfoFlags();
std::span<const FlagName> IrqSetFlags();
std::span<const FlagName> PasidRequestFlags();
std::span<const FlagName> BindFlags();

}  // namespace vfiosim::api::trace

#endif  // VFIOSIM_API_TRACE_IOCTL_NAMES_H_
