// Tests of the PciDevice framework (sim/pci_device.h) through a minimal model.
// They live here because sim/BUILD.bazel has no test target for pci_device.
#include "sim/pci_device.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <vector>

#include "core/fault_injection.h"
#include "sim/devices/testing/fake_dma_port.h"
#include "sim/devices/testing/recording_irq_sink.h"

namespace vfiosim::sim {
namespace {

using Event = testing::RecordingIrqSink::Event;

// A model whose layout each test builds, with the protected helpers exposed.
class TestModel final : public PciDevice {
 public:
  using Build = std::function<core::Status(TestModel&, PciConfigSpace&)>;

  static core::Result<std::unique_ptr<TestModel>> Create(ConfigKind kind, const Build& build,
                                                         bool reset = true) {
    std::unique_ptr<TestModel> m(new TestModel(kind, reset));
    m->mutable_config().InitType0Header({.vendor_id = 0x1234, .device_id = 0x0001,
                                         .interrupt_pin = 1});
    VFIOSIM_RETURN_IF_ERROR(build(*m, m->mutable_config()));
    VFIOSIM_RETURN_IF_ERROR(m->FinalizeConfig());
    return m;
  }

  using PciDevice::DefineBar;

  std::string_view ModelName() const override { return "test"; }
  bool SupportsReset() const override { return reset_; }

  bool Msi(uint32_t v) EXCLUDES(mu_) {
    core::MutexLock l(mu_);
    return RaiseMsi(v);
  }
  bool Msix(uint32_t v) EXCLUDES(mu_) {
    core::MutexLock l(mu_);
    return RaiseMsix(v);
  }
  IrqKind Signal(uint32_t v) EXCLUDES(mu_) {
    core::MutexLock l(mu_);
    return SignalInterrupt(v);
  }
  DmaResult Read(uint64_t iova, void* dst, size_t len, core::Pasid pasid) EXCLUDES(mu_) {
    core::MutexLock l(mu_);
    return DmaRead(iova, dst, len, pasid);
  }

  int resets = 0;
  std::vector<std::pair<uint64_t, uint64_t>> writes;  // (offset, value) reaching the model

 protected:
  uint64_t OnBarRead(int bar, uint64_t offset, unsigned /*size*/) override REQUIRES(mu_) {
    return 0x1122334455667788ull ^ (uint64_t(bar) << 56) ^ offset;
  }
  void OnBarWrite(int /*bar*/, uint64_t offset, unsigned /*size*/, uint64_t value) override
      REQUIRES(mu_) {
    writes.emplace_back(offset, value);
  }
  void OnReset() override REQUIRES(mu_) { ++resets; }

 private:
  TestModel(ConfigKind kind, bool reset) : PciDevice(kind), reset_(reset) {}
  const bool reset_;
};

core::Status NoBuild(TestModel&, PciConfigSpace&) { return core::Status::Ok(); }

std::unique_ptr<TestModel> MustCreate(ConfigKind kind, const TestModel::Build& build,
                                      bool reset = true) {
  core::Result<std::unique_ptr<TestModel>> r = TestModel::Create(kind, build, reset);
  EXPECT_TRUE(r.ok()) << r.err();
  return r.ok() ? std::move(r).value() : nullptr;
}

TEST(PciDeviceTest, DefineBarValidatesWindows) {
  struct Case {
    BarSpec spec;
    std::vector<MmapArea> areas;
  };
  const Case bad[] = {
      {{BarType::kMem32, 0x4000, false}, {{0x800, 0x1000}}},           // unaligned offset
      {{BarType::kMem32, 0x4000, false}, {{0x1000, 0x800}}},           // unaligned size
      {{BarType::kMem32, 0x4000, false}, {{0x1000, 0}}},               // empty
      {{BarType::kMem32, 0x4000, false}, {{0x3000, 0x2000}}},          // past the end
      {{BarType::kMem32, 0x4000, false}, {{0x2000, 0x2000}, {0x1000, 0x2000}}},  // overlap
      {{BarType::kIo, 0x100, false}, {{0, 0x1000}}},                   // I/O is never mmapped
      {{BarType::kMem32, 3000, false}, {}},                            // bad BAR itself
  };
  for (const Case& c : bad) {
    core::Result<std::unique_ptr<TestModel>> r =
        TestModel::Create(ConfigKind::kConventional, [&](TestModel& m, PciConfigSpace&) {
          return m.DefineBar(0, c.spec, c.areas);
        });
    EXPECT_EQ(r.err(), EINVAL) << c.spec.size;
  }
  // Windows are kept sorted.
  auto m = MustCreate(ConfigKind::kConventional, [](TestModel& m, PciConfigSpace&) {
    return m.DefineBar(2, {BarType::kMem64, 0x4000, true}, {{0x3000, 0x1000}, {0, 0x1000}});
  });
  ASSERT_NE(m, nullptr);
  const std::vector<MmapArea> want = {{0, 0x1000}, {0x3000, 0x1000}};
  EXPECT_EQ(m->Bar(2).mmap_areas, want);
  EXPECT_EQ(m->Bar(3).spec.type, BarType::kNone);
  EXPECT_EQ(m->Bar(-1).spec.type, BarType::kNone);
  EXPECT_EQ(m->Bar(6).spec.type, BarType::kNone);
}

TEST(PciDeviceTest, FinalizeValidatesMsixPlacement) {
  struct Case {
    const char* what;
    MsixSpec msix;
  };
  // BAR0 16 KiB with an mmap window at 0x1000; BAR2 is I/O.
  const Case bad[] = {
      {"table in window", {4, 0, 0x1000, 0, 0x3000}},
      {"pba in window", {4, 0, 0x2000, 0, 0x1ff8}},
      {"table past BAR end", {4, 0, 0x3fe0, 0, 0x3000}},
      {"table in missing BAR", {4, 4, 0, 0, 0x3000}},
      {"table in I/O BAR", {4, 2, 0, 0, 0x3000}},
      {"table overlaps pba", {4, 0, 0x2000, 0, 0x2038}},
  };
  for (const Case& c : bad) {
    core::Result<std::unique_ptr<TestModel>> r =
        TestModel::Create(ConfigKind::kConventional, [&](TestModel& m, PciConfigSpace& cfg) {
          VFIOSIM_RETURN_IF_ERROR(
              m.DefineBar(0, {BarType::kMem32, 0x4000, false}, {{0x1000, 0x1000}}));
          VFIOSIM_RETURN_IF_ERROR(m.DefineBar(2, {BarType::kIo, 0x100, false}));
          return cfg.AddMsixCapability(c.msix).status();
        });
    EXPECT_EQ(r.err(), EINVAL) << c.what;
  }
}

TEST(PciDeviceTest, FinalizeAllocationFailureIsEnomem) {
  core::FailNth::Arm(1, core::FailSite::kObjectAlloc);
  core::Result<std::unique_ptr<TestModel>> r = TestModel::Create(ConfigKind::kConventional, NoBuild);
  core::FailNth::Disarm();
  EXPECT_EQ(r.err(), ENOMEM);
}

TEST(PciDeviceTest, MmapWindowsAreSharedMemory) {
  auto m = MustCreate(ConfigKind::kConventional, [](TestModel& m, PciConfigSpace&) {
    return m.DefineBar(2, {BarType::kMem64, 0x4000, true}, {{0x1000, 0x2000}});
  });
  ASSERT_NE(m, nullptr);
  uint8_t* mem = m->MmapBacking(2);
  ASSERT_NE(mem, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(mem) % kSimPageSize, 0u);
  const uint64_t v = 0x0102030405060708;
  std::memcpy(mem + 0x1ff8, &v, 8);
  EXPECT_EQ(*m->BarRead(2, 0x1ff8, 8), v);
  EXPECT_EQ(*m->BarRead(2, 0x1ffc, 2), 0x0304u);
  ASSERT_TRUE(m->BarWrite(2, 0x2000, 4, 0xcafef00d).ok());
  uint32_t got = 0;
  std::memcpy(&got, mem + 0x2000, 4);
  EXPECT_EQ(got, 0xcafef00du);
  EXPECT_TRUE(m->writes.empty());  // window accesses never reach the model
  // Outside the window the model traps.
  EXPECT_EQ(*m->BarRead(2, 0x10, 4), (0x1122334455667788ull ^ (2ull << 56) ^ 0x10) & 0xffffffff);
  ASSERT_TRUE(m->BarWrite(2, 0x3008, 8, 42).ok());
  ASSERT_EQ(m->writes.size(), 1u);
  EXPECT_EQ(m->writes[0], std::make_pair(uint64_t{0x3008}, uint64_t{42}));
  // Reset clears device memory.
  ASSERT_TRUE(m->Reset().ok());
  EXPECT_EQ(*m->BarRead(2, 0x2000, 4), 0u);
  EXPECT_EQ(m->resets, 1);
}

TEST(PciDeviceTest, BarAccessValidation) {
  auto m = MustCreate(ConfigKind::kConventional, [](TestModel& m, PciConfigSpace&) {
    VFIOSIM_RETURN_IF_ERROR(m.DefineBar(0, {BarType::kMem32, 0x1000, false}));
    return m.DefineBar(1, {BarType::kIo, 0x20, false});
  });
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->BarRead(1, 0x1c, 4).ok());
  EXPECT_EQ(m->BarRead(1, 0x18, 8).err(), EINVAL);  // no 8-byte I/O
  EXPECT_EQ(m->BarRead(1, 0x20, 1).err(), EINVAL);
  EXPECT_EQ(m->BarRead(0, 0xffc, 8).err(), EINVAL);  // misaligned qword
  EXPECT_EQ(m->BarRead(0, 0xff8, 8).ok(), true);
  EXPECT_EQ(m->BarRead(0, 0x1000, 1).err(), EINVAL);
  EXPECT_EQ(m->BarRead(0, ~uint64_t{0} - 3, 4).err(), EINVAL);
  EXPECT_EQ(m->BarRead(0, 0, 0).err(), EINVAL);
  EXPECT_EQ(m->BarRead(2, 0, 4).err(), EINVAL);
  EXPECT_EQ(m->BarWrite(0, 3, 2, 0).err(), EINVAL);
  EXPECT_TRUE(m->writes.empty());
  EXPECT_EQ(m->MmapBacking(0), nullptr);
  EXPECT_EQ(m->MmapBacking(-1), nullptr);
  EXPECT_EQ(*m->BarRead(0, 0x8, 1), 0x80u);  // reads are truncated to size
}

TEST(PciDeviceTest, MsiMaskingPendingAndAliasing) {
  uint16_t cap = 0;
  auto m = MustCreate(ConfigKind::kConventional, [&](TestModel&, PciConfigSpace& cfg) {
    core::Result<uint16_t> r = cfg.AddMsiCapability({4, true, true});
    if (r.ok()) cap = *r;
    return r.status();
  });
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->MsiVectorCount(), 4u);
  testing::FakeDmaPort port;
  testing::RecordingIrqSink sink;
  m->Attach(&port, &sink);
  ASSERT_TRUE(m->ConfigWrite(PCI_COMMAND, 2, PCI_COMMAND_MASTER).ok());
  EXPECT_FALSE(m->Msi(0));  // MSI disabled
  // Enable with 2 of the 4 messages: vector 3 aliases to 1.
  ASSERT_TRUE(m->ConfigWrite(cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | (1 << 4)).ok());
  EXPECT_TRUE(m->Msi(3));
  EXPECT_EQ(sink.events(), (std::vector<Event>{{IrqKind::kMsi, 1}}));
  // Masked vector: pending bit set, delivered on unmask.
  ASSERT_TRUE(m->ConfigWrite(cap + PCI_MSI_MASK_64, 4, 0x1).ok());
  EXPECT_FALSE(m->Msi(0));
  EXPECT_EQ(*m->ConfigRead(cap + PCI_MSI_PENDING_64, 4), 0x1u);
  EXPECT_EQ(sink.total_msi(), 1u);
  ASSERT_TRUE(m->ConfigWrite(cap + PCI_MSI_MASK_64, 4, 0x0).ok());
  EXPECT_EQ(*m->ConfigRead(cap + PCI_MSI_PENDING_64, 4), 0u);
  EXPECT_EQ(sink.events(), (std::vector<Event>{{IrqKind::kMsi, 1}, {IrqKind::kMsi, 0}}));
  // Bus-Master clear: messages are dropped, not made pending.
  ASSERT_TRUE(m->ConfigWrite(PCI_COMMAND, 2, 0).ok());
  EXPECT_FALSE(m->Msi(0));
  EXPECT_EQ(*m->ConfigRead(cap + PCI_MSI_PENDING_64, 4), 0u);
  EXPECT_EQ(sink.total_msi(), 2u);
}

TEST(PciDeviceTest, SignalInterruptPrefersMsixThenMsiThenIntx) {
  uint16_t msi = 0, msix = 0;
  auto m = MustCreate(ConfigKind::kExpress, [&](TestModel& m, PciConfigSpace& cfg) {
    VFIOSIM_RETURN_IF_ERROR(m.DefineBar(0, {BarType::kMem32, 0x4000, false}));
    core::Result<uint16_t> a = cfg.AddMsiCapability({1, false, false});
    core::Result<uint16_t> b = cfg.AddMsixCapability({2, 0, 0x2000, 0, 0x3000});
    if (!a.ok() || !b.ok()) return core::Error(EINVAL);
    msi = *a;
    msix = *b;
    return core::Status::Ok();
  });
  ASSERT_NE(m, nullptr);
  testing::RecordingIrqSink sink;
  m->Attach(nullptr, &sink);
  ASSERT_TRUE(m->ConfigWrite(PCI_COMMAND, 2, PCI_COMMAND_MASTER).ok());
  EXPECT_EQ(m->Signal(1), IrqKind::kIntx);
  EXPECT_TRUE(sink.intx());
  ASSERT_TRUE(m->ConfigWrite(msi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE).ok());
  EXPECT_EQ(m->Signal(1), IrqKind::kMsi);
  ASSERT_TRUE(m->ConfigWrite(msix + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE).ok());
  ASSERT_TRUE(m->BarWrite(0, 0x2000 + 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0).ok());
  EXPECT_EQ(m->Signal(1), IrqKind::kMsix);
  EXPECT_FALSE(m->Msix(2));  // beyond the table
  const std::vector<Event> want = {{IrqKind::kIntx, 1}, {IrqKind::kMsi, 0}, {IrqKind::kMsi, 1}};
  EXPECT_EQ(sink.events(), want);
}

TEST(PciDeviceTest, DmaIssueRules) {
  auto m = MustCreate(ConfigKind::kConventional, NoBuild);
  ASSERT_NE(m, nullptr);
  uint8_t b[8];
  EXPECT_TRUE(m->Read(0x1000, b, 0, core::kNoPasid).ok);  // len 0: nothing to issue
  DmaResult r = m->Read(0x1234, b, 8, core::kNoPasid);  // no port attached
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.fault.reason, core::FaultReason::kUnknown);
  EXPECT_TRUE(r.fault.addr_valid);
  EXPECT_EQ(r.fault.addr, 0x1000u);
  EXPECT_EQ(r.fault.perm, core::kProtRead);
  testing::FakeDmaPort port;
  port.Map(0x1000, 0x1000);
  m->Attach(&port, nullptr);
  EXPECT_FALSE(m->Read(0x1000, b, 8, core::kNoPasid).ok);  // Bus-Master clear
  ASSERT_TRUE(m->ConfigWrite(PCI_COMMAND, 2, PCI_COMMAND_MASTER).ok());
  EXPECT_TRUE(m->Read(0x1000, b, 8, core::kNoPasid).ok);
  r = m->Read(0x1000, b, 8, 3);  // no PASID capability
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.fault.pasid_valid);
  EXPECT_EQ(r.fault.pasid, 3u);
  EXPECT_TRUE(port.faults().empty());
}

TEST(PciDeviceTest, ResetAndFlrRules) {
  uint16_t exp = 0;
  auto build = [&](TestModel&, PciConfigSpace& cfg) {
    core::Result<uint16_t> r = cfg.AddPcieCapability({PcieType::kEndpoint, true});
    if (r.ok()) exp = *r;
    return r.status();
  };
  auto no_reset = MustCreate(ConfigKind::kExpress, build, /*reset=*/false);
  ASSERT_NE(no_reset, nullptr);
  EXPECT_EQ(no_reset->Reset().err(), EINVAL);
  ASSERT_TRUE(no_reset->ConfigWrite(PCI_COMMAND, 2, PCI_COMMAND_MASTER).ok());
  ASSERT_TRUE(no_reset->ConfigWrite(exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR).ok());
  EXPECT_EQ(no_reset->resets, 0);
  EXPECT_EQ(*no_reset->ConfigRead(PCI_COMMAND, 2), unsigned{PCI_COMMAND_MASTER});

  auto m = MustCreate(ConfigKind::kExpress, build);
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->ConfigWrite(PCI_COMMAND, 2, PCI_COMMAND_MASTER).ok());
  // A byte write to Device Control's high byte initiates FLR too.
  ASSERT_TRUE(m->ConfigWrite(exp + PCI_EXP_DEVCTL + 1, 1, 0x80).ok());
  EXPECT_EQ(m->resets, 1);
  EXPECT_EQ(*m->ConfigRead(PCI_COMMAND, 2), 0u);
  // Writing Device Control without bit 15 does not.
  ASSERT_TRUE(m->ConfigWrite(exp + PCI_EXP_DEVCTL, 2, 0x2810).ok());
  EXPECT_EQ(m->resets, 1);
  // Invalid config accesses change nothing and reset nothing.
  EXPECT_EQ(m->ConfigWrite(exp + PCI_EXP_DEVCTL + 1, 2, 0xffff).err(), EINVAL);
  EXPECT_EQ(m->resets, 1);
}

TEST(PciDeviceTest, IntxNeedsAPin) {
  auto m = MustCreate(ConfigKind::kConventional, [](TestModel&, PciConfigSpace& cfg) {
    cfg.Set8(PCI_INTERRUPT_PIN, 0);
    return core::Status::Ok();
  });
  ASSERT_NE(m, nullptr);
  testing::RecordingIrqSink sink;
  m->Attach(nullptr, &sink);
  EXPECT_EQ(m->IntxCount(), 0u);
  EXPECT_EQ(m->Signal(0), IrqKind::kIntx);
  EXPECT_FALSE(sink.intx());
  EXPECT_FALSE(m->IntxLineAsserted());
}

}  // namespace
}  // namespace vfiosim::sim
