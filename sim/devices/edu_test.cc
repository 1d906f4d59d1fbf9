#include "sim/devices/edu.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "core/fault_injection.h"
#include "sim/devices/testing/fake_dma_port.h"
#include "sim/devices/testing/recording_irq_sink.h"

namespace vfiosim::sim {
namespace {

using Event = testing::RecordingIrqSink::Event;
using E = EduDevice;

constexpr uint64_t kRam = 0x100000;  // client memory mapped in the fake port

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

class EduTest : public ::testing::Test {
 protected:
  void SetUp() override {
    core::Result<std::unique_ptr<EduDevice>> r = EduDevice::Create();
    ASSERT_TRUE(r.ok());
    dev_ = std::move(r).value();
    dev_->Attach(&port_, &sink_);
    port_.set_scribble_on_fault(true);
    SetCommand(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    port_.Map(kRam, 0x10000);
  }

  void SetCommand(uint16_t cmd) { ASSERT_TRUE(dev_->ConfigWrite(PCI_COMMAND, 2, cmd).ok()); }
  void EnableMsi() {
    const uint16_t cap = dev_->power_on_config().FindCapability(PCI_CAP_ID_MSI);
    ASSERT_EQ(cap, 0x40);
    ASSERT_TRUE(dev_->ConfigWrite(cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE).ok());
  }
  uint64_t Rd(uint64_t off, unsigned size = 4) {
    core::Result<uint64_t> r = dev_->BarRead(0, off, size);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : 0xdead;
  }
  void Wr(uint64_t off, uint64_t v, unsigned size = 4) {
    EXPECT_TRUE(dev_->BarWrite(0, off, size, v).ok());
  }
  void Dma(uint64_t src, uint64_t dst, uint64_t count, uint64_t cmd) {
    Wr(E::kRegDmaSrc, src, 8);
    Wr(E::kRegDmaDst, dst, 8);
    Wr(E::kRegDmaCount, count, 8);
    Wr(E::kRegDmaCmd, cmd, 8);
  }
  std::vector<uint8_t> Buffer(size_t off, size_t n) {
    auto b = dev_->DmaBuffer();
    return std::vector<uint8_t>(b.begin() + off, b.begin() + off + n);
  }

  testing::FakeDmaPort port_;
  testing::RecordingIrqSink sink_;
  std::unique_ptr<EduDevice> dev_;
};

TEST_F(EduTest, ConfigSpaceMatchesQemu) {
  EXPECT_EQ(*dev_->ConfigRead(PCI_VENDOR_ID, 4), 0x11e81234u);
  EXPECT_EQ(*dev_->ConfigRead(PCI_CLASS_REVISION, 4), 0x00ff0010u);
  EXPECT_EQ(*dev_->ConfigRead(PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4u);
  EXPECT_EQ(*dev_->ConfigRead(PCI_INTERRUPT_PIN, 1), 1u);
  EXPECT_EQ(*dev_->ConfigRead(PCI_CAPABILITY_LIST, 1), 0x40u);
  EXPECT_EQ(*dev_->ConfigRead(0x40, 4), 0x00800005u);  // MSI, last, 64-bit, 1 vector
  EXPECT_EQ(dev_->power_on_config().Capabilities().size(), 1u);
  EXPECT_EQ(dev_->ConfigSize(), 256u);
  EXPECT_FALSE(dev_->IsExpress());
  EXPECT_EQ(dev_->ConfigRead(256, 4).err(), EINVAL);
  EXPECT_EQ(dev_->IntxCount(), 1u);
  EXPECT_EQ(dev_->MsiVectorCount(), 1u);
  EXPECT_EQ(dev_->MsixTableSize(), 0u);
  EXPECT_EQ(dev_->ModelName(), "edu");

  const BarInfo& bar0 = dev_->Bar(0);
  EXPECT_EQ(bar0.spec.type, BarType::kMem32);
  EXPECT_EQ(bar0.spec.size, 1u << 20);
  EXPECT_FALSE(bar0.spec.prefetchable);
  EXPECT_FALSE(bar0.mmappable());
  EXPECT_EQ(dev_->MmapBacking(0), nullptr);
  for (int i = 1; i < 6; ++i) EXPECT_EQ(dev_->Bar(i).spec.type, BarType::kNone);
  ASSERT_TRUE(dev_->ConfigWrite(PCI_BASE_ADDRESS_0, 4, 0xffffffff).ok());
  EXPECT_EQ(*dev_->ConfigRead(PCI_BASE_ADDRESS_0, 4), 0xfff00000u);

  EXPECT_FALSE(dev_->SupportsReset());
  EXPECT_EQ(dev_->Reset().err(), EINVAL);
}

TEST_F(EduTest, IdentificationAndLiveness) {
  EXPECT_EQ(Rd(E::kRegId), 0x010000edu);
  Wr(E::kRegLiveness, 0x12345678);
  EXPECT_EQ(Rd(E::kRegLiveness), 0xedcba987u);
  Wr(E::kRegId, 0);  // read-only
  EXPECT_EQ(Rd(E::kRegId), 0x010000edu);
}

TEST_F(EduTest, AccessSizeRules) {
  // Regression: QEMU rejects accesses under 4 bytes before edu sees them;
  // they read as 0 (Linux 6.1 + QEMU 7.2, parity client device_edu).
  EXPECT_EQ(Rd(E::kRegId, 2), 0u);
  EXPECT_EQ(Rd(E::kRegId, 8), ~uint64_t{0});
  EXPECT_EQ(Rd(E::kRegLiveness), 0u);                 // power-on value
  Wr(E::kRegFactorial, 5, 8);                         // dropped: not 4 bytes
  Wr(E::kRegLiveness, 5, 2);
  EXPECT_EQ(Rd(E::kRegFactorial), 0u);
  EXPECT_EQ(Rd(E::kRegLiveness), 0u);
  EXPECT_EQ(Rd(0x10), 0xffffffffu);                   // unknown register
  EXPECT_EQ(Rd(E::kBufferAddr), 0xffffffffu);         // buffer is not MMIO
  EXPECT_EQ(Rd(E::kRegDmaSrc + 4), 0xffffffffu);      // no upper-half register
  EXPECT_EQ(Rd(E::kRegDmaSrc, 2), 0u);                // >= 0x80: 4 or 8 only
  Wr(E::kRegDmaSrc, 0xaaaaaaaabbbbbbbb, 8);
  EXPECT_EQ(Rd(E::kRegDmaSrc, 8), 0xaaaaaaaabbbbbbbbu);
  EXPECT_EQ(Rd(E::kRegDmaSrc, 4), 0xbbbbbbbbu);
  Wr(E::kRegDmaSrc, 0x1234, 4);  // a 4-byte write replaces the whole register
  EXPECT_EQ(Rd(E::kRegDmaSrc, 8), 0x1234u);
  // Framework validation: outside the BAR, misaligned, bad size, bad BAR.
  EXPECT_EQ(dev_->BarRead(0, E::kBar0Size, 4).err(), EINVAL);
  EXPECT_EQ(dev_->BarRead(0, 2, 4).err(), EINVAL);
  EXPECT_EQ(dev_->BarRead(0, 0, 3).err(), EINVAL);
  EXPECT_EQ(dev_->BarRead(1, 0, 4).err(), EINVAL);
  EXPECT_EQ(dev_->BarWrite(6, 0, 4, 0).err(), EINVAL);
}

TEST_F(EduTest, Factorial) {
  uint32_t f33 = 1;
  for (uint32_t i = 2; i <= 33; ++i) f33 *= i;
  const std::pair<uint32_t, uint32_t> cases[] = {
      {0, 1}, {1, 1}, {5, 120}, {12, 479001600}, {13, 1932053504}, {33, f33},
      {34, 0}, {0xffffffff, 0},
  };
  for (auto [n, want] : cases) {
    Wr(E::kRegFactorial, n);
    EXPECT_EQ(Rd(E::kRegStatus) & E::kStatusComputing, 0u);
    EXPECT_EQ(Rd(E::kRegFactorial), want) << n;
  }
  EXPECT_TRUE(sink_.events().empty());  // no interrupt without status bit 7
  EXPECT_EQ(Rd(E::kRegIrqStatus), 0u);
}

TEST_F(EduTest, StatusRegisterOnlyBit7IsWritable) {
  Wr(E::kRegStatus, 0xffffffff);
  EXPECT_EQ(Rd(E::kRegStatus), E::kStatusIrqFact);
  Wr(E::kRegStatus, 0x1);
  EXPECT_EQ(Rd(E::kRegStatus), 0u);
}

TEST_F(EduTest, FactorialInterruptOnIntx) {
  Wr(E::kRegStatus, E::kStatusIrqFact);
  Wr(E::kRegFactorial, 5);
  EXPECT_EQ(Rd(E::kRegIrqStatus), E::kIrqFact);
  EXPECT_TRUE(sink_.intx());
  EXPECT_TRUE(*dev_->ConfigRead(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
  Wr(E::kRegIrqAck, E::kIrqFact);
  EXPECT_FALSE(sink_.intx());
  EXPECT_FALSE(*dev_->ConfigRead(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
  const std::vector<Event> want = {{IrqKind::kIntx, 1}, {IrqKind::kIntx, 0}};
  EXPECT_EQ(sink_.events(), want);
}

TEST_F(EduTest, RaiseAndAcknowledgeIntx) {
  Wr(E::kRegIrqRaise, 0x10);
  Wr(E::kRegIrqRaise, 0x20);  // line already high: no new edge
  EXPECT_EQ(Rd(E::kRegIrqStatus), 0x30u);
  EXPECT_TRUE(dev_->IntxLineAsserted());
  Wr(E::kRegIrqAck, 0x10);
  EXPECT_TRUE(sink_.intx());  // still 0x20 pending
  Wr(E::kRegIrqAck, 0x20);
  EXPECT_FALSE(sink_.intx());
  EXPECT_EQ(Rd(E::kRegIrqStatus), 0u);
  const std::vector<Event> want = {{IrqKind::kIntx, 1}, {IrqKind::kIntx, 0}};
  EXPECT_EQ(sink_.events(), want);
  Wr(E::kRegIrqRaise, 0);  // raising nothing with status 0 does nothing
  EXPECT_EQ(sink_.events().size(), 2u);
}

TEST_F(EduTest, IntxDisableGatesTheLineNotTheStatus) {
  SetCommand(PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
  Wr(E::kRegIrqRaise, 1);
  EXPECT_FALSE(sink_.intx());
  EXPECT_TRUE(*dev_->ConfigRead(PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
  SetCommand(PCI_COMMAND_MASTER);  // re-enabling INTx delivers the pending level
  EXPECT_TRUE(sink_.intx());
  SetCommand(PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
  EXPECT_FALSE(sink_.intx());
}

TEST_F(EduTest, RaiseAndAcknowledgeMsi) {
  EnableMsi();
  Wr(E::kRegIrqRaise, 0x10);
  Wr(E::kRegIrqRaise, 0x20);  // MSI: every raise sends a message
  EXPECT_EQ(sink_.msi_count(0), 2u);
  Wr(E::kRegIrqAck, 0x30);
  EXPECT_EQ(Rd(E::kRegIrqStatus), 0u);
  const std::vector<Event> want = {{IrqKind::kMsi, 0}, {IrqKind::kMsi, 0}};
  EXPECT_EQ(sink_.events(), want);  // never INTx
}

TEST_F(EduTest, MsiNeedsBusMasterUnlessEnforcementIsOff) {
  EnableMsi();
  SetCommand(PCI_COMMAND_MEMORY);
  Wr(E::kRegIrqRaise, 1);
  EXPECT_EQ(sink_.total_msi(), 0u);  // dropped, as in QEMU
  dev_->SetEnforceEnableBits(false);
  Wr(E::kRegIrqRaise, 1);
  EXPECT_EQ(sink_.total_msi(), 1u);
}

TEST_F(EduTest, DmaRoundTrip) {
  const std::vector<uint8_t> data = Pattern(100, 3);
  ASSERT_TRUE(port_.Poke(kRam, data.data(), data.size()));
  Dma(kRam, E::kBufferAddr, 100, E::kDmaStart);  // RAM -> EDU
  EXPECT_EQ(Rd(E::kRegDmaCmd, 8), 0u);           // start bit already clear
  EXPECT_EQ(Buffer(0, 100), data);
  Dma(E::kBufferAddr, kRam + 100, 100, E::kDmaStart | E::kDmaToRam);  // EDU -> RAM
  EXPECT_EQ(Rd(E::kRegDmaCmd, 8), E::kDmaToRam);
  EXPECT_EQ(port_.PeekBytes(kRam + 100, 100), data);
  EXPECT_FALSE(dev_->LastDmaFault().has_value());
  EXPECT_TRUE(sink_.events().empty());
}

TEST_F(EduTest, FullBufferTransferAndOffsets) {
  const std::vector<uint8_t> data = Pattern(4096, 9);
  ASSERT_TRUE(port_.Poke(kRam, data.data(), data.size()));
  Dma(kRam, E::kBufferAddr, 4096, E::kDmaStart);
  EXPECT_EQ(Buffer(0, 4096), data);
  Dma(E::kBufferAddr + 4000, kRam + 0x2000, 96, E::kDmaStart | E::kDmaToRam);
  EXPECT_EQ(port_.PeekBytes(kRam + 0x2000, 96),
            std::vector<uint8_t>(data.begin() + 4000, data.end()));
}

TEST_F(EduTest, DmaCompletionInterrupt) {
  Dma(kRam, E::kBufferAddr, 8, E::kDmaStart | E::kDmaIrq);
  EXPECT_EQ(Rd(E::kRegIrqStatus), E::kIrqDma);
  EXPECT_TRUE(sink_.intx());
  EXPECT_EQ(Rd(E::kRegDmaCmd, 8), E::kDmaIrq);
}

TEST_F(EduTest, CommandWithoutStartBitIsIgnored) {
  Dma(kRam, E::kBufferAddr, 8, E::kDmaIrq);
  EXPECT_EQ(Rd(E::kRegDmaCmd, 8), 0u);
  EXPECT_EQ(port_.read_calls(), 0u);
  EXPECT_EQ(Rd(E::kRegIrqStatus), 0u);
}

TEST_F(EduTest, DmaMaskAppliesToTheRamAddressOnly) {
  const std::vector<uint8_t> data = Pattern(64, 1);
  ASSERT_TRUE(port_.Poke(kRam, data.data(), data.size()));
  // Bit 28 and above are dropped: 0xf0100000 becomes 0x00100000.
  Dma(0xf0000000 | kRam, E::kBufferAddr, 64, E::kDmaStart);
  EXPECT_EQ(Buffer(0, 64), data);
  EXPECT_TRUE(port_.faults().empty());
  // The EDU-side address is not masked: 0x10040000 is outside the window.
  Dma(kRam, 0x10000000 | E::kBufferAddr, 64, E::kDmaStart);
  EXPECT_EQ(port_.read_calls(), 1u);

  // With a full mask the same address reaches the IOMMU and faults.
  core::Result<std::unique_ptr<EduDevice>> wide = EduDevice::Create({.dma_mask = ~uint64_t{0}});
  ASSERT_TRUE(wide.ok());
  (*wide)->Attach(&port_, &sink_);
  ASSERT_TRUE((*wide)->ConfigWrite(PCI_COMMAND, 2, PCI_COMMAND_MASTER).ok());
  ASSERT_TRUE((*wide)->BarWrite(0, E::kRegDmaSrc, 8, 0xf0000000 | kRam).ok());
  ASSERT_TRUE((*wide)->BarWrite(0, E::kRegDmaDst, 8, E::kBufferAddr).ok());
  ASSERT_TRUE((*wide)->BarWrite(0, E::kRegDmaCount, 8, 64).ok());
  ASSERT_TRUE((*wide)->BarWrite(0, E::kRegDmaCmd, 8, E::kDmaStart).ok());
  ASSERT_TRUE((*wide)->LastDmaFault().has_value());
  EXPECT_EQ((*wide)->LastDmaFault()->addr, 0xf0100000u);
}

TEST_F(EduTest, ReadFaultLeavesBufferUnchanged) {
  const std::vector<uint8_t> data = Pattern(256, 5);
  ASSERT_TRUE(port_.Poke(kRam, data.data(), data.size()));
  Dma(kRam, E::kBufferAddr, 256, E::kDmaStart);
  ASSERT_EQ(Buffer(0, 256), data);
  // Source unmapped: the fault is recorded, the buffer keeps its contents,
  // the command completes and (as in QEMU) still raises its interrupt.
  Dma(0x0800000, E::kBufferAddr, 256, E::kDmaStart | E::kDmaIrq);
  EXPECT_EQ(Buffer(0, 256), data);
  ASSERT_TRUE(dev_->LastDmaFault().has_value());
  EXPECT_EQ(dev_->LastDmaFault()->reason, core::FaultReason::kPteFetch);
  EXPECT_EQ(dev_->LastDmaFault()->addr, 0x0800000u);
  EXPECT_EQ(dev_->LastDmaFault()->perm, core::kProtRead);
  EXPECT_EQ(port_.faults().size(), 1u);
  EXPECT_EQ(Rd(E::kRegDmaCmd, 8), E::kDmaIrq);
  EXPECT_EQ(Rd(E::kRegIrqStatus), E::kIrqDma);
  // A fault on the second page of a transfer changes nothing either.
  port_.InjectFault(kRam + 0x1000, core::FaultReason::kAccess);
  Dma(kRam + 0x0f00, E::kBufferAddr, 512, E::kDmaStart);
  EXPECT_EQ(Buffer(0, 256), data);
  EXPECT_EQ(dev_->LastDmaFault()->reason, core::FaultReason::kAccess);
}

TEST_F(EduTest, WriteFaultLeavesMemoryUnchanged) {
  port_.Map(0x200000, 0x1000, core::kProtRead);
  const std::vector<uint8_t> before = port_.PeekBytes(0x200000, 64);
  Dma(E::kBufferAddr, 0x200000, 64, E::kDmaStart | E::kDmaToRam);
  EXPECT_EQ(port_.PeekBytes(0x200000, 64), before);
  ASSERT_TRUE(dev_->LastDmaFault().has_value());
  EXPECT_EQ(dev_->LastDmaFault()->reason, core::FaultReason::kPermission);
  EXPECT_EQ(dev_->LastDmaFault()->perm, core::kProtWrite);
  EXPECT_EQ(Rd(E::kRegDmaCmd, 8), E::kDmaToRam);
  // The next good transfer clears the fault.
  Dma(E::kBufferAddr, kRam, 64, E::kDmaStart | E::kDmaToRam);
  EXPECT_FALSE(dev_->LastDmaFault().has_value());
}

TEST_F(EduTest, TransfersOutsideTheBufferWindowMoveNothing) {
  struct Case {
    uint64_t edu_addr;
    uint64_t count;
  };
  const Case cases[] = {{E::kBufferAddr + 4000, 200}, {E::kBufferAddr - 1, 8},
                        {E::kBufferAddr, 4097}, {E::kBufferAddr + 8, ~uint64_t{0}},
                        {E::kBufferAddr + 4096, 1}};
  for (const Case& c : cases) {
    Dma(kRam, c.edu_addr, c.count, E::kDmaStart | E::kDmaIrq);
    Dma(c.edu_addr, kRam, c.count, E::kDmaStart | E::kDmaToRam | E::kDmaIrq);
    EXPECT_EQ(Rd(E::kRegDmaCmd, 8) & E::kDmaStart, 0u);
  }
  EXPECT_EQ(port_.read_calls() + port_.write_calls(), 0u);
  EXPECT_EQ(Rd(E::kRegIrqStatus), E::kIrqDma);
}

TEST_F(EduTest, NoDmaWithoutBusMaster) {
  SetCommand(PCI_COMMAND_MEMORY);
  Dma(kRam, E::kBufferAddr, 16, E::kDmaStart);
  EXPECT_EQ(port_.read_calls(), 0u);
  ASSERT_TRUE(dev_->LastDmaFault().has_value());
  EXPECT_EQ(dev_->LastDmaFault()->reason, core::FaultReason::kUnknown);
  EXPECT_TRUE(port_.faults().empty());  // nothing reached the IOMMU
  dev_->SetEnforceEnableBits(false);
  Dma(kRam, E::kBufferAddr, 16, E::kDmaStart);
  EXPECT_EQ(port_.read_calls(), 1u);
}

TEST_F(EduTest, DetachedDeviceDoesNotCrash) {
  dev_->Attach(nullptr, nullptr);
  Dma(kRam, E::kBufferAddr, 16, E::kDmaStart | E::kDmaIrq);
  EXPECT_EQ(dev_->LastDmaFault()->reason, core::FaultReason::kUnknown);
  EXPECT_TRUE(dev_->IntxLineAsserted());
  dev_->Attach(&port_, &sink_);  // a new sink learns the line is high
  EXPECT_TRUE(sink_.intx());
}

TEST(EduCreateTest, AllocationFailureIsEnomem) {
  core::FailNth::Arm(1, core::FailSite::kObjectAlloc);
  core::Result<std::unique_ptr<EduDevice>> r = EduDevice::Create();
  core::FailNth::Disarm();
  EXPECT_EQ(r.err(), ENOMEM);
  EXPECT_TRUE(EduDevice::Create().ok());
}

}  // namespace
}  // namespace vfiosim::sim
