// Device and device-name matching.
//
// A Device is what vfio registers for one bound PCI function: its name (the
// PCI address), its IOMMU group and whether a host driver holds it (which
// claims DMA ownership of the group and makes it non-viable). Core knows no
// device models; `model_index` lets the api/ layer find the simulated device.
#ifndef VFIOSIM_CORE_DEVICE_H_
#define VFIOSIM_CORE_DEVICE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"

namespace vfiosim::core {

struct Device {
  std::string name;            // "0000:00:01.0"
  GroupId group = 0;
  bool host_bound = false;     // bound to a kernel driver that does DMA (not viable)
  bool vfio_bound = true;      // bound to vfio-pci (else: a bridge or host-driver member of the group)
  bool vf = false;             // an SR-IOV VF / PF would accept a vf_token
  uint32_t model_index = 0;    // opaque to core
  uint32_t open_count = 0;     // guarded by Kernel::mu_
};

enum class NameMatch { kNoMatch, kMatch };

// vfio-pci's match op for VFIO_GROUP_GET_DEVICE_FD: the PCI name, optionally
// followed by one space and options. "vf_token=<uuid>" is refused with EINVAL
// for a device that is neither PF nor VF (and for a malformed uuid); any
// other option is EINVAL. Anything else that is not the exact name: no match.
Result<NameMatch> MatchPciDeviceName(const Device& device, std::string_view request);

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_DEVICE_H_
