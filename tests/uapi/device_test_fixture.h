// Shared helpers of the device-fd suites (tests/uapi/device_*_test.cc): a
// machine with one container per test, devices of the default topology
// opened through their group, region/IRQ/config/BAR shortcuts and real
// non-blocking eventfds.
//
// Devices of the default machine used here:
//   edu       0000:00:01.0, group 1: conventional PCI, INTx + 1 MSI vector,
//             BAR0 1 MiB registers (trap), no reset.
//   dma-test  0000:01:00.0, group 3: PCIe, FLR, INTx, MSI-X (4) in BAR0
//             (16 KiB: registers, a 4 KiB RAM window at 0x1000, table 0x2000,
//             PBA 0x3000), PASID. The checklist's profile-P device.
#ifndef VFIOSIM_TESTS_UAPI_DEVICE_TEST_FIXTURE_H_
#define VFIOSIM_TESTS_UAPI_DEVICE_TEST_FIXTURE_H_

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "api/vfio_sim.h"
#include "sim/devices/dma_test_device.h"
#include "sim/devices/edu.h"
#include "tests/util/vfio_fixture.h"

namespace vfiosim::testing {

inline constexpr const char* kDmaTestBdf = "0000:01:00.0";
inline constexpr int kDmaTestGroup = 3;

constexpr off_t Region(uint32_t index) { return static_cast<off_t>(uint64_t{index} << 40); }
inline constexpr off_t kConfig = Region(VFIO_PCI_CONFIG_REGION_INDEX);
inline constexpr off_t kBar0 = Region(VFIO_PCI_BAR0_REGION_INDEX);

// A real eventfd, non-blocking so that "not signalled" reads as 0.
class Eventfd {
 public:
  Eventfd() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~Eventfd() { close(fd_); }
  Eventfd(const Eventfd&) = delete;
  Eventfd& operator=(const Eventfd&) = delete;
  int fd() const { return fd_; }
  // The counter since the last Take (0 when not signalled); resets it.
  uint64_t Take() const {
    uint64_t v = 0;
    return read(fd_, &v, sizeof(v)) == sizeof(v) ? v : 0;
  }

 private:
  int fd_;
};

class DeviceTest : public ::testing::Test {
 protected:
  // Container with type1v2 and `group` attached; returns the container fd.
  int Attach(int group, int* group_fd) {
    int container = sim_.Open("/dev/vfio/vfio", O_RDWR);
    EXPECT_GE(container, 0);
    *group_fd = sim_.Open(("/dev/vfio/" + std::to_string(group)).c_str(), O_RDWR);
    EXPECT_GE(*group_fd, 0);
    EXPECT_EQ(sim_.Ioctl(*group_fd, VFIO_GROUP_SET_CONTAINER, &container), 0);
    EXPECT_EQ(sim_.Ioctl(container, VFIO_SET_IOMMU, static_cast<uintptr_t>(VFIO_TYPE1v2_IOMMU)), 0);
    return container;
  }
  // Attaches the group to a fresh container and opens the device.
  int OpenDevice(int group, const char* bdf) {
    container_ = Attach(group, &group_);
    int dev = sim_.Ioctl(group_, VFIO_GROUP_GET_DEVICE_FD, reinterpret_cast<uintptr_t>(bdf));
    EXPECT_GE(dev, 0);
    return dev;
  }
  int OpenEdu() { return OpenDevice(kEduGroup, kEduBdf); }
  int OpenDmaTest() { return OpenDevice(kDmaTestGroup, kDmaTestBdf); }

  int RegionInfo(int dev, uint32_t index, vfio_region_info* info, uint32_t argsz = sizeof(vfio_region_info)) {
    std::memset(info, 0, sizeof(*info));
    info->argsz = argsz;
    info->index = index;
    return sim_.Ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, info);
  }
  int IrqInfo(int dev, uint32_t index, vfio_irq_info* info) {
    std::memset(info, 0, sizeof(*info));
    info->argsz = sizeof(*info);
    info->index = index;
    return sim_.Ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, info);
  }
  // SET_IRQS with a payload (eventfds as int32, bools as bytes).
  int SetIrqs(int dev, uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
              const std::vector<uint8_t>& payload = {}) {
    vfio_irq_set hdr{};
    hdr.argsz = static_cast<uint32_t>(sizeof(hdr) + payload.size());
    hdr.flags = flags;
    hdr.index = index;
    hdr.start = start;
    hdr.count = count;
    const auto* head = reinterpret_cast<const uint8_t*>(&hdr);
    std::vector<uint8_t> raw(head, head + sizeof(hdr));
    raw.insert(raw.end(), payload.begin(), payload.end());
    return sim_.Ioctl(dev, VFIO_DEVICE_SET_IRQS, raw.data());
  }
  static std::vector<uint8_t> Fds(std::vector<int32_t> fds) {
    std::vector<uint8_t> out(fds.size() * 4);
    std::memcpy(out.data(), fds.data(), out.size());
    return out;
  }
  int SetEventfds(int dev, uint32_t index, uint32_t start, std::vector<int32_t> fds) {
    return SetIrqs(dev, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index, start,
                   static_cast<uint32_t>(fds.size()), Fds(fds));
  }

  uint32_t CfgRead(int dev, uint32_t off, unsigned size) {
    uint32_t v = 0;
    EXPECT_EQ(sim_.Pread(dev, &v, size, kConfig + off), static_cast<ssize_t>(size)) << "cfg 0x" << std::hex << off;
    return v;
  }
  void CfgWrite(int dev, uint32_t off, unsigned size, uint32_t value) {
    EXPECT_EQ(sim_.Pwrite(dev, &value, size, kConfig + off), static_cast<ssize_t>(size)) << "cfg 0x" << std::hex << off;
  }
  uint64_t BarRead(int dev, uint64_t off, unsigned size = 4) {
    uint64_t v = 0;
    EXPECT_EQ(sim_.Pread(dev, &v, size, kBar0 + static_cast<off_t>(off)), static_cast<ssize_t>(size));
    return v;
  }
  void BarWrite(int dev, uint64_t off, uint64_t value, unsigned size = 4) {
    EXPECT_EQ(sim_.Pwrite(dev, &value, size, kBar0 + static_cast<off_t>(off)), static_cast<ssize_t>(size));
  }
  void EnableBusMaster(int dev) {
    CfgWrite(dev, PCI_COMMAND, 2, CfgRead(dev, PCI_COMMAND, 2) | PCI_COMMAND_MASTER);
  }
  int Map(int container, uint64_t iova, uint64_t size, uint64_t vaddr,
          uint32_t flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE) {
    vfio_iommu_type1_dma_map map{};
    map.argsz = sizeof(map);
    map.flags = flags;
    map.vaddr = vaddr;
    map.iova = iova;
    map.size = size;
    return sim_.Ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
  }

  // One DMA-test-device request; returns RESULT.
  uint32_t DmaTestRequest(int dev, uint32_t opcode, uint64_t iova, uint32_t length, uint32_t buf_offset = 0) {
    using D = sim::DmaTestDevice;
    BarWrite(dev, D::kRegIova, iova, 8);
    BarWrite(dev, D::kRegLength, length);
    BarWrite(dev, D::kRegBufOffset, buf_offset);
    BarWrite(dev, D::kRegOpcode, opcode);
    BarWrite(dev, D::kRegDoorbell, 1);
    return static_cast<uint32_t>(BarRead(dev, D::kRegResult));
  }
  // One edu DMA of `count` bytes; the device finishes inside the write.
  void EduDma(int dev, uint64_t src, uint64_t dst, uint64_t count, uint64_t cmd) {
    using E = sim::EduDevice;
    BarWrite(dev, E::kRegDmaSrc, src);
    BarWrite(dev, E::kRegDmaDst, dst);
    BarWrite(dev, E::kRegDmaCount, count);
    BarWrite(dev, E::kRegDmaCmd, cmd | E::kDmaStart);
    EXPECT_EQ(BarRead(dev, E::kRegDmaCmd) & E::kDmaStart, 0u);
  }

  api::VfioSim sim_;
  int container_ = -1;
  int group_ = -1;
};

}  // namespace vfiosim::testing

#endif  // VFIOSIM_TESTS_UAPI_DEVICE_TEST_FIXTURE_H_
