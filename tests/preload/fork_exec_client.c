/*
 * What the shim documents for fork and exec (api/preload/shim.h):
 *  - fork: the child inherits the fds and a copy of the simulator as it was
 *    at fork time; its vfio fds keep working against that copy, and the two
 *    copies diverge afterwards (a mapping the child makes is not the
 *    parent's).
 *  - exec: the shim's state does not survive. CLOEXEC placeholders (device
 *    fds always) are gone; a non-CLOEXEC placeholder survives as a plain fd
 *    the new image's shim does not know (ioctl: ENOTTY); /dev/vfio works
 *    afresh in the new image.
 */
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/preload/check.h"

static int map(int container, void* buf, uint64_t iova) {
  struct vfio_iommu_type1_dma_map m = {sizeof(m), VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                       (uint64_t)(uintptr_t)buf, iova, 4096};
  return ioctl(container, VFIO_IOMMU_MAP_DMA, &m);
}

static int after_exec(int container, int device) {
  /* The device fd was O_CLOEXEC: gone. */
  CHECK_ERRNO(fcntl(device, F_GETFD), EBADF);
  /* The container placeholder survived exec, but only as a plain fd. */
  CHECK(fcntl(container, F_GETFD) == 0);
  CHECK_ERRNO(ioctl(container, VFIO_GET_API_VERSION), ENOTTY);
  CHECK(close(container) == 0);
  /* A fresh simulator: the group is free again in this image. */
  int c = open("/dev/vfio/vfio", O_RDWR);
  int g = open("/dev/vfio/1", O_RDWR);
  CHECK(c >= 0 && g >= 0);
  CHECK(ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) == 0);
  CHECK(close(g) == 0 && close(c) == 0);
  printf("fork_exec_client: exec'd image OK\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "--after-exec") == 0) return after_exec(atoi(argv[2]), atoi(argv[3]));

  int container = open("/dev/vfio/vfio", O_RDWR); /* no O_CLOEXEC: survives exec */
  int group = open("/dev/vfio/1", O_RDWR | O_CLOEXEC);
  CHECK(container >= 0 && group >= 0);
  CHECK(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0);
  CHECK(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);
  void* buf = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(buf != MAP_FAILED);
  CHECK(map(container, buf, 0x100000) == 0);
  int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:00:01.0");
  CHECK(device >= 0);

  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    /* The child's copy: the parent's mapping is there, fds work. */
    if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) _exit(10);
    if (map(container, buf, 0x100000) != -1 || errno != EEXIST) _exit(11);
    if (map(container, (char*)buf + 4096, 0x200000) != 0) _exit(12);
    struct vfio_device_info info = {.argsz = sizeof(info)};
    if (ioctl(device, VFIO_DEVICE_GET_INFO, &info) != 0) _exit(13);
    if (close(device) != 0) _exit(14);
    exit(0);
  }
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  /* Diverged: the child's mapping is not in the parent's copy, and the
     child's close did not close the parent's device fd. */
  CHECK(map(container, (char*)buf + 4096, 0x200000) == 0);
  struct vfio_device_info info = {.argsz = sizeof(info)};
  CHECK(ioctl(device, VFIO_DEVICE_GET_INFO, &info) == 0);

  char cfd[16], dfd[16];
  snprintf(cfd, sizeof(cfd), "%d", container);
  snprintf(dfd, sizeof(dfd), "%d", device);
  printf("fork_exec_client: fork OK, exec'ing\n");
  fflush(stdout);
  execl("/proc/self/exe", argv[0], "--after-exec", cfd, dfd, (char*)NULL);
  perror("execl");
  return 1;
}
