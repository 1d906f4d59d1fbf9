#include "api/cli/demo.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "api/vfio_sim.h"
#include "core/fault.h"

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

  steps.Section("edu DMA through the IOMMU");
  // edu's registers (QEMU docs/specs/edu.rst), reached with pread/pwrite on BAR0.
  constexpr uint64_t kIrqStatus = 0x24, kIrqAck = 0x64, kDmaSrc = 0x80, kDmaDst = 0x88,
                     kDmaCount = 0x90, kDmaCmd = 0x98, kEduBuffer = 0x40000;
  constexpr uint64_t kStart = 1, kToRam = 2, kRaiseIrq = 4;
  const uint64_t config = uint64_t{VFIO_PCI_CONFIG_REGION_INDEX} << 40;
  const int dev = static_cast<int>(device);
  auto reg_write = [&](uint64_t reg, uint64_t value, size_t size) {
    return sim.PwriteErrno(dev, &value, size, static_cast<off_t>(reg));
  };
  uint16_t command = 0;
  sim.PreadErrno(dev, &command, sizeof(command), static_cast<off_t>(config + 4));
  command |= 0x6;  // memory space + bus master
  r = sim.PwriteErrno(dev, &command, sizeof(command), static_cast<off_t>(config + 4));
  steps.Print("config write: command |= bus master", r, r == 2);
  int efd = eventfd(0, EFD_CLOEXEC);
  alignas(4) uint8_t irq_buf[sizeof(vfio_irq_set) + sizeof(int32_t)];
  auto* irq = reinterpret_cast<vfio_irq_set*>(irq_buf);
  irq->argsz = sizeof(irq_buf);
  irq->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
  irq->index = VFIO_PCI_MSI_IRQ_INDEX;
  irq->start = 0;
  irq->count = 1;
  std::memcpy(irq->data, &efd, sizeof(efd));
  r = sim.IoctlErrno(dev, VFIO_DEVICE_SET_IRQS, reinterpret_cast<uintptr_t>(irq_buf));
  steps.Print("VFIO_DEVICE_SET_IRQS MSI -> eventfd", r, r == 0);
  auto wait_irq = [&]() -> bool {
    pollfd p{efd, POLLIN, 0};
    if (poll(&p, 1, 1000) != 1) return false;
    uint64_t count = 0;
    if (read(efd, &count, sizeof(count)) != sizeof(count)) return false;
    uint32_t status = 0;
    sim.PreadErrno(dev, &status, sizeof(status), kIrqStatus);
    reg_write(kIrqAck, status, 4);
    return true;
  };
  auto* bytes = static_cast<uint8_t*>(buffer);
  for (int i = 0; i < 256; ++i) bytes[i] = static_cast<uint8_t>(i * 7 + 1);
  std::memset(bytes + 0x1000, 0, 256);
  // RAM (IOVA 0x100000) -> edu buffer, then edu buffer -> RAM (IOVA 0x101000).
  reg_write(kDmaSrc, 0x100000, 8);
  reg_write(kDmaDst, kEduBuffer, 8);
  reg_write(kDmaCount, 256, 8);
  reg_write(kDmaCmd, kStart | kRaiseIrq, 8);
  bool irq_ok = wait_irq();
  steps.Print("edu DMA 256 B: IOVA 0x100000 -> edu buffer", irq_ok ? 0 : -1, irq_ok, "MSI on the eventfd");
  reg_write(kDmaSrc, kEduBuffer, 8);
  reg_write(kDmaDst, 0x101000, 8);
  reg_write(kDmaCmd, kStart | kToRam | kRaiseIrq, 8);
  irq_ok = wait_irq();
  const bool same = std::memcmp(bytes, bytes + 0x1000, 256) == 0;
  steps.Print("edu DMA 256 B: edu buffer -> IOVA 0x101000", irq_ok ? 0 : -1, irq_ok && same,
              same ? "MSI; the 256 bytes arrived in client memory" : "bytes differ");

  steps.Section("teardown");
  vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = sizeof(unmap);
  unmap.iova = 0x100000;
  unmap.size = 0x200000;
  r = sim.IoctlErrno(static_cast<int>(container), VFIO_IOMMU_UNMAP_DMA, reinterpret_cast<uintptr_t>(&unmap));
  steps.Print("VFIO_IOMMU_UNMAP_DMA", r, r == 0 && unmap.size == 0x200000, "unmapped " + Hex(unmap.size));
  // The same DMA again: the IOVA is gone, the IOMMU faults, memory stays as it was.
  std::memset(bytes + 0x1000, 0xee, 256);
  sim::MachineDevice* edu = sim.machine().FindDevice("0000:00:01.0");
  const uint64_t faults_before = edu ? edu->dma->faults().total() : 0;
  reg_write(kDmaCmd, kStart | kToRam | kRaiseIrq, 8);
  wait_irq();
  const uint64_t faults = edu ? edu->dma->faults().total() - faults_before : 0;
  std::vector<core::FaultRecord> records = edu ? edu->dma->faults().Drain() : std::vector<core::FaultRecord>{};
  const bool untouched = bytes[0x1000] == 0xee && bytes[0x10ff] == 0xee;
  std::string what = "faults recorded: " + std::to_string(faults);
  if (!records.empty()) {
    what += " (" + std::string(core::FaultReasonName(records.back().reason)) + " at IOVA " +
            Hex(records.back().addr) + ")";
  }
  what += untouched ? ", memory untouched" : ", MEMORY CHANGED";
  steps.Print("edu DMA to the unmapped IOVA 0x101000", faults > 0 ? -EFAULT : 0, faults > 0 && untouched, what);
  irq->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
  irq->count = 0;
  irq->argsz = sizeof(vfio_irq_set);
  r = sim.IoctlErrno(dev, VFIO_DEVICE_SET_IRQS, reinterpret_cast<uintptr_t>(irq_buf));
  steps.Print("VFIO_DEVICE_SET_IRQS MSI off", r, r == 0);
  close(efd);
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
