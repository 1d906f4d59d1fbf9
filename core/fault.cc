#include "core/fault.h"

namespace vfiosim::core {

const char* FaultReasonName(FaultReason reason) {
  switch (reason) {
    case FaultReason::kUnknown: return "UNKNOWN";
    case FaultReason::kPasidFetch: return "PASID_FETCH";
    case FaultReason::kBadPasidEntry: return "BAD_PASID_ENTRY";
    case FaultReason::kPasidInvalid: return "PASID_INVALID";
    case FaultReason::kWalkEabt: return "WALK_EABT";
    case FaultReason::kPteFetch: return "PTE_FETCH";
    case FaultReason::kPermission: return "PERMISSION";
    case FaultReason::kAccess: return "ACCESS";
    case FaultReason::kOorAddress: return "OOR_ADDRESS";
  }
  return "INVALID";
}

}  // namespace vfiosim::core
