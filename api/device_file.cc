#include "api/device_file.h"

#include <linux/vfio.h>

#include "api/group_file.h"
#include "api/uapi/vfio_later.h"
#include "api/user_struct.h"
#include "core/kernel.h"
#include "sim/machine.h"

namespace vfiosim::api {
namespace {

using core::Error;
using core::Result;

constexpr size_t kDeviceInfoMinsz = VFIOSIM_OFFSETOFEND(vfio_device_info, num_irqs);
constexpr size_t kBindIommufdMinsz = VFIOSIM_OFFSETOFEND(vfio_device_bind_iommufd, iommufd);

}  // namespace

DeviceFile::~DeviceFile() { ctx_.kernel->CloseDevice(device_); }

Result<long> DeviceFile::Ioctl(unsigned long cmd, uintptr_t arg) {
  switch (cmd) {
    case VFIO_DEVICE_BIND_IOMMUFD: {
      // Handled by vfio core before the driver: a group-obtained fd can never bind.
      vfio_device_bind_iommufd bind;
      VFIOSIM_RETURN_IF_ERROR(CopyInMinsz(&bind, arg, kBindIommufdMinsz));
      return Error(EINVAL);
    }
    case VFIO_DEVICE_GET_INFO:
      return GetInfo(arg);
    default:
      return Error(ENOTTY);
  }
}

Result<long> DeviceFile::GetInfo(uintptr_t arg) {
  vfio_device_info info;
  VFIOSIM_RETURN_IF_ERROR(CopyInMinsz(&info, arg, kDeviceInfoMinsz));
  if (info.argsz < kDeviceInfoMinsz) return Error(EINVAL);
  const sim::MachineDevice& dev = ctx_.machine->DeviceAt(device_->model_index);
  const uint32_t device_regions = 0;  // no device-specific regions are modelled yet
  const uint32_t argsz = info.argsz;
  info = vfio_device_info{};
  info.argsz = argsz;
  info.flags = VFIO_DEVICE_FLAGS_PCI | (dev.supports_reset() ? VFIO_DEVICE_FLAGS_RESET : 0);
  info.num_regions = VFIO_PCI_NUM_REGIONS + device_regions;
  info.num_irqs = VFIO_PCI_NUM_IRQS;
  // 6.1's struct is 20 bytes (the pad arrived later): write back min(argsz, sizeof).
  VFIOSIM_RETURN_IF_ERROR(CopyOut(arg, &info, std::min<size_t>(argsz, sizeof(info))));
  return 0L;
}

}  // namespace vfiosim::api
