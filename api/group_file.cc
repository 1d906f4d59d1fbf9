#include "api/group_file.h"

#include <fcntl.h>
#include <linux/vfio.h>

#include <cstring>
#include <string>

#include "api/container_file.h"
#include "api/device_file.h"
#include "api/fd_table.h"
#include "api/user_struct.h"
#include "core/kernel.h"

namespace vfiosim::api {
namespace {

using core::Error;
using core::Result;

constexpr size_t kStatusMinsz = VFIOSIM_OFFSETOFEND(vfio_group_status, flags);
constexpr size_t kPageSize = 4096;

// strndup_user(arg, PAGE_SIZE): EFAULT on a bad pointer (even part-way, before
// a NUL), EINVAL when no NUL appears within PAGE_SIZE bytes.
Result<std::string> CopyUserString(uintptr_t arg) {
  std::string out;
  uintptr_t cursor = arg;
  while (out.size() < kPageSize) {
    // Copy up to the end of the current page so a fault can only come from a new page.
    size_t chunk = kPageSize - (cursor % kPageSize);
    chunk = std::min(chunk, kPageSize - out.size());
    char buf[kPageSize];
    VFIOSIM_RETURN_IF_ERROR(core::CopyFromUser(buf, UserPtr(cursor), chunk));
    if (const void* nul = std::memchr(buf, '\0', chunk)) {
      out.append(buf, static_cast<const char*>(nul) - buf);
      return out;
    }
    out.append(buf, chunk);
    cursor += chunk;
  }
  return Error(EINVAL);
}

}  // namespace

GroupFile::~GroupFile() { ctx_.kernel->ReleaseGroupFile(id_); }

Result<long> GroupFile::Ioctl(unsigned long cmd, uintptr_t arg) {
  switch (cmd) {
    case VFIO_GROUP_GET_STATUS: return GetStatus(arg);
    case VFIO_GROUP_SET_CONTAINER: return SetContainer(arg);
    case VFIO_GROUP_UNSET_CONTAINER: {
      core::Status s = ctx_.kernel->UnsetContainer(id_);
      if (!s.ok()) return s;
      return 0L;
    }
    case VFIO_GROUP_GET_DEVICE_FD: return GetDeviceFd(arg);
    default: return Error(ENOTTY);
  }
}

Result<long> GroupFile::GetStatus(uintptr_t arg) {
  vfio_group_status status;
  VFIOSIM_RETURN_IF_ERROR(CopyInMinsz(&status, arg, kStatusMinsz));
  if (status.argsz < kStatusMinsz) return Error(EINVAL);
  Result<core::GroupStatus> st = ctx_.kernel->GetGroupStatus(id_);
  if (!st.ok()) return st.status();
  status.flags = 0;
  if (st->viable) status.flags |= VFIO_GROUP_FLAGS_VIABLE;
  if (st->container_set) status.flags |= VFIO_GROUP_FLAGS_CONTAINER_SET;
  VFIOSIM_RETURN_IF_ERROR(CopyOut(arg, &status, kStatusMinsz));
  return 0L;
}

Result<long> GroupFile::SetContainer(uintptr_t arg) {
  int fd = -1;
  VFIOSIM_RETURN_IF_ERROR(core::CopyFromUser(&fd, UserPtr(arg), sizeof(fd)));
  std::shared_ptr<File> file = ctx_.fds->Get(fd);
  if (!file) {
    // Not ours: EBADF when it is not an open fd at all, else "not a container".
    if (fd < 0 || fcntl(fd, F_GETFD) < 0) return Error(EBADF);
    return Error(ctx_.profile->behavior.non_container_fd_errno);
  }
  if (file->kind() != File::Kind::kContainer) {
    return Error(ctx_.profile->behavior.non_container_fd_errno);
  }
  auto& container = static_cast<ContainerFile&>(*file).container();
  core::Status s = ctx_.kernel->SetContainer(id_, container);
  if (!s.ok()) return s;
  return 0L;
}

Result<long> GroupFile::GetDeviceFd(uintptr_t arg) {
  Result<std::string> name = CopyUserString(arg);
  if (!name.ok()) return name.status();
  Result<core::Device*> device = ctx_.kernel->FindDevice(id_, *name);
  if (!device.ok()) return device.status();
  VFIOSIM_RETURN_IF_ERROR(ctx_.kernel->OpenDevice(*device));
  auto file = std::make_shared<DeviceFile>(ctx_, *device, shared_from_this());
  Result<int> fd = ctx_.fds->Install(file, /*cloexec=*/true, "vfio-sim:device");
  if (!fd.ok()) return fd.status();  // the file's destructor closes the device again
  return static_cast<long>(*fd);
}

}  // namespace vfiosim::api
