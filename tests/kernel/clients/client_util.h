/*
 * Helpers shared by the parity clients: the transcript line format
 * (`name ret=R errno=E key=value ...`, see ../testdata and
 * ../../../../shared/spec/kernel-transcripts/README.md), named buffers so no
 * raw address is ever printed, and the two process-level knobs the limits
 * tests need (CAP_IPC_LOCK and RLIMIT_MEMLOCK).
 *
 * Every client is a plain C program using real syscalls through libc
 * (open/ioctl/close/pread/pwrite/mmap/eventfd/capset/setrlimit), so the same
 * source runs on a real kernel (tests/kernel/vm/run_in_vm.sh), under the
 * preload shim, and in-process against vfio-sim (sim_shim.h remaps those
 * libc calls). Output must be deterministic: no addresses, no timings.
 *
 * Header-only (static functions): each client is one translation unit.
 */
#ifndef VFIOSIM_TESTS_KERNEL_CLIENTS_CLIENT_UTIL_H_
#define VFIOSIM_TESTS_KERNEL_CLIENTS_CLIENT_UTIL_H_

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

/* glibc exports capset but declares it nowhere (libcap does). */
extern int capset(cap_user_header_t header, const cap_user_data_t data);
extern int capget(cap_user_header_t header, cap_user_data_t data);

#define CL_PAGE 0x1000UL
#define CL_FILL 0xa5
#define CL_RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

static inline const char* cl_errname(int e) {
  if (e == 0) return "0";
  const char* n = strerrorname_np(e);
  return n ? n : "E?";
}

/* `name ret=R errno=E` then printf-style fields (each starting with a space). */
static inline void cl_line(const char* name, long ret, int err, const char* fmt, ...) {
  printf("%s ret=%ld errno=%s", name, ret, ret < 0 ? cl_errname(err) : "0");
  if (fmt != NULL && fmt[0] != '\0') {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
  }
  putchar('\n');
}

/* For calls that return an fd: `ret=fd` instead of the number. */
static inline void cl_fd_line(const char* name, int ret, int err, const char* fields) {
  if (ret >= 0) printf("%s ret=fd errno=0%s\n", name, fields ? fields : "");
  else printf("%s ret=%d errno=%s%s\n", name, ret, cl_errname(err), fields ? fields : "");
}

/* An ioctl with errno cleared first, so a stale errno never shows up. */
static inline int cl_ioctl(int fd, unsigned long request, void* arg) {
  errno = 0;
  return ioctl(fd, request, arg);
}
static inline int cl_ioctl_val(int fd, unsigned long request, unsigned long arg) {
  errno = 0;
  return ioctl(fd, request, arg);
}

/* ---- named buffers ---- */

#define CL_MAX_BUFS 16
struct cl_buf {
  const char* name;
  uint8_t* base;
  size_t size;
};
static struct cl_buf cl_bufs[CL_MAX_BUFS];
static int cl_nbufs;

/* mmap'd anonymous memory, filled with `fill`, remembered under `name`. */
static inline uint8_t* cl_alloc(const char* name, size_t size, int prot, int fill) {
  uint8_t* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    fprintf(stderr, "mmap %s failed\n", name);
    exit(2);
  }
  memset(p, fill, size);
  if (prot != (PROT_READ | PROT_WRITE)) mprotect(p, size, prot);
  if (cl_nbufs < CL_MAX_BUFS) cl_bufs[cl_nbufs++] = (struct cl_buf){name, p, size};
  return p;
}

/* "buf", "buf+0x1000", or the number itself for addresses that are no buffer. */
static inline const char* cl_vname(uint64_t va) {
  static char text[4][64];
  static int slot;
  char* out = text[slot++ % 4];
  for (int i = 0; i < cl_nbufs; ++i) {
    uint64_t base = (uint64_t)(uintptr_t)cl_bufs[i].base;
    if (va >= base && va <= base + cl_bufs[i].size) {
      if (va == base) snprintf(out, 64, "%s", cl_bufs[i].name);
      else snprintf(out, 64, "%s+0x%llx", cl_bufs[i].name, (unsigned long long)(va - base));
      return out;
    }
  }
  snprintf(out, 64, "0x%llx", (unsigned long long)va);
  return out;
}

#define CL_VA(ptr, off) ((uint64_t)(uintptr_t)(ptr) + (off))

/* ---- common calls ---- */

static inline int cl_open(const char* name, const char* path) {
  errno = 0;
  int fd = open(path, O_RDWR);
  cl_fd_line(name, fd, errno, NULL);
  return fd;
}

static inline int cl_set_iommu(const char* name, int container, long type) {
  int r = cl_ioctl_val(container, VFIO_SET_IOMMU, (unsigned long)type);
  cl_line(name, r, errno, " type=%ld", type);
  return r;
}

static inline int cl_set_container(const char* name, int group, int container) {
  int r = cl_ioctl(group, VFIO_GROUP_SET_CONTAINER, &container);
  cl_line(name, r, errno, NULL);
  return r;
}

static inline int cl_simple(const char* name, int fd, unsigned long request) {
  int r = cl_ioctl_val(fd, request, 0);
  cl_line(name, r, errno, NULL);
  return r;
}

/* MAP_DMA with argsz 32; `written_back` says whether the kernel wrote into the struct. */
static inline int cl_map(const char* name, int container, uint32_t flags, uint64_t vaddr, uint64_t iova,
                         uint64_t size) {
  struct vfio_iommu_type1_dma_map m = {sizeof(m), flags, vaddr, iova, size};
  struct vfio_iommu_type1_dma_map before = m;
  int r = cl_ioctl(container, VFIO_IOMMU_MAP_DMA, &m);
  cl_line(name, r, errno, " flags=0x%x vaddr=%s iova=0x%llx size=0x%llx written_back=%s", flags, cl_vname(vaddr),
          (unsigned long long)iova, (unsigned long long)size, memcmp(&before, &m, sizeof(m)) ? "yes" : "no");
  return r;
}

/* UNMAP_DMA with argsz 24; prints what the kernel wrote back. */
static inline int cl_unmap(const char* name, int container, uint32_t flags, uint64_t iova, uint64_t size) {
  struct vfio_iommu_type1_dma_unmap u = {sizeof(u), flags, iova, size};
  int r = cl_ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u);
  cl_line(name, r, errno, " flags=0x%x iova=0x%llx size=0x%llx out_flags=0x%x out_iova=0x%llx out_size=0x%llx",
          flags, (unsigned long long)iova, (unsigned long long)size, u.flags, (unsigned long long)u.iova,
          (unsigned long long)u.size);
  return r;
}

/* GET_INFO's dma_avail capability (-1 when absent or on error). */
static inline long cl_dma_avail(int container) {
  uint8_t raw[4096];
  memset(raw, 0, sizeof(raw));
  struct vfio_iommu_type1_info* in = (struct vfio_iommu_type1_info*)raw;
  in->argsz = sizeof(raw);
  if (ioctl(container, VFIO_IOMMU_GET_INFO, raw) != 0 || !(in->flags & VFIO_IOMMU_INFO_CAPS)) return -1;
  for (uint32_t off = in->cap_offset; off != 0 && off + 8 <= sizeof(raw);) {
    struct vfio_info_cap_header h;
    memcpy(&h, raw + off, sizeof(h));
    if (h.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
      struct vfio_iommu_type1_info_dma_avail c;
      memcpy(&c, raw + off, sizeof(c));
      return c.avail;
    }
    off = h.next;
  }
  return -1;
}

/* ---- process limits ---- */

/* Clears CAP_IPC_LOCK from the effective set: from now on RLIMIT_MEMLOCK
 * applies to pinned DMA memory (vfio_pin_pages_remote checks capable()). */
static inline int cl_drop_cap_ipc_lock(void) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof(d));
  if (capget(&h, d) != 0) return -1;
  d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
  return capset(&h, d);
}

static inline int cl_set_memlock(uint64_t bytes) {
  struct rlimit r = {bytes, bytes};
  return setrlimit(RLIMIT_MEMLOCK, &r);
}

/* argv[1] group path, argv[2] device name; defaults: the reference VM's. */
static inline void cl_args(int argc, char** argv, const char** group, const char** bdf) {
  *group = argc > 1 ? argv[1] : "/dev/vfio/1";
  *bdf = argc > 2 ? argv[2] : "0000:00:01.0";
  setvbuf(stdout, NULL, _IOLBF, 0);
}

#endif /* VFIOSIM_TESTS_KERNEL_CLIENTS_CLIENT_UTIL_H_ */
