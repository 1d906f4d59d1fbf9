#include "sim/devices/dma_test_device.h"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "sim/devices/testing/fake_dma_port.h"
#include "sim/devices/testing/recording_irq_sink.h"

namespace vfiosim::sim {
namespace {

using D = DmaTestDevice;
using Event = testing::RecordingIrqSink::Event;

constexpr uint64_t kRam = 0x40000000;
constexpr core::Pasid kPasid = 5;

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed ^ (i * 13));
  return v;
}

class DmaTestDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override { Make(D::Options{}); }

  void Make(const D::Options& options) {
    core::Result<std::unique_ptr<D>> r = D::Create(options);
    ASSERT_TRUE(r.ok());
    dev_ = std::move(r).value();
    dev_->Attach(&port_, &sink_);
    port_.set_scribble_on_fault(true);
    CfgW(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    if (options.pasid_width != 0) SetPasidEnable(true);
  }

  void CfgW(uint32_t off, unsigned size, uint32_t v) {
    ASSERT_TRUE(dev_->ConfigWrite(off, size, v).ok());
  }
  uint32_t CfgR(uint32_t off, unsigned size) { return *dev_->ConfigRead(off, size); }
  void SetPasidEnable(bool on) {
    const uint16_t cap = dev_->power_on_config().FindExtCapability(PCI_EXT_CAP_ID_PASID);
    ASSERT_NE(cap, 0);
    CfgW(cap + PCI_PASID_CTRL, 2, on ? PCI_PASID_CTRL_ENABLE : 0);
  }
  uint16_t MsixCap() { return dev_->power_on_config().FindCapability(PCI_CAP_ID_MSIX); }
  void EnableMsix(bool function_mask = false) {
    CfgW(MsixCap() + PCI_MSIX_FLAGS, 2,
         PCI_MSIX_FLAGS_ENABLE | (function_mask ? PCI_MSIX_FLAGS_MASKALL : 0));
  }
  void SetVectorMask(uint32_t v, bool masked) {
    Wr(D::kMsixTableOffset + v * 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, masked ? 1 : 0);
  }
  uint64_t Rd(uint64_t off, unsigned size = 4) {
    core::Result<uint64_t> r = dev_->BarRead(0, off, size);
    EXPECT_TRUE(r.ok()) << off;
    return r.ok() ? *r : 0xdead;
  }
  void Wr(uint64_t off, uint64_t v, unsigned size = 4) {
    EXPECT_TRUE(dev_->BarWrite(0, off, size, v).ok()) << off;
  }
  uint8_t* Buffer() { return dev_->MmapBacking(0) + D::kBufferOffset; }

  uint32_t Request(uint32_t op, uint64_t iova, uint32_t len, uint32_t buf_off = 0,
                   uint32_t pasid_reg = 0) {
    Wr(D::kRegIova, iova, 8);
    Wr(D::kRegLength, len);
    Wr(D::kRegBufOffset, buf_off);
    Wr(D::kRegPasid, pasid_reg);
    Wr(D::kRegOpcode, op);
    Wr(D::kRegDoorbell, 1);
    return static_cast<uint32_t>(Rd(D::kRegResult));
  }

  testing::FakeDmaPort port_;
  testing::RecordingIrqSink sink_;
  std::unique_ptr<D> dev_;
};

TEST_F(DmaTestDeviceTest, Identity) {
  EXPECT_EQ(CfgR(PCI_VENDOR_ID, 4), 0x5d011234u);
  EXPECT_EQ(CfgR(PCI_CLASS_REVISION, 4), 0x08800001u);
  EXPECT_EQ(CfgR(PCI_SUBSYSTEM_VENDOR_ID, 4), 0x5d011234u);
  EXPECT_TRUE(dev_->IsExpress());
  EXPECT_EQ(dev_->ConfigSize(), 4096u);
  EXPECT_EQ(dev_->ModelName(), "dma-test");
  const std::vector<CapabilityInfo> caps = {{PCI_CAP_ID_EXP, 0x40, false},
                                            {PCI_CAP_ID_MSIX, 0x7c, false},
                                            {PCI_EXT_CAP_ID_PASID, 0x100, true}};
  EXPECT_EQ(dev_->power_on_config().Capabilities(), caps);
  EXPECT_EQ(CfgR(0x100 + PCI_PASID_CAP, 2), 20u << 8);
  EXPECT_TRUE(dev_->SupportsReset());
  EXPECT_EQ(dev_->IntxCount(), 1u);
  EXPECT_EQ(dev_->MsiVectorCount(), 0u);
  EXPECT_EQ(dev_->MsixTableSize(), 4u);
  EXPECT_EQ(Rd(D::kRegId), D::kIdValue);
  EXPECT_EQ(Rd(D::kRegCaps), D::kCapPasid);

  const BarInfo& bar0 = dev_->Bar(0);
  EXPECT_EQ(bar0.spec.type, BarType::kMem32);
  EXPECT_EQ(bar0.spec.size, 0x4000u);
  ASSERT_TRUE(bar0.mmappable());
  const std::vector<MmapArea> areas = {{0x1000, 0x1000}};
  EXPECT_EQ(bar0.mmap_areas, areas);
  ASSERT_NE(dev_->MmapBacking(0), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(dev_->MmapBacking(0)) % 4096, 0u);
  EXPECT_EQ(dev_->MmapBacking(1), nullptr);
  const MsixLayout& m = dev_->msix_layout();
  EXPECT_TRUE(m.present);
  EXPECT_EQ(m.table_bar, 0);
  EXPECT_EQ(m.table_offset, 0x2000u);
  EXPECT_EQ(m.pba_bar, 0);
  EXPECT_EQ(m.pba_offset, 0x3000u);
}

TEST_F(DmaTestDeviceTest, AtsOptionAndPasidWidth) {
  Make({.pasid_width = 16, .ats = true});
  EXPECT_EQ(dev_->power_on_config().FindExtCapability(PCI_EXT_CAP_ID_ATS), 0x108);
  EXPECT_EQ(CfgR(0x100 + PCI_PASID_CAP, 2), 16u << 8);
  EXPECT_EQ(Rd(D::kRegCaps), D::kCapPasid | D::kCapAts);
  Make({.pasid_width = 0, .ats = false});
  EXPECT_EQ(dev_->power_on_config().FindExtCapability(PCI_EXT_CAP_ID_PASID), 0);
  EXPECT_EQ(Rd(D::kRegCaps), 0u);
  EXPECT_EQ(D::Create({.pasid_width = 21}).err(), EINVAL);
}

TEST_F(DmaTestDeviceTest, WriteWithoutPasid) {
  port_.Map(kRam, 0x2000);
  const std::vector<uint8_t> data = Pattern(300, 0x5a);
  std::memcpy(Buffer() + 100, data.data(), data.size());  // through the mmap window
  EXPECT_EQ(Request(D::kOpWrite, kRam + 0xf80, 300, 100), D::kOk);  // crosses a page
  EXPECT_EQ(port_.PeekBytes(kRam + 0xf80, 300), data);
  EXPECT_EQ(Rd(D::kRegCompletions), 1u);
  EXPECT_EQ(Rd(D::kRegIrqStatus), 1u);
  EXPECT_TRUE(sink_.intx());  // MSI-X not enabled: INTx
  Wr(D::kRegIrqAck, 1);
  EXPECT_FALSE(sink_.intx());
  EXPECT_EQ(Rd(D::kRegIrqStatus), 0u);
}

TEST_F(DmaTestDeviceTest, ReadWithoutPasid) {
  port_.Map(kRam, 0x1000);
  const std::vector<uint8_t> data = Pattern(4096, 7);
  ASSERT_TRUE(port_.Poke(kRam, data.data(), data.size()));
  EXPECT_EQ(Request(D::kOpRead, kRam, 4096), D::kOk);
  EXPECT_EQ(std::memcmp(Buffer(), data.data(), 4096), 0);
  // Trapped reads of the window see the same memory.
  uint64_t q = 0;
  std::memcpy(&q, data.data() + 8, 8);
  EXPECT_EQ(Rd(D::kBufferOffset + 8, 8), q);
}

TEST_F(DmaTestDeviceTest, Compare) {
  port_.Map(kRam, 0x1000);
  const std::vector<uint8_t> data = Pattern(64, 1);
  ASSERT_TRUE(port_.Poke(kRam, data.data(), data.size()));
  std::memcpy(Buffer() + 512, data.data(), data.size());
  EXPECT_EQ(Request(D::kOpCompare, kRam, 64, 512), D::kOk);
  Buffer()[512 + 37] ^= 0xff;
  EXPECT_EQ(Request(D::kOpCompare, kRam, 64, 512), D::kMismatch);
  EXPECT_EQ(Rd(D::kRegMismatchOffset), 37u);
  EXPECT_EQ(Request(D::kOpCompare, kRam, 37, 512), D::kOk);
  EXPECT_EQ(Rd(D::kRegMismatchOffset), 0u);
}

TEST_F(DmaTestDeviceTest, PasidSelectsTheAddressSpace) {
  port_.Map(kRam, 0x1000);
  port_.Map(kRam, 0x1000, core::kProtRead | core::kProtWrite, kPasid);
  const std::vector<uint8_t> plain = Pattern(128, 1), tagged = Pattern(128, 2);
  ASSERT_TRUE(port_.Poke(kRam, plain.data(), 128));
  ASSERT_TRUE(port_.Poke(kRam, tagged.data(), 128, kPasid));
  EXPECT_EQ(Request(D::kOpRead, kRam, 128, 0, D::kPasidValid | kPasid), D::kOk);
  EXPECT_EQ(std::memcmp(Buffer(), tagged.data(), 128), 0);
  EXPECT_EQ(Request(D::kOpRead, kRam, 128, 0, kPasid), D::kOk);  // valid bit clear
  EXPECT_EQ(std::memcmp(Buffer(), plain.data(), 128), 0);
  // Write the plain data into the PASID space; the other space is untouched.
  EXPECT_EQ(Request(D::kOpWrite, kRam, 128, 0, D::kPasidValid | kPasid), D::kOk);
  EXPECT_EQ(port_.PeekBytes(kRam, 128, kPasid), plain);
  EXPECT_EQ(Request(D::kOpCompare, kRam, 128, 0, D::kPasidValid | kPasid), D::kOk);
}

TEST_F(DmaTestDeviceTest, FaultRegisters) {
  port_.Map(kRam, 0x1000, core::kProtRead);
  port_.Map(kRam, 0x1000, core::kProtRead, kPasid);
  std::memset(Buffer(), 0xab, 4096);

  EXPECT_EQ(Request(D::kOpRead, kRam + 0x5010, 16), D::kFault);
  EXPECT_EQ(Rd(D::kRegFaultAddr, 8), kRam + 0x5000);
  EXPECT_EQ(Rd(D::kRegFaultReason), uint32_t(core::FaultReason::kPteFetch));
  EXPECT_EQ(Rd(D::kRegFaultPasid), 0u);
  EXPECT_EQ(Rd(D::kRegFaultPerm), core::kProtRead);
  EXPECT_EQ(Buffer()[0], 0xab);  // a faulted read leaves the buffer alone

  EXPECT_EQ(Request(D::kOpWrite, kRam, 16, 0, D::kPasidValid | kPasid), D::kFault);
  EXPECT_EQ(Rd(D::kRegFaultAddr, 8), kRam);
  EXPECT_EQ(Rd(D::kRegFaultReason), uint32_t(core::FaultReason::kPermission));
  EXPECT_EQ(Rd(D::kRegFaultPasid), D::kPasidValid | kPasid);
  EXPECT_EQ(Rd(D::kRegFaultPerm), core::kProtWrite);

  EXPECT_EQ(Request(D::kOpCompare, kRam, 16, 0, D::kPasidValid | 9), D::kFault);
  EXPECT_EQ(Rd(D::kRegFaultReason), uint32_t(core::FaultReason::kPasidInvalid));
  EXPECT_EQ(Rd(D::kRegFaultPasid), D::kPasidValid | 9);
  EXPECT_EQ(port_.faults().size(), 3u);
  EXPECT_EQ(Rd(D::kRegCompletions), 3u);

  // The next request clears the fault registers.
  EXPECT_EQ(Request(D::kOpRead, kRam, 16), D::kOk);
  EXPECT_EQ(Rd(D::kRegFaultAddr, 8), 0u);
  EXPECT_EQ(Rd(D::kRegFaultReason), 0u);
  EXPECT_EQ(Rd(D::kRegFaultPasid), 0u);
  EXPECT_EQ(Rd(D::kRegFaultPerm), 0u);
}

TEST_F(DmaTestDeviceTest, BadRequests) {
  port_.Map(kRam, 0x2000);
  port_.Map(kRam, 0x2000, core::kProtRead | core::kProtWrite, kPasid);
  struct Case {
    uint32_t op, len, off, pasid_reg;
  };
  const Case cases[] = {
      {0, 16, 0, 0},    {4, 16, 0, 0},      {D::kOpRead, 0, 0, 0},
      {D::kOpRead, 4097, 0, 0}, {D::kOpWrite, 200, 4000, 0}, {D::kOpWrite, 1, 4096, 0},
      {D::kOpRead, 16, 0xffffffff, 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Request(c.op, kRam, c.len, c.off, c.pasid_reg), D::kBadRequest)
        << c.op << " " << c.len << " " << c.off;
  }
  // PASID disabled in its capability: the device may not tag requests.
  SetPasidEnable(false);
  EXPECT_EQ(Request(D::kOpRead, kRam, 16, 0, D::kPasidValid | kPasid), D::kBadRequest);
  // Bus-Master clear: nothing is issued.
  SetPasidEnable(true);
  CfgW(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
  EXPECT_EQ(Request(D::kOpRead, kRam, 16), D::kBadRequest);
  EXPECT_EQ(port_.read_calls() + port_.write_calls(), 0u);
  EXPECT_EQ(Rd(D::kRegCompletions), 9u);  // bad requests still complete
  // With enforcement off the same requests go through.
  dev_->SetEnforceEnableBits(false);
  SetPasidEnable(false);
  EXPECT_EQ(Request(D::kOpRead, kRam, 16, 0, D::kPasidValid | kPasid), D::kOk);
}

TEST_F(DmaTestDeviceTest, PasidWidthAndAbsentCapability) {
  Make({.pasid_width = 8});
  port_.Map(kRam, 0x1000, core::kProtRead | core::kProtWrite, 0xff);
  port_.Map(kRam, 0x1000, core::kProtRead | core::kProtWrite, 0x100);
  EXPECT_EQ(Request(D::kOpRead, kRam, 16, 0, D::kPasidValid | 0xff), D::kOk);
  EXPECT_EQ(Request(D::kOpRead, kRam, 16, 0, D::kPasidValid | 0x100), D::kBadRequest);

  Make({.pasid_width = 0});  // no capability: never a PASID, even unenforced
  dev_->SetEnforceEnableBits(false);
  port_.Map(kRam, 0x1000);
  EXPECT_EQ(Request(D::kOpRead, kRam, 16, 0, D::kPasidValid | 0xff), D::kBadRequest);
  EXPECT_EQ(Request(D::kOpRead, kRam, 16), D::kOk);
}

TEST_F(DmaTestDeviceTest, MsixCompletionAndVectorSelection) {
  port_.Map(kRam, 0x1000);
  EnableMsix();
  SetVectorMask(0, false);
  SetVectorMask(2, false);
  EXPECT_EQ(Request(D::kOpRead, kRam, 8), D::kOk);
  Wr(D::kRegMsixVector, 2);
  EXPECT_EQ(Request(D::kOpRead, kRam, 8), D::kOk);
  Wr(D::kRegMsixVector, 7);  // out of range: ignored
  EXPECT_EQ(Rd(D::kRegMsixVector), 2u);
  EXPECT_EQ(Request(D::kOpRead, kRam, 8), D::kOk);
  const std::vector<Event> want = {{IrqKind::kMsi, 0}, {IrqKind::kMsi, 2}, {IrqKind::kMsi, 2}};
  EXPECT_EQ(sink_.events(), want);
  EXPECT_FALSE(sink_.intx());
}

TEST_F(DmaTestDeviceTest, MsixMaskingAndPendingBits) {
  port_.Map(kRam, 0x1000);
  EnableMsix();
  // Entries come out of reset masked: the completion becomes pending.
  EXPECT_TRUE(dev_->MsixVectorMasked(0));
  EXPECT_EQ(Request(D::kOpRead, kRam, 8), D::kOk);
  EXPECT_EQ(sink_.total_msi(), 0u);
  EXPECT_TRUE(dev_->MsixVectorPending(0));
  EXPECT_EQ(Rd(D::kMsixPbaOffset, 8), 1u);
  Wr(D::kMsixPbaOffset, 0, 8);  // the PBA is read-only
  EXPECT_EQ(Rd(D::kMsixPbaOffset, 8), 1u);
  SetVectorMask(0, false);  // unmasking delivers the pending message
  EXPECT_EQ(sink_.msi_count(0), 1u);
  EXPECT_EQ(Rd(D::kMsixPbaOffset, 8), 0u);

  // Function Mask holds every vector.
  EnableMsix(/*function_mask=*/true);
  EXPECT_EQ(Request(D::kOpRead, kRam, 8), D::kOk);
  EXPECT_EQ(sink_.msi_count(0), 1u);
  EXPECT_TRUE(dev_->MsixVectorPending(0));
  EnableMsix(false);
  EXPECT_EQ(sink_.msi_count(0), 2u);
  EXPECT_FALSE(dev_->MsixVectorPending(0));
}

TEST_F(DmaTestDeviceTest, MsixTableRegisters) {
  const uint64_t e1 = D::kMsixTableOffset + 16;
  EXPECT_EQ(Rd(e1 + PCI_MSIX_ENTRY_VECTOR_CTRL), 1u);
  Wr(e1 + PCI_MSIX_ENTRY_LOWER_ADDR, 0xfee00003);  // address bits 1:0 reserved
  Wr(e1 + PCI_MSIX_ENTRY_UPPER_ADDR, 0x1);
  Wr(e1 + PCI_MSIX_ENTRY_DATA, 0x4041);
  Wr(e1 + PCI_MSIX_ENTRY_VECTOR_CTRL, 0xfffffffe);  // reserved bits stay 0
  EXPECT_EQ(Rd(e1, 8), 0x1fee00000u);
  EXPECT_EQ(Rd(e1 + 8, 8), 0x4041u);
  Wr(e1 + 8, 0x0000000100005555, 8);  // qword write: data + vector control
  EXPECT_EQ(Rd(e1 + PCI_MSIX_ENTRY_DATA), 0x5555u);
  EXPECT_TRUE(dev_->MsixVectorMasked(1));
  EXPECT_EQ(Rd(D::kMsixTableOffset + 64), 0u);  // past the table: model space
  EXPECT_FALSE(dev_->MsixVectorPending(4));
  EXPECT_FALSE(dev_->MsixVectorMasked(4));
}

TEST_F(DmaTestDeviceTest, RegisterAccessWidths) {
  Wr(D::kRegIova, 0x1122334455667788, 8);
  EXPECT_EQ(Rd(D::kRegIova), 0x55667788u);
  EXPECT_EQ(Rd(D::kRegIova + 4), 0x11223344u);
  Wr(D::kRegIova + 4, 0xaabbccdd);
  EXPECT_EQ(Rd(D::kRegIova, 8), 0xaabbccdd55667788u);
  Wr(D::kRegIova, 0x01020304);
  EXPECT_EQ(Rd(D::kRegIova, 8), 0xaabbccdd01020304u);
  Wr(D::kRegLength, 0x1234, 8);  // 8-byte write to a 32-bit register: dropped
  EXPECT_EQ(Rd(D::kRegLength), 0u);
  EXPECT_EQ(Rd(D::kRegLength, 2), 0xffffu);
  EXPECT_EQ(Rd(0x800), 0u);  // unknown register
  EXPECT_EQ(Rd(D::kRegDoorbell), 0u);
  Wr(D::kRegPasid, 0xffffffff);
  EXPECT_EQ(Rd(D::kRegPasid), D::kPasidValid | D::kPasidMask);
}

TEST_F(DmaTestDeviceTest, ResetRestoresPowerOnState) {
  port_.Map(kRam, 0x1000);
  EnableMsix();
  SetVectorMask(0, false);
  CfgW(PCI_COMMAND, 2, PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
  CfgW(PCI_BASE_ADDRESS_0, 4, 0xfe000000);
  std::memset(Buffer(), 0x77, 4096);
  Wr(D::kRegMsixVector, 3);
  EXPECT_EQ(Request(D::kOpRead, kRam + 0x9000, 8), D::kFault);

  ASSERT_TRUE(dev_->Reset().ok());
  EXPECT_EQ(CfgR(PCI_COMMAND, 2), 0u);
  EXPECT_EQ(CfgR(PCI_BASE_ADDRESS_0, 4), 0u);  // FLR forgets BAR addresses
  EXPECT_EQ(CfgR(MsixCap() + PCI_MSIX_FLAGS, 2), D::kMsixVectors - 1);
  EXPECT_TRUE(dev_->MsixVectorMasked(0));
  EXPECT_EQ(Buffer()[0], 0u);
  EXPECT_EQ(Rd(D::kRegMsixVector), 0u);
  EXPECT_EQ(Rd(D::kRegCompletions), 0u);
  EXPECT_EQ(Rd(D::kRegFaultReason), 0u);
  EXPECT_EQ(Rd(D::kRegFaultAddr, 8), 0u);
}

TEST_F(DmaTestDeviceTest, FlrThroughDeviceControlAndIntxDrop) {
  port_.Map(kRam, 0x1000);
  EXPECT_EQ(Request(D::kOpRead, kRam, 8), D::kOk);
  ASSERT_TRUE(sink_.intx());
  const uint16_t exp = dev_->power_on_config().FindCapability(PCI_CAP_ID_EXP);
  CfgW(exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR | 0x2810);
  EXPECT_FALSE(sink_.intx());  // reset deasserts INTx
  EXPECT_EQ(Rd(D::kRegIrqStatus), 0u);
  EXPECT_EQ(CfgR(PCI_COMMAND, 2), 0u);
  EXPECT_EQ(CfgR(exp + PCI_EXP_DEVCTL, 2), 0x2810u);  // FLR bit reads 0
}

TEST_F(DmaTestDeviceTest, ConcurrentAccessIsSerialised) {
  port_.Map(kRam, 0x1000);
  Wr(D::kRegIova, kRam, 8);
  Wr(D::kRegLength, 64);
  Wr(D::kRegOpcode, D::kOpRead);
  EnableMsix();
  SetVectorMask(0, false);
  constexpr int kThreads = 4, kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        EXPECT_TRUE(dev_->BarWrite(0, D::kRegDoorbell, 4, 1).ok());
        EXPECT_TRUE(dev_->ConfigRead(PCI_STATUS, 2).ok());
        if (t == 0) {
          EXPECT_TRUE(dev_->BarRead(0, D::kMsixPbaOffset, 8).ok());
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(Rd(D::kRegCompletions), uint32_t{kThreads * kPerThread});
  EXPECT_EQ(sink_.msi_count(0), size_t{kThreads * kPerThread});
}

}  // namespace
}  // namespace vfiosim::sim
