/*
 * Error paths an unmodified client can hit, each with the errno Linux gives:
 * the uAPI (through the shim) and the file-system face (fake sysfs, /dev/vfio).
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/preload/check.h"

#define DEV "/sys/bus/pci/devices/0000:00:01.0"

int main(void) {
  struct stat st;
  char buf[256];

  /* ---- file-system face ---- */
  CHECK_ERRNO(open("/dev/vfio/99", O_RDWR), ENOENT);
  CHECK_ERRNO(stat("/dev/vfio/99", &st), ENOENT);
  CHECK_ERRNO(open("/dev/vfio/vfio/x", O_RDONLY), ENOTDIR);
  CHECK_ERRNO(open(DEV "/no_such_attribute", O_RDONLY), ENOENT);
  CHECK_ERRNO(open(DEV "/vendor/", O_RDONLY), ENOTDIR);
  CHECK_ERRNO(open(DEV "/vendor", O_WRONLY), EACCES);  /* no store method */
  CHECK_ERRNO(open(DEV "/new_file", O_WRONLY | O_CREAT, 0644), EACCES);
  CHECK_ERRNO(open(DEV "/vendor", O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
  CHECK_ERRNO(open(DEV, O_WRONLY), EISDIR);
  CHECK_ERRNO(open(DEV "/vendor", O_RDONLY | O_DIRECTORY), ENOTDIR);
  CHECK_ERRNO(open(DEV "/iommu_group", O_RDONLY | O_NOFOLLOW), ELOOP);
  CHECK_ERRNO(readlink(DEV "/vendor", buf, sizeof(buf)), EINVAL);
  CHECK_ERRNO(readlink(DEV "/missing", buf, sizeof(buf)), ENOENT);
  CHECK_ERRNO(access(DEV "/vendor", X_OK), EACCES);
  CHECK(access(DEV "/vendor", F_OK) == 0);
  CHECK(opendir(DEV "/vendor") == NULL && errno == ENOTDIR);
  CHECK(opendir("/sys/kernel/iommu_groups/99") == NULL && errno == ENOENT);
  CHECK(realpath(DEV "/missing", NULL) == NULL && errno == ENOENT);
  /* Host devices under the simulated roots are hidden. */
  CHECK_ERRNO(stat("/sys/bus/pci/devices/0000:ff:1f.7", &st), ENOENT);
  int dir = open("/sys/bus/pci/devices", O_RDONLY | O_DIRECTORY);
  CHECK(dir >= 0);
  CHECK_ERRNO(read(dir, buf, sizeof(buf)), EISDIR);
  CHECK_ERRNO(ioctl(dir, VFIO_GET_API_VERSION), ENOTTY);
  CHECK(close(dir) == 0);

  /* ---- uAPI ---- */
  int container = open("/dev/vfio/vfio", O_RDWR);
  CHECK(container >= 0);
  CHECK_ERRNO(ioctl(container, VFIO_CHECK_EXTENSION + 40), EINVAL); /* unknown before SET_IOMMU */
  int group = open("/dev/vfio/1", O_RDWR);
  CHECK(group >= 0);
  CHECK_ERRNO(open("/dev/vfio/1", O_RDWR), EBUSY); /* single opener */
  CHECK_ERRNO(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0"), EINVAL); /* no container */
  CHECK_ERRNO(ioctl(group, VFIO_GROUP_UNSET_CONTAINER), EINVAL);
  int bad = 9999;
  CHECK_ERRNO(ioctl(group, VFIO_GROUP_SET_CONTAINER, &bad), EBADF);
  int devnull = open("/dev/null", O_RDONLY);
  CHECK(devnull >= 0);
  CHECK_ERRNO(ioctl(group, VFIO_GROUP_SET_CONTAINER, &devnull), EINVAL); /* not a container */
  CHECK(close(devnull) == 0);
  CHECK_ERRNO(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), EINVAL); /* no group yet */
  CHECK(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0);
  CHECK_ERRNO(ioctl(container, VFIO_SET_IOMMU, 99), ENODEV);
  void* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(page != MAP_FAILED);
  struct vfio_iommu_type1_dma_map map = {sizeof(map), VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                         (uint64_t)(uintptr_t)page, 0x100000, 4096};
  CHECK_ERRNO(ioctl(container, VFIO_IOMMU_MAP_DMA, &map), EINVAL); /* no IOMMU yet */
  CHECK(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);
  CHECK(ioctl(container, VFIO_IOMMU_MAP_DMA, &map) == 0);
  CHECK_ERRNO(ioctl(container, VFIO_IOMMU_MAP_DMA, &map), EEXIST);
  map.iova = 0xfee00000; /* the MSI window */
  CHECK_ERRNO(ioctl(container, VFIO_IOMMU_MAP_DMA, &map), EINVAL);
  map.iova = 0x200800; /* unaligned */
  CHECK_ERRNO(ioctl(container, VFIO_IOMMU_MAP_DMA, &map), EINVAL);
  map.iova = 0x300000;
  map.vaddr = 0;
  CHECK_ERRNO(ioctl(container, VFIO_IOMMU_MAP_DMA, &map), EFAULT);
  CHECK_ERRNO(ioctl(container, VFIO_IOMMU_MAP_DMA, NULL), EFAULT);
  struct vfio_iommu_type1_dma_unmap unmap = {23, 0, 0x100000, 4096};
  CHECK_ERRNO(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap), EINVAL); /* argsz < minsz */
  CHECK_ERRNO(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:ff:1f.7"), ENODEV);
  CHECK_ERRNO(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0 foo=bar"), EINVAL);
  int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0");
  CHECK(device >= 0);
  CHECK_ERRNO(ioctl(group, VFIO_GROUP_UNSET_CONTAINER), EBUSY); /* device open */
  struct vfio_device_info info = {.argsz = 15};
  CHECK_ERRNO(ioctl(device, VFIO_DEVICE_GET_INFO, &info), EINVAL);
  CHECK_ERRNO(ioctl(device, VFIO_IOMMU_MAP_DMA + 40), ENOTTY);
  CHECK_ERRNO(pread(device, buf, 4, (off_t)99 << 40), EINVAL); /* no region 99 */
  /* Closed fds are really closed. */
  CHECK(close(device) == 0);
  CHECK_ERRNO(close(device), EBADF);
  CHECK_ERRNO(ioctl(device, VFIO_DEVICE_GET_INFO, &info), EBADF);
  CHECK(close(group) == 0 && close(container) == 0);
  printf("errors_client: OK\n");
  return 0;
}
