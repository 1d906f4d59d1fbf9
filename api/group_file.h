// GroupFile: /dev/vfio/<N> (drivers/vfio/group.c). Single opener; released
// (container detached, opener cleared) only when the last reference drops,
// and every open device file holds one.
#ifndef VFIOSIM_API_GROUP_FILE_H_
#define VFIOSIM_API_GROUP_FILE_H_

#include <memory>

#include "api/file.h"
#include "core/types.h"

namespace vfiosim::api {

class GroupFile : public File, public std::enable_shared_from_this<GroupFile> {
 public:
  GroupFile(Context ctx, core::GroupId id) : ctx_(ctx), id_(id) {}
  ~GroupFile() override;
  Kind kind() const override { return Kind::kGroup; }
  core::Result<long> Ioctl(unsigned long cmd, uintptr_t arg) override;
  core::GroupId id() const { return id_; }

 private:
  core::Result<long> GetStatus(uintptr_t arg);
  core::Result<long> SetContainer(uintptr_t arg);
  core::Result<long> GetDeviceFd(uintptr_t arg);

  Context ctx_;
  const core::GroupId id_;
};

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_GROUP_FILE_H_
