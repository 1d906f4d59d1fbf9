#include "api/device_file.h"

#include <linux/vfio.h>

#include <vector>

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
// 6.1's struct vfio_device_info ends at cap_offset (the pad came later).
constexpr size_t kDeviceInfoSize = VFIOSIM_OFFSETOFEND(vfio_device_info, cap_offset);
constexpr size_t kBindIommufdMinsz = VFIOSIM_OFFSETOFEND(vfio_device_bind_iommufd, iommufd);
constexpr size_t kRegionInfoMinsz = VFIOSIM_OFFSETOFEND(vfio_region_info, offset);
constexpr size_t kIrqInfoMinsz = VFIOSIM_OFFSETOFEND(vfio_irq_info, count);
constexpr size_t kIrqSetMinsz = VFIOSIM_OFFSETOFEND(vfio_irq_set, count);
constexpr size_t kFeatureMinsz = VFIOSIM_OFFSETOFEND(vfio_device_feature, flags);

}  // namespace

DeviceFile::DeviceFile(Context ctx, core::Device* device, std::shared_ptr<GroupFile> group)
    : ctx_(ctx),
      device_(device),
      group_(std::move(group)),
      state_(DeviceState::Acquire(&ctx.machine->DeviceAt(device->model_index), device)) {}

DeviceFile::~DeviceFile() {
  DeviceState::Release(state_);
  ctx_.kernel->CloseDevice(device_);
}

Result<long> DeviceFile::Ioctl(unsigned long cmd, uintptr_t arg) {
  if (cmd == VFIO_DEVICE_BIND_IOMMUFD) {
    // Handled by vfio core before the driver: a group-obtained fd can never bind.
    vfio_device_bind_iommufd bind;
    VFIOSIM_RETURN_IF_ERROR(CopyInMinsz(&bind, arg, kBindIommufdMinsz));
    return Error(EINVAL);
  }
  state_->Wake();  // vfio_device_pm_runtime_get
  switch (cmd) {
    case VFIO_DEVICE_GET_INFO: return GetInfo(arg);
    case VFIO_DEVICE_GET_REGION_INFO: return GetRegionInfo(arg);
    case VFIO_DEVICE_GET_IRQ_INFO: return GetIrqInfo(arg);
    case VFIO_DEVICE_SET_IRQS: return SetIrqs(arg);
    case VFIO_DEVICE_RESET: {
      core::Status s = state_->Reset();
      if (!s.ok()) return s;
      return 0L;
    }
    case VFIO_DEVICE_FEATURE: return Feature(arg);
    default: return Error(ENOTTY);
  }
}

Result<long> DeviceFile::GetInfo(uintptr_t arg) {
  vfio_device_info info;
  VFIOSIM_RETURN_IF_ERROR(CopyInMinsz(&info, arg, kDeviceInfoMinsz));
  if (info.argsz < kDeviceInfoMinsz) return Error(EINVAL);
  const uint32_t argsz = info.argsz;
  info = vfio_device_info{};
  info.argsz = argsz;
  info.flags = VFIO_DEVICE_FLAGS_PCI | (state_->reset_works() ? VFIO_DEVICE_FLAGS_RESET : 0);
  info.num_regions = VFIO_PCI_NUM_REGIONS;  // no device-specific regions are modelled
  info.num_irqs = VFIO_PCI_NUM_IRQS;
  // Linux copies back the fixed 16 bytes, or the whole struct once argsz
  // covers it: an argsz of 17..19 leaves cap_offset untouched (parity client
  // state_info, Linux 6.1).
  VFIOSIM_RETURN_IF_ERROR(CopyOut(arg, &info, argsz >= kDeviceInfoSize ? kDeviceInfoSize : kDeviceInfoMinsz));
  return 0L;
}

// Not zeroed: without caps the user's cap_offset goes back unchanged. With
// caps and a short argsz, argsz grows to the size needed and cap_offset is 0.
// Exactly the 32 bytes of the struct are written back.
Result<long> DeviceFile::GetRegionInfo(uintptr_t arg) {
  vfio_region_info info;
  VFIOSIM_RETURN_IF_ERROR(CopyInMinsz(&info, arg, kRegionInfoMinsz));
  if (info.argsz < kRegionInfoMinsz) return Error(EINVAL);
  CapChain caps;
  VFIOSIM_RETURN_IF_ERROR(state_->RegionInfo(&info, &caps));
  if (!caps.empty()) {
    info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
    if (info.argsz < sizeof(info) + caps.size()) {
      info.argsz = static_cast<uint32_t>(sizeof(info) + caps.size());
      info.cap_offset = 0;
    } else {
      caps.Shift(sizeof(info));
      VFIOSIM_RETURN_IF_ERROR(CopyOut(arg, caps.data(), caps.size(), sizeof(info)));
      info.cap_offset = sizeof(info);
    }
  }
  VFIOSIM_RETURN_IF_ERROR(CopyOut(arg, &info, kRegionInfoMinsz));
  return 0L;
}

Result<long> DeviceFile::GetIrqInfo(uintptr_t arg) {
  vfio_irq_info info;
  VFIOSIM_RETURN_IF_ERROR(CopyInMinsz(&info, arg, kIrqInfoMinsz));
  if (info.argsz < kIrqInfoMinsz) return Error(EINVAL);
  VFIOSIM_RETURN_IF_ERROR(state_->IrqInfo(&info));
  VFIOSIM_RETURN_IF_ERROR(CopyOut(arg, &info, kIrqInfoMinsz));
  return 0L;
}

// vfio_set_irqs_validate_and_prepare, step by step, then the payload copy.
Result<long> DeviceFile::SetIrqs(uintptr_t arg) {
  vfio_irq_set hdr;
  VFIOSIM_RETURN_IF_ERROR(CopyInMinsz(&hdr, arg, kIrqSetMinsz));
  const uint32_t max = state_->IrqCount(hdr.index);
  if (hdr.argsz < kIrqSetMinsz || hdr.index >= VFIO_PCI_NUM_IRQS || hdr.count >= UINT32_MAX - hdr.start ||
      (hdr.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK))) {
    return Error(EINVAL);
  }
  if (hdr.start >= max || hdr.start + hdr.count > max) return Error(EINVAL);
  size_t size = 0;
  switch (hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
    case VFIO_IRQ_SET_DATA_NONE: size = 0; break;
    case VFIO_IRQ_SET_DATA_BOOL: size = sizeof(uint8_t); break;
    case VFIO_IRQ_SET_DATA_EVENTFD: size = sizeof(int32_t); break;
    default: return Error(EINVAL);
  }
  std::vector<uint8_t> data(uint64_t{hdr.count} * size);
  if (size != 0) {
    if (hdr.argsz - kIrqSetMinsz < data.size()) return Error(EINVAL);
    VFIOSIM_RETURN_IF_ERROR(core::CopyFromUser(data.data(), UserPtr(arg + kIrqSetMinsz), data.size()));
  }
  core::Status s = state_->SetIrqs(hdr.flags, hdr.index, hdr.start, hdr.count, data.data());
  if (!s.ok()) return s;
  return 0L;
}

// vfio_ioctl_device_feature: the core's checks, migration (no migration ops:
// ENOTTY), the rest to vfio-pci.
Result<long> DeviceFile::Feature(uintptr_t arg) {
  vfio_device_feature feature;
  VFIOSIM_RETURN_IF_ERROR(CopyInMinsz(&feature, arg, kFeatureMinsz));
  if (feature.argsz < kFeatureMinsz) return Error(EINVAL);
  constexpr uint32_t kKnown = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_GET |
                              VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PROBE;
  if (feature.flags & ~kKnown) return Error(EINVAL);
  if (!(feature.flags & VFIO_DEVICE_FEATURE_PROBE) && (feature.flags & VFIO_DEVICE_FEATURE_SET) &&
      (feature.flags & VFIO_DEVICE_FEATURE_GET)) {
    return Error(EINVAL);
  }
  switch (feature.flags & VFIO_DEVICE_FEATURE_MASK) {
    case VFIO_DEVICE_FEATURE_MIGRATION:
    case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:
      return Error(ENOTTY);
    default:
      return state_->Feature(feature.flags, arg + kFeatureMinsz, feature.argsz - kFeatureMinsz);
  }
}

Result<long> DeviceFile::Pread(void* buf, size_t count, uint64_t offset) {
  if (count == 0) return 0L;
  state_->Wake();
  std::vector<uint8_t> bounce(std::min(count, kMaxTransfer));
  Result<long> r = state_->Rw(bounce.data(), bounce.size(), offset, /*write=*/false);
  if (!r.ok()) return r;
  VFIOSIM_RETURN_IF_ERROR(core::CopyToUser(buf, bounce.data(), static_cast<size_t>(*r)));
  return r;
}

Result<long> DeviceFile::Pwrite(const void* buf, size_t count, uint64_t offset) {
  if (count == 0) return 0L;
  state_->Wake();
  std::vector<uint8_t> bounce(std::min(count, kMaxTransfer));
  VFIOSIM_RETURN_IF_ERROR(core::CopyFromUser(bounce.data(), buf, bounce.size()));
  return state_->Rw(bounce.data(), bounce.size(), offset, /*write=*/true);
}

Result<void*> DeviceFile::Mmap(void* addr, size_t len, int prot, int flags, uint64_t offset) {
  state_->Wake();
  return state_->Mmap(addr, len, prot, flags, offset);
}

}  // namespace vfiosim::api
