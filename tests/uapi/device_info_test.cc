// Device-fd information ioctls: GET_INFO, GET_REGION_INFO, GET_IRQ_INFO and
// the dispatch rules (checklist 89-94, 99), every region-info case, argsz
// sweeps with exact write-back extents, and the region capability builders.
#include <gtest/gtest.h>

#include <vector>

#include "api/region_caps.h"
#include "api/uapi/vfio_later.h"
#include "tests/uapi/device_test_fixture.h"

namespace vfiosim::testing {
namespace {

constexpr uint8_t kFill = 0xa5;

class DeviceInfoTest : public DeviceTest {};

// ---- checklist ----

TEST_F(DeviceInfoTest, Checklist89GetInfoArgsz) {
  int dev = OpenDmaTest();
  uint8_t raw[64];
  std::memset(raw, kFill, sizeof(raw));
  auto* info = reinterpret_cast<vfio_device_info*>(raw);
  info->argsz = 15;
  EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_GET_INFO, raw), EINVAL);
  EXPECT_EQ(info->flags, 0xa5a5a5a5u);
  info->argsz = 16;
  ASSERT_OK(sim_.Ioctl(dev, VFIO_DEVICE_GET_INFO, raw));
  EXPECT_EQ(info->flags, static_cast<uint32_t>(VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET));
  EXPECT_EQ(info->num_regions, 9u);
  EXPECT_EQ(info->num_irqs, 5u);
  for (size_t i = 16; i < sizeof(raw); ++i) EXPECT_EQ(raw[i], kFill) << "byte " << i << " written";
}

TEST_F(DeviceInfoTest, Checklist90ConfigRegion) {
  int dev = OpenDmaTest();
  vfio_region_info info;
  ASSERT_OK(RegionInfo(dev, VFIO_PCI_CONFIG_REGION_INDEX, &info));
  EXPECT_EQ(info.offset, 0x70000000000u);
  EXPECT_EQ(info.size, 4096u);  // PCIe
  EXPECT_EQ(info.flags, 3u);
  int edu_dev = OpenEdu();
  ASSERT_OK(RegionInfo(edu_dev, VFIO_PCI_CONFIG_REGION_INDEX, &info));
  EXPECT_EQ(info.size, 256u);  // conventional PCI
}

TEST_F(DeviceInfoTest, Checklist91BadIndexesAndArgsz) {
  int dev = OpenDmaTest();
  vfio_region_info info;
  EXPECT_ERRNO(RegionInfo(dev, VFIO_PCI_VGA_REGION_INDEX, &info), EINVAL);
  EXPECT_ERRNO(RegionInfo(dev, VFIO_PCI_NUM_REGIONS, &info), EINVAL);
  EXPECT_ERRNO(RegionInfo(dev, 0xffffffffu, &info), EINVAL);
  EXPECT_ERRNO(RegionInfo(dev, 0, &info, 31), EINVAL);
}

TEST_F(DeviceInfoTest, Checklist92MsixBarCapability) {
  int dev = OpenDmaTest();
  uint8_t raw[64];
  std::memset(raw, kFill, sizeof(raw));
  auto* info = reinterpret_cast<vfio_region_info*>(raw);
  info->argsz = 32;
  info->index = 0;
  ASSERT_OK(sim_.Ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, raw));
  EXPECT_EQ(info->flags, 0xfu);
  EXPECT_EQ(info->argsz, 40u);
  EXPECT_EQ(info->cap_offset, 0u);
  EXPECT_EQ(raw[32], kFill);  // nothing past the struct

  std::memset(raw, kFill, sizeof(raw));
  info->argsz = 40;
  info->index = 0;
  ASSERT_OK(sim_.Ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, raw));
  EXPECT_EQ(info->argsz, 40u);
  EXPECT_EQ(info->flags, 0xfu);
  EXPECT_EQ(info->cap_offset, 32u);
  EXPECT_EQ(info->size, sim::DmaTestDevice::kBar0Size);
  vfio_info_cap_header cap;
  std::memcpy(&cap, raw + 32, sizeof(cap));
  EXPECT_EQ(cap.id, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
  EXPECT_EQ(cap.version, 1);
  EXPECT_EQ(cap.next, 0u);
  EXPECT_EQ(raw[40], kFill);
}

TEST_F(DeviceInfoTest, Checklist93CapOffsetEchoedWithoutCaps) {
  int dev = OpenDmaTest();
  vfio_region_info info{};
  info.argsz = sizeof(info);
  info.index = VFIO_PCI_CONFIG_REGION_INDEX;
  info.cap_offset = 0x1234;
  ASSERT_OK(sim_.Ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &info));
  EXPECT_EQ(info.cap_offset, 0x1234u);
  EXPECT_EQ(info.flags & VFIO_REGION_INFO_FLAG_CAPS, 0u);
}

TEST_F(DeviceInfoTest, Checklist94IrqInfo) {
  int dev = OpenDmaTest();
  vfio_irq_info info;
  EXPECT_ERRNO(IrqInfo(dev, 5, &info), EINVAL);
  std::memset(&info, 0, sizeof(info));
  info.argsz = 15;
  EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, &info), EINVAL);
  ASSERT_OK(IrqInfo(dev, VFIO_PCI_INTX_IRQ_INDEX, &info));
  EXPECT_EQ(info.flags, 7u);
  EXPECT_EQ(info.count, 1u);
  ASSERT_OK(IrqInfo(dev, VFIO_PCI_REQ_IRQ_INDEX, &info));
  EXPECT_EQ(info.flags, 9u);
  EXPECT_EQ(info.count, 1u);
}

TEST_F(DeviceInfoTest, Checklist99Dispatch) {
  int dev = OpenDmaTest();
  EXPECT_ERRNO(sim_.Ioctl(dev, _IO(VFIO_TYPE, VFIO_BASE + 40)), ENOTTY);
  vfio_device_bind_iommufd bind{};
  bind.argsz = sizeof(bind);
  bind.iommufd = 3;
  EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind), EINVAL);
  vfio_device_attach_iommufd_pt attach{};
  attach.argsz = sizeof(attach);
  EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach), ENOTTY);
  EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO), ENOTTY);  // not modelled
  EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, uintptr_t{0}), EFAULT);
  EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, uintptr_t{0}), EFAULT);
  EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_SET_IRQS, uintptr_t{0}), EFAULT);
  EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_FEATURE, uintptr_t{0}), EFAULT);
}

// ---- every region of both devices ----

struct RegionCase {
  const char* device;
  uint32_t index;
  int err;  // 0: success with the values below
  uint32_t flags;
  uint64_t size;
};

class RegionInfoTable : public DeviceTest, public ::testing::WithParamInterface<RegionCase> {};

TEST_P(RegionInfoTable, Reports) {
  const RegionCase& c = GetParam();
  int dev = std::string(c.device) == "edu" ? OpenEdu() : OpenDmaTest();
  uint8_t raw[256];
  std::memset(raw, kFill, sizeof(raw));
  auto* info = reinterpret_cast<vfio_region_info*>(raw);
  info->argsz = sizeof(raw);
  info->index = c.index;
  if (c.err != 0) {
    EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, raw), c.err);
    for (size_t i = 12; i < sizeof(raw); ++i) ASSERT_EQ(raw[i], kFill) << "byte " << i;
    return;
  }
  ASSERT_OK(sim_.Ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, raw));
  EXPECT_EQ(info->flags, c.flags);
  EXPECT_EQ(info->size, c.size);
  EXPECT_EQ(info->offset, uint64_t{c.index} << 40);
  EXPECT_EQ(info->argsz, sizeof(raw));
  if (c.flags & VFIO_REGION_INFO_FLAG_CAPS) {
    EXPECT_EQ(info->cap_offset, 32u);
  } else {
    EXPECT_EQ(info->cap_offset, 0xa5a5a5a5u);  // not zeroed: echoed
    EXPECT_EQ(raw[32], kFill);
  }
}

constexpr uint32_t kRW = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
constexpr uint32_t kMmap = VFIO_REGION_INFO_FLAG_MMAP;
constexpr uint32_t kCaps = VFIO_REGION_INFO_FLAG_CAPS;

INSTANTIATE_TEST_SUITE_P(
    AllRegions, RegionInfoTable,
    ::testing::Values(
        RegionCase{"edu", 0, 0, kRW | kMmap, 0x100000}, RegionCase{"edu", 1, 0, 0, 0},
        RegionCase{"edu", 2, 0, 0, 0}, RegionCase{"edu", 3, 0, 0, 0}, RegionCase{"edu", 4, 0, 0, 0},
        RegionCase{"edu", 5, 0, 0, 0}, RegionCase{"edu", 6, 0, 0, 0}, RegionCase{"edu", 7, 0, kRW, 256},
        RegionCase{"edu", 8, EINVAL}, RegionCase{"edu", 9, EINVAL}, RegionCase{"edu", 10, EINVAL},
        RegionCase{"edu", 0xffffffffu, EINVAL},
        RegionCase{"dma", 0, 0, kRW | kMmap | kCaps, 0x4000}, RegionCase{"dma", 1, 0, 0, 0},
        RegionCase{"dma", 5, 0, 0, 0}, RegionCase{"dma", 6, 0, 0, 0}, RegionCase{"dma", 7, 0, kRW, 4096},
        RegionCase{"dma", 8, EINVAL}, RegionCase{"dma", 9, EINVAL}),
    [](const auto& info) {
      return std::string(info.param.device) + "_index" + std::to_string(info.param.index);
    });

// ---- argsz sweeps: exactly what each argsz gets written back ----

TEST_F(DeviceInfoTest, GetInfoArgszSweep) {
  int dev = OpenEdu();
  for (uint32_t argsz = 0; argsz <= 64; ++argsz) {
    uint8_t raw[72];
    std::memset(raw, kFill, sizeof(raw));
    std::memcpy(raw, &argsz, 4);
    if (argsz < 16) {
      EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_GET_INFO, raw), EINVAL);
      continue;
    }
    EXPECT_EQ(sim_.Ioctl(dev, VFIO_DEVICE_GET_INFO, raw), 0) << argsz;
    const size_t written = argsz >= 20 ? 20 : 16;  // 6.1: cap_offset only once argsz covers it
    for (size_t i = written; i < sizeof(raw); ++i) ASSERT_EQ(raw[i], kFill) << argsz << " byte " << i;
    uint32_t flags;
    std::memcpy(&flags, raw + 4, 4);
    EXPECT_EQ(flags, static_cast<uint32_t>(VFIO_DEVICE_FLAGS_PCI));  // edu: no reset
  }
}

TEST_F(DeviceInfoTest, RegionInfoArgszSweepWithCaps) {
  int dev = OpenDmaTest();
  for (uint32_t argsz = 0; argsz <= 64; ++argsz) {
    uint8_t raw[72];
    std::memset(raw, kFill, sizeof(raw));
    auto* info = reinterpret_cast<vfio_region_info*>(raw);
    info->argsz = argsz;
    info->index = 0;
    if (argsz < 32) {
      EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, raw), EINVAL);
      EXPECT_EQ(info->argsz, argsz);
      continue;
    }
    ASSERT_EQ(sim_.Ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, raw), 0) << argsz;
    EXPECT_EQ(info->flags, 0xfu);
    if (argsz < 40) {
      EXPECT_EQ(info->argsz, 40u) << argsz;
      EXPECT_EQ(info->cap_offset, 0u);
      for (size_t i = 32; i < sizeof(raw); ++i) ASSERT_EQ(raw[i], kFill) << argsz << " byte " << i;
    } else {
      EXPECT_EQ(info->argsz, argsz);
      EXPECT_EQ(info->cap_offset, 32u);
      for (size_t i = 40; i < sizeof(raw); ++i) ASSERT_EQ(raw[i], kFill) << argsz << " byte " << i;
    }
  }
}

TEST_F(DeviceInfoTest, IrqInfoArgszSweep) {
  int dev = OpenEdu();
  for (uint32_t argsz = 0; argsz <= 40; ++argsz) {
    uint8_t raw[48];
    std::memset(raw, kFill, sizeof(raw));
    auto* info = reinterpret_cast<vfio_irq_info*>(raw);
    info->argsz = argsz;
    info->index = VFIO_PCI_MSI_IRQ_INDEX;
    if (argsz < 16) {
      EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, raw), EINVAL);
      EXPECT_EQ(info->flags, 0xa5a5a5a5u);
      continue;
    }
    ASSERT_EQ(sim_.Ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, raw), 0);
    EXPECT_EQ(info->flags, 9u);
    EXPECT_EQ(info->count, 1u);
    for (size_t i = 16; i < sizeof(raw); ++i) ASSERT_EQ(raw[i], kFill) << argsz << " byte " << i;
  }
}

// ---- IRQ info of every index ----

struct IrqCase {
  const char* device;
  uint32_t index;
  int err;
  uint32_t flags;
  uint32_t count;
};

class IrqInfoTable : public DeviceTest, public ::testing::WithParamInterface<IrqCase> {};

TEST_P(IrqInfoTable, Reports) {
  const IrqCase& c = GetParam();
  int dev = std::string(c.device) == "edu" ? OpenEdu() : OpenDmaTest();
  vfio_irq_info info;
  if (c.err != 0) {
    EXPECT_ERRNO(IrqInfo(dev, c.index, &info), c.err);
    return;
  }
  ASSERT_OK(IrqInfo(dev, c.index, &info));
  EXPECT_EQ(info.flags, c.flags);
  EXPECT_EQ(info.count, c.count);
}

INSTANTIATE_TEST_SUITE_P(
    AllIndexes, IrqInfoTable,
    ::testing::Values(IrqCase{"edu", 0, 0, 7, 1}, IrqCase{"edu", 1, 0, 9, 1}, IrqCase{"edu", 2, 0, 9, 0},
                      IrqCase{"edu", 3, EINVAL}, IrqCase{"edu", 4, 0, 9, 1}, IrqCase{"edu", 5, EINVAL},
                      IrqCase{"dma", 0, 0, 7, 1}, IrqCase{"dma", 1, 0, 9, 0}, IrqCase{"dma", 2, 0, 9, 4},
                      IrqCase{"dma", 3, 0, 9, 1}, IrqCase{"dma", 4, 0, 9, 1}, IrqCase{"dma", 5, EINVAL}),
    [](const auto& info) {
      return std::string(info.param.device) + "_index" + std::to_string(info.param.index);
    });

// ---- capability builders (seed 002) ----

TEST(RegionCapsTest, SparseAreasAroundTheMsixTable) {
  struct Case {
    uint64_t bar, table, bytes;
    std::vector<std::pair<uint64_t, uint64_t>> want;
  } cases[] = {
      {0x4000, 0x2000, 64, {{0, 0x2000}, {0x3000, 0x1000}}},  // middle: two areas
      {0x4000, 0x0, 64, {{0x1000, 0x3000}}},                 // at the start
      {0x4000, 0x3800, 64, {{0, 0x3000}}},                   // in the last page
      {0x1000, 0x0, 64, {}},                                 // the whole BAR
      {0x10000, 0x1ff0, 32, {{0, 0x1000}, {0x3000, 0xd000}}},  // straddles two pages
  };
  for (const Case& c : cases) {
    auto areas = api::MsixSparseAreas(c.bar, c.table, c.bytes, 4096);
    ASSERT_EQ(areas.size(), c.want.size()) << std::hex << c.table;
    for (size_t i = 0; i < areas.size(); ++i) {
      EXPECT_EQ(areas[i].offset, c.want[i].first);
      EXPECT_EQ(areas[i].size, c.want[i].second);
    }
  }
}

TEST(RegionCapsTest, ChainLayout) {
  api::CapChain caps;
  api::AddSparseMmapCap(&caps, api::MsixSparseAreas(0x4000, 0x2000, 64, 4096));
  api::AddRegionTypeCap(&caps, VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086, 1);
  api::AddMsixMappableCap(&caps);
  ASSERT_EQ(caps.size(), 16u + 2 * 16 + 16 + 8);
  caps.Shift(32);
  vfio_region_info_cap_sparse_mmap sparse;
  std::memcpy(&sparse, caps.data(), sizeof(sparse));
  EXPECT_EQ(sparse.header.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
  EXPECT_EQ(sparse.header.version, 1);
  EXPECT_EQ(sparse.nr_areas, 2u);
  EXPECT_EQ(sparse.header.next, 32u + 48);
  vfio_region_info_cap_type type;
  std::memcpy(&type, caps.data() + 48, sizeof(type));
  EXPECT_EQ(type.header.id, VFIO_REGION_INFO_CAP_TYPE);
  EXPECT_EQ(type.subtype, 1u);
  EXPECT_EQ(type.header.next, 32u + 64);
  vfio_info_cap_header last;
  std::memcpy(&last, caps.data() + 64, sizeof(last));
  EXPECT_EQ(last.id, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
  EXPECT_EQ(last.next, 0u);
}

}  // namespace
}  // namespace vfiosim::testing
