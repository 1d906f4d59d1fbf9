// MachineConfig: the hardware and module parameters of one simulated machine
// that the kernel model depends on (IOMMU model, address width, page sizes,
// vfio_iommu_type1 module parameters). Plain data, copied into the Kernel.
#ifndef VFIOSIM_CORE_MACHINE_CONFIG_H_
#define VFIOSIM_CORE_MACHINE_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/range.h"

namespace vfiosim::core {

enum class IommuModel { kIntelVtd, kAmdVi, kArmSmmu };

// How MAP_DMA checks the client's vaddr range, standing in for the kernel's page pinning.
enum class VaddrPolicy {
  kVerify,  // unmapped memory or WRITE on read-only memory gives EFAULT (default)
  kTrust,   // accept any user address (fastest; DMA copies still never crash)
};

// Types of /sys/kernel/iommu_groups/N/reserved_regions, in the kernel's words.
enum class ReservedType { kDirect, kDirectRelaxable, kReserved, kMsi, kSwMsi };
const char* ReservedTypeName(ReservedType type);  // "direct", "msi", ...

struct ReservedRegion {
  IovaRange range;
  ReservedType type = ReservedType::kReserved;
  bool operator==(const ReservedRegion&) const = default;
};

struct MachineConfig {
  IommuModel iommu_model = IommuModel::kIntelVtd;
  int address_width = 48;               // 39, 48 or 57 (IOVA aperture is [0, 2^width - 1])
  uint64_t pgsize_bitmap = 0x40201000;  // 4K | 2M | 1G, VT-d second level
  bool enforce_cache_coherency = false; // answers CHECK_EXTENSION(VFIO_DMA_CC_IOMMU)
  bool interrupt_remapping = true;      // without it attach fails EPERM (unless allow_unsafe)
  bool allow_unsafe_interrupts = false; // vfio_iommu_type1.allow_unsafe_interrupts
  bool nesting_capable = false;         // IOMMU can enable nesting (ARM SMMUv3; VT-d in the RFC)
  uint32_t dma_entry_limit = 65535;     // vfio_iommu_type1.dma_entry_limit
  VaddrPolicy vaddr_policy = VaddrPolicy::kVerify;
  size_t iotlb_entries = 4096;          // 0 disables the IOTLB
  uint32_t pasid_quota = 1000;          // vfio_pasid.pasid_quota, per process
  uint64_t page_table_bytes_limit = 0;  // cap on IO page-table memory per container; 0 = none
  // RLIMIT_MEMLOCK as vfio_pin_pages_remote applies it to a process without
  // CAP_IPC_LOCK: every mapped byte counts once per mapping. 0 = unlimited
  // (a process with CAP_IPC_LOCK, the common test set-up).
  uint64_t memlock_limit = 0;
  // Extra reserved regions applied to every group (RMRR-like DIRECT ranges, AMD HT hole).
  std::vector<ReservedRegion> extra_reserved;

  // The IOMMU's own reserved regions for a device: the interrupt window.
  std::vector<ReservedRegion> DefaultReservedRegions() const;
  uint64_t MinPageSize() const { return pgsize_bitmap & (~pgsize_bitmap + 1); }
  IovaRange Aperture() const {
    return IovaRange{0, address_width >= 64 ? ~0ull : (1ull << address_width) - 1};
  }
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_MACHINE_CONFIG_H_
