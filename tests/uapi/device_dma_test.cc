// Devices doing DMA through the IOMMU into client memory, driven only
// through the device fd: the DMA test device's read/write/compare, faults
// with their reasons, and isolation - a device reaches only the mappings of
// its own container.
#include <gtest/gtest.h>

#include "core/fault.h"
#include "tests/uapi/device_test_fixture.h"

namespace vfiosim::testing {
namespace {

using D = sim::DmaTestDevice;
using E = sim::EduDevice;

class DeviceDmaTest : public DeviceTest {};

TEST_F(DeviceDmaTest, DmaTestDeviceReadsAndWritesClientMemory) {
  int dev = OpenDmaTest();
  EnableBusMaster(dev);
  DmaBuffer mem(3 * 4096);
  for (int i = 0; i < 4096; ++i) mem.data()[i] = static_cast<uint8_t>(i * 31 + 7);
  ASSERT_OK(Map(container_, 0x400000, 3 * 4096, mem.va()));

  // Memory -> device buffer, across a page boundary of the IOVA space.
  EXPECT_EQ(DmaTestRequest(dev, D::kOpRead, 0x400000 + 100, 4000), D::kOk);
  for (uint64_t off : {uint64_t{0}, uint64_t{1000}, uint64_t{3996}}) {
    uint32_t want;
    std::memcpy(&want, mem.data() + 100 + off, 4);
    EXPECT_EQ(BarRead(dev, D::kBufferOffset + off), want) << off;
  }
  EXPECT_EQ(DmaTestRequest(dev, D::kOpCompare, 0x400000 + 100, 4000), D::kOk);
  // Device buffer -> memory (third page), then byte-for-byte equal.
  EXPECT_EQ(DmaTestRequest(dev, D::kOpWrite, 0x402000, 4000), D::kOk);
  EXPECT_EQ(std::memcmp(mem.data() + 2 * 4096, mem.data() + 100, 4000), 0);
  mem.data()[2 * 4096 + 5] ^= 1;
  EXPECT_EQ(DmaTestRequest(dev, D::kOpCompare, 0x402000, 4000), D::kMismatch);
  EXPECT_EQ(BarRead(dev, D::kRegMismatchOffset), 5u);
  EXPECT_EQ(BarRead(dev, D::kRegCompletions), 4u);
}

TEST_F(DeviceDmaTest, FaultsReportReasonAndLeaveMemoryAlone) {
  int dev = OpenDmaTest();
  EnableBusMaster(dev);
  DmaBuffer mem(2 * 4096);
  std::memset(mem.data(), 0x5a, 2 * 4096);
  ASSERT_OK(Map(container_, 0x400000, 4096, mem.va(), VFIO_DMA_MAP_FLAG_READ));
  ASSERT_OK(Map(container_, 0x401000, 4096, mem.va(4096)));
  // Write into the read-only page: permission fault, nothing written.
  EXPECT_EQ(DmaTestRequest(dev, D::kOpWrite, 0x400000, 64), D::kFault);
  EXPECT_EQ(BarRead(dev, D::kRegFaultAddr, 8), 0x400000u);
  EXPECT_EQ(BarRead(dev, D::kRegFaultPerm), static_cast<uint64_t>(core::kProtWrite));
  EXPECT_EQ(BarRead(dev, D::kRegFaultReason), static_cast<uint64_t>(core::FaultReason::kPermission));
  // A write straddling into an unmapped IOVA: the whole request faults and
  // the mapped part stays untouched.
  EXPECT_EQ(DmaTestRequest(dev, D::kOpWrite, 0x401800, 4096), D::kFault);
  EXPECT_EQ(BarRead(dev, D::kRegFaultAddr, 8), 0x402000u);
  EXPECT_EQ(BarRead(dev, D::kRegFaultReason), static_cast<uint64_t>(core::FaultReason::kPteFetch));
  for (int i = 0; i < 2 * 4096; ++i) ASSERT_EQ(mem.data()[i], 0x5a) << i;
  // Bus mastering off: the request is not even issued.
  CfgWrite(dev, PCI_COMMAND, 2, CfgRead(dev, PCI_COMMAND, 2) & ~PCI_COMMAND_MASTER);
  EXPECT_EQ(DmaTestRequest(dev, D::kOpRead, 0x401000, 64), D::kBadRequest);
}

TEST_F(DeviceDmaTest, EduDmaThroughTheIommu) {
  int dev = OpenEdu();
  EnableBusMaster(dev);
  DmaBuffer mem(2 * 4096);
  for (int i = 0; i < 4096; ++i) mem.data()[i] = static_cast<uint8_t>(i);
  ASSERT_OK(Map(container_, 0x200000, 2 * 4096, mem.va()));
  EduDma(dev, 0x200000, E::kBufferAddr, 4096, 0);
  EduDma(dev, E::kBufferAddr, 0x201000, 4096, E::kDmaToRam);
  EXPECT_EQ(std::memcmp(mem.data(), mem.data() + 4096, 4096), 0);
}

// A device of group 3 attached to container B cannot reach container A's
// mappings, not even at the same IOVA: its DMA faults, or lands in B's own
// mapping once B maps that IOVA.
TEST_F(DeviceDmaTest, CrossContainerDmaIsImpossible) {
  int group_a;
  int container_a = Attach(kEduGroup, &group_a);
  DmaBuffer mem_a(4096), mem_b(4096);
  std::memset(mem_a.data(), 0xaa, 4096);
  std::memset(mem_b.data(), 0xbb, 4096);
  ASSERT_OK(Map(container_a, 0x100000, 4096, mem_a.va()));

  int dev = OpenDmaTest();  // container B (container_), group 3
  ASSERT_NE(container_, container_a);
  EnableBusMaster(dev);
  BarWrite(dev, D::kBufferOffset, 0x11111111);
  EXPECT_EQ(DmaTestRequest(dev, D::kOpWrite, 0x100000, 4), D::kFault);
  EXPECT_EQ(DmaTestRequest(dev, D::kOpRead, 0x100000, 4), D::kFault);
  EXPECT_EQ(BarRead(dev, D::kRegFaultAddr, 8), 0x100000u);
  EXPECT_EQ(BarRead(dev, D::kRegFaultReason), static_cast<uint64_t>(core::FaultReason::kPteFetch));
  EXPECT_EQ(BarRead(dev, D::kBufferOffset), 0x11111111u);  // nothing read from A
  EXPECT_EQ(mem_a.data()[0], 0xaa);

  ASSERT_OK(Map(container_, 0x100000, 4096, mem_b.va()));
  EXPECT_EQ(DmaTestRequest(dev, D::kOpWrite, 0x100000, 4), D::kOk);
  EXPECT_EQ(mem_b.data()[0], 0x11);
  EXPECT_EQ(mem_a.data()[0], 0xaa);
  EXPECT_EQ(DmaTestRequest(dev, D::kOpRead, 0x100000 + 8, 4), D::kOk);
  EXPECT_EQ(BarRead(dev, D::kBufferOffset), 0xbbbbbbbbu);  // B's memory, never A's

  // And the other way round: edu in A sees A's memory at the same IOVA.
  int edu = sim_.Ioctl(group_a, VFIO_GROUP_GET_DEVICE_FD, kEduBdf);
  ASSERT_GE(edu, 0);
  EnableBusMaster(edu);
  EduDma(edu, 0x100000, E::kBufferAddr, 4, 0);
  EduDma(edu, E::kBufferAddr, 0x100000 + 16, 4, E::kDmaToRam);
  EXPECT_EQ(mem_a.data()[16], 0xaa);
  EXPECT_EQ(mem_b.data()[16], 0xbb);
}

}  // namespace
}  // namespace vfiosim::testing
