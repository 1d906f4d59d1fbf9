/*
 * The canonical VFIO setup sequence, as an unmodified client does it with
 * real syscalls (run under the preload shim): container, group, IOMMU, a DMA
 * mapping, the device fd; plus what clients rely on from the fds themselves
 * (dup, dup2, F_DUPFD_CLOEXEC, FD_CLOEXEC, fstat) and the teardown.
 *
 *   setup_client              full sequence with cleanup
 *   setup_client --leave-open stops after mapping, fds and mapping left for
 *                             the shim's exit summary
 */
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tests/preload/check.h"

#define MAP_SIZE (2u << 20)
#define IOVA 0x100000u

int main(int argc, char** argv) {
  int leave_open = argc > 1 && strcmp(argv[1], "--leave-open") == 0;

  int container = open("/dev/vfio/vfio", O_RDWR);
  CHECK(container >= 0);
  CHECK(ioctl(container, VFIO_GET_API_VERSION) == VFIO_API_VERSION);
  CHECK(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1);

  int group = open("/dev/vfio/1", O_RDWR);
  CHECK(group >= 0);
  struct vfio_group_status status = {.argsz = sizeof(status)};
  CHECK(ioctl(group, VFIO_GROUP_GET_STATUS, &status) == 0);
  CHECK(status.flags & VFIO_GROUP_FLAGS_VIABLE);
  CHECK(!(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET));
  CHECK(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0);
  CHECK(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);

  struct vfio_iommu_type1_info info = {.argsz = sizeof(info)};
  CHECK(ioctl(container, VFIO_IOMMU_GET_INFO, &info) == 0);
  CHECK(info.flags & VFIO_IOMMU_INFO_PGSIZES);
  CHECK(info.iova_pgsizes & 4096);

  void* buf = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(buf != MAP_FAILED);
  struct vfio_iommu_type1_dma_map map = {
      .argsz = sizeof(map),
      .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
      .vaddr = (uint64_t)(uintptr_t)buf,
      .iova = IOVA,
      .size = MAP_SIZE,
  };
  CHECK(ioctl(container, VFIO_IOMMU_MAP_DMA, &map) == 0);
  CHECK_ERRNO(ioctl(container, VFIO_IOMMU_MAP_DMA, &map), EEXIST);

  int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0");
  CHECK(device >= 0);
  struct vfio_device_info dev = {.argsz = sizeof(dev)};
  CHECK(ioctl(device, VFIO_DEVICE_GET_INFO, &dev) == 0);
  CHECK(dev.flags & VFIO_DEVICE_FLAGS_PCI);
  CHECK(dev.num_regions >= VFIO_PCI_NUM_REGIONS);
  CHECK(dev.num_irqs == VFIO_PCI_NUM_IRQS);
  if (leave_open) {
    printf("setup_client: leaving fds and the mapping open\n");
    return 0;
  }

  /* The fds are real kernel fds. */
  CHECK(fcntl(device, F_GETFD) == FD_CLOEXEC); /* device fds are always O_CLOEXEC */
  CHECK(fcntl(container, F_GETFD) == 0);
  CHECK(fcntl(container, F_SETFD, FD_CLOEXEC) == 0);
  CHECK(fcntl(container, F_GETFD) == FD_CLOEXEC);
  struct stat st;
  CHECK(fstat(container, &st) == 0);
  CHECK(S_ISCHR(st.st_mode) && major(st.st_rdev) == 10 && minor(st.st_rdev) == 196);
  CHECK(fstat(group, &st) == 0 && S_ISCHR(st.st_mode));

  /* dup keeps the same open file: the container outlives its first fd. */
  int c2 = dup(container);
  CHECK(c2 >= 0 && c2 != container);
  CHECK(ioctl(c2, VFIO_GET_API_VERSION) == VFIO_API_VERSION);
  int c3 = fcntl(container, F_DUPFD_CLOEXEC, 50);
  CHECK(c3 >= 50 && fcntl(c3, F_GETFD) == FD_CLOEXEC);
  CHECK(dup2(c2, 90) == 90);
  CHECK(close(container) == 0);
  CHECK_ERRNO(ioctl(container, VFIO_GET_API_VERSION), EBADF);
  struct vfio_iommu_type1_info info2 = {.argsz = sizeof(info2)};
  CHECK(ioctl(90, VFIO_IOMMU_GET_INFO, &info2) == 0);
  info2.argsz = sizeof(info2); /* the call wrote back the size it needs for the caps */
  CHECK(ioctl(c3, VFIO_IOMMU_GET_INFO, &info2) == 0);
  info2.argsz = sizeof(info2);
  /* dup2 over a vfio fd drops it: 90 becomes a copy of stdin. */
  CHECK(dup2(0, 90) == 90);
  CHECK_ERRNO(ioctl(90, VFIO_IOMMU_GET_INFO, &info2), ENOTTY);
  CHECK(close(90) == 0);

  /* read/write on a container or group fd: no such operation. */
  char byte;
  CHECK_ERRNO(read(c2, &byte, 1), EINVAL);
  CHECK_ERRNO(write(group, &byte, 1), EINVAL);
  CHECK_ERRNO(mmap(NULL, 4096, PROT_READ, MAP_SHARED, c2, 0) == MAP_FAILED ? -1 : 0, ENODEV);

  struct vfio_iommu_type1_dma_unmap unmap = {.argsz = sizeof(unmap), .iova = IOVA, .size = MAP_SIZE};
  CHECK(ioctl(c2, VFIO_IOMMU_UNMAP_DMA, &unmap) == 0);
  CHECK(unmap.size == MAP_SIZE);

  CHECK(close(device) == 0);
  CHECK(ioctl(group, VFIO_GROUP_UNSET_CONTAINER) == 0);
  CHECK(close(group) == 0);
  CHECK(close(c2) == 0);
  CHECK(close(c3) == 0);
  /* The group can be opened again once every reference is gone. */
  group = open("/dev/vfio/1", O_RDWR | O_CLOEXEC);
  CHECK(group >= 0 && fcntl(group, F_GETFD) == FD_CLOEXEC);
  CHECK(close(group) == 0);
  munmap(buf, MAP_SIZE);
  printf("setup_client: OK\n");
  return 0;
}
