// read()/write() on the device fd: config space with vfio-pci's
// virtualization, BAR accesses dispatched to the model, region/offset
// errors; RESET and DEVICE_FEATURE (checklist 98) and open/close state.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <functional>

#include "api/device_file.h"
#include "sim/topology.h"
#include "tests/uapi/device_test_fixture.h"

namespace vfiosim::testing {
namespace {

using E = sim::EduDevice;
using D = sim::DmaTestDevice;

class DeviceRegionTest : public DeviceTest {
 protected:
  sim::PciDevice& Model(const char* bdf) { return *sim_.machine().FindDevice(bdf)->model; }
  int Feature(int dev, uint32_t flags, const std::vector<uint8_t>& payload = {}, uint32_t argsz = 0) {
    const uint32_t head[2] = {argsz ? argsz : static_cast<uint32_t>(8 + payload.size()), flags};
    const auto* bytes = reinterpret_cast<const uint8_t*>(head);
    std::vector<uint8_t> raw(bytes, bytes + sizeof(head));
    raw.insert(raw.end(), payload.begin(), payload.end());
    return sim_.Ioctl(dev, VFIO_DEVICE_FEATURE, raw.data());
  }
};

// ---- config space ----

TEST_F(DeviceRegionTest, IdsAreReadOnly) {
  int dev = OpenEdu();
  CfgWrite(dev, PCI_VENDOR_ID, 4, 0xdeadbeef);
  EXPECT_EQ(CfgRead(dev, PCI_VENDOR_ID, 2), E::kVendorId);
  EXPECT_EQ(CfgRead(dev, PCI_DEVICE_ID, 2), E::kDeviceId);
  EXPECT_EQ(CfgRead(dev, PCI_CLASS_REVISION, 4), 0x00ff0010u);
  CfgWrite(dev, PCI_STATUS, 2, 0xffff);  // status is not the user's to change
  EXPECT_EQ(CfgRead(dev, PCI_STATUS, 2) & ~PCI_STATUS_INTERRUPT, PCI_STATUS_CAP_LIST);
}

TEST_F(DeviceRegionTest, BarSizingIsVirtual) {
  int edu = OpenEdu();
  const uint32_t model_bar0 = *sim_.machine().FindDevice(kEduBdf)->model->ConfigRead(PCI_BASE_ADDRESS_0, 4);
  struct {
    uint32_t reg, want;
  } cases[] = {
      {PCI_BASE_ADDRESS_0, 0xfff00000},  // 1 MiB, 32-bit, non-prefetchable
      {PCI_BASE_ADDRESS_1, 0},           // not implemented
      {PCI_BASE_ADDRESS_5, 0},
      {PCI_ROM_ADDRESS, 0},  // no ROM
  };
  for (const auto& c : cases) {
    CfgWrite(edu, c.reg, 4, 0xffffffff);
    EXPECT_EQ(CfgRead(edu, c.reg, 4), c.want) << std::hex << c.reg;
  }
  CfgWrite(edu, PCI_BASE_ADDRESS_0, 4, 0xfea00000);
  EXPECT_EQ(CfgRead(edu, PCI_BASE_ADDRESS_0, 4), 0xfea00000u);
  CfgWrite(edu, PCI_BASE_ADDRESS_0 + 2, 2, 0xffff);  // sub-dword write, then re-masked
  EXPECT_EQ(CfgRead(edu, PCI_BASE_ADDRESS_0, 4), 0xfff00000u);
  EXPECT_EQ(*sim_.machine().FindDevice(kEduBdf)->model->ConfigRead(PCI_BASE_ADDRESS_0, 4), model_bar0);

  int dma = OpenDmaTest();
  CfgWrite(dma, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
  EXPECT_EQ(CfgRead(dma, PCI_BASE_ADDRESS_0, 4), 0xffffc000u);  // 16 KiB
}

TEST_F(DeviceRegionTest, CommandReachesTheDeviceInterruptLineStaysVirtual) {
  int dev = OpenEdu();
  EXPECT_EQ(CfgRead(dev, PCI_COMMAND, 2), 0x0103u);  // as firmware left it
  CfgWrite(dev, PCI_COMMAND, 2, 0x0107);
  EXPECT_EQ(CfgRead(dev, PCI_COMMAND, 2), 0x0107u);
  EXPECT_EQ(*Model(kEduBdf).ConfigRead(PCI_COMMAND, 2), 0x0107u);
  CfgWrite(dev, PCI_INTERRUPT_LINE, 1, 0x0b);
  EXPECT_EQ(CfgRead(dev, PCI_INTERRUPT_LINE, 1), 0x0bu);
  EXPECT_EQ(*Model(kEduBdf).ConfigRead(PCI_INTERRUPT_LINE, 1), 0u);
  CfgWrite(dev, PCI_INTERRUPT_PIN, 1, 0);
  EXPECT_EQ(CfgRead(dev, PCI_INTERRUPT_PIN, 1), 1u);
}

TEST_F(DeviceRegionTest, MsiCapabilityIsVirtual) {
  int dev = OpenEdu();
  const uint32_t cap = CfgRead(dev, PCI_CAPABILITY_LIST, 1);
  ASSERT_EQ(CfgRead(dev, cap, 1), static_cast<uint32_t>(PCI_CAP_ID_MSI));
  CfgWrite(dev, cap + PCI_MSI_ADDRESS_LO, 4, 0xfee01000);
  CfgWrite(dev, cap + PCI_MSI_DATA_64, 2, 0x4142);
  EXPECT_EQ(CfgRead(dev, cap + PCI_MSI_ADDRESS_LO, 4), 0xfee01000u);
  EXPECT_EQ(CfgRead(dev, cap + PCI_MSI_DATA_64, 2), 0x4142u);
  EXPECT_EQ(*Model(kEduBdf).ConfigRead(cap + PCI_MSI_ADDRESS_LO, 4), 0u);
  // Enable sticks only while SET_IRQS has MSI on; MME no larger than allocated.
  CfgWrite(dev, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | (5 << 4));
  EXPECT_EQ(CfgRead(dev, cap + PCI_MSI_FLAGS, 2) & (PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE), 0u);
  Eventfd ev;
  ASSERT_OK(SetEventfds(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, {ev.fd()}));
  CfgWrite(dev, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | (5 << 4));
  EXPECT_EQ(CfgRead(dev, cap + PCI_MSI_FLAGS, 2) & (PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE),
            static_cast<uint32_t>(PCI_MSI_FLAGS_ENABLE));
  EXPECT_TRUE(CfgRead(dev, cap + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_64BIT);  // read-only bits kept
}

// Walks both capability lists through the config region only.
std::vector<std::pair<uint16_t, bool>> WalkCaps(DeviceTest* t, int dev, bool express,
                                                std::function<uint32_t(int, uint32_t, unsigned)> read) {
  std::vector<std::pair<uint16_t, bool>> caps;
  for (uint32_t at = read(dev, PCI_CAPABILITY_LIST, 1); at != 0 && caps.size() < 16;) {
    caps.push_back({static_cast<uint16_t>(read(dev, at, 1)), false});
    at = read(dev, at + 1, 1);
  }
  for (uint32_t at = express ? 0x100 : 0; at != 0 && caps.size() < 32;) {
    const uint32_t header = read(dev, at, 4);
    if (header == 0) break;
    caps.push_back({static_cast<uint16_t>(PCI_EXT_CAP_ID(header)), true});
    at = PCI_EXT_CAP_NEXT(header);
  }
  (void)t;
  return caps;
}

TEST_F(DeviceRegionTest, CapabilityListsAreVisible) {
  // A DMA test device with ATS as well, from a topology.
  sim::TopologySpec spec = sim::DefaultTopologySpec();
  for (sim::PciFunction& f : spec.functions) {
    if (f.model == "dma-test") f.params_json = R"({"ats": true})";
  }
  core::Result<sim::Topology> topology = sim::Topology::Build(spec);
  ASSERT_TRUE(topology.ok());
  api::VfioSimOptions options;
  options.topology = *topology;
  api::VfioSim sim(options);
  int container = sim.Open("/dev/vfio/vfio", O_RDWR);
  int group = sim.Open("/dev/vfio/3", O_RDWR);
  ASSERT_OK(sim.Ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
  ASSERT_OK(sim.Ioctl(container, VFIO_SET_IOMMU, static_cast<uintptr_t>(VFIO_TYPE1v2_IOMMU)));
  int dev = sim.Ioctl(group, VFIO_GROUP_GET_DEVICE_FD, kDmaTestBdf);
  ASSERT_GE(dev, 0);
  auto read = [&](int fd, uint32_t off, unsigned size) {
    uint32_t v = 0;
    EXPECT_EQ(sim.Pread(fd, &v, size, kConfig + off), static_cast<ssize_t>(size));
    return v;
  };
  auto caps = WalkCaps(this, dev, true, read);
  std::vector<std::pair<uint16_t, bool>> want = {{PCI_CAP_ID_EXP, false},
                                                 {PCI_CAP_ID_MSIX, false},
                                                 {PCI_EXT_CAP_ID_PASID, true},
                                                 {PCI_EXT_CAP_ID_ATS, true}};
  EXPECT_EQ(caps, want);

  int edu = OpenEdu();
  auto edu_caps = WalkCaps(this, edu, false, [&](int fd, uint32_t off, unsigned size) {
    return CfgRead(fd, off, size);
  });
  EXPECT_EQ(edu_caps, (std::vector<std::pair<uint16_t, bool>>{{PCI_CAP_ID_MSI, false}}));
}

TEST_F(DeviceRegionTest, PcieFlrBitResetsTheFunction) {
  int dev = OpenDmaTest();
  EnableBusMaster(dev);
  BarWrite(dev, D::kRegMsixVector, 3);
  const uint32_t exp = CfgRead(dev, PCI_CAPABILITY_LIST, 1);
  ASSERT_EQ(CfgRead(dev, exp, 1), static_cast<uint32_t>(PCI_CAP_ID_EXP));
  const uint16_t ctl = static_cast<uint16_t>(CfgRead(dev, exp + PCI_EXP_DEVCTL, 2));
  CfgWrite(dev, exp + PCI_EXP_DEVCTL, 2, ctl | PCI_EXP_DEVCTL_BCR_FLR);
  EXPECT_EQ(BarRead(dev, D::kRegMsixVector), 0u);  // the device was reset
  EXPECT_EQ(CfgRead(dev, exp + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_BCR_FLR, 0u);
  EXPECT_EQ(CfgRead(dev, PCI_COMMAND, 2), 0x0107u);  // restored around the reset
}

TEST_F(DeviceRegionTest, ConfigAccessSizesAndBounds) {
  int dev = OpenEdu();
  uint8_t b[8];
  ASSERT_EQ(sim_.Pread(dev, b, 8, kConfig), 8);  // split into 4 + 4
  EXPECT_EQ(b[0] | b[1] << 8, 0x1234);
  ASSERT_EQ(sim_.Pread(dev, b, 3, kConfig + 1), 3);  // 1 + 2
  EXPECT_EQ(b[0], 0x12);
  EXPECT_EQ(b[1] | b[2] << 8, 0x11e8);
  EXPECT_ERRNO(static_cast<int>(sim_.Pread(dev, b, 1, kConfig + 256)), EFAULT);
  EXPECT_ERRNO(static_cast<int>(sim_.Pread(dev, b, 8, kConfig + 252)), EFAULT);
  EXPECT_ERRNO(static_cast<int>(sim_.Pwrite(dev, b, 8, kConfig + 252)), EFAULT);
  int dma = OpenDmaTest();
  EXPECT_EQ(sim_.Pread(dma, b, 4, kConfig + 4092), 4);
  EXPECT_ERRNO(static_cast<int>(sim_.Pread(dma, b, 4, kConfig + 4096)), EFAULT);
}

// ---- BARs ----

TEST_F(DeviceRegionTest, BarAccessSizes) {
  int dev = OpenDmaTest();
  EXPECT_EQ(BarRead(dev, D::kRegId, 4), D::kIdValue);
  EXPECT_EQ(BarRead(dev, D::kRegId, 2), 0xffffu);  // registers are 4-byte: the model answers all-ones
  BarWrite(dev, D::kRegIova, 0x1122334455667000ull, 8);  // 8 bytes: two 4-byte halves in 6.1
  EXPECT_EQ(BarRead(dev, D::kRegIova, 8), 0x1122334455667000ull);
  // The RAM window takes any size.
  BarWrite(dev, D::kBufferOffset + 1, 0xab, 1);
  BarWrite(dev, D::kBufferOffset + 2, 0xcdef, 2);
  EXPECT_EQ(BarRead(dev, D::kBufferOffset, 4), 0xcdefab00u);
  uint8_t seven[7] = {1, 2, 3, 4, 5, 6, 7};
  ASSERT_EQ(sim_.Pwrite(dev, seven, 7, kBar0 + D::kBufferOffset + 0x11), 7);  // 1+2+4 pieces
  uint8_t back[7] = {};
  ASSERT_EQ(sim_.Pread(dev, back, 7, kBar0 + D::kBufferOffset + 0x11), 7);
  EXPECT_EQ(std::memcmp(seven, back, 7), 0);
}

TEST_F(DeviceRegionTest, BarBoundsMsixTableAndMemoryEnable) {
  int dev = OpenDmaTest();
  uint8_t buf[16];
  EXPECT_ERRNO(static_cast<int>(sim_.Pread(dev, buf, 4, kBar0 + D::kBar0Size)), EINVAL);
  EXPECT_EQ(sim_.Pread(dev, buf, 16, kBar0 + D::kBar0Size - 8), 8);  // cut at the end
  // MSI-X table: all-ones, writes dropped; the PBA reads the device.
  std::memset(buf, 0, sizeof(buf));
  ASSERT_EQ(sim_.Pread(dev, buf, 16, kBar0 + D::kMsixTableOffset), 16);
  for (uint8_t v : buf) EXPECT_EQ(v, 0xff);
  BarWrite(dev, D::kMsixTableOffset + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
  EXPECT_TRUE(Model(kDmaTestBdf).MsixVectorMasked(0));
  EXPECT_EQ(BarRead(dev, D::kMsixPbaOffset, 8), 0u);
  // Memory decode off: EIO.
  CfgWrite(dev, PCI_COMMAND, 2, CfgRead(dev, PCI_COMMAND, 2) & ~PCI_COMMAND_MEMORY);
  EXPECT_ERRNO(static_cast<int>(sim_.Pread(dev, buf, 4, kBar0)), EIO);
  EXPECT_ERRNO(static_cast<int>(sim_.Pwrite(dev, buf, 4, kBar0)), EIO);
}

TEST_F(DeviceRegionTest, RegionAndOffsetErrors) {
  int dev = OpenEdu();
  uint32_t v = 0;
  struct {
    off_t offset;
    int err;
  } reads[] = {
      {Region(VFIO_PCI_BAR1_REGION_INDEX), EINVAL},  // unimplemented BAR
      {Region(VFIO_PCI_ROM_REGION_INDEX), EINVAL},   // no ROM
      {Region(VFIO_PCI_VGA_REGION_INDEX), EINVAL},
      {Region(VFIO_PCI_NUM_REGIONS), EINVAL},
      {Region(200), EINVAL},
      {-4, EINVAL},
  };
  for (const auto& r : reads) {
    SCOPED_TRACE(r.offset);
    EXPECT_ERRNO(static_cast<int>(sim_.Pread(dev, &v, 4, r.offset)), r.err);
    EXPECT_ERRNO(static_cast<int>(sim_.Pwrite(dev, &v, 4, r.offset)), r.err);
  }
  EXPECT_EQ(sim_.Pread(dev, &v, 0, Region(200)), 0);  // count 0: nothing to check
  EXPECT_ERRNO(static_cast<int>(sim_.Pread(container_, &v, 4, 0)), EINVAL);
  EXPECT_ERRNO(static_cast<int>(sim_.Pread(group_, &v, 4, 0)), EINVAL);
  EXPECT_ERRNO(static_cast<int>(sim_.Pread(12345, &v, 4, 0)), EBADF);
  // A bad user buffer: EFAULT, and a failed write changes nothing.
  EXPECT_ERRNO(static_cast<int>(sim_.Pread(dev, reinterpret_cast<void*>(8), 4, kBar0)), EFAULT);
  BarWrite(dev, E::kRegLiveness, 0x1234);
  EXPECT_ERRNO(static_cast<int>(sim_.Pwrite(dev, reinterpret_cast<void*>(8), 4, kBar0 + E::kRegLiveness)),
               EFAULT);
  EXPECT_EQ(BarRead(dev, E::kRegLiveness), ~0x1234u);
}

// ---- reset, features, open/close ----

TEST_F(DeviceRegionTest, Checklist98ResetAndFeatureChecks) {
  int edu = OpenEdu();
  EXPECT_ERRNO(sim_.Ioctl(edu, VFIO_DEVICE_RESET), EINVAL);
  EXPECT_ERRNO(Feature(edu, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, {}, 7), EINVAL);
  EXPECT_ERRNO(Feature(edu, 1u << 19), EINVAL);
  EXPECT_ERRNO(Feature(edu, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET), EINVAL);
  EXPECT_ERRNO(Feature(edu, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION), ENOTTY);
  EXPECT_ERRNO(Feature(edu, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET |
                                VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE),
               ENOTTY);
  EXPECT_ERRNO(Feature(edu, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, std::vector<uint8_t>(16)),
               ENOTTY);  // not an SR-IOV PF
  EXPECT_ERRNO(Feature(edu, VFIO_DEVICE_FEATURE_SET | 6), ENOTTY);  // DMA logging: 6.2+
  EXPECT_ERRNO(Feature(edu, VFIO_DEVICE_FEATURE_SET | 0xffff), ENOTTY);
}

TEST_F(DeviceRegionTest, LowPowerFeatures) {
  int dev = OpenEdu();
  const uint32_t set = VFIO_DEVICE_FEATURE_SET;
  EXPECT_ERRNO(Feature(dev, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY), EINVAL);
  EXPECT_ERRNO(Feature(dev, VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY), EINVAL);  // neither GET nor SET
  EXPECT_OK(Feature(dev, VFIO_DEVICE_FEATURE_PROBE | set | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY));
  EXPECT_OK(Feature(dev, set | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY));
  EXPECT_ERRNO(Feature(dev, set | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY), EINVAL);  // already engaged
  EXPECT_EQ(BarRead(dev, E::kRegId), E::kIdValue);  // accesses resume the device transparently
  EXPECT_OK(Feature(dev, set | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT));
  EXPECT_OK(Feature(dev, set | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT));  // exit when not engaged: fine

  Eventfd wake;
  auto entry = [](int32_t fd) {
    std::vector<uint8_t> p(8, 0);
    std::memcpy(p.data(), &fd, 4);
    return p;
  };
  const uint32_t with_wakeup = set | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP;
  EXPECT_ERRNO(Feature(dev, with_wakeup, entry(wake.fd()), 15), EINVAL);  // payload short
  EXPECT_ERRNO(Feature(dev, with_wakeup, entry(-1)), EINVAL);
  EXPECT_ERRNO(Feature(dev, with_wakeup, entry(987654)), EBADF);
  EXPECT_OK(Feature(dev, with_wakeup, entry(wake.fd())));
  EXPECT_EQ(wake.Take(), 0u);
  vfio_device_info info{};
  info.argsz = sizeof(info);
  ASSERT_OK(sim_.Ioctl(dev, VFIO_DEVICE_GET_INFO, &info));  // an access wakes it: one notification
  EXPECT_EQ(wake.Take(), 1u);
  ASSERT_OK(sim_.Ioctl(dev, VFIO_DEVICE_GET_INFO, &info));
  EXPECT_EQ(wake.Take(), 0u);
  EXPECT_OK(Feature(dev, with_wakeup, entry(wake.fd())));  // low power was left: may enter again
}

TEST_F(DeviceRegionTest, FeatureArgszSweep) {
  int dev = OpenEdu();
  Eventfd wake;
  for (uint32_t argsz = 0; argsz <= 24; ++argsz) {
    std::vector<uint8_t> raw(24, 0);
    const uint32_t flags = VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP;
    const int32_t fd = wake.fd();
    std::memcpy(raw.data(), &argsz, 4);
    std::memcpy(raw.data() + 4, &flags, 4);
    std::memcpy(raw.data() + 8, &fd, 4);
    SCOPED_TRACE(argsz);
    if (argsz < 16) {  // 8 for the header (core), 8 for the payload (vfio_check_feature)
      EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_FEATURE, raw.data()), EINVAL);
    } else {
      EXPECT_OK(sim_.Ioctl(dev, VFIO_DEVICE_FEATURE, raw.data()));
      EXPECT_OK(Feature(dev, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_EXIT));
    }
  }
}

// No topology knob makes an SR-IOV PF yet: flip the core device's flag.
TEST_F(DeviceRegionTest, VfTokenOnASriovPf) {
  for (const core::Device* d : sim_.kernel().Devices()) {
    if (d->name == kDmaTestBdf) const_cast<core::Device*>(d)->vf = true;
  }
  int dev = OpenDmaTest();
  const uint32_t token = VFIO_DEVICE_FEATURE_PCI_VF_TOKEN;
  std::vector<uint8_t> uuid(16, 0x11);
  EXPECT_ERRNO(Feature(dev, VFIO_DEVICE_FEATURE_GET | token, uuid), EINVAL);  // never readable
  EXPECT_ERRNO(Feature(dev, VFIO_DEVICE_FEATURE_SET | token, std::vector<uint8_t>(15)), EINVAL);
  EXPECT_OK(Feature(dev, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | token));
  EXPECT_OK(Feature(dev, VFIO_DEVICE_FEATURE_SET | token, uuid));
  // The payload pointer is checked when it is read.
  uint8_t* page = static_cast<uint8_t*>(mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(page, MAP_FAILED);
  ASSERT_EQ(munmap(page + 4096, 4096), 0);
  uint8_t* hdr = page + 4096 - 8;
  const uint32_t argsz = 24, flags = VFIO_DEVICE_FEATURE_SET | token;
  std::memcpy(hdr, &argsz, 4);
  std::memcpy(hdr + 4, &flags, 4);
  EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_FEATURE, hdr), EFAULT);
  munmap(page, 4096);
}

TEST_F(DeviceRegionTest, ResetRestoresConfigAndClearsTheDevice) {
  int dev = OpenDmaTest();
  EnableBusMaster(dev);
  CfgWrite(dev, PCI_BASE_ADDRESS_0, 4, 0xfe000000);
  CfgWrite(dev, PCI_CACHE_LINE_SIZE, 1, 0x10);
  BarWrite(dev, D::kRegMsixVector, 2);
  BarWrite(dev, D::kBufferOffset, 0x55aa55aa);
  ASSERT_OK(sim_.Ioctl(dev, VFIO_DEVICE_RESET));
  EXPECT_EQ(BarRead(dev, D::kRegMsixVector), 0u);
  EXPECT_EQ(BarRead(dev, D::kBufferOffset), 0u);  // device memory too
  EXPECT_EQ(CfgRead(dev, PCI_COMMAND, 2), 0x0107u);
  EXPECT_EQ(CfgRead(dev, PCI_CACHE_LINE_SIZE, 1), 0x10u);
  EXPECT_EQ(CfgRead(dev, PCI_BASE_ADDRESS_0, 4), 0xfe000000u);
}

TEST_F(DeviceRegionTest, LastCloseRestoresTheOpenTimeConfig) {
  int dev = OpenEdu();
  CfgWrite(dev, PCI_COMMAND, 2, PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
  CfgWrite(dev, PCI_BASE_ADDRESS_0, 4, 0xfea00000);
  ASSERT_OK(sim_.Close(dev));
  EXPECT_EQ(*Model(kEduBdf).ConfigRead(PCI_COMMAND, 2), 0x0103u);
  dev = sim_.Ioctl(group_, VFIO_GROUP_GET_DEVICE_FD, kEduBdf);
  ASSERT_GE(dev, 0);
  EXPECT_EQ(CfgRead(dev, PCI_COMMAND, 2), 0x0103u);
  EXPECT_EQ(CfgRead(dev, PCI_BASE_ADDRESS_0, 4), 0u);  // a fresh virtual BAR
}

}  // namespace
}  // namespace vfiosim::testing
