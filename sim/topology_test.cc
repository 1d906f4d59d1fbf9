// Tests for PciAddress and Topology::Build: tree checks and Linux-style IOMMU
// group formation, and the built-in default machine.
#include "sim/topology.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "sim/pci_address.h"
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

// ---------------------------------------------------------------- PciAddress

TEST(PciAddressTest, ParsesAndPrintsLinuxFormat) {
  core::Result<PciAddress> a = PciAddress::Parse("abcd:ef:1f.7");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->domain, 0xabcd);
  EXPECT_EQ(a->bus, 0xef);
  EXPECT_EQ(a->device, 0x1f);
  EXPECT_EQ(a->function, 7);
  EXPECT_EQ(a->ToString(), "abcd:ef:1f.7");
  EXPECT_EQ(a->ToShortString(), "ef:1f.7");
  EXPECT_EQ(a->Devfn(), 0xff);
  EXPECT_EQ(a->RequesterId(), 0xefff);
  EXPECT_EQ(A("0000:01:00.0").ToString(), "0000:01:00.0");
}

TEST(PciAddressTest, RejectsEverythingElseWithEinval) {
  struct Case {
    const char* text;
    const char* why;
  };
  const Case cases[] = {
      {"", "expected a PCI address"},
      {"0000:01:00", "expected a PCI address"},
      {"01:00.0", "expected a PCI address"},
      {"0000:1:00.0", "expected a PCI address"},
      {"0000:01:00.0 ", "expected a PCI address"},
      {"0000-01:00.0", "expected a PCI address"},
      {"0000:01:0A.0", "lower-case hex"},
      {"0000:01:0g.0", "lower-case hex"},
      {"0000:01:00.a", "function number 10 is above 7"},
      {"0000:01:00.A", "lower-case hex"},
      {"0000:01:20.0", "device number 0x20 is above 0x1f"},
      {"0000:01:ff.0", "device number 0xff is above 0x1f"},
      {"0000:01:00.8", "function number 8 is above 7"},
  };
  for (const Case& c : cases) {
    std::string why;
    core::Result<PciAddress> a = PciAddress::Parse(c.text, &why);
    EXPECT_FALSE(a.ok()) << c.text;
    EXPECT_EQ(a.err(), EINVAL) << c.text;
    EXPECT_NE(why.find(c.why), std::string::npos) << c.text << " -> " << why;
    EXPECT_EQ(PciAddress::Parse(c.text).err(), EINVAL) << c.text;
  }
}

TEST(PciAddressTest, BusIdAndOrdering) {
  core::Result<PciBusId> b = PciBusId::Parse("0001:0a");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->domain, 1);
  EXPECT_EQ(b->bus, 0x0a);
  EXPECT_EQ(b->ToString(), "0001:0a");
  EXPECT_EQ(PciBusId::Parse("0001:0A").err(), EINVAL);
  EXPECT_EQ(PciBusId::Parse("0001:0a:00").err(), EINVAL);
  EXPECT_LT(A("0000:00:1f.7"), A("0000:01:00.0"));
  EXPECT_LT(A("0000:00:01.0"), A("0000:00:01.1"));
  EXPECT_TRUE(A("0000:00:04.0").SameSlot(A("0000:00:04.3")));
  EXPECT_FALSE(A("0000:00:04.0").SameSlot(A("0000:01:04.0")));
}

// ---------------------------------------------------------------- group formation

TEST(GroupFormationTest, RootComplexIntegratedEndpointsAreIsolated) {
  Topology t = MustBuild(Spec({HostBridge(), Ep("0000:00:01.0"), Ep("0000:00:02.0")}));
  EXPECT_EQ(t.groups().size(), 3u);
  EXPECT_NE(G(t, "0000:00:01.0"), G(t, "0000:00:02.0"));
  EXPECT_EQ(Members(t, "0000:00:01.0"), As({"0000:00:01.0"}));
}

TEST(GroupFormationTest, MultifunctionWithoutAcsShareAGroup) {
  Topology t = MustBuild(Spec({Ep("0000:00:04.0"), Ep("0000:00:04.1"), Ep("0000:00:04.2")}));
  ASSERT_EQ(t.groups().size(), 1u);
  EXPECT_EQ(t.groups()[0].devices, As({"0000:00:04.0", "0000:00:04.1", "0000:00:04.2"}));
  EXPECT_TRUE(t.Find(A("0000:00:04.1"))->multifunction);
}

TEST(GroupFormationTest, MultifunctionWithAcsSplits) {
  Topology t = MustBuild(Spec({Ep("0000:00:04.0", true), Ep("0000:00:04.1", true)}));
  EXPECT_EQ(t.groups().size(), 2u);
  EXPECT_NE(G(t, "0000:00:04.0"), G(t, "0000:00:04.1"));
}

TEST(GroupFormationTest, MultifunctionMixedAcsSplitsOnlyTheAcsFunctions) {
  Topology t = MustBuild(
      Spec({Ep("0000:00:04.0", true), Ep("0000:00:04.1"), Ep("0000:00:04.2")}));
  EXPECT_EQ(Members(t, "0000:00:04.0"), As({"0000:00:04.0"}));
  EXPECT_EQ(Members(t, "0000:00:04.2"), As({"0000:00:04.1", "0000:00:04.2"}));
}

TEST(GroupFormationTest, SingleFunctionAcsIsIrrelevant) {
  Topology t = MustBuild(Spec({Ep("0000:00:04.0", false), Ep("0000:00:05.0", true)}));
  EXPECT_EQ(t.groups().size(), 2u);
}

TEST(GroupFormationTest, EverythingBehindPcieToPciBridgeSharesWithTheBridge) {
  Topology t = MustBuild(Spec({
      Br(FunctionKind::kRootPort, "0000:00:1c.0", 1, /*acs=*/true),
      Br(FunctionKind::kPcieToPciBridge, "0000:01:00.0", 2),
      Ep("0000:02:01.0"),
      Ep("0000:02:02.0"),
      Ep("0000:02:03.0"),
  }));
  EXPECT_EQ(Members(t, "0000:02:03.0"),
            As({"0000:01:00.0", "0000:02:01.0", "0000:02:02.0", "0000:02:03.0"}));
  EXPECT_EQ(Members(t, "0000:00:1c.0"), As({"0000:00:1c.0"}));
  EXPECT_FALSE(t.Find(A("0000:02:01.0"))->pcie);
  EXPECT_TRUE(t.Find(A("0000:01:00.0"))->pcie);
}

TEST(GroupFormationTest, RootPortWithoutAcsMergesItsSubtree) {
  Topology t = MustBuild(Spec({
      Br(FunctionKind::kRootPort, "0000:00:1c.0", 1, /*acs=*/false),
      Br(FunctionKind::kSwitchUpstream, "0000:01:00.0", 2),
      Br(FunctionKind::kSwitchDownstream, "0000:02:00.0", 3, /*acs=*/true),
      Br(FunctionKind::kSwitchDownstream, "0000:02:01.0", 4, /*acs=*/true),
      Ep("0000:03:00.0"),
      Ep("0000:04:00.0"),
      Ep("0000:00:02.0"),
  }));
  // ACS further down cannot undo the missing isolation above.
  EXPECT_EQ(Members(t, "0000:04:00.0"), As({"0000:00:1c.0", "0000:01:00.0", "0000:02:00.0",
                                            "0000:02:01.0", "0000:03:00.0", "0000:04:00.0"}));
  EXPECT_EQ(Members(t, "0000:00:02.0"), As({"0000:00:02.0"}));
}

TEST(GroupFormationTest, RootPortWithAcsIsolates) {
  Topology t = MustBuild(Spec({
      Br(FunctionKind::kRootPort, "0000:00:1c.0", 1, /*acs=*/true),
      Ep("0000:01:00.0"),
      Ep("0000:01:00.1"),
  }));
  EXPECT_EQ(Members(t, "0000:00:1c.0"), As({"0000:00:1c.0"}));
  // The endpoint's own functions still share (no ACS on them).
  EXPECT_EQ(Members(t, "0000:01:00.0"), As({"0000:01:00.0", "0000:01:00.1"}));
}

TopologySpec SwitchSpec(bool dsp0_acs, bool dsp1_acs) {
  return Spec({
      Br(FunctionKind::kRootPort, "0000:00:1c.0", 1, /*acs=*/true),
      Br(FunctionKind::kSwitchUpstream, "0000:01:00.0", 2),
      Br(FunctionKind::kSwitchDownstream, "0000:02:00.0", 3, dsp0_acs),
      Br(FunctionKind::kSwitchDownstream, "0000:02:01.0", 4, dsp1_acs),
      Ep("0000:03:00.0"),
      Ep("0000:04:00.0"),
  });
}

TEST(GroupFormationTest, SwitchDownstreamPortsWithoutAcsMerge) {
  Topology t = MustBuild(SwitchSpec(false, false));
  const auto shared = As({"0000:02:00.0", "0000:02:01.0", "0000:03:00.0", "0000:04:00.0"});
  EXPECT_EQ(Members(t, "0000:03:00.0"), shared);
  EXPECT_EQ(Members(t, "0000:01:00.0"), As({"0000:01:00.0"}));  // the USP keeps its own
  EXPECT_EQ(Members(t, "0000:00:1c.0"), As({"0000:00:1c.0"}));
}

TEST(GroupFormationTest, OneSwitchDownstreamPortWithoutAcsSpoilsTheSwitch) {
  // The ACS port's device can still be reached from the other port's device.
  for (auto [a, b] : {std::pair{true, false}, std::pair{false, true}}) {
    Topology t = MustBuild(SwitchSpec(a, b));
    EXPECT_EQ(G(t, "0000:03:00.0"), G(t, "0000:04:00.0"));
    EXPECT_EQ(Members(t, "0000:03:00.0").size(), 4u);
  }
}

TEST(GroupFormationTest, SwitchDownstreamPortsWithAcsIsolate) {
  Topology t = MustBuild(SwitchSpec(true, true));
  EXPECT_EQ(t.groups().size(), 6u);
  EXPECT_EQ(Members(t, "0000:03:00.0"), As({"0000:03:00.0"}));
  EXPECT_EQ(Members(t, "0000:02:01.0"), As({"0000:02:01.0"}));
}

TEST(GroupFormationTest, NonIsolationPropagatesThroughNestedSwitches) {
  Topology t = MustBuild(Spec({
      Br(FunctionKind::kRootPort, "0000:00:1c.0", 1, true),
      Br(FunctionKind::kSwitchUpstream, "0000:01:00.0", 2),
      Br(FunctionKind::kSwitchDownstream, "0000:02:00.0", 3, /*acs=*/false),
      Br(FunctionKind::kSwitchUpstream, "0000:03:00.0", 4),
      Br(FunctionKind::kSwitchDownstream, "0000:04:00.0", 5, /*acs=*/true),
      Ep("0000:05:00.0"),
  }));
  EXPECT_EQ(Members(t, "0000:05:00.0"),
            As({"0000:02:00.0", "0000:03:00.0", "0000:04:00.0", "0000:05:00.0"}));
}

TEST(GroupFormationTest, MultifunctionRootPortsWithoutAcsShareTheirSubtrees) {
  Topology t = MustBuild(Spec({
      Br(FunctionKind::kRootPort, "0000:00:1c.0", 1),
      Br(FunctionKind::kRootPort, "0000:00:1c.1", 2),
      Ep("0000:01:00.0"),
      Ep("0000:02:00.0"),
  }));
  EXPECT_EQ(t.groups().size(), 1u);
}

TEST(GroupFormationTest, LoopbackInAMultifunctionDeviceReachesABridgeFunctionsSubtree) {
  // A switch whose upstream port shares a device with an endpoint function,
  // neither with ACS: the endpoint can loop traffic through the upstream port
  // into the switch, so the ACS on the downstream ports no longer isolates.
  Topology t = MustBuild(Spec({
      Br(FunctionKind::kRootPort, "0000:00:1c.0", 1, true),
      Br(FunctionKind::kSwitchUpstream, "0000:01:00.0", 2),
      Ep("0000:01:00.1"),
      Br(FunctionKind::kSwitchDownstream, "0000:02:00.0", 3, true),
      Ep("0000:03:00.0"),
  }));
  EXPECT_EQ(Members(t, "0000:03:00.0"),
            As({"0000:01:00.0", "0000:01:00.1", "0000:02:00.0", "0000:03:00.0"}));
  // With ACS on the endpoint function the upstream port is alone again.
  Topology u = MustBuild(Spec({
      Br(FunctionKind::kRootPort, "0000:00:1c.0", 1, true),
      Br(FunctionKind::kSwitchUpstream, "0000:01:00.0", 2),
      Ep("0000:01:00.1", /*acs=*/true),
      Br(FunctionKind::kSwitchDownstream, "0000:02:00.0", 3, true),
      Ep("0000:03:00.0"),
  }));
  EXPECT_EQ(Members(u, "0000:03:00.0"), As({"0000:03:00.0"}));
  EXPECT_EQ(Members(u, "0000:01:00.0"), As({"0000:01:00.0"}));
}

TEST(GroupFormationTest, NumbersFollowDepthFirstAddressOrderFromBase) {
  TopologySpec spec = Spec({
      Ep("0000:00:03.0"),  // listed out of order on purpose
      HostBridge(),
      Br(FunctionKind::kRootPort, "0000:00:02.0", 1, true),
      Ep("0000:01:00.0"),
  });
  spec.group_base = 5;
  Topology t = MustBuild(spec);
  EXPECT_EQ(G(t, "0000:00:00.0"), 5u);
  EXPECT_EQ(G(t, "0000:00:02.0"), 6u);
  EXPECT_EQ(G(t, "0000:01:00.0"), 7u);  // the subtree right after its bridge
  EXPECT_EQ(G(t, "0000:00:03.0"), 8u);
  ASSERT_EQ(t.functions().size(), 4u);
  EXPECT_EQ(t.functions()[0].address, A("0000:00:00.0"));
  EXPECT_EQ(t.functions()[2].address, A("0000:01:00.0"));
  EXPECT_EQ(t.functions()[2].parent, 1);
  EXPECT_EQ(t.group_base(), 5u);
}

TEST(GroupFormationTest, PinnedGroupNumbersAreHonouredAndSkipped) {
  PciFunction pinned = Ep("0000:00:04.1");
  pinned.pinned_group = 2;
  Topology t = MustBuild(Spec({HostBridge(), Ep("0000:00:01.0"), Ep("0000:00:04.0"), pinned,
                               Ep("0000:00:05.0"), Ep("0000:00:06.0")}));
  EXPECT_EQ(G(t, "0000:00:00.0"), 0u);
  EXPECT_EQ(G(t, "0000:00:01.0"), 1u);
  EXPECT_EQ(G(t, "0000:00:04.0"), 2u);  // the pin applies to the whole shared group
  EXPECT_EQ(G(t, "0000:00:04.1"), 2u);
  EXPECT_EQ(G(t, "0000:00:05.0"), 3u);
  EXPECT_EQ(G(t, "0000:00:06.0"), 4u);

  PciFunction high = Ep("0000:00:01.0");
  high.pinned_group = 1;  // the next unpinned number would have been 1
  Topology u = MustBuild(Spec({Ep("0000:00:00.0"), high, Ep("0000:00:02.0")}));
  EXPECT_EQ(G(u, "0000:00:00.0"), 0u);
  EXPECT_EQ(G(u, "0000:00:01.0"), 1u);
  EXPECT_EQ(G(u, "0000:00:02.0"), 2u);

  PciFunction far = Ep("0000:00:00.0");
  far.pinned_group = 0;
  Topology v = MustBuild(Spec({Ep("0000:00:02.0"), far}));  // 00.0 pinned 0, 02.0 gets 1
  EXPECT_EQ(G(v, "0000:00:02.0"), 1u);
}

TEST(GroupFormationTest, PinnedGroupConflictsAreRejected) {
  // Two pins in one group.
  PciFunction a = Ep("0000:00:04.0");
  PciFunction b = Ep("0000:00:04.1");
  a.pinned_group = 7;
  b.pinned_group = 8;
  TopologyError err;
  core::Result<Topology> t = Topology::Build(Spec({a, b}), &err);
  EXPECT_EQ(t.err(), EINVAL);
  EXPECT_EQ(err.subject, TopologyError::Subject::kFunction);
  EXPECT_EQ(err.index, 1u);
  EXPECT_EQ(err.field, "group");
  EXPECT_NE(err.message.find("conflicts with pinned group 7"), std::string::npos) << err.message;

  // One number pinned by two groups.
  PciFunction c = Ep("0000:00:01.0");
  PciFunction d = Ep("0000:00:02.0");
  c.pinned_group = 7;
  d.pinned_group = 7;
  t = Topology::Build(Spec({c, d}), &err);
  EXPECT_EQ(t.err(), EINVAL);
  EXPECT_EQ(err.field, "group");
  EXPECT_NE(err.message.find("already pinned by 0000:00:01.0"), std::string::npos) << err.message;

  // The same number twice inside one group is fine.
  a.pinned_group = 7;
  b.pinned_group = 7;
  Topology ok = MustBuild(Spec({a, b}));
  EXPECT_EQ(G(ok, "0000:00:04.1"), 7u);
}

TEST(GroupFormationTest, NumberingPastTheMaximumIsRejected) {
  TopologySpec spec = Spec({Ep("0000:00:01.0"), Ep("0000:00:02.0")});
  spec.group_base = kMaxGroupId;
  TopologyError err;
  EXPECT_EQ(Topology::Build(spec, &err).err(), EINVAL);
  EXPECT_EQ(err.field, "group_base");
  spec.group_base = kMaxGroupId - 1;
  EXPECT_TRUE(Topology::Build(spec).ok());
}

TEST(GroupFormationTest, HostDriverMakesGroupNonViable) {
  Topology t = MustBuild(Spec({
      Br(FunctionKind::kRootPort, "0000:00:1c.0", 1),  // pcieport: allowed
      Ep("0000:01:00.0"),
      Ep("0000:01:00.1", false, "pci-stub"),
      Ep("0000:01:00.2", false, ""),
      Ep("0000:00:02.0", false, "e1000e"),
  }));
  EXPECT_TRUE(t.FindGroup(G(t, "0000:01:00.0"))->viable);
  EXPECT_FALSE(t.FindGroup(G(t, "0000:00:02.0"))->viable);
  EXPECT_TRUE(DriverAllowsUserDma("vfio-pci"));
  EXPECT_FALSE(DriverAllowsUserDma("nvme"));
}

// ---------------------------------------------------------------- tree checks

struct BuildErrorCase {
  const char* what;
  TopologySpec spec;
  TopologyError::Subject subject;
  size_t index;
  const char* field;
  const char* message;
};

TEST(TopologyBuildTest, RejectsInconsistentSpecsWithEinval) {
  auto with = [](std::vector<PciFunction> fs, auto edit) {
    TopologySpec s = Spec(std::move(fs));
    edit(s);
    return s;
  };
  auto none = [](TopologySpec&) {};
  using S = TopologyError::Subject;
  PciFunction bad_class = Br(FunctionKind::kRootPort, "0000:00:1c.0", 1);
  bad_class.class_code = 0x020000;
  PciFunction bad_model = Ep("0000:00:01.0");
  bad_model.model = "gpu";
  PciFunction bad_params = Ep("0000:00:01.0");
  bad_params.params_json = "[1]";
  PciFunction bad_rmrr = Ep("0000:00:01.0");
  bad_rmrr.rmrr = {{0x1000, 0x1ffe}};
  PciFunction bad_driver = Ep("0000:00:01.0", false, "my driver");
  PciFunction vfio_bridge = Br(FunctionKind::kRootPort, "0000:00:1c.0", 1);
  vfio_bridge.driver = "vfio-pci";
  PciFunction bad_address = Ep("0000:00:01.0");
  bad_address.address.device = 32;
  const BuildErrorCase cases[] = {
      {"address width", with({}, [](TopologySpec& s) { s.iommu.address_width = 40; }),
       S::kMachine, 0, "iommu/address_width", "expected 39, 48 or 57"},
      {"pgsize", with({}, [](TopologySpec& s) { s.iommu.pgsize_bitmap = 0x800; }), S::kMachine, 0,
       "iommu/pgsize_bitmap", "no bits below 4 KiB"},
      {"ht hole", with({}, [](TopologySpec& s) { s.iommu.ht_hole = true; }), S::kMachine, 0,
       "iommu/ht_hole", "only on amd-vi"},
      {"root dup",
       with({}, [](TopologySpec& s) { s.root_buses.push_back(PciBusId{0, 0}); }), S::kRootBus, 1,
       "bus_id", "duplicate root bus 0000:00"},
      {"dup address", with({Ep("0000:00:01.0"), Ep("0000:00:01.0")}, none), S::kFunction, 1,
       "address", "duplicate address 0000:00:01.0"},
      {"bad address", with({bad_address}, none), S::kFunction, 0, "address", "device must be"},
      {"no fn0", with({Ep("0000:00:01.0"), Ep("0000:00:04.1")}, none), S::kFunction, 1,
       "address", "has no function 0"},
      {"orphan bus", with({Ep("0000:05:00.0")}, none), S::kFunction, 0, "address",
       "neither a root bus nor the secondary bus"},
      {"bridge class", with({bad_class}, none), S::kFunction, 0, "class", "0x0604xx"},
      {"model", with({bad_model}, none), S::kFunction, 0, "model", "unknown device model \"gpu\""},
      {"params", with({bad_params}, none), S::kFunction, 0, "params", "expected a JSON object"},
      {"rmrr", with({bad_rmrr}, none), S::kFunction, 0, "rmrr", "4 KiB"},
      {"driver", with({bad_driver}, none), S::kFunction, 0, "driver", "expected a driver name"},
      {"vfio bridge", with({vfio_bridge}, none), S::kFunction, 0, "driver",
       "vfio-pci binds only normal"},
      {"dsp on root", with({Br(FunctionKind::kSwitchDownstream, "0000:00:1c.0", 1)}, none),
       S::kFunction, 0, "kind", "cannot sit on a root bus"},
      {"device 1 on link",
       with({Br(FunctionKind::kRootPort, "0000:00:1c.0", 1), Ep("0000:01:01.0")}, none),
       S::kFunction, 1, "address", "carries only device 00"},
      {"secondary is root",
       with({Br(FunctionKind::kRootPort, "0000:00:1c.0", 1)},
            [](TopologySpec& s) { s.root_buses.push_back(PciBusId{0, 1}); }),
       S::kFunction, 0, "secondary_bus", "is a root bus"},
      {"secondary below", with({Br(FunctionKind::kRootPort, "0000:00:1c.0", 0)}, none),
       S::kFunction, 0, "secondary_bus", "must be above"},
      {"overlapping ranges",
       with({Br(FunctionKind::kRootPort, "0000:00:1c.0", 1),
             Br(FunctionKind::kSwitchUpstream, "0000:01:00.0", 3),
             Br(FunctionKind::kRootPort, "0000:00:1d.0", 2)},
            none),
       S::kFunction, 2, "secondary_bus", "overlaps bus range [01-03]"},
      {"acs on p2p bridge",
       with({Br(FunctionKind::kRootPort, "0000:00:1c.0", 1),
             Br(FunctionKind::kPcieToPciBridge, "0000:01:00.0", 2, true)},
            none),
       S::kFunction, 1, "acs", "not applicable"},
  };
  for (const BuildErrorCase& c : cases) {
    TopologyError err;
    core::Result<Topology> t = Topology::Build(c.spec, &err);
    EXPECT_FALSE(t.ok()) << c.what;
    EXPECT_EQ(t.err(), EINVAL) << c.what;
    EXPECT_EQ(err.subject, c.subject) << c.what;
    EXPECT_EQ(err.index, c.index) << c.what;
    EXPECT_EQ(err.field, c.field) << c.what;
    EXPECT_NE(err.message.find(c.message), std::string::npos) << c.what << ": " << err.message;
  }
}

TEST(TopologyTest, AccessorsAndParentChain) {
  Topology t = MustBuild(Spec({
      Br(FunctionKind::kRootPort, "0000:00:1c.0", 1, true),
      Br(FunctionKind::kSwitchUpstream, "0000:01:00.0", 2),
      Br(FunctionKind::kSwitchDownstream, "0000:02:03.0", 3, true),
      Ep("0000:03:00.0"),
  }));
  EXPECT_EQ(t.ParentChain(A("0000:03:00.0")),
            As({"0000:02:03.0", "0000:01:00.0", "0000:00:1c.0"}));
  EXPECT_TRUE(t.ParentChain(A("0000:00:1c.0")).empty());
  EXPECT_TRUE(t.ParentChain(A("0000:09:00.0")).empty());
  EXPECT_EQ(t.Find(A("0000:09:00.0")), nullptr);
  EXPECT_EQ(t.GroupOf(A("0000:09:00.0")).err(), ENODEV);
  EXPECT_EQ(t.FindGroup(999), nullptr);
  EXPECT_EQ(t.Find(A("0000:00:1c.0"))->subordinate_bus, 3);
  EXPECT_EQ(t.Find(A("0000:01:00.0"))->subordinate_bus, 3);
  EXPECT_EQ(t.root_buses(), (std::vector<PciBusId>{PciBusId{0, 0}}));
}

TEST(TopologyTest, ParamsAreNormalizedToCanonicalJson) {
  PciFunction f = Ep("0000:00:01.0");
  f.params_json = "{ \"b\" : 2, \"a\": [1, 2] }";
  Topology t = MustBuild(Spec({f}));
  EXPECT_EQ(t.Find(A("0000:00:01.0"))->params_json, "{\"a\":[1,2],\"b\":2}");
}

// ---------------------------------------------------------------- default machine

TEST(DefaultTopologyTest, MatchesTheDocumentedMachine) {
  Topology t = DefaultTopology();
  ASSERT_FALSE(t.functions().empty());
  EXPECT_EQ(t.profile(), "default");
  EXPECT_EQ(t.iommu(), IommuParams{});
  EXPECT_EQ(t.iommu().model, IommuModel::kIntelVtd);
  EXPECT_EQ(t.iommu().address_width, 48u);
  EXPECT_EQ(t.iommu().pgsize_bitmap, 0x40201000u);
  EXPECT_FALSE(t.iommu().cache_coherency);
  EXPECT_TRUE(t.iommu().interrupt_remapping);
  EXPECT_EQ(t.dma_entry_limit(), 65535u);
  const PciFunction* edu = t.Find(A("0000:00:01.0"));
  ASSERT_NE(edu, nullptr);
  EXPECT_EQ(edu->vendor_id, 0x1234);
  EXPECT_EQ(edu->device_id, 0x11e8);
  EXPECT_EQ(edu->class_code, 0x00ff00u);
  EXPECT_EQ(edu->revision, 0x10);
  EXPECT_EQ(edu->model, "edu");
  EXPECT_EQ(edu->group, 1u);
  EXPECT_EQ(G(t, "0000:00:00.0"), 0u);
  EXPECT_EQ(G(t, "0000:00:02.0"), 2u);
  EXPECT_EQ(G(t, "0000:01:00.0"), 3u);
  EXPECT_EQ(t.Find(A("0000:01:00.0"))->model, "dma-test");
  EXPECT_EQ(G(t, "0000:00:03.0"), 4u);
  EXPECT_EQ(t.Find(A("0000:00:03.0"))->model, "ring");
  EXPECT_EQ(Members(t, "0000:00:04.0"), As({"0000:00:04.0", "0000:00:04.1"}));
  EXPECT_EQ(G(t, "0000:00:04.0"), 5u);
  EXPECT_EQ(G(t, "0000:00:05.0"), 6u);
  ASSERT_EQ(t.groups().size(), 7u);
  for (const IommuGroup& g : t.groups()) EXPECT_EQ(g.viable, g.id != 6) << g.id;
}

}  // namespace
}  // namespace vfiosim::sim
