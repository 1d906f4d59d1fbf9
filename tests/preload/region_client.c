/*
 * Device regions through the device fd, as a userspace driver uses them:
 * GET_REGION_INFO for the offsets, config space with pread/pwrite and with
 * lseek + read, edu's BAR0 registers with pread/pwrite, and BAR0 mmap'ed
 * (edu's registers trap: the mapping is a read-only mirror refreshed after
 * every access through the fd, see api/device_state.h "Mmap").
 */
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/preload/check.h"

static struct vfio_region_info region(int device, uint32_t index) {
  struct vfio_region_info r = {.argsz = sizeof(r), .index = index};
  CHECK(ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &r) == 0);
  return r;
}

static uint32_t rd32(int device, uint64_t off) {
  uint32_t v = 0;
  CHECK(pread(device, &v, sizeof(v), (off_t)off) == sizeof(v));
  return v;
}

static void wr32(int device, uint64_t off, uint32_t v) {
  CHECK(pwrite(device, &v, sizeof(v), (off_t)off) == sizeof(v));
}

int main(void) {
  int container = open("/dev/vfio/vfio", O_RDWR);
  int group = open("/dev/vfio/1", O_RDWR);
  CHECK(container >= 0 && group >= 0);
  CHECK(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0);
  CHECK(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);
  int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0");
  CHECK(device >= 0);

  struct vfio_region_info cfg = region(device, VFIO_PCI_CONFIG_REGION_INDEX);
  struct vfio_region_info bar0 = region(device, VFIO_PCI_BAR0_REGION_INDEX);
  CHECK(cfg.flags & VFIO_REGION_INFO_FLAG_READ);
  CHECK(bar0.size == 1 << 20 && (bar0.flags & VFIO_REGION_INFO_FLAG_WRITE));

  /* Config space: IDs by pread, and by lseek + read at the file position. */
  CHECK(rd32(device, cfg.offset) == 0x11e81234);
  CHECK(lseek(device, (off_t)cfg.offset, SEEK_SET) == (off_t)cfg.offset);
  uint16_t vendor = 0, devid = 0;
  CHECK(read(device, &vendor, 2) == 2 && read(device, &devid, 2) == 2);
  CHECK(vendor == 0x1234 && devid == 0x11e8);
  CHECK(lseek(device, 0, SEEK_CUR) == (off_t)cfg.offset + 4);

  /* edu registers: identification, liveness (~value), factorial. */
  CHECK(rd32(device, bar0.offset + 0x00) == 0x010000ed);
  wr32(device, bar0.offset + 0x04, 0x12345678);
  CHECK(rd32(device, bar0.offset + 0x04) == ~0x12345678u);
  wr32(device, bar0.offset + 0x08, 5);
  CHECK(rd32(device, bar0.offset + 0x08) == 120);

  /* BAR0 mmap: a mirror of the registers, refreshed by fd accesses. */
  if (bar0.flags & VFIO_REGION_INFO_FLAG_MMAP) {
    volatile uint32_t* regs = mmap(NULL, 4096, PROT_READ, MAP_SHARED, device, (off_t)bar0.offset);
    CHECK(regs != MAP_FAILED);
    CHECK(regs[0] == 0x010000ed);
    wr32(device, bar0.offset + 0x04, 0xa5a5a5a5);
    CHECK(regs[1] == 0x5a5a5a5a);
    CHECK(munmap((void*)regs, 4096) == 0);
  }
  /* mmap of a region that cannot be mapped (config space). */
  CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, device, (off_t)cfg.offset) == MAP_FAILED);

  CHECK(close(device) == 0 && close(group) == 0 && close(container) == 0);
  printf("region_client: OK\n");
  return 0;
}
