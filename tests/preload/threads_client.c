/*
 * The shim from several threads at once: each thread opens containers,
 * dup()s and closes them, runs ioctls on its own container, reads sysfs files
 * and scans a directory, while the main thread maps and unmaps on a shared
 * container. Every call must give the single-threaded answer; fd numbers are
 * reused constantly, so a stale entry in the shim's fd table would show up
 * as a wrong answer (ENOTTY, EBADF, or a sysfs read returning vfio data).
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/preload/check.h"

#define THREADS 4
#define ROUNDS 200

static void* worker(void* arg) {
  (void)arg;
  for (int i = 0; i < ROUNDS; ++i) {
    int c = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    CHECK(c >= 0);
    int d = dup(c);
    CHECK(d >= 0);
    CHECK(ioctl(d, VFIO_GET_API_VERSION) == VFIO_API_VERSION);
    CHECK(close(c) == 0);
    CHECK(ioctl(d, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1);
    CHECK(close(d) == 0);

    int v = open("/sys/bus/pci/devices/0000:00:01.0/vendor", O_RDONLY);
    CHECK(v >= 0);
    char text[16] = {0};
    CHECK(read(v, text, sizeof(text) - 1) == 7 && strcmp(text, "0x1234\n") == 0);
    CHECK_ERRNO(ioctl(v, VFIO_GET_API_VERSION), ENOTTY);
    CHECK(close(v) == 0);

    int p = open("/proc/self/stat", O_RDONLY); /* a host file reusing the numbers */
    CHECK(p >= 0);
    CHECK(read(p, text, 4) == 4);
    CHECK_ERRNO(ioctl(p, VFIO_GET_API_VERSION), ENOTTY);
    CHECK(close(p) == 0);

    DIR* dir = opendir("/sys/kernel/iommu_groups/1/devices");
    CHECK(dir != NULL);
    int n = 0;
    while (readdir(dir) != NULL) ++n;
    CHECK(n == 3); /* ".", "..", the edu device */
    CHECK(closedir(dir) == 0);
  }
  return NULL;
}

int main(void) {
  int container = open("/dev/vfio/vfio", O_RDWR);
  int group = open("/dev/vfio/1", O_RDWR);
  CHECK(container >= 0 && group >= 0);
  CHECK(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0);
  CHECK(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);
  void* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(page != MAP_FAILED);

  pthread_t threads[THREADS];
  for (int t = 0; t < THREADS; ++t) CHECK(pthread_create(&threads[t], NULL, worker, NULL) == 0);
  for (int i = 0; i < ROUNDS * 4; ++i) {
    struct vfio_iommu_type1_dma_map map = {sizeof(map), VFIO_DMA_MAP_FLAG_READ, (uint64_t)(uintptr_t)page,
                                           0x100000 + (uint64_t)(i % 16) * 4096, 4096};
    CHECK(ioctl(container, VFIO_IOMMU_MAP_DMA, &map) == 0);
    struct vfio_iommu_type1_dma_unmap unmap = {sizeof(unmap), 0, map.iova, 4096};
    CHECK(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) == 0 && unmap.size == 4096);
  }
  for (int t = 0; t < THREADS; ++t) CHECK(pthread_join(threads[t], NULL) == 0);
  CHECK(close(group) == 0 && close(container) == 0);
  printf("threads_client: %d threads x %d rounds: OK\n", THREADS, ROUNDS);
  return 0;
}
