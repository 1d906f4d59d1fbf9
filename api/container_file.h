// ContainerFile: /dev/vfio/vfio (drivers/vfio/container.c + the type1
// backend's ioctls). Unknown commands get EINVAL before SET_IOMMU and the
// driver's ENOTTY after, as the kernel forwards them.
#ifndef VFIOSIM_API_CONTAINER_FILE_H_
#define VFIOSIM_API_CONTAINER_FILE_H_

#include <memory>

#include "api/file.h"
#include "core/container.h"

namespace vfiosim::api {

class ContainerFile : public File {
 public:
  ContainerFile(Context ctx, std::shared_ptr<core::Container> container)
      : ctx_(ctx), container_(std::move(container)) {}
  Kind kind() const override { return Kind::kContainer; }
  core::Result<long> Ioctl(unsigned long cmd, uintptr_t arg) override;
  const std::shared_ptr<core::Container>& container() const { return container_; }

  // Type1 driver ioctls, one per row of the dispatch table.
  core::Result<long> GetInfo(uintptr_t arg);
  core::Result<long> MapDma(uintptr_t arg);
  core::Result<long> UnmapDma(uintptr_t arg);
  core::Result<long> DirtyPages(uintptr_t arg);
  // Seed 001 vSVA (container_vsva.cc).
  core::Result<long> PasidRequest(uintptr_t arg);
  core::Result<long> Bind(uintptr_t arg);
  core::Result<long> CacheInvalidate(uintptr_t arg);

 private:
  Context ctx_;
  std::shared_ptr<core::Container> container_;
};

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_CONTAINER_FILE_H_
