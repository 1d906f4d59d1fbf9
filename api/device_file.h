// DeviceFile: a vfio-pci device fd obtained with VFIO_GROUP_GET_DEVICE_FD.
// Keeps its group file alive (the kernel's extra group-file reference), and
// closes the device in the kernel model when the last reference drops.
#ifndef VFIOSIM_API_DEVICE_FILE_H_
#define VFIOSIM_API_DEVICE_FILE_H_

#include <memory>

#include "api/file.h"
#include "core/device.h"

namespace vfiosim::api {

class GroupFile;

class DeviceFile : public File {
 public:
  DeviceFile(Context ctx, core::Device* device, std::shared_ptr<GroupFile> group)
      : ctx_(ctx), device_(device), group_(std::move(group)) {}
  ~DeviceFile() override;
  Kind kind() const override { return Kind::kDevice; }
  core::Result<long> Ioctl(unsigned long cmd, uintptr_t arg) override;
  core::Device* device() const { return device_; }

 private:
  core::Result<long> GetInfo(uintptr_t arg);

  Context ctx_;
  core::Device* device_;
  std::shared_ptr<GroupFile> group_;
};

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_DEVICE_FILE_H_
