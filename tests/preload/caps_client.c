/*
 * GET_INFO the way robust clients do it: call with the bare struct, grow the
 * buffer to the argsz the kernel wrote back, call again, then walk the
 * capability chain. For the container (IOVA ranges, migration, DMA
 * available) and for every device region (region caps when present).
 */
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/preload/check.h"

/* GET_INFO with argsz growth and one retry; the caller frees the buffer. */
static void* get_info(int fd, unsigned long request, size_t base, uint32_t index) {
  uint32_t argsz = (uint32_t)base;
  for (int attempt = 0; attempt < 2; ++attempt) {
    uint8_t* buf = calloc(1, argsz);
    CHECK(buf != NULL);
    memcpy(buf, &argsz, sizeof(argsz));
    if (request == VFIO_DEVICE_GET_REGION_INFO) ((struct vfio_region_info*)buf)->index = index;
    CHECK(ioctl(fd, request, buf) == 0);
    uint32_t needed;
    memcpy(&needed, buf, sizeof(needed));
    if (needed <= argsz) return buf;
    CHECK(attempt == 0); /* the second call must fit */
    argsz = needed;
    free(buf);
  }
  return NULL;
}

static const struct vfio_info_cap_header* find_cap(const uint8_t* buf, uint32_t argsz, uint32_t off, uint16_t id) {
  for (int guard = 0; off != 0 && guard < 32; ++guard) {
    CHECK(off + sizeof(struct vfio_info_cap_header) <= argsz);
    const struct vfio_info_cap_header* h = (const void*)(buf + off);
    if (h->id == id) return h;
    CHECK(h->next == 0 || h->next > off);
    off = h->next;
  }
  return NULL;
}

static uint32_t dma_avail(int container) {
  struct vfio_iommu_type1_info* info = get_info(container, VFIO_IOMMU_GET_INFO, sizeof(*info), 0);
  CHECK(info->flags & VFIO_IOMMU_INFO_CAPS);
  CHECK(info->cap_offset >= sizeof(*info));
  const struct vfio_iommu_type1_info_dma_avail* avail = (const void*)find_cap(
      (const uint8_t*)info, info->argsz, info->cap_offset, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
  CHECK(avail != NULL);
  uint32_t n = avail->avail;
  free(info);
  return n;
}

int main(void) {
  int container = open("/dev/vfio/vfio", O_RDWR);
  int group = open("/dev/vfio/1", O_RDWR);
  CHECK(container >= 0 && group >= 0);
  CHECK(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0);
  CHECK(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);

  struct vfio_iommu_type1_info* info = get_info(container, VFIO_IOMMU_GET_INFO, sizeof(*info), 0);
  CHECK(info->argsz > sizeof(*info));
  const uint8_t* raw = (const uint8_t*)info;
  const struct vfio_iommu_type1_info_cap_iova_range* ranges = (const void*)find_cap(
      raw, info->argsz, info->cap_offset, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
  CHECK(ranges != NULL && ranges->header.version == 1);
  CHECK(ranges->nr_iovas >= 2);
  CHECK(ranges->iova_ranges[0].start == 0);
  for (uint32_t i = 0; i < ranges->nr_iovas; ++i) {
    /* No usable range may touch the x86 MSI window. */
    CHECK(ranges->iova_ranges[i].end < 0xfee00000ull || ranges->iova_ranges[i].start > 0xfeefffffull);
  }
  const struct vfio_iommu_type1_info_cap_migration* mig = (const void*)find_cap(
      raw, info->argsz, info->cap_offset, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
  CHECK(mig != NULL && (mig->pgsize_bitmap & 4096));
  free(info);

  /* DMA_AVAIL counts down as mappings are made. */
  uint32_t before = dma_avail(container);
  void* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(page != MAP_FAILED);
  struct vfio_iommu_type1_dma_map map = {sizeof(map), VFIO_DMA_MAP_FLAG_READ, (uint64_t)(uintptr_t)page,
                                         0x10000, 4096};
  CHECK(ioctl(container, VFIO_IOMMU_MAP_DMA, &map) == 0);
  CHECK(dma_avail(container) == before - 1);

  /* A short buffer: the kernel reports the size it needs and no caps. */
  struct vfio_iommu_type1_info small = {.argsz = sizeof(small)};
  CHECK(ioctl(container, VFIO_IOMMU_GET_INFO, &small) == 0);
  CHECK(small.argsz > sizeof(small) && small.cap_offset == 0);

  /* Device regions. */
  int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0");
  CHECK(device >= 0);
  struct vfio_device_info dev = {.argsz = sizeof(dev)};
  CHECK(ioctl(device, VFIO_DEVICE_GET_INFO, &dev) == 0);
  for (uint32_t i = 0; i < dev.num_regions; ++i) {
    if (i == VFIO_PCI_VGA_REGION_INDEX) {
      /* vfio-pci: no VGA region on a device without VGA. */
      struct vfio_region_info vga = {.argsz = sizeof(vga), .index = i};
      CHECK_ERRNO(ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &vga), EINVAL);
      continue;
    }
    struct vfio_region_info* r = get_info(device, VFIO_DEVICE_GET_REGION_INFO, sizeof(*r), i);
    CHECK(r->index == i);
    if (i == VFIO_PCI_BAR0_REGION_INDEX) CHECK(r->size == 1 << 20);
    if (i == VFIO_PCI_CONFIG_REGION_INDEX) CHECK(r->size == 256);
    if (r->flags & VFIO_REGION_INFO_FLAG_CAPS) {
      CHECK(r->cap_offset >= sizeof(*r) && r->cap_offset < r->argsz);
      CHECK(find_cap((const uint8_t*)r, r->argsz, r->cap_offset, 0xffff) == NULL); /* walk it */
    }
    free(r);
  }
  CHECK(close(device) == 0 && close(group) == 0 && close(container) == 0);
  printf("caps_client: OK\n");
  return 0;
}
