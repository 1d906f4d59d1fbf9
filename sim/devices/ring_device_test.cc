#include "sim/devices/ring_device.h"

#include <gtest/gtest.h>

#include <vector>

#include "sim/devices/testing/fake_dma_port.h"
#include "sim/devices/testing/recording_irq_sink.h"

namespace vfiosim::sim {
namespace {

using R = RingDevice;
using Event = testing::RecordingIrqSink::Event;

constexpr uint64_t kRing = 0x10000;
constexpr uint64_t kSrc = 0x100000;
constexpr uint64_t kDst = 0x200000;

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 31);
  return v;
}

class RingDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(R::Options{}); }

  void Make(const R::Options& options) {
    core::Result<std::unique_ptr<R>> r = R::Create(options);
    ASSERT_TRUE(r.ok());
    dev_ = std::move(r).value();
    dev_->Attach(&port_, &sink_);
    port_.set_scribble_on_fault(true);
    CfgW(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    if (options.pasid) {
      CfgW(dev_->power_on_config().FindExtCapability(PCI_EXT_CAP_ID_PASID) + PCI_PASID_CTRL, 2,
           PCI_PASID_CTRL_ENABLE);
    }
    port_.Map(kRing, 0x4000);
    port_.Map(kSrc, 0x10000);
    port_.Map(kDst, 0x10000);
  }

  void CfgW(uint32_t off, unsigned size, uint32_t v) {
    ASSERT_TRUE(dev_->ConfigWrite(off, size, v).ok());
  }
  void EnableMsix() {
    CfgW(dev_->power_on_config().FindCapability(PCI_CAP_ID_MSIX) + PCI_MSIX_FLAGS, 2,
         PCI_MSIX_FLAGS_ENABLE);
    for (uint32_t v = 0; v < dev_->MsixTableSize(); ++v) {
      Wr(R::kMsixTableOffset + 16 * v + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
    }
  }
  uint64_t Rd(uint64_t off, unsigned size = 4) {
    core::Result<uint64_t> r = dev_->BarRead(0, off, size);
    EXPECT_TRUE(r.ok()) << off;
    return r.ok() ? *r : 0xdead;
  }
  void Wr(uint64_t off, uint64_t v, unsigned size = 4) {
    EXPECT_TRUE(dev_->BarWrite(0, off, size, v).ok()) << off;
  }
  uint64_t QRd(uint32_t q, uint64_t reg, unsigned size = 4) { return Rd(R::QueueReg(q, reg), size); }
  void QWr(uint32_t q, uint64_t reg, uint64_t v, unsigned size = 4) {
    Wr(R::QueueReg(q, reg), v, size);
  }
  void SetupQueue(uint32_t q, uint64_t base, uint32_t size, uint32_t pasid_reg = 0) {
    QWr(q, R::kQBase, base, 8);
    QWr(q, R::kQSize, size);
    QWr(q, R::kQPasid, pasid_reg);
    QWr(q, R::kQControl, R::kControlEnable);
    ASSERT_EQ(QRd(q, R::kQStatus), R::kStatusEnabled);
  }
  void PutDesc(uint64_t base, uint32_t index, const RingDescriptor& d,
               core::Pasid pasid = core::kNoPasid) {
    ASSERT_TRUE(port_.Poke(base + 32 * index, &d, sizeof(d), pasid));
  }
  RingDescriptor GetDesc(uint64_t base, uint32_t index, core::Pasid pasid = core::kNoPasid) {
    RingDescriptor d;
    EXPECT_TRUE(port_.Peek(base + 32 * index, &d, sizeof(d), pasid));
    return d;
  }
  void Ring(uint32_t q, uint32_t tail) {
    QWr(q, R::kQTail, tail);
    Wr(R::kRegDoorbell, q);
  }

  testing::FakeDmaPort port_;
  testing::RecordingIrqSink sink_;
  std::unique_ptr<R> dev_;
};

TEST_F(RingDeviceTest, Identity) {
  EXPECT_EQ(*dev_->ConfigRead(PCI_VENDOR_ID, 4), 0x5d021234u);
  EXPECT_EQ(*dev_->ConfigRead(PCI_CLASS_REVISION, 4), 0x08010001u);
  EXPECT_EQ(dev_->ModelName(), "ring");
  EXPECT_TRUE(dev_->SupportsReset());
  EXPECT_EQ(dev_->MsixTableSize(), 4u);
  EXPECT_NE(dev_->power_on_config().FindExtCapability(PCI_EXT_CAP_ID_PASID), 0);
  EXPECT_EQ(dev_->Bar(0).spec.size, R::kBar0Size);
  EXPECT_FALSE(dev_->Bar(0).mmappable());
  EXPECT_EQ(dev_->MmapBacking(0), nullptr);
  EXPECT_EQ(Rd(R::kRegId), R::kIdValue);
  EXPECT_EQ(Rd(R::kRegNumQueues), 4u);

  Make({.num_queues = 2, .pasid = false});
  EXPECT_EQ(dev_->MsixTableSize(), 2u);
  EXPECT_EQ(dev_->power_on_config().FindExtCapability(PCI_EXT_CAP_ID_PASID), 0);
  EXPECT_EQ(Rd(R::kRegNumQueues), 2u);
  QWr(2, R::kQSize, 8);  // queue 2 does not exist: reads 0, writes dropped
  EXPECT_EQ(QRd(2, R::kQSize), 0u);
  EXPECT_EQ(R::Create({.num_queues = 0}).err(), EINVAL);
  EXPECT_EQ(R::Create({.num_queues = 5}).err(), EINVAL);
}

TEST_F(RingDeviceTest, ProcessesDescriptorsAndInterruptsOnce) {
  EnableMsix();
  SetupQueue(0, kRing, 16);
  const std::vector<uint8_t> src = Pattern(10 * 64, 3);
  ASSERT_TRUE(port_.Poke(kSrc, src.data(), src.size()));
  for (uint32_t i = 0; i < 10; ++i) {
    PutDesc(kRing, i, {.src = kSrc + 64 * i, .dst = kDst + 128 * i, .len = 64});
  }
  Ring(0, 10);
  EXPECT_EQ(QRd(0, R::kQHead), 10u);
  EXPECT_EQ(QRd(0, R::kQCompleted), 10u);
  for (uint32_t i = 0; i < 10; ++i) {
    EXPECT_EQ(GetDesc(kRing, i).status, R::kDescDone) << i;
    EXPECT_EQ(GetDesc(kRing, i).fault_reason, 0u);
    EXPECT_EQ(port_.PeekBytes(kDst + 128 * i, 64),
              std::vector<uint8_t>(src.begin() + 64 * i, src.begin() + 64 * (i + 1)));
  }
  // Per descriptor: fetch + source read, copy + status write-back.
  EXPECT_EQ(port_.read_calls(), 20u);
  EXPECT_EQ(port_.write_calls(), 20u);
  const std::vector<Event> want = {{IrqKind::kMsi, 0}};
  EXPECT_EQ(sink_.events(), want);
  EXPECT_EQ(Rd(R::kRegIrqStatus), 1u);
  // A doorbell with nothing to do raises nothing.
  Wr(R::kRegDoorbell, 0);
  EXPECT_EQ(sink_.events().size(), 1u);
}

TEST_F(RingDeviceTest, RingWrapAround) {
  SetupQueue(0, kRing, 4);
  const std::vector<uint8_t> src = Pattern(6 * 16, 9);
  ASSERT_TRUE(port_.Poke(kSrc, src.data(), src.size()));
  // First batch: slots 0, 1, 2.
  for (uint32_t i = 0; i < 3; ++i) {
    PutDesc(kRing, i, {.src = kSrc + 16 * i, .dst = kDst + 16 * i, .len = 16});
  }
  Ring(0, 3);
  EXPECT_EQ(QRd(0, R::kQHead), 3u);
  // Second batch: slots 3, 0, 1 — the ring wraps.
  const uint32_t slots[] = {3, 0, 1};
  for (uint32_t k = 0; k < 3; ++k) {
    const uint32_t i = 3 + k;
    PutDesc(kRing, slots[k], {.src = kSrc + 16 * i, .dst = kDst + 16 * i, .len = 16});
  }
  Ring(0, 2);
  EXPECT_EQ(QRd(0, R::kQHead), 2u);
  EXPECT_EQ(QRd(0, R::kQCompleted), 6u);
  EXPECT_EQ(port_.PeekBytes(kDst, 6 * 16), src);
  for (uint32_t s : slots) EXPECT_EQ(GetDesc(kRing, s).status, R::kDescDone);
}

TEST_F(RingDeviceTest, FillDescriptor) {
  SetupQueue(0, kRing, 2);
  PutDesc(kRing, 0, {.src = 0xa5, .dst = kDst, .len = 300, .flags = R::kDescFill});
  Ring(0, 1);
  EXPECT_EQ(GetDesc(kRing, 0).status, R::kDescDone);
  EXPECT_EQ(port_.PeekBytes(kDst, 300), std::vector<uint8_t>(300, 0xa5));
  EXPECT_EQ(port_.read_calls(), 1u);  // only the descriptor fetch
}

TEST_F(RingDeviceTest, DataFaultMarksDescriptorAndContinues) {
  SetupQueue(0, kRing, 8);
  const std::vector<uint8_t> sentinel(32, 0xee);
  ASSERT_TRUE(port_.Poke(kDst + 0x100, sentinel.data(), sentinel.size()));
  port_.Map(0x700000, 0x1000, core::kProtRead);  // read-only destination
  PutDesc(kRing, 0, {.src = kSrc, .dst = kDst, .len = 32});
  PutDesc(kRing, 1, {.src = 0x900000, .dst = kDst + 0x100, .len = 32});  // unmapped src
  PutDesc(kRing, 2, {.src = kSrc, .dst = 0x700000, .len = 32});          // RO dst
  PutDesc(kRing, 3, {.src = kSrc, .dst = kDst + 0x200, .len = 32});
  Ring(0, 4);
  EXPECT_EQ(QRd(0, R::kQHead), 4u);
  EXPECT_EQ(QRd(0, R::kQStatus), R::kStatusEnabled);  // not halted
  EXPECT_EQ(GetDesc(kRing, 0).status, R::kDescDone);
  EXPECT_EQ(GetDesc(kRing, 1).status, R::kDescFault);
  EXPECT_EQ(GetDesc(kRing, 1).fault_reason, uint32_t(core::FaultReason::kPteFetch));
  EXPECT_EQ(GetDesc(kRing, 2).status, R::kDescFault);
  EXPECT_EQ(GetDesc(kRing, 2).fault_reason, uint32_t(core::FaultReason::kPermission));
  EXPECT_EQ(GetDesc(kRing, 3).status, R::kDescDone);
  EXPECT_EQ(port_.PeekBytes(kDst + 0x100, 32), sentinel);  // source fault: dst untouched
  // The queue's fault registers hold the last fault.
  EXPECT_EQ(QRd(0, R::kQFaultReason), uint32_t(core::FaultReason::kPermission));
  EXPECT_EQ(QRd(0, R::kQFaultAddr, 8), 0x700000u);
  EXPECT_EQ(port_.faults().size(), 2u);
}

TEST_F(RingDeviceTest, BadDescriptors) {
  SetupQueue(0, kRing, 8);
  PutDesc(kRing, 0, {.src = kSrc, .dst = kDst, .len = 0});
  PutDesc(kRing, 1, {.src = kSrc, .dst = kDst, .len = R::kMaxLen + 1});
  PutDesc(kRing, 2, {.src = kSrc, .dst = kDst, .len = 8, .flags = 2});
  PutDesc(kRing, 3, {.src = kSrc, .dst = kDst, .len = R::kMaxLen});
  Ring(0, 4);
  for (uint32_t i = 0; i < 3; ++i) EXPECT_EQ(GetDesc(kRing, i).status, R::kDescBad) << i;
  EXPECT_EQ(GetDesc(kRing, 3).status, R::kDescDone);
  EXPECT_EQ(QRd(0, R::kQCompleted), 4u);
}

TEST_F(RingDeviceTest, DescriptorFetchFaultHaltsTheQueue) {
  EnableMsix();
  SetupQueue(0, kRing, 4);
  PutDesc(kRing, 0, {.src = kSrc, .dst = kDst, .len = 8});
  port_.InjectFault(kRing, core::FaultReason::kWalkEabt);
  Ring(0, 1);
  EXPECT_EQ(QRd(0, R::kQStatus), R::kStatusEnabled | R::kStatusHalted);
  EXPECT_EQ(QRd(0, R::kQHead), 0u);
  EXPECT_EQ(QRd(0, R::kQCompleted), 0u);
  EXPECT_EQ(QRd(0, R::kQFaultReason), uint32_t(core::FaultReason::kWalkEabt));
  EXPECT_EQ(QRd(0, R::kQFaultAddr, 8), kRing);
  EXPECT_EQ(sink_.msi_count(0), 1u);  // software learns of the halt
  // Halted: further doorbells are ignored even once the fault is gone.
  port_.ClearInjectedFaults();
  const uint64_t calls = port_.read_calls();
  Wr(R::kRegDoorbell, 0);
  EXPECT_EQ(port_.read_calls(), calls);
  // Disable + enable recovers (and restarts the ring at 0).
  QWr(0, R::kQControl, 0);
  EXPECT_EQ(QRd(0, R::kQStatus), 0u);
  QWr(0, R::kQControl, R::kControlEnable);
  EXPECT_EQ(QRd(0, R::kQFaultReason), 0u);
  Ring(0, 1);
  EXPECT_EQ(GetDesc(kRing, 0).status, R::kDescDone);
}

TEST_F(RingDeviceTest, StatusWritebackFaultHaltsAfterTheCopy) {
  port_.Unmap(kRing, 0x4000);
  port_.Map(kRing, 0x1000, core::kProtRead);
  SetupQueue(0, kRing, 2);
  PutDesc(kRing, 0, {.src = kSrc, .dst = kDst, .len = 8});
  const std::vector<uint8_t> src = Pattern(8, 1);
  ASSERT_TRUE(port_.Poke(kSrc, src.data(), 8));
  Ring(0, 1);
  EXPECT_EQ(port_.PeekBytes(kDst, 8), src);  // the copy itself happened
  EXPECT_EQ(GetDesc(kRing, 0).status, 0u);  // but its status could not be written
  EXPECT_EQ(QRd(0, R::kQStatus), R::kStatusEnabled | R::kStatusHalted);
  EXPECT_EQ(QRd(0, R::kQHead), 0u);
  EXPECT_EQ(QRd(0, R::kQFaultReason), uint32_t(core::FaultReason::kPermission));
}

TEST_F(RingDeviceTest, PerQueuePasid) {
  EnableMsix();
  constexpr core::Pasid kPasid = 7;
  port_.Map(kRing, 0x1000, core::kProtRead | core::kProtWrite, kPasid);
  port_.Map(kSrc, 0x1000, core::kProtRead | core::kProtWrite, kPasid);
  port_.Map(kDst, 0x1000, core::kProtRead | core::kProtWrite, kPasid);
  const std::vector<uint8_t> tagged = Pattern(64, 77);
  ASSERT_TRUE(port_.Poke(kSrc, tagged.data(), 64, kPasid));
  SetupQueue(1, kRing, 4, R::kPasidValid | kPasid);
  PutDesc(kRing, 0, {.src = kSrc, .dst = kDst, .len = 64}, kPasid);
  Ring(1, 1);
  EXPECT_EQ(GetDesc(kRing, 0, kPasid).status, R::kDescDone);
  EXPECT_EQ(port_.PeekBytes(kDst, 64, kPasid), tagged);
  EXPECT_EQ(port_.PeekBytes(kDst, 64), std::vector<uint8_t>(64, 0));  // other space untouched
  const std::vector<Event> want = {{IrqKind::kMsi, 1}};  // queue 1 -> vector 1
  EXPECT_EQ(sink_.events(), want);
  EXPECT_EQ(Rd(R::kRegIrqStatus), 2u);

  // PASID disabled in config space: the fetch is not issued, the queue halts.
  QWr(1, R::kQControl, 0);
  QWr(1, R::kQControl, R::kControlEnable);
  CfgW(dev_->power_on_config().FindExtCapability(PCI_EXT_CAP_ID_PASID) + PCI_PASID_CTRL, 2, 0);
  PutDesc(kRing, 0, {.src = kSrc, .dst = kDst, .len = 64}, kPasid);
  const uint64_t calls = port_.read_calls();
  Ring(1, 1);
  EXPECT_EQ(port_.read_calls(), calls);
  EXPECT_EQ(QRd(1, R::kQStatus), R::kStatusEnabled | R::kStatusHalted);
  EXPECT_EQ(QRd(1, R::kQFaultReason), 0u);
}

TEST_F(RingDeviceTest, IntxFallbackAcrossQueues) {
  SetupQueue(0, kRing, 2);
  SetupQueue(2, kRing + 0x1000, 2);
  PutDesc(kRing, 0, {.src = kSrc, .dst = kDst, .len = 8});
  PutDesc(kRing + 0x1000, 0, {.src = kSrc, .dst = kDst, .len = 8});
  Ring(0, 1);
  Ring(2, 1);
  EXPECT_EQ(Rd(R::kRegIrqStatus), 0b101u);
  EXPECT_TRUE(sink_.intx());
  Wr(R::kRegIrqAck, 0b001);
  EXPECT_TRUE(sink_.intx());
  Wr(R::kRegIrqAck, 0b100);
  EXPECT_FALSE(sink_.intx());
  const std::vector<Event> want = {{IrqKind::kIntx, 1}, {IrqKind::kIntx, 0}};
  EXPECT_EQ(sink_.events(), want);
}

TEST_F(RingDeviceTest, QueueConfigurationRules) {
  struct Case {
    uint64_t base;
    uint32_t size;
  };
  const Case bad[] = {{kRing + 8, 4}, {kRing, 3}, {kRing, 1}, {kRing, 65536}, {kRing, 0},
                      {0xfffffffffffff000, 256}};
  for (const Case& c : bad) {
    QWr(0, R::kQBase, c.base, 8);
    QWr(0, R::kQSize, c.size);
    QWr(0, R::kQControl, R::kControlEnable);
    EXPECT_EQ(QRd(0, R::kQStatus), R::kStatusConfigError) << c.base << " " << c.size;
    EXPECT_EQ(QRd(0, R::kQControl), 0u);
  }
  QWr(0, R::kQTail, 1);  // ignored while disabled
  EXPECT_EQ(QRd(0, R::kQTail), 0u);
  SetupQueue(0, kRing, 4);
  // Layout registers are frozen while enabled.
  QWr(0, R::kQBase, 0x5000, 8);
  QWr(0, R::kQBase + 4, 0x1);
  QWr(0, R::kQSize, 8);
  QWr(0, R::kQPasid, R::kPasidValid | 3);
  EXPECT_EQ(QRd(0, R::kQBase, 8), kRing);
  EXPECT_EQ(QRd(0, R::kQSize), 4u);
  EXPECT_EQ(QRd(0, R::kQPasid), 0u);
  QWr(0, R::kQTail, 4);  // >= SIZE: ignored
  EXPECT_EQ(QRd(0, R::kQTail), 0u);
  QWr(0, R::kQTail, 3);
  EXPECT_EQ(QRd(0, R::kQTail), 3u);
  Wr(R::kRegDoorbell, 4);  // no such queue
  Wr(R::kRegDoorbell, 1);  // queue 1 disabled
  EXPECT_EQ(port_.read_calls(), 0u);
  EXPECT_EQ(QRd(0, R::kQHead, 2), 0xffffu);  // 2-byte reads are not registers
}

TEST_F(RingDeviceTest, ResetDisablesQueues) {
  SetupQueue(0, kRing, 4);
  PutDesc(kRing, 0, {.src = kSrc, .dst = kDst, .len = 8});
  Ring(0, 1);
  ASSERT_TRUE(sink_.intx());
  ASSERT_TRUE(dev_->Reset().ok());
  EXPECT_FALSE(sink_.intx());
  EXPECT_EQ(QRd(0, R::kQStatus), 0u);
  EXPECT_EQ(QRd(0, R::kQBase, 8), 0u);
  EXPECT_EQ(QRd(0, R::kQCompleted), 0u);
  EXPECT_EQ(Rd(R::kRegIrqStatus), 0u);
  EXPECT_EQ(*dev_->ConfigRead(PCI_COMMAND, 2), 0u);
}

}  // namespace
}  // namespace vfiosim::sim
