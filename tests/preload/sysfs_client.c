/*
 * Finds its device the way DPDK-style clients do: scan /sys/bus/pci/devices
 * for a vendor:device pair, follow iommu_group to the group number, check the
 * driver is vfio-pci, read the group's reserved regions, then open
 * /dev/vfio/<group> and attach it. Exercises opendir/readdir, fopen/fscanf,
 * open/read/pread, readlink, realpath, stat/lstat/access, scandir, dirfd +
 * openat relative to a simulated directory, and that host paths still work.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tests/preload/check.h"

#define SYS_DEVICES "/sys/bus/pci/devices"

static unsigned read_hex(const char* dir, const char* name) {
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/%s/%s", SYS_DEVICES, dir, name);
  FILE* f = fopen(path, "r");
  CHECK(f != NULL);
  unsigned v = 0;
  CHECK(fscanf(f, "%x", &v) == 1);
  fclose(f);
  return v;
}

static void read_text(const char* path, char* out, size_t n) {
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0);
  ssize_t r = read(fd, out, n - 1);
  CHECK(r >= 0);
  out[r] = '\0';
  CHECK(close(fd) == 0);
}

static int find_device(unsigned vendor, unsigned device, char* bdf, size_t n) {
  DIR* d = opendir(SYS_DEVICES);
  CHECK(d != NULL);
  int found = 0, seen = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    ++seen;
    if (read_hex(e->d_name, "vendor") == vendor && read_hex(e->d_name, "device") == device) {
      snprintf(bdf, n, "%s", e->d_name);
      found = 1;
    }
  }
  CHECK(closedir(d) == 0);
  CHECK(seen >= 1);
  return found;
}

static int only_bdfs(const struct dirent* e) { return e->d_name[0] != '.'; }

int main(void) {
  char bdf[64], path[PATH_MAX], link[PATH_MAX], text[4096];
  CHECK(find_device(0x1234, 0x11e8, bdf, sizeof(bdf)));
  CHECK(strcmp(bdf, "0000:00:01.0") == 0);
  CHECK(!find_device(0xdead, 0xbeef, text, sizeof(text)));

  /* iommu_group -> ../../../kernel/iommu_groups/N */
  snprintf(path, sizeof(path), "%s/%s/iommu_group", SYS_DEVICES, bdf);
  ssize_t len = readlink(path, link, sizeof(link) - 1);
  CHECK(len > 0);
  link[len] = '\0';
  CHECK(strcmp(link, "../../../kernel/iommu_groups/1") == 0);
  int group_id = atoi(basename(link));
  CHECK(group_id == 1);
  char* real = realpath(path, NULL);
  CHECK(real != NULL && strcmp(real, "/sys/kernel/iommu_groups/1") == 0);
  free(real);
  CHECK(realpath(SYS_DEVICES "/0000:00:01.0", link) == link);
  CHECK(strcmp(link, "/sys/devices/pci0000:00/0000:00:01.0") == 0);

  /* driver -> .../vfio-pci, and the driver lists the device */
  snprintf(path, sizeof(path), "%s/%s/driver", SYS_DEVICES, bdf);
  len = readlink(path, link, sizeof(link) - 1);
  CHECK(len > 0);
  link[len] = '\0';
  CHECK(strcmp(basename(link), "vfio-pci") == 0);
  struct stat st;
  snprintf(path, sizeof(path), "/sys/bus/pci/drivers/vfio-pci/%s", bdf);
  CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
  CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));

  /* identity files */
  CHECK(read_hex(bdf, "class") == 0x00ff00);
  CHECK(read_hex(bdf, "revision") == 0x10);
  CHECK(read_hex(bdf, "subsystem_vendor") == 0x1af4);
  CHECK(read_hex(bdf, "subsystem_device") == 0x1100);
  snprintf(path, sizeof(path), "%s/%s/numa_node", SYS_DEVICES, bdf);
  read_text(path, text, sizeof(text));
  CHECK(strcmp(text, "-1\n") == 0);
  snprintf(path, sizeof(path), "%s/%s/resource", SYS_DEVICES, bdf);
  read_text(path, text, sizeof(text));
  unsigned long long start, end, flags;
  CHECK(sscanf(text, "0x%llx 0x%llx 0x%llx", &start, &end, &flags) == 3);
  CHECK(end - start + 1 == 1 << 20); /* edu BAR0: 1 MiB */

  /* config: binary, 256 bytes, read with pread */
  snprintf(path, sizeof(path), "%s/%s/config", SYS_DEVICES, bdf);
  int cfg = open(path, O_RDONLY | O_CLOEXEC);
  CHECK(cfg >= 0);
  uint16_t ids[2];
  CHECK(pread(cfg, ids, sizeof(ids), 0) == sizeof(ids));
  CHECK(ids[0] == 0x1234 && ids[1] == 0x11e8);
  CHECK(fstat(cfg, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 256);
  CHECK(close(cfg) == 0);

  /* The group's reserved regions, in the kernel's format. */
  snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/reserved_regions", group_id);
  read_text(path, text, sizeof(text));
  CHECK(strstr(text, "0x00000000fee00000 0x00000000feefffff msi\n") != NULL);

  /* The group lists its devices (scandir, sorted). */
  struct dirent** names = NULL;
  snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices", group_id);
  int n = scandir(path, &names, only_bdfs, alphasort);
  CHECK(n == 1 && strcmp(names[0]->d_name, bdf) == 0);
  for (int i = 0; i < n; ++i) free(names[i]);
  free(names);

  /* openat relative to a simulated directory, via dirfd(). */
  snprintf(path, sizeof(path), "%s/%s", SYS_DEVICES, bdf);
  DIR* dev_dir = opendir(path);
  CHECK(dev_dir != NULL);
  int vfd = openat(dirfd(dev_dir), "vendor", O_RDONLY);
  CHECK(vfd >= 0);
  char vendor[16] = {0};
  CHECK(read(vfd, vendor, sizeof(vendor) - 1) == 7 && strcmp(vendor, "0x1234\n") == 0);
  CHECK(close(vfd) == 0);
  CHECK(fstatat(dirfd(dev_dir), "iommu_group", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
  CHECK(closedir(dev_dir) == 0);

  /* /dev/vfio nodes */
  snprintf(path, sizeof(path), "/dev/vfio/%d", group_id);
  CHECK(stat(path, &st) == 0 && S_ISCHR(st.st_mode));
  CHECK(access(path, R_OK | W_OK) == 0);
  CHECK(stat("/dev/vfio/vfio", &st) == 0 && S_ISCHR(st.st_mode));
  CHECK(major(st.st_rdev) == 10 && minor(st.st_rdev) == 196);
  CHECK(stat("/dev/vfio", &st) == 0 && S_ISDIR(st.st_mode));

  /* Host paths are untouched. */
  int self = open("/proc/self/status", O_RDONLY);
  CHECK(self >= 0 && read(self, text, 16) == 16 && close(self) == 0);
  CHECK(stat("/proc/self", &st) == 0);

  /* And the discovered group is the one /dev/vfio opens. */
  int container = open("/dev/vfio/vfio", O_RDWR);
  int group = open(path, O_RDWR);
  CHECK(container >= 0 && group >= 0);
  CHECK(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0);
  CHECK(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0);
  int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
  CHECK(device >= 0);
  CHECK(close(device) == 0 && close(group) == 0 && close(container) == 0);
  printf("sysfs_client: found %s in group %d\n", bdf, group_id);
  return 0;
}
