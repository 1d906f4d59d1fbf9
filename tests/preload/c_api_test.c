/*
 * The C API (api/c_api.h) from a C program compiled with gcc: machine
 * lifetime and bad options, the canonical sequence, device regions and a
 * BAR mmap, DMA through the test channel with its fault records, the mapping
 * list, the memlock limit and fail-nth injection, and every error path with
 * its -errno.
 */
#include "api/c_api.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <sys/mman.h>

#include "tests/preload/check.h"

#define CHECK_EQ(a, b)                                                                              \
  do {                                                                                              \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b);                                 \
    if (check_a_ != check_b_) {                                                                     \
      fprintf(stderr, "%s:%d: %s == %s: %lld vs %lld\n", __FILE__, __LINE__, #a, #b, check_a_, check_b_); \
      exit(1);                                                                                      \
    }                                                                                               \
  } while (0)

static void bad_options(void) {
  CHECK(vfiosim_create("no-such-profile", NULL) == NULL);
  CHECK(strstr(vfiosim_last_error(), "unknown profile 'no-such-profile'") != NULL);
  CHECK(strstr(vfiosim_last_error(), "linux-6.1") != NULL); /* lists the known ones */
  CHECK(vfiosim_create(NULL, "{ not json") == NULL);
  CHECK(strstr(vfiosim_last_error(), "bad topology") != NULL);
  CHECK(vfiosim_create(NULL, "{\"bus\": [], \"typo\": 1}") == NULL);
  /* NULL machine: an error, not a crash. */
  CHECK_EQ(vfiosim_open(NULL, "/dev/vfio/vfio", O_RDWR), -EINVAL);
  CHECK_EQ(vfiosim_ioctl(NULL, 3, VFIO_GET_API_VERSION, 0), -EINVAL);
  CHECK_EQ(vfiosim_list_mappings(NULL, 1, NULL, 0), -EINVAL);
  vfiosim_destroy(NULL);
}

int main(void) {
  bad_options();
  vfiosim_machine* m = vfiosim_create("linux-6.1", NULL);
  CHECK(m != NULL);
  CHECK(strcmp(vfiosim_last_error(), "") == 0);

  CHECK_EQ(vfiosim_open(m, "/dev/vfio/99", O_RDWR), -ENOENT);
  CHECK_EQ(vfiosim_open(m, "/etc/passwd", O_RDONLY), -ENOENT);
  CHECK_EQ(vfiosim_ioctl(m, 9999, VFIO_GET_API_VERSION, 0), -EBADF);
  CHECK_EQ(vfiosim_close(m, 9999), -EBADF);

  int container = vfiosim_open(m, "/dev/vfio/vfio", O_RDWR);
  int group = vfiosim_open(m, "/dev/vfio/1", O_RDWR);
  CHECK(container >= 0 && group >= 0);
  CHECK_EQ(vfiosim_open(m, "/dev/vfio/1", O_RDWR), -EBUSY);
  CHECK_EQ(vfiosim_ioctl(m, container, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
  CHECK_EQ(vfiosim_ioctl(m, group, VFIO_GROUP_SET_CONTAINER, (uintptr_t)&container), 0);
  CHECK_EQ(vfiosim_ioctl(m, container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
  CHECK_EQ(vfiosim_list_mappings(m, 1, NULL, 0), 0);

  uint8_t* buf = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(buf != MAP_FAILED);
  struct vfio_iommu_type1_dma_map map = {sizeof(map), VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                         (uint64_t)(uintptr_t)buf, 0x100000, 4096};
  CHECK_EQ(vfiosim_ioctl(m, container, VFIO_IOMMU_MAP_DMA, (uintptr_t)&map), 0);
  CHECK_EQ(vfiosim_ioctl(m, container, VFIO_IOMMU_MAP_DMA, (uintptr_t)&map), -EEXIST);
  struct vfio_iommu_type1_dma_map ro = {sizeof(ro), VFIO_DMA_MAP_FLAG_READ, (uint64_t)(uintptr_t)(buf + 4096),
                                        0x200000, 4096};
  CHECK_EQ(vfiosim_ioctl(m, container, VFIO_IOMMU_MAP_DMA, (uintptr_t)&ro), 0);

  /* The mapping list. */
  struct vfiosim_mapping maps[4];
  CHECK_EQ(vfiosim_list_mappings(m, 1, maps, 4), 2);
  CHECK_EQ(maps[0].iova, 0x100000);
  CHECK_EQ(maps[0].size, 4096);
  CHECK_EQ(maps[0].vaddr, (uintptr_t)buf);
  CHECK_EQ(maps[0].prot, 3);
  CHECK_EQ(maps[1].prot, 1);
  CHECK_EQ(vfiosim_list_mappings(m, 1, maps, 1), 2); /* total even when max is smaller */
  CHECK_EQ(vfiosim_list_mappings(m, 1, NULL, 1), -EFAULT);
  CHECK_EQ(vfiosim_list_mappings(m, 42, maps, 4), 0); /* no such group */

  /* DMA through the IOMMU, as the group's device would issue it. */
  const char msg[] = "hello from the device";
  struct vfiosim_fault fault;
  CHECK_EQ(vfiosim_dma_write(m, 1, 0x100010, msg, sizeof(msg), VFIOSIM_NO_PASID, &fault), 0);
  CHECK(memcmp(buf + 0x10, msg, sizeof(msg)) == 0);
  char back[sizeof(msg)];
  CHECK_EQ(vfiosim_dma_read(m, 1, 0x100010, back, sizeof(back), VFIOSIM_NO_PASID, NULL), 0);
  CHECK(memcmp(back, msg, sizeof(msg)) == 0);
  /* Faults: unmapped IOVA, and a write into a read-only mapping. */
  CHECK_EQ(vfiosim_dma_write(m, 1, 0x300000, msg, sizeof(msg), VFIOSIM_NO_PASID, &fault), -EFAULT);
  CHECK(fault.addr_valid && fault.addr == 0x300000 && fault.perm == 2);
  CHECK_EQ(vfiosim_dma_write(m, 1, 0x200000, msg, sizeof(msg), VFIOSIM_NO_PASID, &fault), -EFAULT);
  CHECK(strcmp(vfiosim_fault_reason_name(fault.reason), "PERMISSION") == 0);
  CHECK(buf[4096] == 0); /* nothing written */
  struct vfiosim_fault faults[4];
  CHECK_EQ(vfiosim_read_faults(m, 1, faults, 1), 1); /* oldest first, the rest kept */
  CHECK_EQ(faults[0].addr, 0x300000);
  CHECK_EQ(vfiosim_read_faults(m, 1, faults, 4), 1);
  CHECK_EQ(faults[0].addr, 0x200000);
  CHECK_EQ(vfiosim_read_faults(m, 1, faults, 4), 0);
  CHECK_EQ(vfiosim_read_faults(m, 1, NULL, 4), -EFAULT);

  /* The device: info, config space by pread, BAR0 mmap. */
  int device = (int)vfiosim_ioctl(m, group, VFIO_GROUP_GET_DEVICE_FD, (uintptr_t) "0000:00:01.0");
  CHECK(device >= 0);
  struct vfio_region_info cfg = {.argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX};
  CHECK_EQ(vfiosim_ioctl(m, device, VFIO_DEVICE_GET_REGION_INFO, (uintptr_t)&cfg), 0);
  uint32_t ids = 0;
  CHECK_EQ(vfiosim_pread(m, device, &ids, 4, (off_t)cfg.offset), 4);
  CHECK_EQ(ids, 0x11e81234);
  CHECK_EQ(vfiosim_pwrite(m, device, &ids, 4, (off_t)99 << 40), -EINVAL);
  void* bar = NULL;
  CHECK_EQ(vfiosim_mmap(m, NULL, 4096, PROT_READ, MAP_SHARED, device, 0, &bar), 0);
  CHECK_EQ(*(volatile uint32_t*)bar, 0x010000ed);
  CHECK_EQ(vfiosim_mmap(m, NULL, 4096, PROT_READ, MAP_SHARED, device, 0, NULL), -EFAULT);
  CHECK_EQ(vfiosim_mmap(m, NULL, 4096, PROT_READ, MAP_SHARED, container, 0, &bar) , -ENODEV);
  CHECK_EQ(vfiosim_munmap(m, bar, 4096), 0);
  CHECK_EQ(vfiosim_close(m, device), 0);

  /* RLIMIT_MEMLOCK: two pages already pinned, a limit of two pages refuses a third. */
  CHECK_EQ(vfiosim_set_memlock_limit(m, 2 * 4096), 0);
  struct vfio_iommu_type1_dma_map more = {sizeof(more), VFIO_DMA_MAP_FLAG_READ, (uint64_t)(uintptr_t)buf,
                                          0x400000, 4096};
  CHECK_EQ(vfiosim_ioctl(m, container, VFIO_IOMMU_MAP_DMA, (uintptr_t)&more), -ENOMEM);
  CHECK_EQ(vfiosim_set_memlock_limit(m, 0), 0);
  CHECK_EQ(vfiosim_ioctl(m, container, VFIO_IOMMU_MAP_DMA, (uintptr_t)&more), 0);

  /* Fail-nth: the next allocation fails with ENOMEM, and the state is unchanged. */
  more.iova = 0x500000;
  vfiosim_fail_nth(1);
  CHECK_EQ(vfiosim_ioctl(m, container, VFIO_IOMMU_MAP_DMA, (uintptr_t)&more), -ENOMEM);
  CHECK(vfiosim_fail_nth_fired());
  vfiosim_fail_nth(0);
  CHECK_EQ(vfiosim_list_mappings(m, 1, maps, 4), 3);
  CHECK_EQ(vfiosim_ioctl(m, container, VFIO_IOMMU_MAP_DMA, (uintptr_t)&more), 0);

  /* Destroy with fds still open: everything is released. */
  vfiosim_destroy(m);

  /* A second machine from a topology text, with its own profile. */
  const char* topo =
      "{\"profile\": \"linux-6.18\", \"bus\": [{\"bus_id\": \"0000:00\", \"devices\": ["
      "{\"address\": \"0000:00:02.0\", \"vendor\": \"0x1234\", \"device\": \"0x11e8\", \"class\": \"0x00ff00\","
      " \"model\": \"edu\", \"group\": 7}]}]}";
  m = vfiosim_create(NULL, topo);
  if (m == NULL) fprintf(stderr, "create: %s\n", vfiosim_last_error());
  CHECK(m != NULL);
  CHECK_EQ(vfiosim_open(m, "/dev/vfio/1", O_RDWR), -ENOENT);
  group = vfiosim_open(m, "/dev/vfio/7", O_RDWR);
  CHECK(group >= 0);
  CHECK_EQ(vfiosim_close(m, group), 0);
  vfiosim_destroy(m);
  printf("c_api_test: OK\n");
  return 0;
}
