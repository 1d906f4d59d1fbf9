/*
 * Parity client (c): dirty-page tracking (VFIO_IOMMU_DIRTY_PAGES, unmap with
 * VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP), the dma_entry_limit (65535 mappings
 * per container by default; ENOSPC past it), and RLIMIT_MEMLOCK accounting
 * once CAP_IPC_LOCK is dropped (ENOMEM past the limit; each mapping counts
 * its pages even when another mapping pinned the same pages).
 *
 * Dropping CAP_IPC_LOCK cannot be undone, so the memlock phase comes last.
 *
 * Usage: dirty_limits [/dev/vfio/GROUP [BDF]]. One line per call.
 */
#include "tests/kernel/clients/client_util.h"

static uint8_t* buf; /* 1 MiB read/write */

static void dirty(const char* name, int c, uint32_t argsz, uint32_t flags) {
  struct vfio_iommu_type1_dirty_bitmap d = {argsz, flags};
  int r = cl_ioctl(c, VFIO_IOMMU_DIRTY_PAGES, &d);
  cl_line(name, r, errno, " argsz=%u flags=0x%x", argsz, flags);
}

/* GET_BITMAP over [iova, iova+size) with a 4-word user bitmap pre-filled
 * with `fill` words; prints the first two words after the call. */
static void get_bitmap(const char* name, int c, uint32_t argsz, uint64_t iova, uint64_t size, uint64_t pgsize,
                       uint64_t bitmap_size, int null_data) {
  uint8_t raw[sizeof(struct vfio_iommu_type1_dirty_bitmap) + sizeof(struct vfio_iommu_type1_dirty_bitmap_get)];
  uint64_t bits[4] = {0x1111, 0x1111, 0x1111, 0x1111};
  struct vfio_iommu_type1_dirty_bitmap* d = (struct vfio_iommu_type1_dirty_bitmap*)raw;
  struct vfio_iommu_type1_dirty_bitmap_get* g = (struct vfio_iommu_type1_dirty_bitmap_get*)(raw + sizeof(*d));
  d->argsz = argsz;
  d->flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
  g->iova = iova;
  g->size = size;
  g->bitmap.pgsize = pgsize;
  g->bitmap.size = bitmap_size;
  g->bitmap.data = null_data ? NULL : (__u64*)bits;
  int r = cl_ioctl(c, VFIO_IOMMU_DIRTY_PAGES, raw);
  cl_line(name, r, errno, " iova=0x%llx size=0x%llx pgsize=0x%llx bitmap_size=0x%llx bits=0x%llx,0x%llx",
          (unsigned long long)iova, (unsigned long long)size, (unsigned long long)pgsize,
          (unsigned long long)bitmap_size, (unsigned long long)bits[0], (unsigned long long)bits[1]);
}

static void unmap_bitmap(const char* name, int c, uint32_t flags, uint64_t iova, uint64_t size, uint64_t pgsize,
                         uint64_t bitmap_size, uint32_t argsz) {
  uint8_t raw[sizeof(struct vfio_iommu_type1_dma_unmap) + sizeof(struct vfio_bitmap)];
  uint64_t bits[4] = {0x1111, 0x1111, 0x1111, 0x1111};
  struct vfio_iommu_type1_dma_unmap* u = (struct vfio_iommu_type1_dma_unmap*)raw;
  struct vfio_bitmap* b = (struct vfio_bitmap*)(raw + sizeof(*u));
  u->argsz = argsz;
  u->flags = flags;
  u->iova = iova;
  u->size = size;
  b->pgsize = pgsize;
  b->size = bitmap_size;
  b->data = (__u64*)bits;
  int r = cl_ioctl(c, VFIO_IOMMU_UNMAP_DMA, raw);
  cl_line(name, r, errno, " flags=0x%x iova=0x%llx size=0x%llx pgsize=0x%llx out_size=0x%llx bits=0x%llx,0x%llx",
          flags, (unsigned long long)iova, (unsigned long long)size, (unsigned long long)pgsize,
          (unsigned long long)u->size, (unsigned long long)bits[0], (unsigned long long)bits[1]);
}

static int setup(const char* prefix, int g) {
  char name[64];
  snprintf(name, sizeof(name), "%s.container.open", prefix);
  int c = cl_open(name, "/dev/vfio/vfio");
  snprintf(name, sizeof(name), "%s.group.set_container", prefix);
  cl_set_container(name, g, c);
  snprintf(name, sizeof(name), "%s.container.set_iommu", prefix);
  cl_set_iommu(name, c, VFIO_TYPE1v2_IOMMU);
  return c;
}

static void teardown(const char* prefix, int g, int c) {
  char name[64];
  snprintf(name, sizeof(name), "%s.group.unset_container", prefix);
  cl_simple(name, g, VFIO_GROUP_UNSET_CONTAINER);
  close(c);
}

static void phase_dirty(int c) {
  const uint32_t full = sizeof(struct vfio_iommu_type1_dirty_bitmap) +
                        sizeof(struct vfio_iommu_type1_dirty_bitmap_get);
  const uint32_t ub = sizeof(struct vfio_iommu_type1_dma_unmap) + sizeof(struct vfio_bitmap);
  dirty("dirty.stop_not_started", c, 8, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
  dirty("dirty.argsz_0", c, 0, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
  dirty("dirty.argsz_7", c, 7, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
  dirty("dirty.flag_unknown", c, 8, 0x8);
  dirty("dirty.start_and_get", c, 8, VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP);
  dirty("dirty.start_no_mappings", c, 8, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
  dirty("dirty.stop_no_mappings", c, 8, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
  cl_map("dirty.map.a_8_pages", c, CL_RW, CL_VA(buf, 0), 0x100000, 0x8000);
  cl_map("dirty.map.b_2_pages", c, CL_RW, CL_VA(buf, 0x8000), 0x108000, 0x2000);
  cl_map("dirty.map.c_far", c, CL_RW, CL_VA(buf, 0x10000), 0x40000000, 0x4000);
  get_bitmap("dirty.get.not_started", c, full, 0x100000, 0x8000, CL_PAGE, 8, 0);
  dirty("dirty.start", c, 8, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
  dirty("dirty.start_argsz_big", c, 64, VFIO_IOMMU_DIRTY_PAGES_FLAG_START);
  get_bitmap("dirty.get.a", c, full, 0x100000, 0x8000, CL_PAGE, 8, 0);
  get_bitmap("dirty.get.a_again", c, full, 0x100000, 0x8000, CL_PAGE, 8, 0);
  get_bitmap("dirty.get.a_and_b", c, full, 0x100000, 0xa000, CL_PAGE, 8, 0);
  get_bitmap("dirty.get.argsz_short", c, full - 1, 0x100000, 0x8000, CL_PAGE, 8, 0);
  get_bitmap("dirty.get.argsz_8", c, 8, 0x100000, 0x8000, CL_PAGE, 8, 0);
  get_bitmap("dirty.get.inside_a", c, full, 0x102000, 0x2000, CL_PAGE, 8, 0);
  get_bitmap("dirty.get.a_head", c, full, 0x100000, 0x4000, CL_PAGE, 8, 0);
  get_bitmap("dirty.get.unmapped", c, full, 0x200000, 0x1000, CL_PAGE, 8, 0);
  get_bitmap("dirty.get.a_to_c_with_gap", c, full, 0x100000, 0x40000000, CL_PAGE, 32, 0);
  get_bitmap("dirty.get.size_0", c, full, 0x100000, 0, CL_PAGE, 8, 0);
  get_bitmap("dirty.get.unaligned_iova", c, full, 0x100800, 0x8000, CL_PAGE, 8, 0);
  get_bitmap("dirty.get.pgsize_0", c, full, 0x100000, 0x8000, 0, 8, 0);
  get_bitmap("dirty.get.pgsize_8k", c, full, 0x100000, 0x8000, 0x2000, 8, 0);
  get_bitmap("dirty.get.pgsize_2m", c, full, 0x100000, 0x8000, 0x200000, 8, 0);
  get_bitmap("dirty.get.bitmap_size_0", c, full, 0x100000, 0x8000, CL_PAGE, 0, 0);
  get_bitmap("dirty.get.bitmap_size_huge", c, full, 0x100000, 0x8000, CL_PAGE, 0x20000000, 0);
  get_bitmap("dirty.get.null_data", c, full, 0x100000, 0x8000, CL_PAGE, 8, 1);
  get_bitmap("dirty.get.c", c, full, 0x40000000, 0x4000, CL_PAGE, 8, 0);
  cl_map("dirty.map.d_while_tracking", c, CL_RW, CL_VA(buf, 0x20000), 0x300000, 0x4000);
  get_bitmap("dirty.get.d", c, full, 0x300000, 0x4000, CL_PAGE, 8, 0);
  unmap_bitmap("dirty.unmap_bitmap.pgsize_8k", c, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0x300000, 0x4000, 0x2000, 8,
               ub);
  unmap_bitmap("dirty.unmap_bitmap.argsz_24", c, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0x300000, 0x4000, CL_PAGE, 8,
               24);
  unmap_bitmap("dirty.unmap_bitmap.bitmap_size_0", c, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0x300000, 0x4000,
               CL_PAGE, 0, ub);
  unmap_bitmap("dirty.unmap_bitmap.d", c, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0x300000, 0x4000, CL_PAGE, 8, ub);
  unmap_bitmap("dirty.unmap_bitmap.a_and_b", c, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0x100000, 0xa000, CL_PAGE, 8,
               ub);
  unmap_bitmap("dirty.unmap_bitmap.all", c, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL, 0, 0,
               CL_PAGE, 8, ub);
  unmap_bitmap("dirty.unmap_bitmap.vaddr", c, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_VADDR,
               0x40000000, 0x4000, CL_PAGE, 8, ub);
  dirty("dirty.stop", c, 8, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
  dirty("dirty.stop_again", c, 8, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP);
  get_bitmap("dirty.get.after_stop", c, full, 0x40000000, 0x4000, CL_PAGE, 8, 0);
  unmap_bitmap("dirty.unmap_bitmap.after_stop", c, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0x40000000, 0x4000,
               CL_PAGE, 8, ub);
  cl_unmap("dirty.unmap.all", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
}

static void phase_entry_limit(int c) {
  int count = 0, r = 0, err = 0;
  /* One page each, same vaddr: only the entry count grows. */
  for (uint64_t iova = 0x10000000;; iova += CL_PAGE) {
    struct vfio_iommu_type1_dma_map m = {sizeof(m), CL_RW, CL_VA(buf, 0), iova, CL_PAGE};
    errno = 0;
    r = ioctl(c, VFIO_IOMMU_MAP_DMA, &m);
    err = errno;
    if (r != 0 || count > 70000) break;
    ++count;
  }
  cl_line("limit.map_until_failure", r, err, " successful_maps=%d", count);
  printf("limit.dma_avail.full avail=%ld\n", cl_dma_avail(c));
  cl_map("limit.map.big_one_when_full", c, CL_RW, CL_VA(buf, 0), 0x8000000, 0x10000);
  cl_unmap("limit.unmap.first_16", c, 0, 0x10000000, 0x10000);
  printf("limit.dma_avail.after_16_freed avail=%ld\n", cl_dma_avail(c));
  cl_map("limit.map.big_one", c, CL_RW, CL_VA(buf, 0), 0x8000000, 0x10000);
  printf("limit.dma_avail.after_big_one avail=%ld\n", cl_dma_avail(c));
  cl_unmap("limit.unmap.big_one_middle", c, 0, 0x8004000, 0x4000);
  cl_unmap("limit.unmap.all", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
  printf("limit.dma_avail.after_unmap_all avail=%ld\n", cl_dma_avail(c));
}

static void phase_memlock(int g) {
  int c = setup("memlock", g);
  cl_map("memlock.map.with_cap_64_pages", c, CL_RW, CL_VA(buf, 0), 0x100000, 0x40000);
  int r = cl_drop_cap_ipc_lock();
  cl_line("memlock.drop_cap_ipc_lock", r, errno, NULL);
  r = cl_set_memlock(0x10000);
  cl_line("memlock.setrlimit", r, errno, " bytes=0x10000");
  /* Pages pinned while the capability was held were still accounted. */
  cl_map("memlock.map.1_page_over_old", c, CL_RW, CL_VA(buf, 0x40000), 0x200000, CL_PAGE);
  cl_unmap("memlock.unmap.with_cap_64_pages", c, 0, 0x100000, 0x40000);
  cl_map("memlock.map.16_pages", c, CL_RW, CL_VA(buf, 0), 0x100000, 0x10000);
  cl_map("memlock.map.1_more", c, CL_RW, CL_VA(buf, 0x10000), 0x200000, CL_PAGE);
  cl_map("memlock.map.same_page_other_iova", c, CL_RW, CL_VA(buf, 0), 0x300000, CL_PAGE);
  cl_unmap("memlock.unmap.4_pages", c, 0, 0x100000, 0x4000);
  cl_unmap("memlock.unmap.4_pages_v2_split", c, 0, 0x104000, 0x4000);
  cl_map("memlock.map.4_pages_after_unmap_fails_split", c, CL_RW, CL_VA(buf, 0x10000), 0x200000, 0x4000);
  cl_unmap("memlock.unmap.16_pages", c, 0, 0x100000, 0x10000);
  cl_map("memlock.map.4_pages_after_unmap", c, CL_RW, CL_VA(buf, 0x10000), 0x200000, 0x4000);
  cl_map("memlock.map.12_pages", c, CL_RW, CL_VA(buf, 0x20000), 0x300000, 0xc000);
  cl_map("memlock.map.1_page_at_limit", c, CL_RW, CL_VA(buf, 0x40000), 0x400000, CL_PAGE);
  r = cl_set_memlock(0x20000);
  cl_line("memlock.setrlimit.raise", r, errno, " bytes=0x20000");
  cl_map("memlock.map.1_page_after_raise", c, CL_RW, CL_VA(buf, 0x40000), 0x400000, CL_PAGE);
  cl_map("memlock.map.16_pages_too_many", c, CL_RW, CL_VA(buf, 0x50000), 0x500000, 0x10000);
  r = cl_set_memlock(0);
  cl_line("memlock.setrlimit.zero", r, errno, " bytes=0");
  cl_map("memlock.map.1_page_limit_0", c, CL_RW, CL_VA(buf, 0x60000), 0x600000, CL_PAGE);
  cl_unmap("memlock.unmap.one_under_limit_0", c, 0, 0x400000, CL_PAGE);
  cl_unmap("memlock.unmap.all", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
  cl_map("memlock.map.1_page_limit_0_empty", c, CL_RW, CL_VA(buf, 0x60000), 0x600000, CL_PAGE);
  r = cl_set_memlock(RLIM_INFINITY);
  cl_line("memlock.setrlimit.infinity", r, errno, NULL);
  cl_map("memlock.map.64_pages_unlimited", c, CL_RW, CL_VA(buf, 0), 0x100000, 0x40000);
  cl_unmap("memlock.unmap.all_end", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
  teardown("memlock", g, c);
}

int main(int argc, char** argv) {
  const char* group_path;
  const char* bdf;
  cl_args(argc, argv, &group_path, &bdf);
  (void)bdf;
  buf = cl_alloc("buf", 0x100000, PROT_READ | PROT_WRITE, 0x5a);
  int g = cl_open("group.open", group_path);
  int c = setup("dirty", g);
  phase_dirty(c);
  teardown("dirty", g, c);
  c = setup("limit", g);
  phase_entry_limit(c);
  teardown("limit", g, c);
  phase_memlock(g);
  close(g);
  return 0;
}
