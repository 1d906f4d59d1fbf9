/*
 * Parity client (d): a vfio-pci device — QEMU's edu (1234:11e8) — seen
 * through its device fd: region and IRQ info, config space through the
 * config region (virtualized command register and BAR sizing), BAR0 through
 * pread/pwrite and mmap, interrupts (INTx with its automask/unmask, MSI) on
 * eventfds, and edu DMA through the IOMMU: a RAM -> device -> RAM round
 * trip, a DMA-done interrupt, and writes that the IOMMU must block (read-only
 * mapping, unmapped IOVA, unmapped after use).
 *
 * DMA sizes stay below 4096: QEMU 7.2's edu rejects a full 4 KiB transfer
 * (off by one in its range check). Polls have deadlines; what is printed
 * never depends on timing.
 *
 * Usage: device_edu [/dev/vfio/GROUP [BDF]]. One line per call.
 */
#include <poll.h>
#include <sys/eventfd.h>

#include "tests/kernel/clients/client_util.h"

#define EDU_IDENT 0x00
#define EDU_LIVENESS 0x04
#define EDU_FACTORIAL 0x08
#define EDU_STATUS 0x20
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_BUFFER 0x40000
#define DMA_LEN 0x800

static int dev = -1;
static uint64_t bar0_offset, config_offset;

static void region_info(const char* name, uint32_t index, uint32_t argsz, uint64_t* offset_out) {
  uint8_t raw[128];
  memset(raw, CL_FILL, sizeof(raw));
  struct vfio_region_info* in = (struct vfio_region_info*)raw;
  in->argsz = argsz;
  in->index = index;
  int r = cl_ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, raw);
  cl_line(name, r, errno, " index=%u in_argsz=%u argsz=%u flags=0x%x size=0x%llx offset=0x%llx", index, argsz,
          in->argsz, in->flags, (unsigned long long)in->size, (unsigned long long)in->offset);
  if (r == 0 && offset_out) *offset_out = in->offset;
}

static void irq_info(const char* name, uint32_t index, uint32_t argsz) {
  struct vfio_irq_info in;
  memset(&in, CL_FILL, sizeof(in));
  in.argsz = argsz;
  in.index = index;
  int r = cl_ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &in);
  cl_line(name, r, errno, " index=%u in_argsz=%u flags=0x%x count=%u", index, argsz, in.flags, in.count);
}

/* SET_IRQS with up to one eventfd (or bool) of payload. */
static int set_irqs(const char* name, uint32_t argsz, uint32_t flags, uint32_t index, uint32_t start,
                    uint32_t count, int32_t data) {
  uint8_t raw[sizeof(struct vfio_irq_set) + 8];
  memset(raw, 0, sizeof(raw));
  struct vfio_irq_set* s = (struct vfio_irq_set*)raw;
  s->argsz = argsz;
  s->flags = flags;
  s->index = index;
  s->start = start;
  s->count = count;
  memcpy(s->data, &data, sizeof(data));
  int r = cl_ioctl(dev, VFIO_DEVICE_SET_IRQS, raw);
  cl_line(name, r, errno, " flags=0x%x index=%u start=%u count=%u", flags, index, start, count);
  return r;
}

static long cfg_read(uint32_t off, size_t len) {
  uint32_t v = 0;
  errno = 0;
  ssize_t n = pread(dev, &v, len, (off_t)(config_offset + off));
  if (n != (ssize_t)len) return -1;
  return v;
}

static int cfg_write(uint32_t off, size_t len, uint32_t v) {
  errno = 0;
  return pwrite(dev, &v, len, (off_t)(config_offset + off)) == (ssize_t)len ? 0 : -1;
}

static long bar_read(uint32_t off) {
  uint32_t v = 0;
  errno = 0;
  return pread(dev, &v, 4, (off_t)(bar0_offset + off)) == 4 ? (long)v : -1;
}

static int bar_write(uint32_t off, uint32_t v) {
  errno = 0;
  return pwrite(dev, &v, 4, (off_t)(bar0_offset + off)) == 4 ? 0 : -1;
}

/* Polls `off` until (value & mask) == 0; 1 when it got there, 0 otherwise. */
static int bar_wait_clear(uint32_t off, uint32_t mask) {
  for (int i = 0; i < 5000; ++i) {
    long v = bar_read(off);
    if (v < 0) return 0;
    if ((v & mask) == 0) return 1;
    usleep(1000);
  }
  return 0;
}

/* Waits up to 2 s for the eventfd; returns the counter read (0: none). */
static uint64_t wait_eventfd(int efd) {
  struct pollfd p = {efd, POLLIN, 0};
  if (poll(&p, 1, 2000) != 1) return 0;
  uint64_t v = 0;
  if (read(efd, &v, sizeof(v)) != sizeof(v)) return 0;
  return v;
}

static void config_phase(void) {
  long v = cfg_read(0, 4);
  cl_line("config.read.ids", v < 0 ? -1 : 0, errno, " value=0x%08lx", v < 0 ? 0 : v);
  v = cfg_read(0x08, 4);
  cl_line("config.read.class_rev", v < 0 ? -1 : 0, errno, " value=0x%08lx", v < 0 ? 0 : v);
  v = cfg_read(0x2c, 4);
  cl_line("config.read.subsystem", v < 0 ? -1 : 0, errno, " value=0x%08lx", v < 0 ? 0 : v);
  v = cfg_read(0x3d, 1);
  cl_line("config.read.interrupt_pin", v < 0 ? -1 : 0, errno, " value=0x%02lx", v < 0 ? 0 : v);
  v = cfg_read(0x34, 1);
  cl_line("config.read.cap_ptr", v < 0 ? -1 : 0, errno, " value=0x%02lx", v < 0 ? 0 : v);
  long cap = v;
  if (cap > 0) {
    v = cfg_read((uint32_t)cap, 4);
    cl_line("config.read.first_cap", v < 0 ? -1 : 0, errno, " id=0x%02lx next=0x%02lx control=0x%04lx",
            v < 0 ? 0 : v & 0xff, v < 0 ? 0 : (v >> 8) & 0xff, v < 0 ? 0 : (v >> 16) & 0xffff);
  }
  v = cfg_read(0x06, 2);
  cl_line("config.read.status", v < 0 ? -1 : 0, errno, " value=0x%04lx", v < 0 ? 0 : v);
  /* BAR sizing: all ones in, the size mask out (vfio virtualizes the BAR). */
  long bar = cfg_read(0x10, 4);
  int r = cfg_write(0x10, 4, 0xffffffffu);
  v = cfg_read(0x10, 4);
  cl_line("config.bar0_sizing", r, errno, " mask=0x%08lx", v < 0 ? 0 : v);
  if (bar >= 0) cfg_write(0x10, 4, (uint32_t)bar);
  v = cfg_read(0x14, 4);
  cl_line("config.read.bar1", v < 0 ? -1 : 0, errno, " value=0x%08lx", v < 0 ? 0 : v);
  uint32_t two = 0;
  errno = 0;
  ssize_t n = pread(dev, &two, 4, (off_t)(config_offset + 0x100));
  cl_line("config.read.beyond_256", n, errno, NULL);
  n = pread(dev, &two, 4, (off_t)(config_offset + 0x1000));
  cl_line("config.read.beyond_4k", n, errno, NULL);
  long cmd = cfg_read(0x04, 2);
  r = cfg_write(0x04, 2, (uint32_t)(cmd < 0 ? 0 : cmd) | 0x6); /* memory space + bus master */
  v = cfg_read(0x04, 2);
  cl_line("config.write.command_master", r, errno, " value=0x%04lx", v < 0 ? 0 : v & 0x7);
}

static void bar_phase(void) {
  long v = bar_read(EDU_IDENT);
  cl_line("bar0.read.ident", v < 0 ? -1 : 0, errno, " value=0x%08lx", v < 0 ? 0 : v);
  int r = bar_write(EDU_LIVENESS, 0x12345678);
  v = bar_read(EDU_LIVENESS);
  cl_line("bar0.liveness", r, errno, " value=0x%08lx", v < 0 ? 0 : v);
  r = bar_write(EDU_FACTORIAL, 5);
  int done = bar_wait_clear(EDU_STATUS, 1);
  v = bar_read(EDU_FACTORIAL);
  cl_line("bar0.factorial_5", r, errno, " done=%d value=%ld", done, v);
  uint16_t half = 0;
  errno = 0;
  ssize_t n = pread(dev, &half, 2, (off_t)(bar0_offset + EDU_IDENT));
  cl_line("bar0.read.2_bytes_ident", n, errno, " value=0x%04x", half);
  uint32_t w = 0;
  n = pread(dev, &w, 4, (off_t)(bar0_offset + 0x100000));
  cl_line("bar0.read.beyond_bar", n, errno, NULL);
  n = pread(dev, &w, 4, (off_t)(9ULL << 40));
  cl_line("bar0.read.bad_region", n, errno, NULL);

  errno = 0;
  volatile uint32_t* m = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, dev, (off_t)bar0_offset);
  if (m == MAP_FAILED) {
    cl_line("bar0.mmap", -1, errno, NULL);
  } else {
    cl_line("bar0.mmap", 0, 0, " ident=0x%08x", m[0]);
    /* Registers are written with pwrite and read back through the mapping:
     * vfio-sim maps trapping BAR pages read-only (a store would fault, see
     * api/device_state.h "Mmap"), Linux maps them read/write. */
    bar_write(EDU_LIVENESS, 0x0f0f0f0f);
    cl_line("bar0.mmap.liveness_after_pwrite", 0, 0, " value=0x%08x", m[EDU_LIVENESS / 4]);
    munmap((void*)m, 0x1000);
  }
  errno = 0;
  void* cm = mmap(NULL, 0x1000, PROT_READ, MAP_SHARED, dev, (off_t)config_offset);
  cl_line("config.mmap", cm == MAP_FAILED ? -1 : 0, errno, NULL);
  if (cm != MAP_FAILED) munmap(cm, 0x1000);
  errno = 0;
  cm = mmap(NULL, 0x200000, PROT_READ, MAP_SHARED, dev, (off_t)bar0_offset);
  cl_line("bar0.mmap.beyond_bar", cm == MAP_FAILED ? -1 : 0, errno, NULL);
  if (cm != MAP_FAILED) munmap(cm, 0x200000);
}

/* Returns 1 when MSI was left enabled on `efd`. */
static int irq_phase(int efd) {
  const uint32_t full = sizeof(struct vfio_irq_set) + 4;
  const uint32_t trig_fd = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
  const uint32_t trig_none = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
  set_irqs("irq.set.argsz_small", sizeof(struct vfio_irq_set) - 1, trig_none, 0, 0, 0, 0);
  set_irqs("irq.set.bad_index", full, trig_fd, 5, 0, 1, efd);
  set_irqs("irq.set.two_data_types", full, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL |
                                               VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, 1, 0);
  set_irqs("irq.set.two_actions", full, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK |
                                            VFIO_IRQ_SET_ACTION_UNMASK, 0, 0, 1, 0);
  set_irqs("irq.set.msi_count_2", sizeof(struct vfio_irq_set) + 8, trig_fd, VFIO_PCI_MSI_IRQ_INDEX, 0, 2, efd);
  set_irqs("irq.set.msix_none", full, trig_fd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, efd);
  set_irqs("irq.set.err_eventfd", full, trig_fd, VFIO_PCI_ERR_IRQ_INDEX, 0, 1, efd);
  set_irqs("irq.set.err_eventfd_off", full, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
           VFIO_PCI_ERR_IRQ_INDEX, 0, 1, -1);
  set_irqs("irq.set.intx_bad_fd", full, trig_fd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, 9999);

  /* INTx: fires once, then stays masked until unmasked (and acknowledged). */
  int r = set_irqs("irq.intx.enable", full, trig_fd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, efd);
  bar_write(EDU_IRQ_RAISE, 0x1);
  printf("irq.intx.raise got=%llu\n", (unsigned long long)(r == 0 ? wait_eventfd(efd) : 0));
  bar_write(EDU_IRQ_ACK, 0x1);
  set_irqs("irq.intx.unmask", full, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX,
           0, 1, 0);
  bar_write(EDU_IRQ_RAISE, 0x2);
  printf("irq.intx.raise_after_unmask got=%llu\n", (unsigned long long)(r == 0 ? wait_eventfd(efd) : 0));
  long st = bar_read(EDU_IRQ_STATUS);
  printf("irq.intx.status value=0x%lx\n", st);
  bar_write(EDU_IRQ_ACK, 0x2);
  set_irqs("irq.set.msi_while_intx", full, trig_fd, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, efd);
  set_irqs("irq.intx.disable", sizeof(struct vfio_irq_set), trig_none, VFIO_PCI_INTX_IRQ_INDEX, 0, 0, 0);

  /* MSI: one message per raise, no masking. */
  r = set_irqs("irq.msi.enable", full, trig_fd, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, efd);
  long ctl = cfg_read(0x42, 2);
  printf("irq.msi.config_control value=0x%lx\n", ctl < 0 ? 0 : ctl & 0x1);
  bar_write(EDU_IRQ_RAISE, 0x4);
  printf("irq.msi.raise got=%llu\n", (unsigned long long)(r == 0 ? wait_eventfd(efd) : 0));
  bar_write(EDU_IRQ_ACK, 0x4);
  set_irqs("irq.msi.trigger_by_ioctl", sizeof(struct vfio_irq_set), trig_none, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, 0);
  printf("irq.msi.trigger_by_ioctl got=%llu\n", (unsigned long long)(r == 0 ? wait_eventfd(efd) : 0));
  set_irqs("irq.msi.mask", full, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_MSI_IRQ_INDEX, 0, 1,
           0);
  set_irqs("irq.set.intx_while_msi", full, trig_fd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, efd);
  return r == 0;
}

static void dma_phase(int c, int efd, int msi_on, uint8_t* src, uint8_t* dst, uint8_t* rop) {
  for (int i = 0; i < DMA_LEN; ++i) src[i] = (uint8_t)(i * 7 + 3);
  memset(dst, 0, CL_PAGE);
  memset(rop, 0x33, CL_PAGE);
  cl_map("dma.map.src", c, VFIO_DMA_MAP_FLAG_READ, CL_VA(src, 0), 0x200000, CL_PAGE);
  cl_map("dma.map.dst", c, CL_RW, CL_VA(dst, 0), 0x201000, CL_PAGE);
  cl_map("dma.map.ro", c, VFIO_DMA_MAP_FLAG_READ, CL_VA(rop, 0), 0x202000, CL_PAGE);

  /* RAM -> edu buffer, then edu buffer -> RAM. */
  bar_write(EDU_DMA_SRC, 0x200000);
  bar_write(EDU_DMA_DST, EDU_BUFFER);
  bar_write(EDU_DMA_COUNT, DMA_LEN);
  bar_write(EDU_DMA_CMD, 0x1);
  int done1 = bar_wait_clear(EDU_DMA_CMD, 1);
  bar_write(EDU_DMA_SRC, EDU_BUFFER);
  bar_write(EDU_DMA_DST, 0x201000);
  bar_write(EDU_DMA_COUNT, DMA_LEN);
  bar_write(EDU_DMA_CMD, 0x3 | (msi_on ? 0x4 : 0));
  int done2 = bar_wait_clear(EDU_DMA_CMD, 1);
  printf("dma.roundtrip done=%d,%d match=%d\n", done1, done2, memcmp(src, dst, DMA_LEN) == 0);
  uint64_t got = msi_on ? wait_eventfd(efd) : 0;
  long st = bar_read(EDU_IRQ_STATUS);
  printf("dma.done_interrupt got=%llu status=0x%lx\n", (unsigned long long)got, st);
  bar_write(EDU_IRQ_ACK, 0x100);

  /* Writes the IOMMU must stop: read-only mapping, nothing mapped, unmapped. */
  static const struct { const char* name; uint64_t iova; } blocked[] = {
      {"dma.write_to_readonly_map", 0x202000}, {"dma.write_to_unmapped", 0x204000}};
  for (size_t i = 0; i < 2; ++i) {
    bar_write(EDU_DMA_SRC, EDU_BUFFER);
    bar_write(EDU_DMA_DST, (uint32_t)blocked[i].iova);
    bar_write(EDU_DMA_COUNT, 0x100);
    bar_write(EDU_DMA_CMD, 0x3);
    int done = bar_wait_clear(EDU_DMA_CMD, 1);
    int ro_ok = 1;
    for (int k = 0; k < (int)CL_PAGE; ++k) ro_ok &= rop[k] == 0x33;
    printf("%s done=%d readonly_page_unchanged=%d\n", blocked[i].name, done, ro_ok);
  }
  cl_unmap("dma.unmap.dst", c, 0, 0x201000, CL_PAGE);
  memset(dst, 0, CL_PAGE);
  bar_write(EDU_DMA_SRC, EDU_BUFFER);
  bar_write(EDU_DMA_DST, 0x201000);
  bar_write(EDU_DMA_COUNT, DMA_LEN);
  bar_write(EDU_DMA_CMD, 0x3);
  int done = bar_wait_clear(EDU_DMA_CMD, 1);
  int zero = 1;
  for (int k = 0; k < (int)CL_PAGE; ++k) zero &= dst[k] == 0;
  printf("dma.write_after_unmap done=%d dst_unchanged=%d\n", done, zero);
  cl_unmap("dma.unmap.all", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
}

int main(int argc, char** argv) {
  const char* group_path;
  const char* bdf;
  cl_args(argc, argv, &group_path, &bdf);
  uint8_t* src = cl_alloc("src", CL_PAGE, PROT_READ | PROT_WRITE, 0);
  uint8_t* dst = cl_alloc("dst", CL_PAGE, PROT_READ | PROT_WRITE, 0);
  uint8_t* rop = cl_alloc("robuf", CL_PAGE, PROT_READ | PROT_WRITE, 0);

  int g = cl_open("group.open", group_path);
  int c = cl_open("container.open", "/dev/vfio/vfio");
  cl_set_container("group.set_container", g, c);
  cl_set_iommu("container.set_iommu", c, VFIO_TYPE1v2_IOMMU);
  errno = 0;
  dev = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, bdf);
  cl_fd_line("group.get_device_fd", dev, errno, NULL);

  struct vfio_device_info di = {.argsz = sizeof(di)};
  int r = cl_ioctl(dev, VFIO_DEVICE_GET_INFO, &di);
  cl_line("device.info", r, errno, " flags=0x%x num_regions=%u num_irqs=%u", di.flags, di.num_regions, di.num_irqs);
  char name[64];
  for (uint32_t i = 0; i <= 9; ++i) {
    snprintf(name, sizeof(name), "region.info.%u", i);
    region_info(name, i, sizeof(struct vfio_region_info),
                i == VFIO_PCI_BAR0_REGION_INDEX ? &bar0_offset
                : i == VFIO_PCI_CONFIG_REGION_INDEX ? &config_offset : NULL);
  }
  region_info("region.info.argsz_small", 0, sizeof(struct vfio_region_info) - 1, NULL);
  region_info("region.info.argsz_16", 0, 16, NULL);
  region_info("region.info.argsz_big", 7, 128, NULL);
  for (uint32_t i = 0; i <= 5; ++i) {
    snprintf(name, sizeof(name), "irq.info.%u", i);
    irq_info(name, i, sizeof(struct vfio_irq_info));
  }
  irq_info("irq.info.argsz_small", 0, sizeof(struct vfio_irq_info) - 1);
  irq_info("irq.info.argsz_big", 1, sizeof(struct vfio_irq_info) + 16);
  cl_simple("device.reset", dev, VFIO_DEVICE_RESET);

  config_phase();
  bar_phase();
  errno = 0;
  int efd = eventfd(0, EFD_CLOEXEC);
  if (efd < 0) {
    fprintf(stderr, "eventfd: %s\n", strerror(errno));
    return 2;
  }
  int msi_on = irq_phase(efd);
  dma_phase(c, efd, msi_on, src, dst, rop);
  set_irqs("irq.msi.disable", sizeof(struct vfio_irq_set),
           VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0, 0, 0);
  close(efd);
  r = close(dev);
  cl_line("device.close", r, errno, NULL);
  cl_simple("group.unset_container", g, VFIO_GROUP_UNSET_CONTAINER);
  close(c);
  close(g);
  return 0;
}
