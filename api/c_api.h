/*
 * vfio-sim C API: a simulated machine for in-process C test suites (in the
 * style of DPDK's or SPDK's unit tests), without LD_PRELOAD.
 *
 * What it models: the same machine and uAPI as the C++ facade
 * (api/vfio_sim.h): open/close/ioctl/pread/pwrite/mmap on /dev/vfio paths with
 * the exact structs of <linux/vfio.h>, plus the test-only side door of
 * api/test_channel.h (DMA issued as a device of a group would issue it, the
 * fault records it leaves), the live DMA mappings, the RLIMIT_MEMLOCK limit
 * and fail-nth fault injection.
 *
 * Conventions: every call returns a non-negative result or -errno (like the
 * raw system calls; errno itself is never touched). Invalid arguments (a NULL
 * machine, NULL out pointers where one is required) give -EINVAL or -EFAULT,
 * never a crash. vfiosim_create returns NULL on error and
 * vfiosim_last_error() says why.
 *
 * fds are real kernel fds (memfd placeholders) owned by the machine: close
 * them with vfiosim_close (plain close(2) leaks the simulated file).
 * vfiosim_destroy closes whatever is still open and unmaps BAR mappings.
 *
 * mmap: BAR mappings as api/device_state.h "Mmap" describes them (window
 * pages shared with the device model, register pages a read-only mirror).
 *
 * Thread safety: every function may be called from any thread; one machine
 * may be used by several threads at once. vfiosim_fail_nth is process-wide
 * and meant for single-threaded test set-up.
 */
#ifndef VFIOSIM_API_C_API_H_
#define VFIOSIM_API_C_API_H_

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vfiosim_machine vfiosim_machine;

/* A DMA without a PASID. */
#define VFIOSIM_NO_PASID 0xffffffffu

/* ---- machines ---- */

/* `profile`: a uAPI profile name ("linux-6.1", "linux-6.18", "rfc-..."); NULL
 * or "" for the topology's own profile, else linux-6.1. `topology_json`: a
 * topology (sim/topology_loader.h format); NULL or "" for the built-in
 * default machine (edu 1234:11e8 at 0000:00:01.0 in IOMMU group 1, ...). */
vfiosim_machine* vfiosim_create(const char* profile, const char* topology_json);
void vfiosim_destroy(vfiosim_machine* m);
/* Why the last vfiosim_create on this thread failed ("" if it did not). */
const char* vfiosim_last_error(void);

/* ---- the uAPI ---- */

int vfiosim_open(vfiosim_machine* m, const char* path, int flags);
int vfiosim_close(vfiosim_machine* m, int fd);
/* `arg` is the ioctl's third argument: an integer or a pointer cast to uintptr_t. */
long vfiosim_ioctl(vfiosim_machine* m, int fd, unsigned long request, uintptr_t arg);
ssize_t vfiosim_pread(vfiosim_machine* m, int fd, void* buf, size_t count, off_t offset);
ssize_t vfiosim_pwrite(vfiosim_machine* m, int fd, const void* buf, size_t count, off_t offset);
/* mmap(2) of a device fd; the address goes to *out. 0 or -errno. */
int vfiosim_mmap(vfiosim_machine* m, void* addr, size_t length, int prot, int flags, int fd, off_t offset,
                 void** out);
/* munmap(2); a BAR mapping keeps its device open until it is unmapped here. */
int vfiosim_munmap(vfiosim_machine* m, void* addr, size_t length);

/* ---- test channel ---- */

/* One IOMMU fault, as struct iommu_fault_unrecoverable (seed 001 linux/iommu.h). */
struct vfiosim_fault {
  uint32_t reason; /* IOMMU_FAULT_REASON_*: 1 PASID_FETCH ... 8 OOR_ADDRESS */
  uint32_t pasid;
  uint8_t pasid_valid;
  uint8_t addr_valid;
  uint8_t fetch_addr_valid;
  uint8_t perm; /* 1 read, 2 write */
  uint64_t addr;
  uint64_t fetch_addr;
};

/* DMA by a device of IOMMU group `group` through its container's IOMMU, into
 * or out of this process's memory. 0, or -EFAULT with *fault filled (when
 * non-NULL) and nothing copied. `pasid`: VFIOSIM_NO_PASID or a PASID. */
int vfiosim_dma_read(vfiosim_machine* m, uint32_t group, uint64_t iova, void* dst, size_t len, uint32_t pasid,
                     struct vfiosim_fault* fault);
int vfiosim_dma_write(vfiosim_machine* m, uint32_t group, uint64_t iova, const void* src, size_t len,
                      uint32_t pasid, struct vfiosim_fault* fault);
/* Takes up to `max` recorded faults of `group` (test-channel DMA and the
 * group's device models), oldest first; the rest stay for the next call.
 * Returns the number copied. */
long vfiosim_read_faults(vfiosim_machine* m, uint32_t group, struct vfiosim_fault* out, size_t max);
/* "PTE_FETCH", "PERMISSION", ... */
const char* vfiosim_fault_reason_name(uint32_t reason);

/* One live DMA mapping (a successful VFIO_IOMMU_MAP_DMA). */
struct vfiosim_mapping {
  uint32_t container_id;
  uint32_t prot; /* 1 read, 2 write */
  uint64_t iova;
  uint64_t size;
  uint64_t vaddr;
};

/* The mappings of the container `group` is attached to, in IOVA order:
 * writes the first min(max, total) to `out` and returns the total (0 when the
 * group has no container with an IOMMU). */
long vfiosim_list_mappings(vfiosim_machine* m, uint32_t group, struct vfiosim_mapping* out, size_t max);

/* RLIMIT_MEMLOCK of the simulated process in bytes; 0 = unlimited (CAP_IPC_LOCK). */
int vfiosim_set_memlock_limit(vfiosim_machine* m, uint64_t bytes);

/* Fail-nth injection (core/fault_injection.h): the n-th fallible step of the
 * model from now on fails as the kernel would (ENOMEM for allocations);
 * n = 0 disarms. vfiosim_fail_nth_fired() tells whether it has fired. */
void vfiosim_fail_nth(uint64_t n);
int vfiosim_fail_nth_fired(void);

#ifdef __cplusplus
}
#endif

#endif /* VFIOSIM_API_C_API_H_ */
