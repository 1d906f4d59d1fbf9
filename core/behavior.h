// KernelBehavior: the kernel-version differences the model must reproduce,
// kept as data. One row per uAPI profile lives in api/profile.cc; core reads
// the fields where a decision depends on them and never tests a profile name.
#ifndef VFIOSIM_CORE_BEHAVIOR_H_
#define VFIOSIM_CORE_BEHAVIOR_H_

#include <cerrno>

namespace vfiosim::core {

struct KernelBehavior {
  // Address overflow in MAP/UNMAP/DIRTY: EINVAL up to 6.17, EOVERFLOW from 6.18
  // (the overflow series also moved the checks before the flag checks).
  int overflow_errno = EINVAL;
  bool overflow_checked_first = false;
  // 6.18 handles mappings that end at 2^64-1 (classic overlap search misses them).
  bool top_of_space_fixed = false;
  // CHECK_EXTENSION(VFIO_TYPE1_NESTING_IOMMU) answers 1 up to 6.12.
  bool advertises_nesting_type = true;
  // CHECK_EXTENSION(VFIO_UPDATE_VADDR) / VADDR flags exist (5.12+).
  bool has_vaddr = true;
  // CHECK_EXTENSION(VFIO_UNMAP_ALL) / UNMAP_FLAG_ALL exist (5.12+).
  bool has_unmap_all = true;
  // DIRTY_PAGES and UNMAP GET_DIRTY_BITMAP exist (5.8+).
  bool has_dirty_tracking = true;
  // Seed 000: MAP_DMA flag bit 2 registers a reserved MSI IOVA window.
  bool msi_reserved_map_flag = false;
  // SET_CONTAINER with an fd that is not a container: EINVAL before 6.2, EBADFD after.
  int non_container_fd_errno = EINVAL;
  // Seed 001 vSVA: PASID_REQUEST/BIND/CACHE_INVALIDATE on nesting containers.
  bool vsva = false;
  // The RFC returned 0 from CACHE_INVALIDATE whatever the per-device checks said.
  bool cache_invalidate_swallows_errors = true;
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_BEHAVIOR_H_
