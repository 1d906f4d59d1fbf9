/*
 * The "done when" client: an unmodified VFIO program that finds the
 * QEMU edu device (1234:11e8) by scanning sysfs, sets up the container, maps
 * memory, programs edu's DMA engine through BAR0, waits for the completion
 * interrupt on an eventfd (MSI through VFIO_DEVICE_SET_IRQS) and checks the
 * bytes that travelled RAM -> edu -> RAM through the simulated IOMMU.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/preload/check.h"

#define EDU_IDENT 0x00
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_START 0x1
#define EDU_CMD_TO_RAM 0x2
#define EDU_CMD_IRQ 0x4
#define EDU_IRQ_DMA 0x100
#define EDU_BUFFER 0x40000

#define IOVA_SRC 0x100000u
#define IOVA_DST 0x101000u
#define LEN 256

static unsigned read_hex(const char* path) {
  FILE* f = fopen(path, "r");
  CHECK(f != NULL);
  unsigned v = 0;
  CHECK(fscanf(f, "%x", &v) == 1);
  fclose(f);
  return v;
}

/* Finds vendor:device in sysfs; fills the BDF and returns the IOMMU group. */
static int discover(unsigned vendor, unsigned device, char* bdf, size_t n) {
  DIR* d = opendir("/sys/bus/pci/devices");
  CHECK(d != NULL);
  struct dirent* e;
  char path[PATH_MAX], link[PATH_MAX];
  int group = -1;
  while ((e = readdir(d)) != NULL && group < 0) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
    if (read_hex(path) != vendor) continue;
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", e->d_name);
    if (read_hex(path) != device) continue;
    snprintf(bdf, n, "%s", e->d_name);
    snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", e->d_name);
    ssize_t len = readlink(path, link, sizeof(link) - 1);
    CHECK(len > 0);
    link[len] = '\0';
    group = atoi(basename(link));
  }
  closedir(d);
  return group;
}

static void wr(int device, uint64_t bar, uint64_t reg, uint64_t v, size_t size) {
  CHECK(pwrite(device, &v, size, (off_t)(bar + reg)) == (ssize_t)size);
}
static uint32_t rd32(int device, uint64_t bar, uint64_t reg) {
  uint32_t v = 0;
  CHECK(pread(device, &v, 4, (off_t)(bar + reg)) == 4);
  return v;
}

/* Waits for one interrupt, checks it was edu's DMA completion, acknowledges. */
static void wait_dma_irq(int device, uint64_t bar, int efd) {
  struct pollfd p = {.fd = efd, .events = POLLIN};
  CHECK(poll(&p, 1, 10000) == 1); /* a generous bound, not a timing assertion */
  uint64_t count = 0;
  CHECK(read(efd, &count, sizeof(count)) == sizeof(count) && count >= 1);
  CHECK(rd32(device, bar, EDU_IRQ_STATUS) & EDU_IRQ_DMA);
  wr(device, bar, EDU_IRQ_ACK, EDU_IRQ_DMA, 4);
}

int main(void) {
  char bdf[64], path[64];
  int group_id = discover(0x1234, 0x11e8, bdf, sizeof(bdf));
  CHECK(group_id >= 0);

  int container = open("/dev/vfio/vfio", O_RDWR);
  snprintf(path, sizeof(path), "/dev/vfio/%d", group_id);
  int group = open(path, O_RDWR);
  CHECK(container >= 0 && group >= 0);
  CHECK(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0);
  CHECK(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);

  uint8_t* mem = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(mem != MAP_FAILED);
  for (int i = 0; i < LEN; ++i) mem[i] = (uint8_t)(i * 7 + 3);
  struct vfio_iommu_type1_dma_map map = {sizeof(map), VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                         (uint64_t)(uintptr_t)mem, IOVA_SRC, 2 * 4096};
  CHECK(ioctl(container, VFIO_IOMMU_MAP_DMA, &map) == 0);

  int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
  CHECK(device >= 0);
  struct vfio_region_info bar0 = {.argsz = sizeof(bar0), .index = VFIO_PCI_BAR0_REGION_INDEX};
  struct vfio_region_info cfg = {.argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX};
  CHECK(ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &bar0) == 0);
  CHECK(ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &cfg) == 0);
  CHECK(rd32(device, bar0.offset, EDU_IDENT) == 0x010000ed);

  /* Bus master on: without it the device may not issue DMA. */
  uint16_t command = 0;
  CHECK(pread(device, &command, 2, (off_t)cfg.offset + 4) == 2);
  command |= 0x4;
  CHECK(pwrite(device, &command, 2, (off_t)cfg.offset + 4) == 2);

  /* MSI vector 0 -> eventfd. */
  struct vfio_irq_info irq = {.argsz = sizeof(irq), .index = VFIO_PCI_MSI_IRQ_INDEX};
  CHECK(ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, &irq) == 0);
  CHECK((irq.flags & VFIO_IRQ_INFO_EVENTFD) && irq.count >= 1);
  int efd = eventfd(0, EFD_CLOEXEC);
  CHECK(efd >= 0);
  uint8_t set_buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
  struct vfio_irq_set* set = (struct vfio_irq_set*)set_buf;
  *set = (struct vfio_irq_set){.argsz = sizeof(set_buf),
                               .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
                               .index = VFIO_PCI_MSI_IRQ_INDEX, .start = 0, .count = 1};
  memcpy(set->data, &efd, sizeof(efd));
  CHECK(ioctl(device, VFIO_DEVICE_SET_IRQS, set) == 0);

  /* RAM -> edu buffer. */
  wr(device, bar0.offset, EDU_DMA_SRC, IOVA_SRC, 8);
  wr(device, bar0.offset, EDU_DMA_DST, EDU_BUFFER, 8);
  wr(device, bar0.offset, EDU_DMA_COUNT, LEN, 8);
  wr(device, bar0.offset, EDU_DMA_CMD, EDU_CMD_START | EDU_CMD_IRQ, 8);
  wait_dma_irq(device, bar0.offset, efd);

  /* edu buffer -> RAM (the second page). */
  wr(device, bar0.offset, EDU_DMA_SRC, EDU_BUFFER, 8);
  wr(device, bar0.offset, EDU_DMA_DST, IOVA_DST, 8);
  wr(device, bar0.offset, EDU_DMA_COUNT, LEN, 8);
  wr(device, bar0.offset, EDU_DMA_CMD, EDU_CMD_START | EDU_CMD_TO_RAM | EDU_CMD_IRQ, 8);
  wait_dma_irq(device, bar0.offset, efd);
  CHECK(memcmp(mem + 4096, mem, LEN) == 0);

  /* A DMA to an IOVA nothing is mapped at: the IOMMU faults it (the shim's
     exit summary counts it); edu has no error register and still interrupts. */
  wr(device, bar0.offset, EDU_DMA_SRC, EDU_BUFFER, 8);
  wr(device, bar0.offset, EDU_DMA_DST, 0x300000, 8);
  wr(device, bar0.offset, EDU_DMA_COUNT, LEN, 8);
  wr(device, bar0.offset, EDU_DMA_CMD, EDU_CMD_START | EDU_CMD_TO_RAM | EDU_CMD_IRQ, 8);
  wait_dma_irq(device, bar0.offset, efd);

  /* Interrupts off, teardown. */
  struct vfio_irq_set off = {.argsz = sizeof(off), .flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
                             .index = VFIO_PCI_MSI_IRQ_INDEX, .start = 0, .count = 0};
  CHECK(ioctl(device, VFIO_DEVICE_SET_IRQS, &off) == 0);
  CHECK(close(efd) == 0 && close(device) == 0);
  struct vfio_iommu_type1_dma_unmap unmap = {sizeof(unmap), 0, IOVA_SRC, 2 * 4096};
  CHECK(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) == 0);
  CHECK(close(group) == 0 && close(container) == 0);
  printf("edu_dma_client: %d bytes RAM -> edu -> RAM through group %d (%s): OK\n", LEN, group_id, bdf);
  return 0;
}
