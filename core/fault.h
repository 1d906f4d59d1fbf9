// IOMMU fault reasons and records, as defined by seed 001's linux/iommu.h
// (enum iommu_fault_reason). Values are the uAPI numbers.
#ifndef VFIOSIM_CORE_FAULT_H_
#define VFIOSIM_CORE_FAULT_H_

#include <cstdint>

#include "core/types.h"

namespace vfiosim::core {

enum class FaultReason : uint32_t {
  kUnknown = 0,
  kPasidFetch = 1,
  kBadPasidEntry = 2,
  kPasidInvalid = 3,
  kWalkEabt = 4,
  kPteFetch = 5,
  kPermission = 6,
  kAccess = 7,
  kOorAddress = 8,
};

const char* FaultReasonName(FaultReason reason);

// One unrecoverable fault, shaped like struct iommu_fault_unrecoverable.
struct FaultRecord {
  FaultReason reason = FaultReason::kUnknown;
  bool pasid_valid = false;
  bool addr_valid = false;
  bool fetch_addr_valid = false;
  Pasid pasid = 0;
  uint8_t perm = 0;         // kProtRead / kProtWrite of the faulting access
  uint64_t addr = 0;        // faulting IOVA (page address)
  uint64_t fetch_addr = 0;  // table address whose fetch failed, if any
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_FAULT_H_
