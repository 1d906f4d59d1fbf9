// Helpers shared by the topology tests: terse builders for functions and
// specs, and group lookups that fail the test on a missing address.
#ifndef VFIOSIM_SIM_TOPOLOGY_TEST_UTIL_H_
#define VFIOSIM_SIM_TOPOLOGY_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "sim/pci_address.h"
#include "sim/topology.h"

namespace vfiosim::sim::test_util {

using core::GroupId;

inline PciAddress A(std::string_view text) {
  core::Result<PciAddress> a = PciAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << text;
  return a.ok() ? *a : PciAddress{};
}

inline PciFunction Ep(std::string_view addr, bool acs = false, std::string driver = "vfio-pci") {
  PciFunction f = DefaultFunction(FunctionKind::kEndpoint);
  f.address = A(addr);
  f.vendor_id = 0x1234;  // the DMA test device's identity
  f.device_id = 0x5d01;
  f.class_code = 0x088000;
  f.acs = acs;
  f.driver = std::move(driver);
  return f;
}

inline PciFunction Br(FunctionKind kind, std::string_view addr, uint8_t secondary,
                      bool acs = false) {
  PciFunction f = DefaultFunction(kind);
  f.address = A(addr);
  f.secondary_bus = secondary;
  f.acs = acs;
  return f;
}

inline PciFunction HostBridge() {
  PciFunction f = DefaultFunction(FunctionKind::kHostBridge);
  f.address = A("0000:00:00.0");
  return f;
}

inline TopologySpec Spec(std::vector<PciFunction> functions) {
  TopologySpec spec;
  spec.root_buses = {PciBusId{0, 0}};
  spec.functions = std::move(functions);
  return spec;
}

inline Topology MustBuild(TopologySpec spec) {
  TopologyError err;
  core::Result<Topology> t = Topology::Build(std::move(spec), &err);
  EXPECT_TRUE(t.ok()) << err.field << ": " << err.message;
  return t.ok() ? std::move(t).value() : Topology();
}

inline GroupId G(const Topology& t, std::string_view addr) {
  core::Result<GroupId> g = t.GroupOf(A(addr));
  EXPECT_TRUE(g.ok()) << addr;
  return g.ok() ? *g : 0xffffffff;
}

inline std::vector<PciAddress> Members(const Topology& t, std::string_view addr) {
  const IommuGroup* g = t.FindGroup(G(t, addr));
  return g == nullptr ? std::vector<PciAddress>{} : g->devices;
}

inline std::vector<PciAddress> As(std::initializer_list<std::string_view> list) {
  std::vector<PciAddress> out;
  for (std::string_view s : list) out.push_back(A(s));
  return out;
}

}  // namespace vfiosim::sim::test_util

#endif  // VFIOSIM_SIM_TOPOLOGY_TEST_UTIL_H_
