// mmap of BARs through the device fd (api/device_state.h "Mmap"): register
// pages mirror the registers and follow every device-fd access, RAM-window
// pages are shared with the device model both ways, argument checks as
// vfio_pci_core_mmap and mmap(2), and mapping lifetime (a mapping keeps its
// device open; partial munmap; leftovers at teardown).
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <fstream>
#include <sstream>

#include "api/device_file.h"
#include "tests/uapi/device_test_fixture.h"

namespace vfiosim::testing {
namespace {

using E = sim::EduDevice;
using D = sim::DmaTestDevice;
constexpr int kRW = PROT_READ | PROT_WRITE;

// The permission string ("rw-s") of the mapping containing `addr`.
std::string Perms(const void* addr) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto a = reinterpret_cast<uintptr_t>(addr);
  while (std::getline(maps, line)) {
    uintptr_t lo, hi;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &lo, &hi, perms) == 3 && a >= lo && a < hi) return perms;
  }
  return "";
}

class DeviceMmapTest : public DeviceTest {
 protected:
  template <typename T>
  static T At(void* base, uint64_t offset) {
    T v;
    std::memcpy(&v, static_cast<uint8_t*>(base) + offset, sizeof(v));
    return v;
  }
};

TEST_F(DeviceMmapTest, EduRegisterPageMirrorsTheRegisters) {
  int dev = OpenEdu();
  void* bar = sim_.Mmap(nullptr, 4096, kRW, MAP_SHARED, dev, kBar0);
  ASSERT_NE(bar, MAP_FAILED);
  EXPECT_EQ(At<uint32_t>(bar, E::kRegId), E::kIdValue);
  EXPECT_EQ(Perms(bar), "r--s");  // stores would fault: registers take pwrite
  BarWrite(dev, E::kRegLiveness, 0x0f0f0f0f);
  EXPECT_EQ(At<uint32_t>(bar, E::kRegLiveness), 0xf0f0f0f0u);  // refreshed by the access
  BarWrite(dev, E::kRegFactorial, 6);
  EXPECT_EQ(At<uint32_t>(bar, E::kRegFactorial), 720u);
  EXPECT_EQ(At<uint32_t>(bar, 0x400), 0xffffffffu);  // unknown offsets read all-ones
  EXPECT_EQ(sim_.mapping_count(), 1u);
  ASSERT_OK(sim_.Munmap(bar, 4096));
  EXPECT_EQ(sim_.mapping_count(), 0u);
}

TEST_F(DeviceMmapTest, DmaTestWindowIsSharedWithTheDevice) {
  int dev = OpenDmaTest();
  EnableBusMaster(dev);
  auto* bar = static_cast<uint8_t*>(sim_.Mmap(nullptr, D::kBar0Size, kRW, MAP_SHARED, dev, kBar0));
  ASSERT_NE(bar, MAP_FAILED);
  EXPECT_EQ(Perms(bar + D::kBufferOffset), "rw-s");
  EXPECT_EQ(Perms(bar), "r--s");
  EXPECT_EQ(Perms(bar + D::kMsixTableOffset), "r--s");
  EXPECT_EQ(At<uint32_t>(bar, D::kRegId), D::kIdValue);
  // Client stores into the window are what the device sends.
  uint8_t* window = bar + D::kBufferOffset;
  for (int i = 0; i < 4096; ++i) window[i] = static_cast<uint8_t>(i * 13);
  DmaBuffer mem(4096);
  ASSERT_OK(Map(container_, 0x100000, 4096, mem.va()));
  EXPECT_EQ(DmaTestRequest(dev, D::kOpWrite, 0x100000, 4096), D::kOk);
  EXPECT_EQ(std::memcmp(mem.data(), window, 4096), 0);
  EXPECT_EQ(BarRead(dev, D::kBufferOffset + 4, 4), At<uint32_t>(window, 4));
  // What the device fetches appears in the mapping at once.
  std::memset(mem.data(), 0x77, 4096);
  EXPECT_EQ(DmaTestRequest(dev, D::kOpRead, 0x100000, 4096), D::kOk);
  EXPECT_EQ(window[0], 0x77);
  EXPECT_EQ(window[4095], 0x77);
  // The register page follows the device: the last result and count.
  EXPECT_EQ(At<uint32_t>(bar, D::kRegCompletions), 2u);
  // A reset clears device memory, seen through the mapping too.
  ASSERT_OK(sim_.Ioctl(dev, VFIO_DEVICE_RESET));
  EXPECT_EQ(window[0], 0);
  EXPECT_EQ(At<uint32_t>(bar, D::kRegCompletions), 0u);
  ASSERT_OK(sim_.Munmap(bar, D::kBar0Size));
}

TEST_F(DeviceMmapTest, ModelMemoryIsSharedWhileMappedAndPrivateAfterClose) {
  int dev = OpenDmaTest();
  uint8_t* backing = sim_.machine().FindDevice(kDmaTestBdf)->model->MmapBacking(0) + D::kBufferOffset;
  EXPECT_EQ(Perms(backing).substr(3), "p");
  auto* page = static_cast<uint8_t*>(sim_.Mmap(nullptr, 4096, kRW, MAP_SHARED, dev, kBar0 + D::kBufferOffset));
  ASSERT_NE(page, MAP_FAILED);
  EXPECT_EQ(Perms(backing), "rw-s");  // the model's own pages are now the shared ones
  page[17] = 0x42;
  EXPECT_EQ(backing[17], 0x42);
  ASSERT_OK(sim_.Munmap(page, 4096));
  ASSERT_OK(sim_.Close(dev));
  EXPECT_EQ(Perms(backing).substr(3), "p");  // private again before the model could free it
  dev = sim_.Ioctl(group_, VFIO_GROUP_GET_DEVICE_FD, kDmaTestBdf);
  ASSERT_GE(dev, 0);
  EXPECT_EQ(BarRead(dev, D::kBufferOffset + 16, 4), 0u);  // close reset the device (FLR)
  BarWrite(dev, D::kBufferOffset + 8, 0x12345678);
  page = static_cast<uint8_t*>(sim_.Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, dev, kBar0 + D::kBufferOffset));
  ASSERT_NE(page, MAP_FAILED);
  EXPECT_EQ(At<uint32_t>(page, 8), 0x12345678u);  // copied in when the overlay was set up
  ASSERT_OK(sim_.Munmap(page, 4096));
}

TEST_F(DeviceMmapTest, ArgumentChecks) {
  int dev = OpenDmaTest();
  int edu = OpenEdu();
  struct Case {
    const char* name;
    int fd;
    size_t len;
    int flags;
    off_t offset;
    int err;
  } cases[] = {
      {"unaligned offset", dev, 4096, MAP_SHARED, kBar0 + 8, EINVAL},
      {"not an fd", 987654, 4096, MAP_SHARED, kBar0, EBADF},
      {"length 0", dev, 0, MAP_SHARED, kBar0, EINVAL},
      {"no map type", dev, 4096, 0, kBar0, EINVAL},
      {"private", dev, 4096, MAP_PRIVATE, kBar0, EINVAL},
      {"container fd", container_, 4096, MAP_SHARED, 0, ENODEV},
      {"unimplemented BAR", dev, 4096, MAP_SHARED, Region(VFIO_PCI_BAR1_REGION_INDEX), EINVAL},
      {"ROM", dev, 4096, MAP_SHARED, Region(VFIO_PCI_ROM_REGION_INDEX), EINVAL},
      {"config", dev, 4096, MAP_SHARED, kConfig, EINVAL},
      {"index 9", dev, 4096, MAP_SHARED, Region(VFIO_PCI_NUM_REGIONS), EINVAL},
      {"past the BAR", dev, 4096, MAP_SHARED, kBar0 + static_cast<off_t>(D::kBar0Size), EINVAL},
      {"longer than the BAR", dev, D::kBar0Size + 4096, MAP_SHARED, kBar0, EINVAL},
      {"edu past 1 MiB", edu, 8192, MAP_SHARED, kBar0 + static_cast<off_t>(E::kBar0Size - 4096), EINVAL},
  };
  for (const Case& c : cases) {
    errno = 0;
    EXPECT_EQ(sim_.Mmap(nullptr, c.len, kRW, c.flags, c.fd, c.offset), MAP_FAILED) << c.name;
    EXPECT_EQ(errno, c.err) << c.name;
  }
  EXPECT_EQ(sim_.mapping_count(), 0u);
  void* last = sim_.Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, edu, kBar0 + static_cast<off_t>(E::kBar0Size - 4096));
  EXPECT_NE(last, MAP_FAILED);
  EXPECT_ERRNO(sim_.Munmap(static_cast<uint8_t*>(last) + 1, 4096), EINVAL);
  EXPECT_ERRNO(sim_.Munmap(last, 0), EINVAL);
  EXPECT_OK(sim_.Munmap(last, 4096));
}

TEST_F(DeviceMmapTest, MappingKeepsTheDeviceOpen) {
  int dev = OpenEdu();
  void* bar = sim_.Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, dev, kBar0);
  ASSERT_NE(bar, MAP_FAILED);
  ASSERT_OK(sim_.Close(dev));
  EXPECT_ERRNO(sim_.Ioctl(group_, VFIO_GROUP_UNSET_CONTAINER), EBUSY);
  EXPECT_EQ(At<uint32_t>(bar, E::kRegId), E::kIdValue);
  ASSERT_OK(sim_.Munmap(bar, 4096));
  EXPECT_OK(sim_.Ioctl(group_, VFIO_GROUP_UNSET_CONTAINER));
}

TEST_F(DeviceMmapTest, PartialMunmapAndMapFixed) {
  int dev = OpenDmaTest();
  auto* bar = static_cast<uint8_t*>(sim_.Mmap(nullptr, D::kBar0Size, PROT_READ, MAP_SHARED, dev, kBar0));
  ASSERT_NE(bar, MAP_FAILED);
  ASSERT_OK(sim_.Munmap(bar + 4096, 4096));  // the window page
  EXPECT_EQ(sim_.mapping_count(), 2u);
  EXPECT_EQ(At<uint32_t>(bar, D::kRegId), D::kIdValue);
  // Map the window again at its old place.
  void* again = sim_.Mmap(bar + 4096, 4096, kRW, MAP_SHARED | MAP_FIXED, dev, kBar0 + D::kBufferOffset);
  ASSERT_EQ(again, bar + 4096);
  EXPECT_EQ(sim_.mapping_count(), 3u);
  bar[4096] = 9;
  EXPECT_EQ(BarRead(dev, D::kBufferOffset, 1), 9u);
  ASSERT_OK(sim_.Munmap(bar, D::kBar0Size));
  EXPECT_EQ(sim_.mapping_count(), 0u);
  EXPECT_OK(sim_.Close(dev));
  EXPECT_OK(sim_.Ioctl(group_, VFIO_GROUP_UNSET_CONTAINER));
}

TEST(DeviceMmapTeardownTest, LeftoverMappingsGoWithTheSimulator) {
  void* bar = nullptr;
  {
    api::VfioSim sim;
    int container = sim.Open("/dev/vfio/vfio", O_RDWR);
    int group = sim.Open("/dev/vfio/3", O_RDWR);
    ASSERT_OK(sim.Ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
    ASSERT_OK(sim.Ioctl(container, VFIO_SET_IOMMU, static_cast<uintptr_t>(VFIO_TYPE1v2_IOMMU)));
    int dev = sim.Ioctl(group, VFIO_GROUP_GET_DEVICE_FD, kDmaTestBdf);
    ASSERT_GE(dev, 0);
    bar = sim.Mmap(nullptr, D::kBar0Size, kRW, MAP_SHARED, dev, kBar0);
    ASSERT_NE(bar, MAP_FAILED);
    static_cast<uint8_t*>(bar)[D::kBufferOffset] = 1;
  }
  EXPECT_EQ(Perms(bar), "");  // unmapped with the simulator, device closed first
}

TEST_F(DeviceMmapTest, AnonymousMappingsPassThrough) {
  void* p = sim_.Mmap(nullptr, 8192, kRW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  static_cast<uint8_t*>(p)[100] = 1;
  EXPECT_EQ(sim_.mapping_count(), 0u);
  EXPECT_OK(sim_.Munmap(p, 8192));
  EXPECT_EQ(Perms(p), "");
}

}  // namespace
}  // namespace vfiosim::testing
