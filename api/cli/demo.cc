#include "api/cli/demo.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "api/vfio_sim.h"

namespace vfiosim::api {
namespace {

class Steps {
 public:
  explicit Steps(std::FILE* out) : out_(out) {}
  // Prints one step; `ok` says whether the result is what a client expects.
  void Print(const char* what, long result, bool ok, const std::string& detail = "") {
    std::fprintf(out_, "%-44s = %-4ld %s%s%s\n", what, result, ok ? "ok" : "UNEXPECTED",
                 detail.empty() ? "" : "  ", detail.c_str());
    if (!ok) failed_ = true;
  }
  void Section(const char* title) { std::fprintf(out_, "\n== %s\n", title); }
  bool failed() const { return failed_; }

 private:
  std::FILE* out_;
  bool failed_ = false;
};

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Err(long r) { return r < 0 ? std::string(strerrorname_np(static_cast<int>(-r))) : ""; }

}  // namespace

int RunDemo(const DemoOptions& options, std::FILE* out) {
  const Profile* profile = FindProfile(options.profile);
  if (profile == nullptr) {
    std::fprintf(stderr, "vfiosim demo: unknown profile '%s'\n", options.profile.c_str());
    return 2;
  }
  VfioSimOptions sim_options;
  sim_options.profile = profile;
  VfioSim sim(sim_options);
  Steps steps(out);
  std::fprintf(out, "vfio-sim demo: profile %s, default machine (Intel VT-d, 48-bit, edu at 0000:00:01.0 in group 1)\n",
               profile->name.data());

  steps.Section("container");
  long container = sim.OpenErrno("/dev/vfio/vfio", O_RDWR);
  steps.Print("open(\"/dev/vfio/vfio\")", container, container >= 0, "container fd");
  long r = sim.IoctlErrno(static_cast<int>(container), VFIO_GET_API_VERSION);
  steps.Print("VFIO_GET_API_VERSION", r, r == VFIO_API_VERSION);
  r = sim.IoctlErrno(static_cast<int>(container), VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);
  steps.Print("VFIO_CHECK_EXTENSION(VFIO_TYPE1v2_IOMMU)", r, r == 1);

  steps.Section("group");
  long group = sim.OpenErrno("/dev/vfio/1", O_RDWR);
  steps.Print("open(\"/dev/vfio/1\")", group, group >= 0, "group fd");
  vfio_group_status status{};
  status.argsz = sizeof(status);
  r = sim.IoctlErrno(static_cast<int>(group), VFIO_GROUP_GET_STATUS, reinterpret_cast<uintptr_t>(&status));
  steps.Print("VFIO_GROUP_GET_STATUS", r, r == 0 && status.flags == VFIO_GROUP_FLAGS_VIABLE,
              "flags=" + Hex(status.flags) + " (VIABLE)");
  int container_fd = static_cast<int>(container);
  r = sim.IoctlErrno(static_cast<int>(group), VFIO_GROUP_SET_CONTAINER,
                     reinterpret_cast<uintptr_t>(&container_fd));
  steps.Print("VFIO_GROUP_SET_CONTAINER", r, r == 0);
  r = sim.IoctlErrno(static_cast<int>(container), VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
  steps.Print("VFIO_SET_IOMMU(VFIO_TYPE1v2_IOMMU)", r, r == 0);
  r = sim.IoctlErrno(static_cast<int>(group), VFIO_GROUP_GET_STATUS, reinterpret_cast<uintptr_t>(&status));
  steps.Print("VFIO_GROUP_GET_STATUS", r, r == 0 && status.flags == 3,
              "flags=" + Hex(status.flags) + " (VIABLE|CONTAINER_SET)");

  steps.Section("IOMMU");
  std::vector<uint8_t> info_buf(256);
  auto* info = reinterpret_cast<vfio_iommu_type1_info*>(info_buf.data());
  info->argsz = static_cast<uint32_t>(info_buf.size());
  r = sim.IoctlErrno(static_cast<int>(container), VFIO_IOMMU_GET_INFO, reinterpret_cast<uintptr_t>(info));
  steps.Print("VFIO_IOMMU_GET_INFO", r, r == 0,
              "iova_pgsizes=" + Hex(info->iova_pgsizes) + " cap_offset=" + Hex(info->cap_offset));
  for (uint32_t off = info->cap_offset; r == 0 && off != 0 && off + 8 <= info_buf.size();) {
    vfio_info_cap_header header;
    std::memcpy(&header, info_buf.data() + off, sizeof(header));
    if (header.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE && profile->cap_iova_range) {
      vfio_iommu_type1_info_cap_iova_range cap;
      std::memcpy(&cap, info_buf.data() + off, sizeof(cap));
      for (uint32_t i = 0; i < cap.nr_iovas; ++i) {
        vfio_iova_range range;
        std::memcpy(&range, info_buf.data() + off + sizeof(cap) + i * sizeof(range), sizeof(range));
        std::fprintf(out, "    valid IOVA range %s - %s\n", Hex(range.start).c_str(), Hex(range.end).c_str());
      }
    }
    off = header.next;
  }
  void* buffer = mmap(nullptr, 0x200000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof(map);
  map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  map.vaddr = reinterpret_cast<uint64_t>(buffer);
  map.iova = 0x100000;
  map.size = 0x200000;
  r = sim.IoctlErrno(static_cast<int>(container), VFIO_IOMMU_MAP_DMA, reinterpret_cast<uintptr_t>(&map));
  steps.Print("VFIO_IOMMU_MAP_DMA iova 0x100000 size 2 MiB", r, r == 0);
  r = sim.IoctlErrno(static_cast<int>(container), VFIO_IOMMU_MAP_DMA, reinterpret_cast<uintptr_t>(&map));
  steps.Print("VFIO_IOMMU_MAP_DMA same range again", r, r == -EEXIST, Err(r));
  map.iova = 0xFEE00000;
  map.size = 0x1000;
  r = sim.IoctlErrno(static_cast<int>(container), VFIO_IOMMU_MAP_DMA, reinterpret_cast<uintptr_t>(&map));
  steps.Print("VFIO_IOMMU_MAP_DMA into the MSI window", r, r == -EINVAL, Err(r));

  steps.Section("device");
  long device = sim.IoctlErrno(static_cast<int>(group), VFIO_GROUP_GET_DEVICE_FD,
                               reinterpret_cast<uintptr_t>("0000:00:01.0"));
  steps.Print("VFIO_GROUP_GET_DEVICE_FD(\"0000:00:01.0\")", device, device >= 0, "device fd");
  vfio_device_info dev_info{};
  dev_info.argsz = sizeof(dev_info);
  r = sim.IoctlErrno(static_cast<int>(device), VFIO_DEVICE_GET_INFO, reinterpret_cast<uintptr_t>(&dev_info));
  steps.Print("VFIO_DEVICE_GET_INFO", r, r == 0 && dev_info.num_regions >= 9 && dev_info.num_irqs == 5,
              "flags=" + Hex(dev_info.flags) + " num_regions=" + std::to_string(dev_info.num_regions) +
                  " num_irqs=" + std::to_string(dev_info.num_irqs));

  steps.Section("teardown");
  vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = sizeof(unmap);
  unmap.iova = 0x100000;
  unmap.size = 0x200000;
  r = sim.IoctlErrno(static_cast<int>(container), VFIO_IOMMU_UNMAP_DMA, reinterpret_cast<uintptr_t>(&unmap));
  steps.Print("VFIO_IOMMU_UNMAP_DMA", r, r == 0 && unmap.size == 0x200000, "unmapped " + Hex(unmap.size));
  r = sim.CloseErrno(static_cast<int>(device));
  steps.Print("close(device)", r, r == 0);
  r = sim.IoctlErrno(static_cast<int>(group), VFIO_GROUP_UNSET_CONTAINER);
  steps.Print("VFIO_GROUP_UNSET_CONTAINER", r, r == 0);
  sim.CloseErrno(static_cast<int>(group));
  sim.CloseErrno(static_cast<int>(container));
  munmap(buffer, 0x200000);
  std::fprintf(out, "\n%s\n", steps.failed() ? "demo: FAILED" : "demo: every step as Linux answers it");
  return steps.failed() ? 1 : 0;
}

}  // namespace vfiosim::api
