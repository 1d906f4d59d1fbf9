// Interrupts end to end: SET_IRQS validation in the kernel's order
// (checklist 95-97), the argsz sweep, and device interrupts observed on real
// eventfds - edu factorial and DMA completion on INTx and MSI, INTx
// automask/unmask (also through an unmask eventfd), MSI-X vectors of the
// DMA test device, state surviving a reset and cleared by close.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/mman.h>

#include "api/device_file.h"
#include "tests/uapi/device_test_fixture.h"

namespace vfiosim::testing {
namespace {

using E = sim::EduDevice;
using D = sim::DmaTestDevice;
constexpr uint32_t kEvTrigger = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
constexpr uint32_t kNoneTrigger = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;

class DeviceIrqTest : public DeviceTest {
 protected:
  api::IrqType Type(int dev) {
    return static_cast<api::DeviceFile&>(*sim_.fds().Get(dev)).state().irq_type();
  }
  // Waits (bounded, for the unmask thread) until the eventfd fires.
  static uint64_t WaitFor(const Eventfd& ev) {
    pollfd p{ev.fd(), POLLIN, 0};
    if (poll(&p, 1, 5000) != 1) return 0;
    return ev.Take();
  }
};

TEST_F(DeviceIrqTest, Checklist95HeaderChecks) {
  int dev = OpenDmaTest();
  vfio_irq_set hdr{};
  hdr.argsz = 19;
  hdr.flags = kNoneTrigger;
  hdr.count = 1;
  EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_SET_IRQS, &hdr), EINVAL);
  EXPECT_ERRNO(SetIrqs(dev, kNoneTrigger, 5, 0, 1), EINVAL);
  EXPECT_ERRNO(SetIrqs(dev, 0x40 | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, 1), EINVAL);
  EXPECT_ERRNO(SetIrqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0,
                       1, {1}),
               EINVAL);
  EXPECT_ERRNO(SetIrqs(dev, VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0, 1), EINVAL);  // no data type
  EXPECT_ERRNO(SetIrqs(dev, kNoneTrigger, 0, 1, UINT32_MAX - 1), EINVAL);  // count >= U32_MAX - start
}

TEST_F(DeviceIrqTest, Checklist96MsiActionsWithoutHandler) {
  int dev = OpenEdu();  // edu has one MSI vector (the DMA test device has none: EINVAL first)
  EXPECT_ERRNO(SetIrqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_MSI_IRQ_INDEX, 0, 1), ENOTTY);
  EXPECT_ERRNO(SetIrqs(dev, VFIO_IRQ_SET_DATA_NONE, VFIO_PCI_MSI_IRQ_INDEX, 0, 1), ENOTTY);
  int dma = OpenDmaTest();
  EXPECT_ERRNO(SetIrqs(dma, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, VFIO_PCI_MSI_IRQ_INDEX, 0, 1),
               EINVAL);
}

TEST_F(DeviceIrqTest, Checklist97MsixPayloadAndRange) {
  int dev = OpenDmaTest();
  Eventfd a;
  std::vector<uint8_t> raw(24, 0);
  vfio_irq_set hdr{24, kEvTrigger, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2};
  std::memcpy(raw.data(), &hdr, sizeof(hdr));
  int32_t fd = a.fd();
  std::memcpy(raw.data() + 20, &fd, 4);
  EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_SET_IRQS, raw.data()), EINVAL);
  EXPECT_ERRNO(SetEventfds(dev, VFIO_PCI_MSIX_IRQ_INDEX, D::kMsixVectors, {a.fd()}), EINVAL);
  EXPECT_EQ(Type(dev), api::IrqType::kNone);
}

TEST_F(DeviceIrqTest, ArgszSweepForEventfdPayload) {
  int dev = OpenDmaTest();
  Eventfd a, b;
  for (uint32_t argsz = 0; argsz <= 32; ++argsz) {
    std::vector<uint8_t> raw(40, 0);
    vfio_irq_set hdr{argsz, kEvTrigger, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2};
    std::memcpy(raw.data(), &hdr, sizeof(hdr));
    int32_t fds[2] = {a.fd(), b.fd()};
    std::memcpy(raw.data() + 20, fds, 8);
    if (argsz < 28) {
      EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_SET_IRQS, raw.data()), EINVAL);
      EXPECT_EQ(Type(dev), api::IrqType::kNone);
    } else {
      EXPECT_OK(sim_.Ioctl(dev, VFIO_DEVICE_SET_IRQS, raw.data()));
      EXPECT_EQ(Type(dev), api::IrqType::kMsix);
      ASSERT_OK(SetIrqs(dev, kNoneTrigger, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0));
    }
  }
}

TEST_F(DeviceIrqTest, PayloadFaultIsEfault) {
  int dev = OpenDmaTest();
  void* page = mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  ASSERT_EQ(munmap(static_cast<uint8_t*>(page) + 4096, 4096), 0);
  // The header is the last 20 bytes of the page; the payload is unmapped.
  auto* hdr = reinterpret_cast<vfio_irq_set*>(static_cast<uint8_t*>(page) + 4096 - 20);
  *hdr = vfio_irq_set{28, kEvTrigger, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2};
  EXPECT_ERRNO(sim_.Ioctl(dev, VFIO_DEVICE_SET_IRQS, hdr), EFAULT);
  EXPECT_EQ(Type(dev), api::IrqType::kNone);
  munmap(page, 4096);
}

TEST_F(DeviceIrqTest, BadSecondEventfdChangesNothing) {
  int dev = OpenDmaTest();
  Eventfd a;
  EXPECT_ERRNO(SetEventfds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, {a.fd(), 987654}), EBADF);
  EXPECT_EQ(Type(dev), api::IrqType::kNone);
  ASSERT_OK(SetEventfds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, {a.fd(), -1}));
  Eventfd b;
  EXPECT_ERRNO(SetEventfds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, {b.fd(), 987654}), EBADF);
  ASSERT_OK(SetIrqs(dev, kNoneTrigger, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2));
  EXPECT_EQ(a.Take(), 1u);  // vector 0 still on a
  EXPECT_EQ(b.Take(), 0u);
}

// ---- edu: factorial and DMA completion, INTx and MSI ----

TEST_F(DeviceIrqTest, EduFactorialOnIntxWithAutomaskAndUnmask) {
  int dev = OpenEdu();
  Eventfd ev;
  ASSERT_OK(SetEventfds(dev, VFIO_PCI_INTX_IRQ_INDEX, 0, {ev.fd()}));
  BarWrite(dev, E::kRegStatus, E::kStatusIrqFact);
  BarWrite(dev, E::kRegFactorial, 5);
  EXPECT_EQ(BarRead(dev, E::kRegFactorial), 120u);
  EXPECT_EQ(ev.Take(), 1u);
  EXPECT_EQ(BarRead(dev, E::kRegIrqStatus), E::kIrqFact);
  EXPECT_TRUE(CfgRead(dev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
  // Automasked: the line is still up, nothing new arrives.
  BarWrite(dev, E::kRegFactorial, 6);
  EXPECT_EQ(ev.Take(), 0u);
  // Unmask while asserted: signalled again (and masked again).
  ASSERT_OK(SetIrqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1));
  EXPECT_EQ(ev.Take(), 1u);
  // Acknowledge, then unmask: quiet.
  BarWrite(dev, E::kRegIrqAck, E::kIrqFact);
  EXPECT_FALSE(CfgRead(dev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
  ASSERT_OK(SetIrqs(dev, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1));
  EXPECT_EQ(ev.Take(), 0u);
  BarWrite(dev, E::kRegFactorial, 4);
  EXPECT_EQ(ev.Take(), 1u);
}

TEST_F(DeviceIrqTest, EduFactorialOnMsi) {
  int dev = OpenEdu();
  EnableBusMaster(dev);  // a message is a memory write
  Eventfd ev;
  ASSERT_OK(SetEventfds(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, {ev.fd()}));
  // The device's own MSI capability is enabled; the user's view stays virtual.
  const uint16_t cap = 0x40;
  EXPECT_EQ(CfgRead(dev, cap, 1), static_cast<uint32_t>(PCI_CAP_ID_MSI));
  EXPECT_FALSE(CfgRead(dev, cap + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE);
  BarWrite(dev, E::kRegStatus, E::kStatusIrqFact);
  BarWrite(dev, E::kRegFactorial, 10);
  EXPECT_EQ(BarRead(dev, E::kRegFactorial), 3628800u);
  EXPECT_EQ(ev.Take(), 1u);
  BarWrite(dev, E::kRegFactorial, 3);  // MSI is edge: every raise is a message
  EXPECT_EQ(ev.Take(), 1u);
  // Disabled again: the device falls back to INTx, which nobody listens to.
  ASSERT_OK(SetIrqs(dev, kNoneTrigger, VFIO_PCI_MSI_IRQ_INDEX, 0, 0));
  BarWrite(dev, E::kRegFactorial, 3);
  EXPECT_EQ(ev.Take(), 0u);
}

TEST_F(DeviceIrqTest, EduDmaCompletionOnMsiAndOnIntx) {
  int dev = OpenEdu();
  EnableBusMaster(dev);
  DmaBuffer buf(2 * 4096);
  for (int i = 0; i < 4096; ++i) buf.data()[i] = static_cast<uint8_t>(i ^ 0x5c);
  ASSERT_OK(Map(container_, 0x100000, 2 * 4096, buf.va()));

  Eventfd msi;
  ASSERT_OK(SetEventfds(dev, VFIO_PCI_MSI_IRQ_INDEX, 0, {msi.fd()}));
  EduDma(dev, 0x100000, E::kBufferAddr, 4096, E::kDmaIrq);
  EXPECT_EQ(msi.Take(), 1u);
  EXPECT_EQ(BarRead(dev, E::kRegIrqStatus), E::kIrqDma);
  BarWrite(dev, E::kRegIrqAck, E::kIrqDma);
  ASSERT_OK(SetIrqs(dev, kNoneTrigger, VFIO_PCI_MSI_IRQ_INDEX, 0, 0));

  Eventfd intx;
  ASSERT_OK(SetEventfds(dev, VFIO_PCI_INTX_IRQ_INDEX, 0, {intx.fd()}));
  EduDma(dev, E::kBufferAddr, 0x101000, 4096, E::kDmaToRam | E::kDmaIrq);
  EXPECT_EQ(intx.Take(), 1u);
  EXPECT_EQ(std::memcmp(buf.data(), buf.data() + 4096, 4096), 0);
  BarWrite(dev, E::kRegIrqAck, E::kIrqDma);
}

TEST_F(DeviceIrqTest, IntxUnmaskEventfdUnmasksFromItsOwnThread) {
  int dev = OpenEdu();
  Eventfd trigger, unmask;
  ASSERT_OK(SetEventfds(dev, VFIO_PCI_INTX_IRQ_INDEX, 0, {trigger.fd()}));
  ASSERT_OK(SetIrqs(dev, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
                    Fds({unmask.fd()})));
  Eventfd other;
  EXPECT_ERRNO(SetIrqs(dev, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
                       Fds({other.fd()})),
               EBUSY);
  BarWrite(dev, E::kRegIrqRaise, 0x1000);  // asserted, signalled, automasked
  EXPECT_EQ(trigger.Take(), 1u);
  uint64_t one = 1;
  ASSERT_EQ(write(unmask.fd(), &one, sizeof(one)), 8);  // the resample: still asserted
  EXPECT_EQ(WaitFor(trigger), 1u);
  // Disabling INTx stops the unmask thread.
  ASSERT_OK(SetIrqs(dev, kNoneTrigger, VFIO_PCI_INTX_IRQ_INDEX, 0, 0));
  EXPECT_EQ(Type(dev), api::IrqType::kNone);
}

// ---- DMA test device: MSI-X vectors, reset, close ----

TEST_F(DeviceIrqTest, MsixVectorsReachTheirOwnEventfds) {
  int dev = OpenDmaTest();
  EnableBusMaster(dev);
  Eventfd v[4];
  ASSERT_OK(SetEventfds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, {v[0].fd(), v[1].fd(), v[2].fd(), v[3].fd()}));
  // vfio-pci enabled MSI-X in the device; the control register shows it.
  const sim::PciDevice& model = *sim_.machine().FindDevice(kDmaTestBdf)->model;
  const uint16_t cap = model.power_on_config().FindCapability(PCI_CAP_ID_MSIX);
  EXPECT_TRUE(CfgRead(dev, cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE);
  for (uint32_t vec = 0; vec < 4; ++vec) {
    BarWrite(dev, D::kRegMsixVector, vec);
    DmaTestRequest(dev, D::kOpRead, 0x100000, 8);  // faults, but completes
    for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(v[i].Take(), i == vec ? 1u : 0u) << vec << " " << i;
    BarWrite(dev, D::kRegIrqAck, 1);
  }
  // The kernel owns the table: reads through the region are all-ones.
  EXPECT_EQ(BarRead(dev, D::kMsixTableOffset), 0xffffffffu);
  ASSERT_OK(sim_.Ioctl(dev, VFIO_DEVICE_RESET));  // pci_reset_function restores MSI-X
  EnableBusMaster(dev);
  DmaTestRequest(dev, D::kOpRead, 0x100000, 8);
  EXPECT_EQ(v[0].Take(), 1u);
  ASSERT_OK(SetIrqs(dev, kNoneTrigger, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0));
  EXPECT_FALSE(CfgRead(dev, cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE);
}

TEST_F(DeviceIrqTest, LastCloseDisablesInterrupts) {
  int dev = OpenDmaTest();
  Eventfd ev, err;
  ASSERT_OK(SetEventfds(dev, VFIO_PCI_MSIX_IRQ_INDEX, 0, {ev.fd()}));
  ASSERT_OK(SetEventfds(dev, VFIO_PCI_ERR_IRQ_INDEX, 0, {err.fd()}));
  int second = sim_.Ioctl(group_, VFIO_GROUP_GET_DEVICE_FD, kDmaTestBdf);
  ASSERT_GE(second, 0);
  EXPECT_EQ(Type(second), api::IrqType::kMsix);  // one device, one state
  ASSERT_OK(sim_.Close(dev));
  EXPECT_EQ(Type(second), api::IrqType::kMsix);
  ASSERT_OK(sim_.Close(second));
  sim::MachineDevice* md = sim_.machine().FindDevice(kDmaTestBdf);
  EXPECT_FALSE(md->irq->HasTrigger(sim::IrqKind::kMsix, 0));
  EXPECT_FALSE(md->irq->HasTrigger(sim::IrqKind::kErr, 0));
  EXPECT_FALSE(md->irq->active().has_value());
  int again = sim_.Ioctl(group_, VFIO_GROUP_GET_DEVICE_FD, kDmaTestBdf);
  ASSERT_GE(again, 0);
  EXPECT_EQ(Type(again), api::IrqType::kNone);
}

}  // namespace
}  // namespace vfiosim::testing
