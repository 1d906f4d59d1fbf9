// Tests for reserved regions (per IOMMU model, kernel-style merging) and for
// RenderTree's lspci-like tree and group listing.
#include "sim/topology_render.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/reserved_regions.h"
#include "sim/topology_test_util.h"

namespace vfiosim::sim {
namespace {

using core::GroupId;
using test_util::A;
using test_util::As;
using test_util::Br;
using test_util::Ep;
using test_util::G;
using test_util::HostBridge;
using test_util::Members;
using test_util::MustBuild;
using test_util::Spec;
using Type = ReservedRegionType;

// ---------------------------------------------------------------- reserved regions

TEST(ReservedRegionsTest, IntelRmrrMsiRelaxableAndFloppy) {
  PciFunction port = Br(FunctionKind::kRootPort, "0000:00:1c.0", 1, true);
  port.rmrr = {{0x7a000000, 0x7a0fffff}};  // scoped to the port: covers its subtree
  PciFunction usb = Ep("0000:00:14.0");
  usb.class_code = 0x0c0330;
  usb.rmrr = {{0x3e2e0000, 0x3e2fffff}};
  PciFunction gpu = Ep("0000:00:02.0");
  gpu.class_code = 0x030000;
  gpu.rmrr = {{0x80000000, 0x8fffffff}};
  PciFunction isa = Ep("0000:00:1f.0");
  isa.class_code = 0x060100;
  Topology t = MustBuild(Spec({port, Ep("0000:01:00.0"), usb, gpu, isa}));

  EXPECT_EQ(GroupReservedRegions(t, G(t, "0000:01:00.0")),
            (std::vector<ReservedRegion>{{0x7a000000, 0x7a0fffff, Type::kDirect},
                                         {0xfee00000, 0xfeefffff, Type::kMsi}}));
  EXPECT_EQ(GroupReservedRegions(t, G(t, "0000:00:14.0")),
            (std::vector<ReservedRegion>{{0x3e2e0000, 0x3e2fffff, Type::kDirectRelaxable},
                                         {0xfee00000, 0xfeefffff, Type::kMsi}}));
  EXPECT_EQ(GroupReservedRegions(t, G(t, "0000:00:02.0"))[0].type, Type::kDirectRelaxable);
  EXPECT_EQ(GroupReservedRegions(t, G(t, "0000:00:1f.0")),
            (std::vector<ReservedRegion>{{0, 0xffffff, Type::kDirectRelaxable},
                                         {0xfee00000, 0xfeefffff, Type::kMsi}}));
  EXPECT_TRUE(GroupReservedRegions(t, 12345).empty());
  EXPECT_TRUE(DeviceReservedRegions(t, A("0000:09:00.0")).empty());
}

TEST(ReservedRegionsTest, AmdHtHoleAndArmSoftwareMsi) {
  PciFunction dev = Ep("0000:00:01.0");
  dev.rmrr = {{0xe0000, 0xeffff}};
  TopologySpec amd = Spec({dev});
  amd.iommu.model = IommuModel::kAmdVi;
  amd.iommu.ht_hole = true;
  Topology a = MustBuild(amd);
  EXPECT_EQ(GroupReservedRegions(a, 0),
            (std::vector<ReservedRegion>{{0xe0000, 0xeffff, Type::kDirect},
                                         {0xfee00000, 0xfeefffff, Type::kMsi},
                                         {0xfd00000000, 0xffffffffff, Type::kReserved}}));
  amd.iommu.ht_hole = false;
  EXPECT_EQ(GroupReservedRegions(MustBuild(amd), 0).size(), 2u);

  TopologySpec arm = Spec({dev});
  arm.iommu.model = IommuModel::kArmSmmu;
  Topology r = MustBuild(arm);
  EXPECT_EQ(GroupReservedRegions(r, 0),
            (std::vector<ReservedRegion>{{0xe0000, 0xeffff, Type::kDirect},
                                         {0x08000000, 0x080fffff, Type::kSwMsi}}));
  EXPECT_EQ(FormatReservedRegions(GroupReservedRegions(r, 0)),
            "0x00000000000e0000 0x00000000000effff direct\n"
            "0x0000000008000000 0x00000000080fffff msi\n");
}

TEST(ReservedRegionsTest, MergeLikeTheKernel) {
  const std::vector<ReservedRegion> in = {
      {0x5000, 0x5fff, Type::kDirect},
      {0x1000, 0x1fff, Type::kDirect},
      {0x2000, 0x2fff, Type::kDirect},      // adjacent: merges into 0x1000-0x2fff
      {0x1800, 0x27ff, Type::kReserved},    // overlaps but another type: kept apart
      {0x1000, 0x1fff, Type::kMsi},         // same start: ordered after direct
      {0x5800, 0x6fff, Type::kDirect},      // overlaps 0x5000-0x5fff
      {0x7001, 0x7fff, Type::kDirect},      // a gap of one byte: not merged
      {0xfffffffffffff000, ~0ull, Type::kReserved},
      {0xfffffffffffff800, ~0ull, Type::kReserved},
  };
  EXPECT_EQ(MergeReservedRegions(in),
            (std::vector<ReservedRegion>{{0x1000, 0x2fff, Type::kDirect},
                                         {0x1000, 0x1fff, Type::kMsi},
                                         {0x1800, 0x27ff, Type::kReserved},
                                         {0x5000, 0x6fff, Type::kDirect},
                                         {0x7001, 0x7fff, Type::kDirect},
                                         {0xfffffffffffff000, ~0ull, Type::kReserved}}));
  EXPECT_STREQ(ReservedRegionTypeName(Type::kDirectRelaxable), "direct-relaxable");
  EXPECT_STREQ(ReservedRegionTypeName(Type::kSwMsi), "msi");
}

TEST(ReservedRegionsTest, GroupIsTheUnionOfItsMembers) {
  PciFunction f0 = Ep("0000:00:04.0");
  f0.rmrr = {{0x10000, 0x1ffff}};
  PciFunction f1 = Ep("0000:00:04.1");
  f1.rmrr = {{0x20000, 0x2ffff}, {0x40000, 0x40fff}};
  Topology t = MustBuild(Spec({f0, f1}));
  EXPECT_EQ(GroupReservedRegions(t, 0),
            (std::vector<ReservedRegion>{{0x10000, 0x2ffff, Type::kDirect},
                                         {0x40000, 0x40fff, Type::kDirect},
                                         {0xfee00000, 0xfeefffff, Type::kMsi}}));
}

// ---------------------------------------------------------------- rendering

bool HasLine(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(RenderTreeTest, DefaultMachineTreeAndGroups) {
  const std::string out = RenderTree(DefaultTopology());
  const char* lines[] = {
      "-[0000:00]-+-00.0  8086:29c0 Q35 host bridge  driver=none  group=0",
      "           +-01.0  1234:11e8 QEMU edu  driver=vfio-pci  group=1",
      ("           +-02.0-[01]----00.0  1234:5d01 vfio-sim DMA test device  driver=vfio-pci  "
       "group=3"),
      "           +-03.0  1234:5d02 vfio-sim ring device  driver=vfio-pci  group=4",
      "           +-04.0  8086:10c9 82576 dual-port NIC  driver=vfio-pci  group=5",
      "           +-04.1  8086:10c9 82576 dual-port NIC  driver=vfio-pci  group=5",
      "           \\-05.0  1b36:0010 QEMU NVMe controller  driver=nvme  group=6",
      "IOMMU groups (intel-vtd, 48-bit):",
      "group 1:",
      "  0000:00:01.0  1234:11e8 QEMU edu  endpoint  driver=vfio-pci",
      "  0000:00:02.0  1b36:000c  root-port  driver=pcieport",
      "group 6 (not viable: 0000:00:05.0 bound to nvme):",
      "    0x00000000fee00000 0x00000000feefffff msi",
  };
  for (const char* line : lines) EXPECT_TRUE(HasLine(out, line)) << line << "\n---\n" << out;
  // One msi line per group.
  size_t count = 0;
  for (size_t p = out.find("feefffff msi"); p != std::string::npos;
       p = out.find("feefffff msi", p + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 7u);
}

TEST(RenderTreeTest, DrawsNestedBusesLikeLspci) {
  TopologySpec spec = Spec({
      HostBridge(),
      Br(FunctionKind::kRootPort, "0000:00:1c.0", 1, true),
      Br(FunctionKind::kPcieToPciBridge, "0000:01:00.0", 2),
      Ep("0000:02:01.0"),
      Ep("0000:02:02.0"),
      Br(FunctionKind::kRootPort, "0000:00:1d.0", 3, true),  // empty slot
  });
  spec.iommu.model = IommuModel::kArmSmmu;
  const std::string out = RenderPciTree(MustBuild(spec));
  EXPECT_EQ(out,
            "-[0000:00]-+-00.0  8086:29c0 host-bridge  driver=none  group=0\n"
            "           +-1c.0-[01-02]----00.0-[02]--+-01.0  1234:5d01 generic  "
            "driver=vfio-pci  group=2\n"
            "           |                            \\-02.0  1234:5d01 generic  "
            "driver=vfio-pci  group=2\n"
            "           \\-1d.0-[03]--\n");
  const std::string groups = RenderIommuGroups(MustBuild(spec));
  EXPECT_TRUE(HasLine(groups, "    0x0000000008000000 0x00000000080fffff msi")) << groups;
  EXPECT_TRUE(HasLine(groups, "  0000:01:00.0  1b36:000e  pcie-to-pci-bridge  driver=none"))
      << groups;
}

}  // namespace
}  // namespace vfiosim::sim
