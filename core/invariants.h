// Invariant checker for the kernel model: after any operation, the model's
// redundant views of the same state must agree. Used by the fuzzer after
// every step and by the stress and fail-nth tests.
//
// Checked per type1 instance: mappings sorted, non-overlapping, aligned and
// inside the IOVA list; DMA_AVAIL + live entries == dma_entry_limit; the
// vaddr-invalid counter matches the entries; every mapping translates in the
// IO page table (first, middle and last page) to its client address with its
// permissions and the page just outside does not; every stage-2 IOTLB entry
// is what a fresh walk returns. Kernel-wide: every group's container holds
// it; container_users >= 1 exactly while attached; locked memory equals the
// bytes of all live non-reserved mappings.
//
// Thread safety: takes the kernel's and the containers' locks itself.
#ifndef VFIOSIM_CORE_INVARIANTS_H_
#define VFIOSIM_CORE_INVARIANTS_H_

#include <string>
#include <vector>

#include "core/kernel.h"
#include "core/type1_iommu.h"

namespace vfiosim::core {

// Returns human-readable violations; empty means consistent.
std::vector<std::string> CheckType1Invariants(const Type1Iommu& iommu, uint32_t dma_entry_limit);
std::vector<std::string> CheckKernelInvariants(Kernel& kernel);

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_INVARIANTS_H_
