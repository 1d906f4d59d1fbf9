// Tests for the topology-file loader: every validation error with its JSON
// path, the example files under sim/topologies/, and default.json ==
// DefaultTopology().
#include "sim/topology_loader.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <unistd.h>

#include "sim/reserved_regions.h"
#include "sim/topology_render.h"

namespace vfiosim::sim {
namespace {

// Bazel runs tests from the workspace root of the runfiles tree, and a direct
// g++ build runs from /work/main; both see the files at this relative path.
const std::string kDir = "sim/topologies/";

PciAddress A(std::string_view text) { return *PciAddress::Parse(text); }

// A minimal document with `devices` on root bus 0000:00.
std::string Doc(const std::string& devices, const std::string& top = "") {
  return "{" + top + (top.empty() ? "" : ", ") +
         "\"bus\": [{\"bus_id\": \"0000:00\", \"devices\": [" + devices + "]}]}";
}

const std::string kEp =
    R"({"address": "0000:00:01.0", "vendor": "0x1234", "device": "0x11e8", "class": "0x00ff00"})";

std::string Ep(const std::string& address, const std::string& extra = "") {
  return R"({"address": ")" + address +
         R"(", "vendor": "0x1234", "device": "0x11e8", "class": "0x00ff00")" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

std::string Rp(const std::string& address, const std::string& secondary,
               const std::string& devices, const std::string& extra = "") {
  return R"({"address": ")" + address +
         R"(", "kind": "root-port", "acs": true, "secondary_bus": ")" + secondary +
         R"(", "devices": [)" + devices + "]" + (extra.empty() ? "" : ", " + extra) + "}";
}

struct ErrorCase {
  std::string json;
  std::string expected;  // substring of the message, normally "<path>: <what>"
};

TEST(TopologyLoaderTest, EveryValidationErrorNamesThePath) {
  const ErrorCase cases[] = {
      // Document and syntax.
      {"{", "invalid JSON: parse error at line 1, column 2"},
      {"{\"bus\": [}", "invalid JSON"},
      {"[]", "/: expected a JSON object, got []"},
      {R"({"profile": "x"})", "/bus: missing required key"},
      {R"({"bus": []})", "/bus: expected a non-empty array of root buses"},
      {R"({"bus": {}})", "/bus: expected a non-empty array of root buses"},
      {Doc(kEp, R"("buss": 1)"), "/buss: unknown key \"buss\"; expected one of: comment, profile"},
      {Doc(kEp, R"("comment": 5)"), "/comment: expected a string, got 5"},
      {Doc(kEp, R"("profile": true)"), "/profile: expected a string, got true"},
      {R"({"bus": [{"bus_id": "0000:00", "bus_id": "0000:01"}]})",
       "/bus/0/bus_id: duplicate key \"bus_id\""},
      {Doc(kEp + ", " + R"({"address": "0000:00:02.0", "vendor": "0x1", "vendor": "0x2"})"),
       "/bus/0/devices/1/vendor: duplicate key \"vendor\""},
      // Machine parameters.
      {Doc(kEp, R"("iommu": [])"), "/iommu: expected a JSON object"},
      {Doc(kEp, R"("iommu": {"modle": "amd-vi"})"), "/iommu/modle: unknown key \"modle\""},
      {Doc(kEp, R"("iommu": {"model": "virtio"})"),
       "/iommu/model: expected \"intel-vtd\", \"amd-vi\" or \"arm-smmu\", got \"virtio\""},
      {Doc(kEp, R"("iommu": {"address_width": 40})"),
       "/iommu/address_width: expected 39, 48 or 57, got 40"},
      {Doc(kEp, R"("iommu": {"address_width": "48"})"),
       "/iommu/address_width: expected an integer from 0 to 64, got \"48\""},
      {Doc(kEp, R"("iommu": {"pgsize_bitmap": 1073741824})"),
       "/iommu/pgsize_bitmap: expected a 64-bit hex string like \"0xfee00000\", got 1073741824"},
      {Doc(kEp, R"("iommu": {"pgsize_bitmap": "0x40201800"})"),
       "/iommu/pgsize_bitmap: expected a non-zero page-size bitmap"},
      {Doc(kEp, R"("iommu": {"pgsize_bitmap": "0x0"})"),
       "/iommu/pgsize_bitmap: expected a non-zero page-size bitmap"},
      {Doc(kEp, R"("iommu": {"cache_coherency": "yes"})"),
       "/iommu/cache_coherency: expected true or false, got \"yes\""},
      {Doc(kEp, R"("iommu": {"interrupt_remapping": 1})"),
       "/iommu/interrupt_remapping: expected true or false, got 1"},
      {Doc(kEp, R"("iommu": {"ht_hole": true})"),
       "/iommu/ht_hole: the HyperTransport hole exists only on amd-vi, not on intel-vtd"},
      {Doc(kEp, R"("dma_entry_limit": -1)"),
       "/dma_entry_limit: expected an integer from 0 to 4294967295, got -1"},
      {Doc(kEp, R"("dma_entry_limit": 4294967296)"), "/dma_entry_limit: expected an integer"},
      {Doc(kEp, R"("group_base": 1.5)"),
       "/group_base: expected an integer from 0 to 2147483647, got 1.5"},
      // Root buses.
      {R"({"bus": [5]})", "/bus/0: expected a JSON object, got 5"},
      {R"({"bus": [{"devices": []}]})", "/bus/0/bus_id: missing required key"},
      {R"({"bus": [{"bus_id": "0000:0"}]})",
       "/bus/0/bus_id: expected a PCI bus id like \"0000:00\" (domain:bus, lower-case hex), got "
       "\"0000:0\""},
      {R"({"bus": [{"bus_id": "0000:00", "segment": 1}]})", "/bus/0/segment: unknown key"},
      {R"({"bus": [{"bus_id": "0000:00"}, {"bus_id": "0000:00"}]})",
       "/bus/1/bus_id: duplicate root bus 0000:00"},
      {R"({"bus": [{"bus_id": "0000:00", "devices": [)" + Rp("0000:00:02.0", "0x02", "") +
           R"(]}, {"bus_id": "0000:01"}]})",
       "/bus/1/bus_id: root bus 0000:01 lies inside the bus range of root bus 0000:00"},
      {R"({"bus": [{"bus_id": "0000:00", "devices": {}}]})",
       "/bus/0/devices: expected an array of functions"},
      // Functions: keys, kinds, addresses.
      {Doc("7"), "/bus/0/devices/0: expected a JSON object, got 7"},
      {Doc(R"({"address": "0000:00:01.0", "vendr": "0x1234"})"),
       "/bus/0/devices/0/vendr: unknown key \"vendr\"; expected one of: comment, address"},
      {Doc(R"({"vendor": "0x1234"})"), "/bus/0/devices/0/address: missing required key"},
      {Doc(Ep("0000:00:01")),
       "/bus/0/devices/0/address: expected a PCI address like \"0000:01:00.0\""},
      {Doc(Ep("0000:00:20.0")),
       "/bus/0/devices/0/address: device number 0x20 is above 0x1f, got \"0000:00:20.0\""},
      {Doc(Ep("0000:00:01.8")), "/bus/0/devices/0/address: function number 8 is above 7"},
      {Doc(Ep("0000:00:0A.0")), "/bus/0/devices/0/address: expected lower-case hex digits"},
      {Doc(Ep("0000:01:00.0")),
       "/bus/0/devices/0/address: 0000:01:00.0 is not on bus 0000:00 of the root bus 0000:00"},
      {Doc(kEp + ", " + kEp), "/bus/0/devices/1/address: duplicate address 0000:00:01.0"},
      {Doc(kEp + ", " + Ep("0000:00:04.1")),
       "/bus/0/devices/1/address: 0000:00:04.1 has no function 0 in its slot"},
      {Doc(Ep("0000:00:01.0", R"("kind": "gpu")")),
       "/bus/0/devices/0/kind: expected \"endpoint\", \"host-bridge\""},
      {Doc(Ep("0000:00:01.0", R"("kind": "root-port")")),
       "/bus/0/devices/0/secondary_bus: missing required key for kind \"root-port\""},
      {Doc(Ep("0000:00:01.0", R"("secondary_bus": "0x01")")),
       "/bus/0/devices/0/secondary_bus: only bridges take \"secondary_bus\", not an endpoint"},
      {Doc(Ep("0000:00:01.0", R"("devices": [])")),
       "/bus/0/devices/0/devices: only bridges take \"devices\""},
      {Doc(R"({"address": "0000:00:00.0", "kind": "host-bridge", "model": "edu"})"),
       "/bus/0/devices/0/model: only endpoints take \"model\", not a host-bridge"},
      {Doc(Rp("0000:00:02.0", "0x01", "", R"("params": {})")),
       "/bus/0/devices/0/params: only endpoints take \"params\""},
      // Functions: values.
      {Doc(R"({"address": "0000:00:01.0", "device": "0x1", "class": "0x0"})"),
       "/bus/0/devices/0/vendor: missing required key for kind \"endpoint\" (expected a 16-bit "
       "hex string)"},
      {Doc(kEp + ", " + Ep("0000:00:02.0") + ", " +
           R"({"address": "0000:00:03.0", "vendor": 4660, "device": "0x1", "class": "0x0"})"),
       "test.json: /bus/0/devices/2/vendor: expected a 16-bit hex string like \"0x1234\", got "
       "4660"},
      {Doc(R"({"address": "0000:00:01.0", "vendor": "0x12345", "device": "0x1", "class": "0x0"})"),
       "/bus/0/devices/0/vendor: expected a 16-bit hex string like \"0x1234\", got \"0x12345\""},
      {Doc(R"({"address": "0000:00:01.0", "vendor": "1234", "device": "0x1", "class": "0x0"})"),
       "/bus/0/devices/0/vendor: expected a 16-bit hex string"},
      {Doc(R"({"address": "0000:00:01.0", "vendor": "0x", "device": "0x1", "class": "0x0"})"),
       "/bus/0/devices/0/vendor: expected a 16-bit hex string"},
      {Doc(R"({"address": "0000:00:01.0", "vendor": "0xzz", "device": "0x1", "class": "0x0"})"),
       "/bus/0/devices/0/vendor: expected a 16-bit hex string"},
      {Doc(R"({"address": "0000:00:01.0", "vendor": "0x1", "device": "0x1"})"),
       "/bus/0/devices/0/class: missing required key"},
      {Doc(Ep("0000:00:01.0", R"("class": "0x1000000")")),
       "/bus/0/devices/0/class: duplicate key \"class\""},
      {Doc(R"({"address": "0000:00:01.0", "vendor": "0x1", "device": "0x1",
                "class": "0x1000000"})"),
       "/bus/0/devices/0/class: expected a 24-bit hex string like \"0x123456\""},
      {Doc(Ep("0000:00:01.0", R"("revision": "0x100")")),
       "/bus/0/devices/0/revision: expected an 8-bit hex string like \"0x12\""},
      {Doc(Ep("0000:00:01.0", R"("subsystem": 1)")),
       "/bus/0/devices/0/subsystem: expected a 16-bit"},
      {Doc(Ep("0000:00:01.0", R"("name": 1)")), "/bus/0/devices/0/name: expected a string"},
      {Doc(Ep("0000:00:01.0", R"("acs": "on")")), "/bus/0/devices/0/acs: expected true or false"},
      {Doc(Ep("0000:00:01.0", R"("model": "gpu")")),
       "/bus/0/devices/0/model: unknown device model \"gpu\"; expected one of \"edu\", "
       "\"dma-test\", \"ring\", \"generic\""},
      {Doc(Ep("0000:00:01.0", R"("params": [1])")),
       "/bus/0/devices/0/params: expected a JSON object, got [1]"},
      {Doc(Ep("0000:00:01.0", R"("driver": "my driver")")),
       "/bus/0/devices/0/driver: expected a driver name"},
      {Doc(Rp("0000:00:02.0", "0x01", "", R"("driver": "vfio-pci")")),
       "/bus/0/devices/0/driver: vfio-pci binds only normal (type 0) functions, not a root-port"},
      {Doc(Rp("0000:00:02.0", "0x01", "", R"("class": "0x020000")")),
       "/bus/0/devices/0/class: a root-port needs the PCI-to-PCI bridge class 0x0604xx"},
      {Doc(R"({"address": "0000:00:00.0", "kind": "host-bridge", "class": "0x060400"})"),
       "/bus/0/devices/0/class: a host-bridge needs class 0x0600xx"},
      {Doc(R"({"address": "0000:00:00.0", "kind": "host-bridge", "acs": true})"),
       "/bus/0/devices/0/acs: ACS is not applicable to a host-bridge"},
      {Doc(Ep("0000:00:01.0", R"("group": -1)")),
       "/bus/0/devices/0/group: expected an integer from 0 to 2147483647, got -1"},
      {Doc(Ep("0000:00:04.0", R"("group": 7)") + ", " + Ep("0000:00:04.1", R"("group": 8)")),
       "/bus/0/devices/1/group: pinned group 8 conflicts with pinned group 7 of 0000:00:04.0"},
      {Doc(Ep("0000:00:01.0", R"("group": 7)") + ", " + Ep("0000:00:02.0", R"("group": 7)")),
       "/bus/0/devices/1/group: group number 7 is already pinned by 0000:00:01.0"},
      {Doc(Ep("0000:00:01.0", R"("rmrr": {})")), "/bus/0/devices/0/rmrr: expected an array of"},
      {Doc(Ep("0000:00:01.0", R"("rmrr": [["0x1000"]])")),
       "/bus/0/devices/0/rmrr/0: expected an array of [start, end] pairs"},
      {Doc(Ep("0000:00:01.0", R"("rmrr": [["0x1000", 8191]])")),
       "/bus/0/devices/0/rmrr/0/1: expected a 64-bit hex string"},
      {Doc(Ep("0000:00:01.0", R"("rmrr": [["0x1000", "0x1ffe"]])")),
       "/bus/0/devices/0/rmrr: range [0x1000, 0x1ffe] must have start <= end"},
      {Doc(Ep("0000:00:01.0", R"("rmrr": [["0x3000", "0x1fff"]])")),
       "/bus/0/devices/0/rmrr: range [0x3000, 0x1fff]"},
      // Bridges and nesting.
      {Doc(Rp("0000:00:02.0", "0x00", "")),
       "/bus/0/devices/0/secondary_bus: secondary bus 00 must be above the bridge's own bus 00"},
      {Doc(Rp("0000:00:02.0", "0x01", "") + ", " + Rp("0000:00:03.0", "0x01", "")),
       "/bus/0/devices/1/secondary_bus: bus 0000:01 is already the secondary bus of "
       "0000:00:02.0"},
      {Doc(Rp("0000:00:02.0", "0x01", Ep("0000:02:00.0"))),
       "/bus/0/devices/0/devices/0/address: 0000:02:00.0 is not on bus 0000:01 of the root-port "
       "0000:00:02.0"},
      {Doc(Rp("0000:00:02.0", "0x01", Ep("0000:01:01.0"))),
       "/bus/0/devices/0/devices/0/address: the PCIe link below root-port 0000:00:02.0 carries "
       "only device 00"},
      {Doc(Rp("0000:00:02.0", "0x01",
              R"({"address": "0000:01:00.0", "kind": "host-bridge"})")),
       "/bus/0/devices/0/devices/0/kind: a host-bridge must sit on a root bus"},
      {Doc(R"({"address": "0000:00:02.0", "kind": "switch-downstream", "secondary_bus": "0x01"})"),
       "/bus/0/devices/0/kind: a switch-downstream cannot sit on a root bus"},
      {Doc(Rp("0000:00:02.0", "0x01",
              R"({"address": "0000:01:00.0", "kind": "switch-upstream", "secondary_bus": "0x02",
                  "devices": [)" + Ep("0000:02:00.0") + "]}")),
       "/bus/0/devices/0/devices/0/devices/0/kind: only switch-downstream ports sit on the "
       "internal bus of switch-upstream 0000:01:00.0"},
      {Doc(Rp("0000:00:02.0", "0x01",
              R"({"address": "0000:01:00.0", "kind": "pcie-to-pci-bridge", "secondary_bus": "0x02",
                  "devices": [)" + Ep("0000:02:03.0", R"("acs": true)") + "]}")),
       "/bus/0/devices/0/devices/0/devices/0/acs: ACS is a PCIe capability"},
      {Doc(Rp("0000:00:02.0", "0x01",
              R"({"address": "0000:01:00.0", "kind": "pcie-to-pci-bridge", "secondary_bus": "0x02",
                  "devices": [{"address": "0000:02:00.0", "kind": "root-port",
                               "secondary_bus": "0x03"}]})")),
       "/bus/0/devices/0/devices/0/devices/0/kind: only conventional PCI endpoints sit below "
       "pcie-to-pci-bridge 0000:01:00.0"},
      {Doc(Rp("0000:00:02.0", "0x01",
              R"({"address": "0000:01:00.0", "kind": "switch-upstream",
                  "secondary_bus": "0x03"})") +
           ", " + Rp("0000:00:03.0", "0x02", "")),
       "/bus/0/devices/1/secondary_bus: bus range [02-02] of 0000:00:03.0 overlaps bus range "
       "[01-03] of 0000:00:02.0"},
  };
  for (const ErrorCase& c : cases) {
    LoadError error;
    core::Result<Topology> t = LoadTopologyString(c.json, "test.json", &error);
    EXPECT_FALSE(t.ok()) << c.json;
    EXPECT_EQ(t.err(), EINVAL) << c.json;
    EXPECT_EQ(error.message.rfind("test.json: ", 0), 0u) << error.message;
    EXPECT_NE(error.message.find(c.expected), std::string::npos)
        << "json: " << c.json << "\nwant: " << c.expected << "\ngot:  " << error.message;
  }
}

TEST(TopologyLoaderTest, DefaultJsonIsTheDefaultTopology) {
  LoadError error;
  core::Result<Topology> t = LoadTopologyFile(kDir + "default.json", &error);
  ASSERT_TRUE(t.ok()) << error.message;
  const Topology def = DefaultTopology();
  ASSERT_EQ(t->functions().size(), def.functions().size());
  for (size_t i = 0; i < def.functions().size(); ++i) {
    EXPECT_EQ(t->functions()[i], def.functions()[i]) << def.functions()[i].address.ToString();
  }
  EXPECT_EQ(t->groups(), def.groups());
  EXPECT_TRUE(*t == def);
  EXPECT_EQ(RenderTree(*t), RenderTree(def));
}

TEST(TopologyLoaderTest, MinimalDocumentTakesDefaults) {
  core::Result<Topology> t = LoadTopologyString(Doc(kEp), "min.json");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->iommu(), IommuParams{});
  EXPECT_EQ(t->dma_entry_limit(), kDefaultDmaEntryLimit);
  EXPECT_EQ(t->group_base(), 0u);
  EXPECT_EQ(t->profile(), "");
  const PciFunction* f = t->Find(A("0000:00:01.0"));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, FunctionKind::kEndpoint);
  EXPECT_EQ(f->model, "generic");
  EXPECT_EQ(f->driver, "vfio-pci");
  EXPECT_EQ(f->params_json, "{}");
  EXPECT_EQ(f->revision, 0);
  EXPECT_EQ(f->subsystem_vendor_id, 0);
}

TEST(TopologyLoaderTest, ReadsEveryField) {
  const std::string doc = R"({
    "profile": "p", "dma_entry_limit": 7, "group_base": 3,
    "iommu": {"model": "amd-vi", "address_width": 57, "pgsize_bitmap": "0xFFFFF000",
              "cache_coherency": true, "interrupt_remapping": false, "ht_hole": true},
    "bus": [{"bus_id": "0001:10", "devices": [
      {"address": "0001:10:02.0", "kind": "root-port", "acs": true, "secondary_bus": "0x11",
       "vendor": "0x1022", "device": "0x1483", "revision": "0x01", "devices": [
        {"address": "0001:11:00.0", "name": "n", "vendor": "0xabcd", "device": "0xef01",
         "subsystem_vendor": "0x1af4", "subsystem": "0x1100", "class": "0x010802",
         "revision": "0x02", "driver": "", "acs": true, "group": 9, "model": "ring",
         "params": {"queues": 4, "name": "x"}, "rmrr": [["0xe0000", "0xeffff"]]}]}]}]})";
  LoadError error;
  core::Result<Topology> t = LoadTopologyString(doc, "all.json", &error);
  ASSERT_TRUE(t.ok()) << error.message;
  EXPECT_EQ(t->profile(), "p");
  EXPECT_EQ(t->dma_entry_limit(), 7u);
  EXPECT_EQ(t->group_base(), 3u);
  EXPECT_EQ(t->iommu(), (IommuParams{IommuModel::kAmdVi, 57, 0xfffff000, true, false, true}));
  const PciFunction* port = t->Find(A("0001:10:02.0"));
  ASSERT_NE(port, nullptr);
  EXPECT_EQ(port->vendor_id, 0x1022);
  EXPECT_EQ(port->device_id, 0x1483);
  EXPECT_EQ(port->class_code, 0x060400u);  // kind default kept
  EXPECT_EQ(port->driver, "pcieport");
  EXPECT_EQ(port->group, 3u);
  const PciFunction* f = t->Find(A("0001:11:00.0"));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->name, "n");
  EXPECT_EQ(f->vendor_id, 0xabcd);
  EXPECT_EQ(f->device_id, 0xef01);
  EXPECT_EQ(f->subsystem_vendor_id, 0x1af4);
  EXPECT_EQ(f->subsystem_id, 0x1100);
  EXPECT_EQ(f->class_code, 0x010802u);
  EXPECT_EQ(f->revision, 2);
  EXPECT_EQ(f->driver, "");
  EXPECT_TRUE(f->acs);
  EXPECT_EQ(f->pinned_group, 9u);
  EXPECT_EQ(f->group, 9u);
  EXPECT_EQ(f->model, "ring");
  EXPECT_EQ(f->params_json, R"({"name":"x","queues":4})");
  EXPECT_EQ(f->rmrr, (std::vector<core::IovaRange>{{0xe0000, 0xeffff}}));
  EXPECT_EQ(t->ParentChain(f->address), std::vector<PciAddress>{port->address});
}

TEST(TopologyLoaderTest, ExampleFilesLoadWithTheDocumentedGroups) {
  struct Example {
    const char* file;
    std::vector<std::vector<const char*>> shared;  // each list: one group, exactly these
  };
  const Example examples[] = {
      {"switch_acs.json",
       {{"0000:03:00.0"},
        {"0000:04:00.0"},
        {"0000:01:00.0"},
        {"0000:05:00.0"},
        {"0000:06:00.0", "0000:06:01.0", "0000:07:00.0", "0000:08:00.0"}}},
      {"multifunction.json",
       {{"0000:00:02.0", "0000:00:02.1"},
        {"0000:00:03.0"},
        {"0000:00:03.2"},
        {"0000:00:04.0"},
        {"0000:00:04.1", "0000:00:04.2"},
        {"0000:00:1f.0", "0000:00:1f.3"}}},
      {"pcie_to_pci.json",
       {{"0000:00:1c.0"},
        {"0000:01:00.0", "0000:02:01.0", "0000:02:02.0"},
        {"0000:00:1d.0", "0000:03:00.0"}}},
      {"arm_smmu.json", {{"0000:01:00.0"}, {"0000:02:00.0"}}},
      {"amd_vi.json", {{"0000:00:01.0"}, {"0000:01:00.0"}}},
  };
  for (const Example& e : examples) {
    LoadError error;
    core::Result<Topology> t = LoadTopologyFile(kDir + e.file, &error);
    ASSERT_TRUE(t.ok()) << e.file << ": " << error.message;
    for (const auto& group : e.shared) {
      std::vector<PciAddress> want;
      for (const char* a : group) want.push_back(A(a));
      core::Result<core::GroupId> id = t->GroupOf(want[0]);
      ASSERT_TRUE(id.ok()) << e.file << " " << group[0];
      EXPECT_EQ(t->FindGroup(*id)->devices, want) << e.file << " " << group[0];
    }
  }
}

TEST(TopologyLoaderTest, ExampleFilesReservedRegions) {
  core::Result<Topology> arm = LoadTopologyFile(kDir + "arm_smmu.json");
  ASSERT_TRUE(arm.ok());
  const std::string arm_text = RenderTree(*arm);
  EXPECT_NE(arm_text.find("    0x0000000008000000 0x00000000080fffff msi\n"), std::string::npos);
  EXPECT_NE(arm_text.find("    0x0000000080000000 0x00000000801fffff direct\n"), std::string::npos);
  EXPECT_EQ(arm_text.find("fee00000"), std::string::npos);

  core::Result<Topology> amd = LoadTopologyFile(kDir + "amd_vi.json");
  ASSERT_TRUE(amd.ok());
  EXPECT_EQ(amd->group_base(), 10u);
  EXPECT_EQ(amd->dma_entry_limit(), 4096u);
  EXPECT_EQ(FormatReservedRegions(GroupReservedRegions(*amd, *amd->GroupOf(A("0000:01:00.0")))),
            "0x00000000000e0000 0x00000000000effff direct\n"
            "0x00000000fee00000 0x00000000feefffff msi\n"
            "0x000000fd00000000 0x000000ffffffffff reserved\n");

  core::Result<Topology> mf = LoadTopologyFile(kDir + "multifunction.json");
  ASSERT_TRUE(mf.ok());
  const std::string mf_text = RenderTree(*mf);
  EXPECT_NE(mf_text.find("    0x000000003e2e0000 0x000000003e2fffff direct-relaxable\n"),
            std::string::npos);
  EXPECT_NE(mf_text.find("    0x0000000000000000 0x0000000000ffffff direct-relaxable\n"),
            std::string::npos);
  EXPECT_NE(mf_text.find("    0x000000007a000000 0x000000007a0fffff direct\n"), std::string::npos);
}

TEST(TopologyLoaderTest, FileErrorsKeepTheirErrno) {
  LoadError error;
  EXPECT_EQ(LoadTopologyFile(kDir + "no_such_file.json", &error).err(), ENOENT);
  EXPECT_NE(error.message.find("no_such_file.json: cannot open"), std::string::npos)
      << error.message;
  EXPECT_EQ(LoadTopologyFile(kDir, &error).err(), EISDIR);

  char path[] = "/tmp/vfiosim_topology_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string big(5u << 20, ' ');
  ASSERT_EQ(write(fd, big.data(), big.size()), static_cast<ssize_t>(big.size()));
  close(fd);
  EXPECT_EQ(LoadTopologyFile(path, &error).err(), EINVAL);
  EXPECT_NE(error.message.find("larger than 4 MiB"), std::string::npos) << error.message;

  FILE* f = std::fopen(path, "w");
  ASSERT_NE(f, nullptr);
  std::fputs("{\n  \"bus\": [\n    {\"bus_id\": \"0000:00\",}\n  ]\n}\n", f);
  std::fclose(f);
  EXPECT_EQ(LoadTopologyFile(path, &error).err(), EINVAL);
  EXPECT_EQ(error.message.rfind(std::string(path) + ": invalid JSON: parse error at line 3", 0),
            0u)
      << error.message;
  unlink(path);
}

}  // namespace
}  // namespace vfiosim::sim
