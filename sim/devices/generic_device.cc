#include "sim/devices/generic_device.h"

#include <new>

#include "core/fault_injection.h"

namespace vfiosim::sim {

core::Result<std::unique_ptr<GenericDevice>> GenericDevice::Create(const Type0Header& header, bool express) {
  if (core::ShouldFail(core::FailSite::kObjectAlloc)) return core::Error(ENOMEM);
  std::unique_ptr<GenericDevice> dev(new (std::nothrow) GenericDevice(express));
  if (dev == nullptr) return core::Error(ENOMEM);
  dev->mutable_config().InitType0Header(header);
  if (express) {
    core::Result<uint16_t> cap = dev->mutable_config().AddPcieCapability({});
    if (!cap.ok()) return cap.status();
  }
  VFIOSIM_RETURN_IF_ERROR(dev->FinalizeConfig());
  return dev;
}

}  // namespace vfiosim::sim
