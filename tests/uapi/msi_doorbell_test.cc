// Seed 000 (rfc-msi-resv-2016) on an IOMMU with a software-managed MSI
// window (ARM SMMU): the user registers the window with RESERVED_MSI_IOVA and
// every MSI vector a device enables gets a doorbell IOVA from it, handed out
// by the IOVA allocator (size-aligned, top-down). Without a window the MSI
// cannot be composed and SET_IRQS fails.
#include <gtest/gtest.h>
#include <linux/vfio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>

#include "api/uapi/vfio_msi_resv_rfc.h"
#include "tests/util/vfio_fixture.h"

namespace vfiosim::testing {
namespace {

constexpr uint64_t kWindow = 0x8000000;  // where the user puts its MSI window
constexpr uint64_t kWindowSize = 0x100000;

core::MachineConfig Arm() {
  core::MachineConfig m = sim::DefaultMachineConfig();
  m.iommu_model = core::IommuModel::kArmSmmu;
  return m;
}

class MsiDoorbellTest : public ::testing::Test, public VfioFixture {
 protected:
  MsiDoorbellTest() : VfioFixture(api::FindProfile("rfc-msi-resv-2016"), Arm()) {}
  void SetUp() override {
    SetUpVfio();
    device_ = sim().Ioctl(group(), VFIO_GROUP_GET_DEVICE_FD, kEduBdf);
    ASSERT_GE(device_, 0);
    efd_ = eventfd(0, EFD_CLOEXEC);
  }
  void TearDown() override { close(efd_); }

  int RegisterWindow() {
    return Map(kWindow, kWindowSize, 0, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
                                            VFIO_DMA_MAP_FLAG_RESERVED_MSI_IOVA);
  }
  int EnableMsi() {
    alignas(4) uint8_t buf[sizeof(vfio_irq_set) + sizeof(int32_t)];
    vfio_irq_set set{sizeof(buf), VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
                     VFIO_PCI_MSI_IRQ_INDEX, 0, 1};
    std::memcpy(buf, &set, sizeof(set));
    std::memcpy(buf + sizeof(set), &efd_, sizeof(efd_));
    return sim().Ioctl(device_, VFIO_DEVICE_SET_IRQS, buf);
  }
  int DisableMsi() {
    vfio_irq_set set{sizeof(set), VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
                     VFIO_PCI_MSI_IRQ_INDEX, 0, 0};
    return sim().Ioctl(device_, VFIO_DEVICE_SET_IRQS, &set);
  }
  size_t Doorbells() {
    size_t n = 0;
    auto c = sim().kernel().GroupContainer(kEduGroup);
    (void)c->WithIommu([&](core::Type1Iommu& t) {
      n = t.msi_doorbell_count();
      return core::Status::Ok();
    });
    return n;
  }

  int device_ = -1;
  int efd_ = -1;
};

TEST_F(MsiDoorbellTest, MsiVectorsTakeDoorbellsFromTheRegisteredWindow) {
  ASSERT_OK(RegisterWindow());
  EXPECT_EQ(Doorbells(), 0u);
  ASSERT_OK(EnableMsi());
  EXPECT_EQ(Doorbells(), 1u);
  ASSERT_OK(DisableMsi());
  EXPECT_EQ(Doorbells(), 0u) << "disabling MSI gives the doorbell back";
  ASSERT_OK(EnableMsi());
  EXPECT_EQ(Doorbells(), 1u);
}

TEST_F(MsiDoorbellTest, WithoutAWindowMsiCannotBeEnabled) {
  EXPECT_ERRNO(EnableMsi(), ENOSPC);
  EXPECT_EQ(Doorbells(), 0u);
  ASSERT_OK(RegisterWindow());
  EXPECT_OK(EnableMsi());
}

TEST(MsiDoorbellX86Test, X86NeedsNoDoorbellWindow) {
  VfioFixture f(api::FindProfile("rfc-msi-resv-2016"));
  f.SetUpVfio();
  int device = f.sim().Ioctl(f.group(), VFIO_GROUP_GET_DEVICE_FD, kEduBdf);
  ASSERT_GE(device, 0);
  int efd = eventfd(0, EFD_CLOEXEC);
  alignas(4) uint8_t buf[sizeof(vfio_irq_set) + sizeof(int32_t)];
  vfio_irq_set set{sizeof(buf), VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
                   VFIO_PCI_MSI_IRQ_INDEX, 0, 1};
  std::memcpy(buf, &set, sizeof(set));
  std::memcpy(buf + sizeof(set), &efd, sizeof(efd));
  EXPECT_OK(f.sim().Ioctl(device, VFIO_DEVICE_SET_IRQS, buf));  // the x86 MSI window is fixed
  close(efd);
}

}  // namespace
}  // namespace vfiosim::testing
