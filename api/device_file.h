// DeviceFile: a vfio-pci device fd obtained with VFIO_GROUP_GET_DEVICE_FD.
//
// What it models: the file side of a vfio device (vfio_device_fops plus
// vfio-pci's ioctl entry points): argument copy-in/validation and the
// argsz/write-back rules of every device ioctl (spec section 5), read()/
// write() at `index << 40` offsets and mmap of BARs. The device behind it -
// regions, interrupts, reset, config virtualization - is the DeviceState all
// fds of that device share (api/device_state.h).
//
// Keeps its group file alive (the kernel's extra group-file reference), and
// closes the device in the kernel model when the last reference drops (the
// fd, or a BAR mapping that outlives it, like a vma holding the file).
//
// Ioctls (6.1): GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS, RESET,
// DEVICE_FEATURE; BIND_IOMMUFD is refused with EINVAL as the cdev-era core
// does for a group-obtained fd; everything else (including hot reset and
// IOEVENTFD, not modelled) is ENOTTY.
//
// Thread safety: all methods may be called concurrently (DeviceState locks).
#ifndef VFIOSIM_API_DEVICE_FILE_H_
#define VFIOSIM_API_DEVICE_FILE_H_

#include <memory>

#include "api/device_state.h"
#include "api/file.h"
#include "core/device.h"

namespace vfiosim::api {

class GroupFile;

class DeviceFile : public File {
 public:
  DeviceFile(Context ctx, core::Device* device, std::shared_ptr<GroupFile> group);
  ~DeviceFile() override;
  Kind kind() const override { return Kind::kDevice; }
  core::Result<long> Ioctl(unsigned long cmd, uintptr_t arg) override;
  // count 0 reads/writes nothing; a transfer larger than kMaxTransfer is cut
  // short (a short read/write, as syscalls may return).
  core::Result<long> Pread(void* buf, size_t count, uint64_t offset) override;
  core::Result<long> Pwrite(const void* buf, size_t count, uint64_t offset) override;
  // The device part of mmap(2): `len` > 0 and `offset` page aligned already.
  core::Result<void*> Mmap(void* addr, size_t len, int prot, int flags, uint64_t offset);
  // [addr, addr + len) of a mapping of this device is gone.
  void Unmapped(uintptr_t addr, size_t len) { state_->Unmapped(addr, len); }

  core::Device* device() const { return device_; }
  DeviceState& state() const { return *state_; }

  static constexpr size_t kMaxTransfer = size_t{16} << 20;

 private:
  core::Result<long> GetInfo(uintptr_t arg);
  core::Result<long> GetRegionInfo(uintptr_t arg);
  core::Result<long> GetIrqInfo(uintptr_t arg);
  core::Result<long> SetIrqs(uintptr_t arg);
  core::Result<long> Feature(uintptr_t arg);

  Context ctx_;
  core::Device* device_;
  std::shared_ptr<GroupFile> group_;
  DeviceState* state_;
};

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_DEVICE_FILE_H_
