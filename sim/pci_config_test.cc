#include "sim/pci_config.h"

#include <gtest/gtest.h>

#include <vector>

namespace vfiosim::sim {
namespace {

// Every byte through the public read path, to prove "nothing changed".
std::vector<uint8_t> Snapshot(const PciConfigSpace& c) {
  std::vector<uint8_t> bytes;
  for (uint32_t i = 0; i < c.size(); ++i) bytes.push_back(static_cast<uint8_t>(*c.Read(i, 1)));
  return bytes;
}

uint32_t Rd(const PciConfigSpace& c, uint32_t off, unsigned size) {
  core::Result<uint32_t> r = c.Read(off, size);
  EXPECT_TRUE(r.ok()) << "read " << off << "/" << size;
  return r.ok() ? *r : 0xdeadbeef;
}

void Wr(PciConfigSpace& c, uint32_t off, unsigned size, uint32_t v) {
  EXPECT_TRUE(c.Write(off, size, v).ok()) << "write " << off << "/" << size;
}

Type0Header TestHeader() {
  return Type0Header{.vendor_id = 0x1234, .device_id = 0x5678, .revision = 0x42,
                     .class_code = 0x088000, .subsystem_vendor_id = 0xabcd,
                     .subsystem_id = 0xef01, .interrupt_pin = 1};
}

TEST(PciConfigSpaceTest, SizesFollowKind) {
  EXPECT_EQ(PciConfigSpace(ConfigKind::kConventional).size(), 256u);
  EXPECT_EQ(PciConfigSpace(ConfigKind::kExpress).size(), 4096u);
  EXPECT_FALSE(PciConfigSpace(ConfigKind::kConventional).is_express());
  EXPECT_TRUE(PciConfigSpace(ConfigKind::kExpress).is_express());
}

struct AccessCase {
  ConfigKind kind;
  uint32_t offset;
  unsigned size;
  bool ok;
};

TEST(PciConfigSpaceTest, AccessValidation) {
  const AccessCase cases[] = {
      {ConfigKind::kConventional, 0, 1, true},    {ConfigKind::kConventional, 0, 2, true},
      {ConfigKind::kConventional, 0, 4, true},    {ConfigKind::kConventional, 252, 4, true},
      {ConfigKind::kConventional, 255, 1, true},  {ConfigKind::kConventional, 0, 3, false},
      {ConfigKind::kConventional, 0, 8, false},   {ConfigKind::kConventional, 0, 0, false},
      {ConfigKind::kConventional, 1, 2, false},   {ConfigKind::kConventional, 2, 4, false},
      {ConfigKind::kConventional, 256, 1, false}, {ConfigKind::kConventional, 0xffffffff, 1, false},
      {ConfigKind::kExpress, 4092, 4, true},      {ConfigKind::kExpress, 4095, 1, true},
      {ConfigKind::kExpress, 4096, 1, false},     {ConfigKind::kExpress, 4094, 4, false},
  };
  for (const AccessCase& c : cases) {
    PciConfigSpace cfg(c.kind);
    cfg.InitType0Header(TestHeader());
    const std::vector<uint8_t> before = Snapshot(cfg);
    core::Result<uint32_t> r = cfg.Read(c.offset, c.size);
    core::Status w = cfg.Write(c.offset, c.size, 0xffffffff);
    if (c.ok) {
      EXPECT_TRUE(r.ok()) << c.offset << "/" << c.size;
      EXPECT_TRUE(w.ok()) << c.offset << "/" << c.size;
    } else {
      EXPECT_EQ(r.err(), EINVAL) << c.offset << "/" << c.size;
      EXPECT_EQ(w.err(), EINVAL) << c.offset << "/" << c.size;
      EXPECT_EQ(Snapshot(cfg), before);
    }
  }
}

TEST(PciConfigSpaceTest, WriteMaskAndW1c) {
  PciConfigSpace cfg;
  cfg.Define(0x40, 4, 0xa5a50000, /*wmask=*/0x0000ffff, /*w1c=*/0x00ff0000);
  Wr(cfg, 0x40, 4, 0x0000beef);
  EXPECT_EQ(Rd(cfg, 0x40, 4), 0xa5a5beefu);  // RO high bytes kept, RW low bytes taken
  Wr(cfg, 0x40, 2, 0x1234);
  EXPECT_EQ(Rd(cfg, 0x40, 4), 0xa5a51234u);
  Wr(cfg, 0x42, 2, 0x0001);  // W1C: clears only bit 16, RW bytes untouched
  EXPECT_EQ(Rd(cfg, 0x40, 4), 0xa5a41234u);
  Wr(cfg, 0x40, 4, 0x00000000);  // writing 0 to W1C bits leaves them
  EXPECT_EQ(Rd(cfg, 0x40, 4), 0xa5a40000u);
  Wr(cfg, 0x42, 1, 0xff);  // byte write clears all W1C bits of that byte
  EXPECT_EQ(Rd(cfg, 0x40, 4), 0xa5000000u);
  EXPECT_EQ(cfg.WriteMask(0x40, 4), 0x0000ffffu);
  EXPECT_EQ(cfg.W1cMask(0x40, 4), 0x00ff0000u);
  // Sub-dword accesses see little-endian bytes.
  EXPECT_EQ(Rd(cfg, 0x43, 1), 0xa5u);
  EXPECT_EQ(Rd(cfg, 0x42, 2), 0xa500u);
}

TEST(PciConfigSpaceTest, RawSettersIgnoreOutOfRange) {
  PciConfigSpace cfg;
  cfg.Set32(254, 0x11223344);  // the last two bytes fall off the end
  EXPECT_EQ(cfg.Get16(254), 0x3344);
  EXPECT_EQ(cfg.Get8(256), 0);
  EXPECT_EQ(cfg.Get32(0x1000), 0u);
}

TEST(PciConfigSpaceTest, Type0Header) {
  PciConfigSpace cfg;
  cfg.InitType0Header(TestHeader());
  EXPECT_EQ(Rd(cfg, PCI_VENDOR_ID, 4), 0x56781234u);
  EXPECT_EQ(Rd(cfg, PCI_CLASS_REVISION, 4), 0x08800042u);
  EXPECT_EQ(Rd(cfg, PCI_SUBSYSTEM_VENDOR_ID, 4), 0xef01abcdu);
  EXPECT_EQ(Rd(cfg, PCI_HEADER_TYPE, 1), 0u);
  EXPECT_EQ(Rd(cfg, PCI_INTERRUPT_PIN, 1), 1u);
  EXPECT_EQ(Rd(cfg, PCI_CAPABILITY_LIST, 1), 0u);

  Wr(cfg, PCI_VENDOR_ID, 4, 0xffffffff);  // ids are read-only
  EXPECT_EQ(Rd(cfg, PCI_VENDOR_ID, 4), 0x56781234u);
  Wr(cfg, PCI_COMMAND, 2, 0xffff);
  EXPECT_EQ(Rd(cfg, PCI_COMMAND, 2),
            unsigned{PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                     PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE});
  Wr(cfg, PCI_INTERRUPT_LINE, 2, 0xffff);  // line RW, pin RO
  EXPECT_EQ(Rd(cfg, PCI_INTERRUPT_LINE, 2), 0x01ffu);
  Wr(cfg, PCI_CACHE_LINE_SIZE, 2, 0x4010);
  EXPECT_EQ(Rd(cfg, PCI_CACHE_LINE_SIZE, 2), 0x4010u);  // latency timer RW on PCI

  PciConfigSpace pcie(ConfigKind::kExpress);
  pcie.InitType0Header(TestHeader());
  Wr(pcie, PCI_CACHE_LINE_SIZE, 2, 0x4010);
  EXPECT_EQ(Rd(pcie, PCI_CACHE_LINE_SIZE, 2), 0x0010u);  // hardwired 0 on PCIe
}

TEST(PciConfigSpaceTest, StatusErrorBitsAreW1c) {
  PciConfigSpace cfg;
  cfg.InitType0Header(TestHeader());
  ASSERT_TRUE(cfg.AddVendorCapability(8).ok());  // sets the RO Capabilities-List bit
  cfg.Set16(PCI_STATUS, cfg.Get16(PCI_STATUS) | PCI_STATUS_REC_MASTER_ABORT |
                            PCI_STATUS_DETECTED_PARITY | PCI_STATUS_SIG_SYSTEM_ERROR);
  Wr(cfg, PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_CAP_LIST);
  EXPECT_EQ(Rd(cfg, PCI_STATUS, 2),
            unsigned{PCI_STATUS_CAP_LIST | PCI_STATUS_DETECTED_PARITY |
                     PCI_STATUS_SIG_SYSTEM_ERROR});
  Wr(cfg, PCI_COMMAND, 4, 0xffff0000);  // dword write hitting status clears all
  EXPECT_EQ(Rd(cfg, PCI_STATUS, 2), unsigned{PCI_STATUS_CAP_LIST});
}

struct BarCase {
  BarSpec spec;
  uint32_t sized_lo;  // read-back after writing all-ones
  uint32_t sized_hi;  // next register (upper half for 64-bit)
};

TEST(PciConfigSpaceTest, BarSizingLikeHardware) {
  const BarCase cases[] = {
      {{BarType::kMem32, 4096, false}, 0xfffff000, 0},
      {{BarType::kMem32, 1 << 20, true}, 0xfff00008, 0},
      {{BarType::kMem32, 16, false}, 0xfffffff0, 0},
      {{BarType::kMem32, uint64_t{1} << 31, false}, 0x80000000, 0},
      {{BarType::kMem64, 16384, false}, 0xffffc004, 0xffffffff},
      {{BarType::kMem64, uint64_t{8} << 30, true}, 0x0000000c, 0xfffffffe},
      {{BarType::kIo, 256, false}, 0xffffff01, 0},
      {{BarType::kIo, 4, false}, 0xfffffffd, 0},
  };
  for (const BarCase& c : cases) {
    PciConfigSpace cfg;
    cfg.InitType0Header(TestHeader());
    ASSERT_TRUE(cfg.SetBar(2, c.spec).ok());
    EXPECT_EQ(cfg.GetBar(2).size, c.spec.size);
    Wr(cfg, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
    Wr(cfg, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
    EXPECT_EQ(Rd(cfg, PCI_BASE_ADDRESS_2, 4), c.sized_lo) << c.spec.size;
    EXPECT_EQ(Rd(cfg, PCI_BASE_ADDRESS_3, 4), c.sized_hi) << c.spec.size;
    // Size as software computes it: ~(mask) + 1 over the decoded width.
    uint64_t mask = c.sized_lo & (c.spec.type == BarType::kIo ? ~3u : ~0xfu);
    if (c.spec.type == BarType::kMem64) {
      mask |= uint64_t{c.sized_hi} << 32;
      EXPECT_EQ(~mask + 1, c.spec.size);
    } else {
      EXPECT_EQ(uint32_t(~uint32_t(mask) + 1), c.spec.size);
    }
  }
}

TEST(PciConfigSpaceTest, BarAddressProgramming) {
  PciConfigSpace cfg;
  cfg.InitType0Header(TestHeader());
  ASSERT_TRUE(cfg.SetBar(0, {BarType::kMem64, 1 << 20, true}).ok());
  ASSERT_TRUE(cfg.SetBar(2, {BarType::kMem32, 4096, false}).ok());
  Wr(cfg, PCI_BASE_ADDRESS_0, 4, 0xfe812345);  // low bits below size are dropped
  Wr(cfg, PCI_BASE_ADDRESS_1, 4, 0x00000012);
  Wr(cfg, PCI_BASE_ADDRESS_2, 4, 0xfebf1fff);
  EXPECT_EQ(cfg.BarAddress(0), 0x12fe800000ull);
  EXPECT_EQ(cfg.BarAddress(2), 0xfebf1000ull);
  EXPECT_EQ(cfg.GetBar(1).type, BarType::kNone);  // upper half is not a BAR
  EXPECT_EQ(cfg.BarAddress(4), 0u);
  // Unimplemented BARs are hardwired to zero: sizing reads 0 (size 0).
  Wr(cfg, PCI_BASE_ADDRESS_4, 4, 0xffffffff);
  EXPECT_EQ(Rd(cfg, PCI_BASE_ADDRESS_4, 4), 0u);
}

TEST(PciConfigSpaceTest, SetBarErrorsLeaveStateUnchanged) {
  struct Case {
    int index;
    BarSpec spec;
  };
  const Case cases[] = {
      {-1, {BarType::kMem32, 4096, false}},
      {6, {BarType::kMem32, 4096, false}},
      {0, {BarType::kMem32, 0, false}},
      {0, {BarType::kMem32, 3000, false}},
      {0, {BarType::kMem32, 8, false}},
      {0, {BarType::kMem32, uint64_t{1} << 32, false}},
      {0, {BarType::kIo, 512, false}},
      {0, {BarType::kIo, 2, false}},
      {0, {BarType::kIo, 16, true}},
      {5, {BarType::kMem64, 4096, false}},
      {3, {BarType::kMem32, 4096, false}},  // upper half of BAR 2
      {1, {BarType::kMem64, 4096, false}},  // would swallow BAR 2
  };
  for (const Case& c : cases) {
    PciConfigSpace cfg;
    cfg.InitType0Header(TestHeader());
    ASSERT_TRUE(cfg.SetBar(2, {BarType::kMem64, 4096, false}).ok());
    const std::vector<uint8_t> before = Snapshot(cfg);
    EXPECT_EQ(cfg.SetBar(c.index, c.spec).err(), EINVAL) << c.index << " " << c.spec.size;
    EXPECT_EQ(Snapshot(cfg), before);
    EXPECT_EQ(cfg.GetBar(2).type, BarType::kMem64);
  }
}

TEST(PciConfigSpaceTest, RedefiningA64BitBarFreesItsUpperHalf) {
  PciConfigSpace cfg;
  cfg.InitType0Header(TestHeader());
  ASSERT_TRUE(cfg.SetBar(0, {BarType::kMem64, 4096, false}).ok());
  ASSERT_TRUE(cfg.SetBar(0, {BarType::kMem32, 4096, false}).ok());
  ASSERT_TRUE(cfg.SetBar(1, {BarType::kIo, 16, false}).ok());
  Wr(cfg, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
  EXPECT_EQ(Rd(cfg, PCI_BASE_ADDRESS_1, 4), 0xfffffff1u);
}

TEST(PciConfigSpaceTest, CapabilityChainWalk) {
  PciConfigSpace cfg(ConfigKind::kExpress);
  cfg.InitType0Header(TestHeader());
  EXPECT_TRUE(cfg.Capabilities().empty());
  core::Result<uint16_t> pcie = cfg.AddPcieCapability({PcieType::kEndpoint, true});
  core::Result<uint16_t> msi = cfg.AddMsiCapability({4, true, true});
  core::Result<uint16_t> msix = cfg.AddMsixCapability({8, 0, 0x2000, 0, 0x3000});
  core::Result<uint16_t> pasid = cfg.AddPasidCapability({20, false, false});
  core::Result<uint16_t> ats = cfg.AddAtsCapability({});
  ASSERT_TRUE(pcie.ok() && msi.ok() && msix.ok() && pasid.ok() && ats.ok());
  EXPECT_EQ(*pcie, 0x40);
  EXPECT_EQ(*msi, 0x40 + 0x3c);
  EXPECT_EQ(*msix, 0x7c + 24);
  EXPECT_EQ(*pasid, 0x100);
  EXPECT_EQ(*ats, 0x108);

  EXPECT_TRUE(Rd(cfg, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
  EXPECT_EQ(Rd(cfg, PCI_CAPABILITY_LIST, 1), 0x40u);
  EXPECT_EQ(Rd(cfg, 0x40, 2), 0x7c10u);  // id 0x10, next 0x7c
  EXPECT_EQ(Rd(cfg, 0x7c, 2), 0x9405u);
  EXPECT_EQ(Rd(cfg, 0x94, 2), 0x0011u);  // last: next 0
  EXPECT_EQ(Rd(cfg, 0x100, 4), 0x1081001bu);  // PASID v1, next 0x108
  EXPECT_EQ(Rd(cfg, 0x108, 4), 0x0001000fu);  // ATS v1, next 0

  const std::vector<CapabilityInfo> want = {
      {PCI_CAP_ID_EXP, 0x40, false},          {PCI_CAP_ID_MSI, 0x7c, false},
      {PCI_CAP_ID_MSIX, 0x94, false},         {PCI_EXT_CAP_ID_PASID, 0x100, true},
      {PCI_EXT_CAP_ID_ATS, 0x108, true},
  };
  EXPECT_EQ(cfg.Capabilities(), want);
  EXPECT_EQ(cfg.FindCapability(PCI_CAP_ID_MSIX), 0x94);
  EXPECT_EQ(cfg.FindCapability(PCI_CAP_ID_PM), 0);
  EXPECT_EQ(cfg.FindExtCapability(PCI_EXT_CAP_ID_ATS), 0x108);
  EXPECT_EQ(cfg.FindExtCapability(PCI_EXT_CAP_ID_ERR), 0);
  // Pointers are read-only to software.
  Wr(cfg, PCI_CAPABILITY_LIST, 1, 0x80);
  Wr(cfg, 0x40, 2, 0xffff);
  EXPECT_EQ(cfg.Capabilities(), want);
}

TEST(PciConfigSpaceTest, CapabilityErrors) {
  PciConfigSpace cfg;
  cfg.InitType0Header(TestHeader());
  ASSERT_TRUE(cfg.AddMsiCapability({1, false, false}).ok());
  std::vector<uint8_t> before = Snapshot(cfg);
  EXPECT_EQ(cfg.AddMsiCapability({1, false, false}).err(), EEXIST);
  EXPECT_EQ(cfg.AddMsiCapability({3, true, false}).err(), EINVAL);
  EXPECT_EQ(cfg.AddMsiCapability({64, true, false}).err(), EINVAL);
  EXPECT_EQ(cfg.AddMsixCapability({0, 0, 0, 0, 0x1000}).err(), EINVAL);
  EXPECT_EQ(cfg.AddMsixCapability({2049, 0, 0, 0, 0x1000}).err(), EINVAL);
  EXPECT_EQ(cfg.AddMsixCapability({4, 6, 0, 0, 0x1000}).err(), EINVAL);
  EXPECT_EQ(cfg.AddMsixCapability({4, 0, 0x1004, 0, 0x2000}).err(), EINVAL);
  EXPECT_EQ(cfg.AddPcieCapability({static_cast<PcieType>(5), false}).err(), EINVAL);
  EXPECT_EQ(cfg.AddVendorCapability(2).err(), EINVAL);
  // Extended capabilities need PCIe config space.
  EXPECT_EQ(cfg.AddPasidCapability({}).err(), EINVAL);
  EXPECT_EQ(cfg.AddAtsCapability({}).err(), EINVAL);
  EXPECT_EQ(Snapshot(cfg), before);

  PciConfigSpace pcie(ConfigKind::kExpress);
  pcie.InitType0Header(TestHeader());
  EXPECT_EQ(pcie.AddPasidCapability({0, false, false}).err(), EINVAL);
  EXPECT_EQ(pcie.AddPasidCapability({21, false, false}).err(), EINVAL);
  EXPECT_EQ(pcie.AddAtsCapability({32, true}).err(), EINVAL);
  ASSERT_TRUE(pcie.AddPasidCapability({}).ok());
  EXPECT_EQ(pcie.AddPasidCapability({}).err(), EEXIST);
}

TEST(PciConfigSpaceTest, StandardSpaceRunsOut) {
  PciConfigSpace cfg;
  cfg.InitType0Header(TestHeader());
  // 0x40..0xff holds 192 bytes: three 64-byte vendor capabilities fit.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cfg.AddVendorCapability(64).ok());
  const std::vector<uint8_t> before = Snapshot(cfg);
  EXPECT_EQ(cfg.AddVendorCapability(3).err(), ENOSPC);
  EXPECT_EQ(cfg.AddMsiCapability({}).err(), ENOSPC);
  EXPECT_EQ(Snapshot(cfg), before);
  EXPECT_EQ(cfg.Capabilities().size(), 3u);
  EXPECT_EQ(Rd(cfg, 0x42, 1), 64u);  // vendor cap length byte
}

TEST(PciConfigSpaceTest, ChainWalkSurvivesLoopsAndBadPointers) {
  PciConfigSpace cfg(ConfigKind::kExpress);
  cfg.InitType0Header(TestHeader());
  cfg.Set16(PCI_STATUS, PCI_STATUS_CAP_LIST);
  cfg.Set8(PCI_CAPABILITY_LIST, 0x40);
  cfg.Set16(0x40, 0x5001);  // 0x40 -> 0x50
  cfg.Set16(0x50, 0x4005);  // 0x50 -> 0x40: a loop
  cfg.Set32(0x100, 0x1000001b);  // ext cap pointing at itself
  EXPECT_EQ(cfg.FindCapability(PCI_CAP_ID_MSIX), 0);
  EXPECT_EQ(cfg.FindCapability(PCI_CAP_ID_MSI), 0x50);
  EXPECT_EQ(cfg.FindExtCapability(PCI_EXT_CAP_ID_ATS), 0);
  // Walks are bounded like Linux's: 48 standard, 480 extended steps.
  EXPECT_EQ(cfg.Capabilities().size(), 48u + 480u);

  cfg.Set16(0x50, 0x1005);  // a next pointer into the header ends the walk
  cfg.Set32(0x100, 0x0000001b);  // ext next 0 ends the extended walk
  const std::vector<CapabilityInfo> want = {
      {1, 0x40, false}, {5, 0x50, false}, {0x1b, 0x100, true}};
  EXPECT_EQ(cfg.Capabilities(), want);
}

TEST(PciConfigSpaceTest, MsiCapabilityRegisters) {
  PciConfigSpace cfg;
  cfg.InitType0Header(TestHeader());
  const uint16_t o = *cfg.AddMsiCapability({4, true, true});
  EXPECT_EQ(MsiCapSize({4, true, true}), 24);
  EXPECT_EQ(MsiCapSize({1, false, false}), 10);
  EXPECT_EQ(Rd(cfg, o + PCI_MSI_FLAGS, 2),
            unsigned{(2 << 1) | PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT});
  Wr(cfg, o + PCI_MSI_FLAGS, 2, 0xffff);  // only Enable and MME change
  EXPECT_EQ(Rd(cfg, o + PCI_MSI_FLAGS, 2),
            unsigned{PCI_MSI_FLAGS_ENABLE | (2 << 1) | PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_64BIT |
                     PCI_MSI_FLAGS_MASKBIT});
  Wr(cfg, o + PCI_MSI_ADDRESS_LO, 4, 0xfee00003);
  EXPECT_EQ(Rd(cfg, o + PCI_MSI_ADDRESS_LO, 4), 0xfee00000u);
  Wr(cfg, o + PCI_MSI_ADDRESS_HI, 4, 0x12345678);
  EXPECT_EQ(Rd(cfg, o + PCI_MSI_ADDRESS_HI, 4), 0x12345678u);
  Wr(cfg, o + PCI_MSI_DATA_64, 4, 0xffff4021);  // extended data is RO 0
  EXPECT_EQ(Rd(cfg, o + PCI_MSI_DATA_64, 4), 0x4021u);
  Wr(cfg, o + PCI_MSI_MASK_64, 4, 0xffffffff);  // 4 implemented vectors
  EXPECT_EQ(Rd(cfg, o + PCI_MSI_MASK_64, 4), 0xfu);
  Wr(cfg, o + PCI_MSI_PENDING_64, 4, 0xffffffff);  // pending is RO
  EXPECT_EQ(Rd(cfg, o + PCI_MSI_PENDING_64, 4), 0u);

  PciConfigSpace c32;
  c32.InitType0Header(TestHeader());
  const uint16_t p = *c32.AddMsiCapability({1, false, false});
  Wr(c32, p + PCI_MSI_DATA_32, 2, 0x1234);
  EXPECT_EQ(Rd(c32, p + PCI_MSI_DATA_32, 2), 0x1234u);
  EXPECT_EQ(Rd(c32, p + PCI_MSI_FLAGS, 2), 0u);
}

TEST(PciConfigSpaceTest, MsixCapabilityRegisters) {
  PciConfigSpace cfg;
  cfg.InitType0Header(TestHeader());
  const uint16_t o = *cfg.AddMsixCapability({33, 2, 0x2000, 4, 0x3008});
  EXPECT_EQ(Rd(cfg, o + PCI_MSIX_FLAGS, 2), 32u);
  EXPECT_EQ(Rd(cfg, o + PCI_MSIX_TABLE, 4), 0x2002u);
  EXPECT_EQ(Rd(cfg, o + PCI_MSIX_PBA, 4), 0x300cu);
  Wr(cfg, o + PCI_MSIX_FLAGS, 2, 0xffff);
  EXPECT_EQ(Rd(cfg, o + PCI_MSIX_FLAGS, 2),
            unsigned{PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | 32});
  Wr(cfg, o + PCI_MSIX_TABLE, 4, 0);
  EXPECT_EQ(Rd(cfg, o + PCI_MSIX_TABLE, 4), 0x2002u);
}

TEST(PciConfigSpaceTest, PcieCapabilityRegisters) {
  PciConfigSpace cfg(ConfigKind::kExpress);
  cfg.InitType0Header(TestHeader());
  const uint16_t o = *cfg.AddPcieCapability({PcieType::kEndpoint, true});
  EXPECT_EQ(Rd(cfg, o + PCI_EXP_FLAGS, 2), 0x0002u);  // v2, type endpoint
  EXPECT_TRUE(Rd(cfg, o + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR);
  EXPECT_EQ(Rd(cfg, o + PCI_EXP_DEVCTL, 2), 0x2810u);
  Wr(cfg, o + PCI_EXP_DEVCTL, 2, 0xffff);  // Initiate FLR and reserved bits read 0
  EXPECT_EQ(Rd(cfg, o + PCI_EXP_DEVCTL, 2), 0x79ffu);
  cfg.Set16(o + PCI_EXP_DEVSTA, PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_URD);
  Wr(cfg, o + PCI_EXP_DEVSTA, 2, PCI_EXP_DEVSTA_URD);
  EXPECT_EQ(Rd(cfg, o + PCI_EXP_DEVSTA, 2), unsigned{PCI_EXP_DEVSTA_CED});
  EXPECT_EQ(Rd(cfg, o + PCI_EXP_LNKSTA, 2), 0x0011u);  // 2.5 GT/s x1

  PciConfigSpace rc(ConfigKind::kExpress);
  rc.InitType0Header(TestHeader());
  const uint16_t r = *rc.AddPcieCapability({PcieType::kRcIntegratedEndpoint, false});
  EXPECT_EQ(Rd(rc, r + PCI_EXP_FLAGS, 2), 0x0092u);
  EXPECT_FALSE(Rd(rc, r + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR);
  EXPECT_EQ(Rd(rc, r + PCI_EXP_LNKCAP, 4), 0u);  // no link
  EXPECT_EQ(Rd(rc, r + PCI_EXP_LNKSTA, 2), 0u);
}

TEST(PciConfigSpaceTest, PasidAndAtsRegisters) {
  PciConfigSpace cfg(ConfigKind::kExpress);
  cfg.InitType0Header(TestHeader());
  const uint16_t p = *cfg.AddPasidCapability({20, false, true});
  EXPECT_EQ(Rd(cfg, p + PCI_PASID_CAP, 2), unsigned{(20 << 8) | PCI_PASID_CAP_PRIV});
  Wr(cfg, p + PCI_PASID_CTRL, 2, 0xffff);  // exec unsupported: its enable stays 0
  EXPECT_EQ(Rd(cfg, p + PCI_PASID_CTRL, 2),
            unsigned{PCI_PASID_CTRL_ENABLE | PCI_PASID_CTRL_PRIV});
  const uint16_t a = *cfg.AddAtsCapability({5, true});
  EXPECT_EQ(Rd(cfg, a + PCI_ATS_CAP, 2), 0x25u);
  Wr(cfg, a + PCI_ATS_CTRL, 2, 0xffff);
  EXPECT_EQ(Rd(cfg, a + PCI_ATS_CTRL, 2), 0x801fu);
}

TEST(PciConfigSpaceTest, InitHeaderClearsCapabilitiesAndBars) {
  PciConfigSpace cfg(ConfigKind::kExpress);
  cfg.InitType0Header(TestHeader());
  ASSERT_TRUE(cfg.AddMsiCapability({}).ok());
  ASSERT_TRUE(cfg.AddPasidCapability({}).ok());
  ASSERT_TRUE(cfg.SetBar(0, {BarType::kMem32, 4096, false}).ok());
  cfg.InitType0Header(TestHeader());
  EXPECT_TRUE(cfg.Capabilities().empty());
  EXPECT_EQ(cfg.GetBar(0).type, BarType::kNone);
  EXPECT_EQ(*cfg.AddMsiCapability({}), 0x40);  // allocation restarts
}

}  // namespace
}  // namespace vfiosim::sim
