/*
 * Parity client (a): the container/group/device state machine, and
 * VFIO_IOMMU_GET_INFO / VFIO_GROUP_GET_STATUS / VFIO_DEVICE_GET_INFO at every
 * interesting argsz (below the fixed part, at it, in the middle of each
 * capability of the chain, one short of the full chain, exact, large).
 *
 * Usage: state_info [/dev/vfio/GROUP [BDF]]. One line per call.
 */
#include "tests/kernel/clients/client_util.h"

static void group_status(const char* name, int group, uint32_t argsz, int null_arg) {
  uint8_t raw[64];
  memset(raw, CL_FILL, sizeof(raw));
  struct vfio_group_status* st = (struct vfio_group_status*)raw;
  st->argsz = argsz;
  int r = cl_ioctl(group, VFIO_GROUP_GET_STATUS, null_arg ? NULL : raw);
  cl_line(name, r, errno, " in_argsz=%u argsz=%u flags=0x%x", argsz, st->argsz, st->flags);
}

/* GET_INFO; prints the fixed part and walks the capability chain as far as
 * the buffer the kernel was told about (argsz) reaches. */
static void info(const char* name, int container, uint32_t argsz) {
  static uint8_t raw[4096];
  memset(raw, CL_FILL, sizeof(raw));
  struct vfio_iommu_type1_info* in = (struct vfio_iommu_type1_info*)raw;
  in->argsz = argsz;
  int r = cl_ioctl(container, VFIO_IOMMU_GET_INFO, raw);
  cl_line(name, r, errno, " in_argsz=%u argsz=%u flags=0x%x iova_pgsizes=0x%llx cap_offset=0x%x", argsz, in->argsz,
          in->flags, (unsigned long long)in->iova_pgsizes, in->cap_offset);
  /* cap_offset exists only from argsz 20 on. */
  if (r != 0 || argsz < 20 || !(in->flags & VFIO_IOMMU_INFO_CAPS) || in->cap_offset == 0) return;
  uint32_t limit = argsz < sizeof(raw) ? argsz : sizeof(raw);
  int hops = 0;
  for (uint32_t off = in->cap_offset; off != 0 && hops < 16; ++hops) {
    if (off + sizeof(struct vfio_info_cap_header) > limit) {
      printf("%s.cap off=0x%x beyond_argsz\n", name, off);
      return;
    }
    struct vfio_info_cap_header h;
    memcpy(&h, raw + off, sizeof(h));
    printf("%s.cap off=0x%x id=%u version=%u next=0x%x", name, off, h.id, h.version, h.next);
    if (h.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
      struct vfio_iommu_type1_info_dma_avail c;
      memcpy(&c, raw + off, sizeof(c));
      printf(" avail=%u", c.avail);
    } else if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION) {
      struct vfio_iommu_type1_info_cap_migration c;
      memcpy(&c, raw + off, sizeof(c));
      printf(" flags=0x%x pgsize_bitmap=0x%llx max_dirty_bitmap_size=0x%llx", c.flags,
             (unsigned long long)c.pgsize_bitmap, (unsigned long long)c.max_dirty_bitmap_size);
    } else if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
      struct vfio_iommu_type1_info_cap_iova_range c;
      memcpy(&c, raw + off, sizeof(c));
      printf(" nr_iovas=%u", c.nr_iovas);
      for (uint32_t i = 0; i < c.nr_iovas && i < 8; ++i) {
        struct vfio_iova_range range;
        memcpy(&range, raw + off + sizeof(c) + i * sizeof(range), sizeof(range));
        printf(" [0x%llx-0x%llx]", (unsigned long long)range.start, (unsigned long long)range.end);
      }
    }
    putchar('\n');
    off = h.next;
  }
}

static void device_info(const char* name, int dev, uint32_t argsz) {
  uint8_t raw[256];
  memset(raw, CL_FILL, sizeof(raw));
  struct vfio_device_info* in = (struct vfio_device_info*)raw;
  in->argsz = argsz;
  int r = cl_ioctl(dev, VFIO_DEVICE_GET_INFO, raw);
  uint32_t cap_offset;
  memcpy(&cap_offset, raw + 16, sizeof(cap_offset));
  cl_line(name, r, errno, " in_argsz=%u argsz=%u flags=0x%x num_regions=%u num_irqs=%u cap_offset=0x%x", argsz,
          in->argsz, in->flags, in->num_regions, in->num_irqs, cap_offset);
}

static int get_device(const char* name, int group, const char* bdf) {
  errno = 0;
  int fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
  cl_fd_line(name, fd, errno, NULL);
  return fd;
}

static void check_extensions(const char* name, int container) {
  static const struct { long arg; const char* what; } exts[] = {
      {VFIO_TYPE1_IOMMU, "type1"},       {VFIO_SPAPR_TCE_IOMMU, "spapr"},   {VFIO_TYPE1v2_IOMMU, "type1v2"},
      {VFIO_DMA_CC_IOMMU, "dma_cc"},     {VFIO_EEH, "eeh"},                 {VFIO_TYPE1_NESTING_IOMMU, "nesting"},
      {VFIO_NOIOMMU_IOMMU, "noiommu"},   {VFIO_UNMAP_ALL, "unmap_all"},     {VFIO_UPDATE_VADDR, "update_vaddr"},
      {0, "zero"},                       {1000, "unknown"},
  };
  for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); ++i) {
    int r = cl_ioctl_val(container, VFIO_CHECK_EXTENSION, (unsigned long)exts[i].arg);
    cl_line(name, r, errno, " ext=%s", exts[i].what);
  }
}

int main(int argc, char** argv) {
  const char* group_path;
  const char* bdf;
  cl_args(argc, argv, &group_path, &bdf);
  uint8_t* buf = cl_alloc("buf", 0x10000, PROT_READ | PROT_WRITE, 0x5a);

  /* ---- a container alone ---- */
  int c = cl_open("container.open", "/dev/vfio/vfio");
  cl_simple("container.get_api_version", c, VFIO_GET_API_VERSION);
  check_extensions("container.check_extension.empty", c);
  info("container.info.empty", c, 4096);
  cl_map("container.map.empty", c, CL_RW, CL_VA(buf, 0), 0x100000, CL_PAGE);
  cl_unmap("container.unmap.empty", c, 0, 0x100000, CL_PAGE);
  cl_set_iommu("container.set_iommu.no_group_v1", c, VFIO_TYPE1_IOMMU);
  cl_simple("container.dirty.empty", c, VFIO_IOMMU_DIRTY_PAGES);
  cl_simple("container.group_status_on_container", c, VFIO_GROUP_GET_STATUS);

  /* ---- group fd: status and wrong-fd ioctls ---- */
  int g = cl_open("group.open", group_path);
  int g2 = cl_open("group.open_second", group_path);
  if (g2 >= 0) close(g2);
  static const uint32_t status_sizes[] = {0, 4, 7, 8, 9, 16, 4096};
  for (size_t i = 0; i < sizeof(status_sizes) / sizeof(status_sizes[0]); ++i) {
    group_status("group.status", g, status_sizes[i], 0);
  }
  group_status("group.status.null", g, 8, 1);
  cl_simple("group.api_version_on_group", g, VFIO_GET_API_VERSION);
  cl_simple("group.unknown_ioctl", g, _IO(VFIO_TYPE, VFIO_BASE + 50));
  cl_simple("group.unset_container.none", g, VFIO_GROUP_UNSET_CONTAINER);
  get_device("group.get_device_fd.no_container", g, bdf);
  int minus_one = -1;
  int r = cl_ioctl(g, VFIO_GROUP_SET_CONTAINER, &minus_one);
  cl_line("group.set_container.fd_minus_1", r, errno, NULL);
  cl_set_container("group.set_container.group_fd", g, g);
  r = cl_ioctl(g, VFIO_GROUP_SET_CONTAINER, NULL);
  cl_line("group.set_container.null_arg", r, errno, NULL);

  /* ---- group in a container, IOMMU not set yet ---- */
  cl_set_container("group.set_container", g, c);
  group_status("group.status.in_container", g, 8, 0);
  cl_set_container("group.set_container.same_again", g, c);
  int c2 = cl_open("container2.open", "/dev/vfio/vfio");
  cl_set_container("group.set_container.other_container", g, c2);
  check_extensions("container.check_extension.group_no_iommu", c);
  info("container.info.group_no_iommu", c, 4096);
  get_device("group.get_device_fd.no_iommu", g, bdf);
  cl_set_iommu("container.set_iommu.type_nesting", c, VFIO_TYPE1_NESTING_IOMMU);
  cl_set_iommu("container.set_iommu.type_spapr", c, VFIO_SPAPR_TCE_IOMMU);
  cl_set_iommu("container.set_iommu.type_noiommu", c, VFIO_NOIOMMU_IOMMU);
  cl_set_iommu("container.set_iommu.type_negative", c, -1);
  cl_simple("group.unset_container.no_iommu", g, VFIO_GROUP_UNSET_CONTAINER);
  group_status("group.status.after_unset_no_iommu", g, 8, 0);
  cl_set_container("group.set_container.after_unset", g, c);

  /* ---- type1v2 ---- */
  cl_set_iommu("container.set_iommu.v2", c, VFIO_TYPE1v2_IOMMU);
  cl_set_iommu("container.set_iommu.v1_after_v2", c, VFIO_TYPE1_IOMMU);
  cl_set_iommu("container2.set_iommu.no_group", c2, VFIO_TYPE1v2_IOMMU);
  check_extensions("container.check_extension.v2", c);
  /* The chain here: migration @0x18 (0x20 bytes), dma_avail @0x38 (0xc),
   * iova_range @0x44 (0x10 + 2 ranges of 0x10) = 0x74 in all. */
  static const uint32_t info_sizes[] = {0, 4, 8, 12, 15, 16, 20, 23, 24, 25, 32, 0x37, 0x38, 0x40,
                                        0x44, 0x50, 0x54, 0x64, 0x73, 0x74, 0x75, 0x80, 4096};
  char name[64];
  for (size_t i = 0; i < sizeof(info_sizes) / sizeof(info_sizes[0]); ++i) {
    snprintf(name, sizeof(name), "info.argsz_%u", info_sizes[i]);
    info(name, c, info_sizes[i]);
  }
  r = cl_ioctl(c, VFIO_IOMMU_GET_INFO, NULL);
  cl_line("info.null_arg", r, errno, NULL);
  cl_map("map.one", c, CL_RW, CL_VA(buf, 0), 0x100000, CL_PAGE);
  cl_map("map.two", c, CL_RW, CL_VA(buf, 0x1000), 0x200000, 0x2000);
  info("info.after_two_maps", c, 4096);

  /* ---- devices ---- */
  int d = get_device("group.get_device_fd", g, bdf);
  static const uint32_t dev_sizes[] = {0, 8, 15, 16, 17, 20, 24, 256};
  for (size_t i = 0; i < sizeof(dev_sizes) / sizeof(dev_sizes[0]); ++i) {
    snprintf(name, sizeof(name), "device.info.argsz_%u", dev_sizes[i]);
    device_info(name, d, dev_sizes[i]);
  }
  r = cl_ioctl(d, VFIO_DEVICE_GET_INFO, NULL);
  cl_line("device.info.null_arg", r, errno, NULL);
  cl_simple("device.unknown_ioctl", d, _IO(VFIO_TYPE, VFIO_BASE + 50));
  cl_simple("device.group_ioctl_on_device", d, VFIO_GROUP_UNSET_CONTAINER);
  cl_simple("device.container_ioctl_on_device", d, VFIO_GET_API_VERSION);
  group_status("group.status.device_open", g, 8, 0);
  cl_simple("group.unset_container.device_open", g, VFIO_GROUP_UNSET_CONTAINER);
  r = close(g);
  cl_line("group.close.device_open", r, errno, NULL);
  g = cl_open("group.reopen.device_open", group_path);
  r = close(c);
  cl_line("container.close.device_open", r, errno, NULL);
  cl_map("map.device_keeps_container", -1, CL_RW, CL_VA(buf, 0), 0x300000, CL_PAGE);
  device_info("device.info.after_closes", d, 20);
  r = close(d);
  cl_line("device.close", r, errno, NULL);

  /* Everything closed but c2: the group is free again, the old container gone. */
  g = cl_open("group.open.after_all_closed", group_path);
  group_status("group.status.after_all_closed", g, 8, 0);
  cl_set_container("group.set_container.c2", g, c2);
  cl_set_iommu("container2.set_iommu.v1", c2, VFIO_TYPE1_IOMMU);
  check_extensions("container2.check_extension.v1", c2);
  info("container2.info.v1", c2, 4096);
  cl_map("container2.map.fresh", c2, CL_RW, CL_VA(buf, 0), 0x100000, CL_PAGE);
  d = get_device("group.get_device_fd.c2", g, bdf);
  int d2 = get_device("group.get_device_fd.c2_second", g, bdf);
  if (d2 >= 0) close(d2);
  if (d >= 0) close(d);
  cl_simple("group.unset_container.c2", g, VFIO_GROUP_UNSET_CONTAINER);
  info("container2.info.after_last_group_left", c2, 4096);
  check_extensions("container2.check_extension.after_last_group_left", c2);
  cl_map("container2.map.after_last_group_left", c2, CL_RW, CL_VA(buf, 0), 0x110000, CL_PAGE);
  cl_set_container("group.set_container.c2_again", g, c2);
  cl_set_iommu("container2.set_iommu.v2_after_reset", c2, VFIO_TYPE1v2_IOMMU);
  info("container2.info.v2_after_reset", c2, 4096);
  cl_unmap("container2.unmap.all_after_reset", c2, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
  cl_simple("group.unset_container.end", g, VFIO_GROUP_UNSET_CONTAINER);
  close(g);
  close(c2);
  return 0;
}
