/*
 * Parity client (b): VFIO_IOMMU_MAP_DMA / VFIO_IOMMU_UNMAP_DMA on type1v2
 * and type1 (v1) containers: every error path reachable from userspace
 * (argsz, flags, alignment, overflow, aperture, reserved MSI window, overlap,
 * bad vaddr, permissions), v1's and v2's different partial-unmap rules,
 * VFIO_DMA_UNMAP_FLAG_ALL, and the VADDR update protocol
 * (VFIO_DMA_UNMAP_FLAG_VADDR / VFIO_DMA_MAP_FLAG_VADDR).
 *
 * The aperture ends at 2^39 or 2^48 depending on the VT-d width, so some
 * lines differ between the two recordings; that is the point of recording
 * both.
 *
 * Usage: map_unmap [/dev/vfio/GROUP [BDF]]. One line per call.
 */
#include "tests/kernel/clients/client_util.h"

static uint8_t* buf;   /* 1 MiB read/write */
static uint8_t* ro;    /* 4 pages read-only */
static uint8_t* hole;  /* 1 page, unmapped again */
static uint8_t* half;  /* 2 pages, the second unmapped again */

static int map_argsz(const char* name, int c, uint32_t argsz, uint32_t flags, uint64_t vaddr, uint64_t iova,
                     uint64_t size) {
  uint8_t raw[64];
  memset(raw, 0, sizeof(raw));
  struct vfio_iommu_type1_dma_map* m = (struct vfio_iommu_type1_dma_map*)raw;
  *m = (struct vfio_iommu_type1_dma_map){argsz, flags, vaddr, iova, size};
  int r = cl_ioctl(c, VFIO_IOMMU_MAP_DMA, raw);
  cl_line(name, r, errno, " argsz=%u flags=0x%x vaddr=%s iova=0x%llx size=0x%llx", argsz, flags, cl_vname(vaddr),
          (unsigned long long)iova, (unsigned long long)size);
  return r;
}

static int unmap_argsz(const char* name, int c, uint32_t argsz, uint32_t flags, uint64_t iova, uint64_t size) {
  uint8_t raw[64];
  memset(raw, 0, sizeof(raw));
  struct vfio_iommu_type1_dma_unmap* u = (struct vfio_iommu_type1_dma_unmap*)raw;
  *u = (struct vfio_iommu_type1_dma_unmap){argsz, flags, iova, size};
  int r = cl_ioctl(c, VFIO_IOMMU_UNMAP_DMA, raw);
  cl_line(name, r, errno, " argsz=%u flags=0x%x iova=0x%llx size=0x%llx out_argsz=%u out_size=0x%llx", argsz, flags,
          (unsigned long long)iova, (unsigned long long)size, u->argsz, (unsigned long long)u->size);
  return r;
}

/* A fresh container of `type` holding the group. */
static int setup(const char* prefix, int g, long type) {
  char name[64];
  snprintf(name, sizeof(name), "%s.container.open", prefix);
  int c = cl_open(name, "/dev/vfio/vfio");
  snprintf(name, sizeof(name), "%s.group.set_container", prefix);
  cl_set_container(name, g, c);
  snprintf(name, sizeof(name), "%s.container.set_iommu", prefix);
  cl_set_iommu(name, c, type);
  return c;
}

static void teardown(const char* prefix, int g, int c) {
  char name[64];
  snprintf(name, sizeof(name), "%s.group.unset_container", prefix);
  cl_simple(name, g, VFIO_GROUP_UNSET_CONTAINER);
  close(c);
}

static void v2_errors(int c) {
  const uint64_t b = CL_VA(buf, 0);
  map_argsz("v2.map.argsz_0", c, 0, CL_RW, b, 0x100000, CL_PAGE);
  map_argsz("v2.map.argsz_31", c, 31, CL_RW, b, 0x100000, CL_PAGE);
  map_argsz("v2.map.argsz_33", c, 33, CL_RW, b, 0x100000, CL_PAGE);
  map_argsz("v2.map.argsz_64", c, 64, CL_RW, b, 0x100000, CL_PAGE);
  cl_unmap("v2.unmap.argsz_64_cleanup", c, 0, 0x100000, CL_PAGE);
  int r = cl_ioctl(c, VFIO_IOMMU_MAP_DMA, (void*)8);
  cl_line("v2.map.bad_pointer", r, errno, NULL);
  for (int bit = 2; bit < 32; bit += 3) {
    char name[64];
    snprintf(name, sizeof(name), "v2.map.flag_bit%d", bit);
    cl_map(name, c, CL_RW | (1u << bit), b, 0x100000, CL_PAGE);
  }
  cl_map("v2.map.no_prot", c, 0, b, 0x100000, CL_PAGE);
  cl_map("v2.map.vaddr_flag_nothing_invalidated", c, VFIO_DMA_MAP_FLAG_VADDR, b, 0x100000, CL_PAGE);
  cl_map("v2.map.iova_unaligned_1", c, CL_RW, b, 0x100001, CL_PAGE);
  cl_map("v2.map.vaddr_unaligned_1", c, CL_RW, b + 1, 0x100000, CL_PAGE);
  cl_map("v2.map.size_unaligned_fff", c, CL_RW, b, 0x100000, 0xfff);
  cl_map("v2.map.size_0", c, CL_RW, b, 0x100000, 0);
  cl_map("v2.map.iova_overflow", c, CL_RW, b, 0xffffffffffffe000ULL, 0x4000);
  cl_map("v2.map.vaddr_overflow", c, CL_RW, 0xffffffffffffe000ULL, 0x100000, 0x4000);
  cl_map("v2.map.size_2_63", c, CL_RW, b, 0x100000, 0x8000000000000000ULL);
  cl_map("v2.map.half_unmapped", c, CL_RW, CL_VA(half, 0), 0x100000, 0x2000);
  cl_map("v2.map.hole", c, CL_RW, CL_VA(hole, 0), 0x100000, CL_PAGE);
  cl_map("v2.map.ro_rw", c, CL_RW, CL_VA(ro, 0), 0x100000, CL_PAGE);
  cl_map("v2.map.ro_read", c, VFIO_DMA_MAP_FLAG_READ, CL_VA(ro, 0), 0x100000, CL_PAGE);
  cl_map("v2.map.ro_write", c, VFIO_DMA_MAP_FLAG_WRITE, CL_VA(ro, 0x1000), 0x101000, CL_PAGE);
  cl_map("v2.map.aperture_last_page_39", c, CL_RW, b, 0x7ffffff000ULL, CL_PAGE);
  cl_map("v2.map.aperture_first_page_above_39", c, CL_RW, b, 0x8000000000ULL, CL_PAGE);
  cl_map("v2.map.aperture_last_page_48", c, CL_RW, b, 0xfffffffff000ULL, CL_PAGE);
  cl_map("v2.map.aperture_first_page_above_48", c, CL_RW, b, 0x1000000000000ULL, CL_PAGE);
  cl_map("v2.map.msi_inside", c, CL_RW, b, 0xfee80000, CL_PAGE);
  cl_map("v2.map.msi_overlap_end", c, CL_RW, b, 0xfeeff000, 0x2000);
  cl_map("v2.map.msi_cover_all", c, CL_RW, b, 0xfe000000, 0x2000000);
  cl_map("v2.map.just_below_msi", c, CL_RW, b, 0xfedf0000, 0x10000);
  cl_map("v2.map.just_above_msi", c, CL_RW, b, 0xfef00000, 0x10000);
  unmap_argsz("v2.unmap.argsz_0", c, 0, 0, 0xfedf0000, 0x10000);
  unmap_argsz("v2.unmap.argsz_23", c, 23, 0, 0xfedf0000, 0x10000);
  unmap_argsz("v2.unmap.argsz_25", c, 25, 0, 0xfedf0000, 0x10000);
  unmap_argsz("v2.unmap.argsz_32", c, 32, 0, 0xfedf0000, 0x10000);
  r = cl_ioctl(c, VFIO_IOMMU_UNMAP_DMA, (void*)8);
  cl_line("v2.unmap.bad_pointer", r, errno, NULL);
  cl_unmap("v2.unmap.flag_bit3", c, 0x8, 0xfef00000, 0x10000);
  cl_unmap("v2.unmap.flag_bit31", c, 0x80000000u, 0xfef00000, 0x10000);
  cl_unmap("v2.unmap.all_and_vaddr_nonzero", c, VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR, 0x1000, 0);
  cl_unmap("v2.unmap.iova_unaligned", c, 0, 0xfef00001, 0x10000);
  cl_unmap("v2.unmap.size_unaligned", c, 0, 0xfef00000, 0x10001);
  cl_unmap("v2.unmap.overflow", c, 0, 0xffffffffffff0000ULL, 0x20000);
  cl_unmap("v2.unmap.size_0", c, 0, 0xfef00000, 0);
  cl_unmap("v2.unmap.nothing_there", c, 0, 0x5000000, 0x10000);
  cl_unmap("v2.unmap.msi_window", c, 0, 0xfee00000, 0x100000);
  cl_unmap("v2.unmap.exact", c, 0, 0xfef00000, 0x10000);
}

static void v2_overlap_and_split(int c) {
  const uint64_t b = CL_VA(buf, 0);
  /* Three 4-page mappings at 0x1000000, 0x1004000 (adjacent), 0x1010000. */
  cl_map("v2.map.a", c, CL_RW, b, 0x1000000, 0x4000);
  cl_map("v2.map.b", c, CL_RW, CL_VA(buf, 0x4000), 0x1004000, 0x4000);
  cl_map("v2.map.c", c, CL_RW, CL_VA(buf, 0x8000), 0x1010000, 0x4000);
  cl_map("v2.map.overlap_a_tail", c, CL_RW, b, 0x1003000, 0x2000);
  cl_map("v2.map.overlap_inside_a", c, CL_RW, b, 0x1001000, CL_PAGE);
  cl_map("v2.map.overlap_around_all", c, CL_RW, b, 0xff0000, 0x40000);
  cl_map("v2.map.gap_between_b_and_c", c, CL_RW, b, 0x1008000, 0x8000);
  cl_unmap("v2.unmap.first_page_of_a", c, 0, 0x1000000, CL_PAGE);
  cl_unmap("v2.unmap.last_page_of_a", c, 0, 0x1003000, CL_PAGE);
  cl_unmap("v2.unmap.start_inside_a", c, 0, 0x1002000, 0x6000);
  cl_unmap("v2.unmap.end_inside_b", c, 0, 0x1000000, 0x6000);
  cl_unmap("v2.unmap.a_and_b", c, 0, 0x1000000, 0x8000);
  cl_unmap("v2.unmap.a_and_b_again", c, 0, 0x1000000, 0x8000);
  cl_unmap("v2.unmap.around_gap_and_c", c, 0, 0x1000000, 0x100000);
  cl_map("v2.map.after_unmap", c, CL_RW, b, 0x1000000, 0x4000);
  cl_map("v2.map.same_vaddr_twice", c, CL_RW, b, 0x2000000, 0x4000);
  cl_map("v2.map.large_256_pages", c, CL_RW, b, 0x4000000, 0x100000);
  cl_unmap("v2.unmap.all", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
  cl_unmap("v2.unmap.all_empty", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
  cl_unmap("v2.unmap.all_with_size", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0x1000);
  cl_unmap("v2.unmap.all_with_iova", c, VFIO_DMA_UNMAP_FLAG_ALL, 0x1000, 0);
}

static void v2_vaddr(int c) {
  const uint64_t b = CL_VA(buf, 0);
  cl_map("vaddr.map.a", c, CL_RW, b, 0x3000000, 0x4000);
  cl_map("vaddr.map.b", c, CL_RW, CL_VA(buf, 0x4000), 0x3004000, 0x4000);
  cl_unmap("vaddr.unmap_vaddr.partial", c, VFIO_DMA_UNMAP_FLAG_VADDR, 0x3000000, 0x2000);
  cl_unmap("vaddr.unmap_vaddr.nothing", c, VFIO_DMA_UNMAP_FLAG_VADDR, 0x5000000, 0x2000);
  cl_unmap("vaddr.unmap_vaddr.with_dirty", c, VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
           0x3000000, 0x4000);
  cl_unmap("vaddr.unmap_vaddr.a", c, VFIO_DMA_UNMAP_FLAG_VADDR, 0x3000000, 0x4000);
  cl_unmap("vaddr.unmap_vaddr.a_again", c, VFIO_DMA_UNMAP_FLAG_VADDR, 0x3000000, 0x4000);
  cl_map("vaddr.map.over_invalidated", c, CL_RW, CL_VA(buf, 0x10000), 0x3000000, 0x4000);
  cl_map("vaddr.map_vaddr.with_write", c, VFIO_DMA_MAP_FLAG_VADDR | VFIO_DMA_MAP_FLAG_WRITE, CL_VA(buf, 0x10000),
         0x3000000, 0x4000);
  cl_map("vaddr.map_vaddr.short", c, VFIO_DMA_MAP_FLAG_VADDR, CL_VA(buf, 0x10000), 0x3000000, 0x2000);
  cl_map("vaddr.map_vaddr.long", c, VFIO_DMA_MAP_FLAG_VADDR, CL_VA(buf, 0x10000), 0x3000000, 0x8000);
  cl_map("vaddr.map_vaddr.shifted", c, VFIO_DMA_MAP_FLAG_VADDR, CL_VA(buf, 0x10000), 0x3001000, 0x4000);
  cl_map("vaddr.map_vaddr.valid_b", c, VFIO_DMA_MAP_FLAG_VADDR, CL_VA(buf, 0x10000), 0x3004000, 0x4000);
  cl_map("vaddr.map_vaddr.a", c, VFIO_DMA_MAP_FLAG_VADDR, CL_VA(buf, 0x10000), 0x3000000, 0x4000);
  cl_map("vaddr.map_vaddr.a_again", c, VFIO_DMA_MAP_FLAG_VADDR, CL_VA(buf, 0x20000), 0x3000000, 0x4000);
  cl_unmap("vaddr.unmap_vaddr.a_and_b", c, VFIO_DMA_UNMAP_FLAG_VADDR, 0x3000000, 0x8000);
  cl_unmap("vaddr.unmap.invalidated", c, 0, 0x3004000, 0x4000);
  cl_map("vaddr.map_vaddr.a_after_both", c, VFIO_DMA_MAP_FLAG_VADDR, CL_VA(buf, 0x30000), 0x3000000, 0x4000);
  cl_map("vaddr.map.c", c, CL_RW, CL_VA(buf, 0x8000), 0x3010000, 0x4000);
  cl_unmap("vaddr.unmap_vaddr.all", c, VFIO_DMA_UNMAP_FLAG_VADDR | VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
  cl_map("vaddr.map_vaddr.c_after_all", c, VFIO_DMA_MAP_FLAG_VADDR, CL_VA(buf, 0x8000), 0x3010000, 0x4000);
  cl_map("vaddr.map_vaddr.a_after_all", c, VFIO_DMA_MAP_FLAG_VADDR, CL_VA(buf, 0x0), 0x3000000, 0x4000);
  cl_unmap("vaddr.unmap.all", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
}

static void v1(int c) {
  const uint64_t b = CL_VA(buf, 0);
  cl_map("v1.map.a", c, CL_RW, b, 0x1000000, 0x4000);
  cl_map("v1.map.b", c, CL_RW, CL_VA(buf, 0x4000), 0x1004000, 0x4000);
  cl_map("v1.map.duplicate", c, CL_RW, b, 0x1000000, 0x4000);
  cl_map("v1.map.overlap", c, CL_RW, b, 0x1002000, 0x4000);
  cl_map("v1.map.unaligned", c, CL_RW, b, 0x1100800, CL_PAGE);
  cl_map("v1.map.msi", c, CL_RW, b, 0xfee00000, CL_PAGE);
  cl_map("v1.map.aperture_first_page_above_39", c, CL_RW, b, 0x8000000000ULL, CL_PAGE);
  cl_map("v1.map.vaddr_flag", c, VFIO_DMA_MAP_FLAG_VADDR, b, 0x1000000, 0x4000);
  cl_unmap("v1.unmap.inside_a", c, 0, 0x1001000, 0x1000);
  cl_unmap("v1.unmap.start_inside_a", c, 0, 0x1002000, 0x4000);
  cl_unmap("v1.unmap.first_page_of_a", c, 0, 0x1000000, 0x1000);
  cl_unmap("v1.unmap.first_page_of_b_only", c, 0, 0x1004000, 0x1000);
  cl_unmap("v1.unmap.unaligned", c, 0, 0x1000800, 0x1000);
  cl_unmap("v1.unmap.size_0", c, 0, 0x1000000, 0);
  cl_unmap("v1.unmap.overflow", c, 0, 0xffffffffffff0000ULL, 0x20000);
  cl_unmap("v1.unmap.vaddr", c, VFIO_DMA_UNMAP_FLAG_VADDR, 0x1000000, 0x4000);
  cl_map("v1.map.c", c, CL_RW, CL_VA(buf, 0x8000), 0x1010000, 0x4000);
  cl_unmap("v1.unmap.all", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
  cl_unmap("v1.unmap.all_empty", c, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0);
  cl_map("v1.map.after_all", c, CL_RW, b, 0x1000000, 0x4000);
  cl_unmap("v1.unmap.superset", c, 0, 0x800000, 0x1000000);
}

int main(int argc, char** argv) {
  const char* group_path;
  const char* bdf;
  cl_args(argc, argv, &group_path, &bdf);
  (void)bdf;
  buf = cl_alloc("buf", 0x100000, PROT_READ | PROT_WRITE, 0x5a);
  ro = cl_alloc("ro", 0x4000, PROT_READ, 0x00);
  hole = cl_alloc("hole", CL_PAGE, PROT_READ | PROT_WRITE, 0x00);
  munmap(hole, CL_PAGE);
  half = cl_alloc("half", 2 * CL_PAGE, PROT_READ | PROT_WRITE, 0x00);
  munmap(half + CL_PAGE, CL_PAGE);

  int g = cl_open("group.open", group_path);
  int c = setup("v2", g, VFIO_TYPE1v2_IOMMU);
  v2_errors(c);
  v2_overlap_and_split(c);
  v2_vaddr(c);
  teardown("v2", g, c);

  c = setup("v1", g, VFIO_TYPE1_IOMMU);
  v1(c);
  teardown("v1", g, c);
  close(g);
  return 0;
}
