// Runs each unmodified C client under LD_PRELOAD=libvfiosim_preload.so and
// checks its exit status; the probe's output against the Linux 6.1
// transcript; the trace and the exit summary; and the shim's configuration
// through the environment (profile, topology).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/kernel/transcript_compare.h"
#include "tests/preload/process_util.h"

namespace vfiosim::testing {
namespace {

ProcessResult RunClient(const std::string& client, std::vector<std::string> args = {},
                        std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv = {PathArg(client)};
  argv.insert(argv.end(), args.begin(), args.end());
  env["LD_PRELOAD"] = PathArg("preload");
  // Unless a test asks for them, no configuration leaks in from outside.
  for (const char* k : {"VFIOSIM_PROFILE", "VFIOSIM_TOPOLOGY", "VFIOSIM_TRACE", "VFIOSIM_SUMMARY"}) {
    env.emplace(k, "");
  }
  return Spawn(argv, env);
}

// ---- every client runs to success ----

class ClientTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ClientTest, ExitsZeroUnderTheShim) {
  ProcessResult r = RunClient(GetParam());
  EXPECT_EQ(r.exit_code, 0) << "stdout:\n" << r.out << "stderr:\n" << r.err;
  EXPECT_NE(r.out.find(": "), std::string::npos) << r.out;  // each client reports what it did
}

// Region read/write, BAR mmap, SET_IRQS and edu DMA use the device surface
// (api/device_*.cc); the rest only the container/group/sysfs face.
INSTANTIATE_TEST_SUITE_P(Clients, ClientTest,
                         ::testing::Values("setup_client", "sysfs_client", "caps_client", "errors_client",
                                           "fork_exec_client", "region_client", "edu_dma_client",
                                           "threads_client"),
                         [](const auto& info) { return std::string(info.param); });

// ---- the probe against the real kernel's transcript ----

TEST(ProbeTest, MatchesLinux61UnderTheShim) {
  ProcessResult r = RunClient("probe_client");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> want = CallLines(ReadFile(PathArg("transcript")));
  ASSERT_GT(want.size(), 250u);
  ExpectSameCalls(want, CallLines(r.out));
  // The limits phase ran against the RLIMIT_MEMLOCK the probe set with real calls.
  EXPECT_NE(r.out.find("lim.memlock.map_1_over ret=-1 errno=ENOMEM"), std::string::npos);
}

// ---- trace and summary ----

TEST(TraceTest, DecodesEveryServedCall) {
  const std::string trace = TempPath("setup.trace");
  ProcessResult r = RunClient("setup_client", {}, {{"VFIOSIM_TRACE", trace}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string t = ReadFile(trace);
  for (const char* want : {
           "open(\"/dev/vfio/vfio\", O_RDWR) = ",
           ", VFIO_GET_API_VERSION) = 0\n",
           ", VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) = 1\n",
           ", VFIO_GROUP_GET_STATUS, {argsz=8, flags=VFIO_GROUP_FLAGS_VIABLE}) = 0\n",
           ", VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) = 0\n",
           ", VFIO_IOMMU_GET_INFO, {argsz=24 => 116, flags=VFIO_IOMMU_INFO_PGSIZES|VFIO_IOMMU_INFO_CAPS, "
           "iova_pgsizes=0x40201000, cap_offset=0}) = 0\n",
           ", VFIO_IOMMU_MAP_DMA, {argsz=32, flags=VFIO_DMA_MAP_FLAG_READ|VFIO_DMA_MAP_FLAG_WRITE, vaddr=0x",
           ", iova=0x100000, size=0x200000}) = 0\n",
           ", iova=0x100000, size=0x200000}) = -1 EEXIST (File exists)\n",
           ", VFIO_GROUP_GET_DEVICE_FD, \"0000:00:01.0\") = ",
           ", VFIO_DEVICE_GET_INFO, {argsz=20, flags=VFIO_DEVICE_FLAGS_PCI, num_regions=9, num_irqs=5}) = 0\n",
           ", VFIO_IOMMU_UNMAP_DMA, {argsz=24, flags=0, iova=0x100000, size=0x200000}) = 0\n",
           "= -1 ENODEV (No such device)\n",  // mmap of a container
           "exit summary: 0 live mappings (0 bytes), 0 PASIDs allocated, 0 faults recorded, 0 vfio fds left open\n",
       }) {
    EXPECT_NE(t.find(want), std::string::npos) << "missing: " << want << "\ntrace:\n" << t;
  }
  EXPECT_EQ(r.err.find("exit summary"), std::string::npos);  // it went into the trace
}

TEST(TraceTest, CapabilityChainsAreDecoded) {
  const std::string trace = TempPath("caps.trace");
  ProcessResult r = RunClient("caps_client", {}, {{"VFIOSIM_TRACE", trace}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string t = ReadFile(trace);
  for (const char* want : {
           // The retry with the grown argsz, and the chain it returned.
           ", VFIO_IOMMU_GET_INFO, {argsz=116, flags=VFIO_IOMMU_INFO_PGSIZES|VFIO_IOMMU_INFO_CAPS, "
           "iova_pgsizes=0x40201000, cap_offset=0x18, caps=[{id=VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, version=1, "
           "next=0x38, flags=0, pgsize_bitmap=0x1000, max_dirty_bitmap_size=0x10000000}, "
           "{id=VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version=1, next=0x44, avail=65535}, "
           "{id=VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, version=1, next=0, nr_iovas=2, iova_ranges=[{start=0, "
           "end=0xfedfffff}, {start=0xfef00000, end=0xffffffffffff}]}]}) = 0\n",
           "avail=65534}",  // after one MAP_DMA
           ", VFIO_DEVICE_GET_REGION_INFO, {argsz=32, flags=VFIO_REGION_INFO_FLAG_READ|VFIO_REGION_INFO_FLAG_WRITE, "
           "index=VFIO_PCI_CONFIG_REGION_INDEX, cap_offset=0, size=0x100, offset=0x70000000000}) = 0\n",
           ", VFIO_DEVICE_GET_REGION_INFO, {argsz=32, index=VFIO_PCI_VGA_REGION_INDEX}) = -1 EINVAL (Invalid "
           "argument)\n",
       }) {
    EXPECT_NE(t.find(want), std::string::npos) << "missing: " << want << "\ntrace:\n" << t;
  }
}

TEST(TraceTest, SysfsCallsAreTraced) {
  const std::string trace = TempPath("sysfs.trace");
  ProcessResult r = RunClient("sysfs_client", {}, {{"VFIOSIM_TRACE", trace}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string t = ReadFile(trace);
  for (const char* want : {
           "opendir(\"/sys/bus/pci/devices\") = 0x",
           "= {d_name=\"0000:00:01.0\"}\n",
           "fopen(\"/sys/bus/pci/devices/0000:00:01.0/vendor\", O_RDONLY) = ",
           "readlink(\"/sys/bus/pci/devices/0000:00:01.0/iommu_group\", \"../../../kernel/iommu_groups/1\", "
           "4095) = 30\n",
           "stat(\"/dev/vfio/vfio\", {st_mode=S_IFCHR|0666, st_rdev=makedev(0xa, 0xc4)}) = 0\n",
       }) {
    EXPECT_NE(t.find(want), std::string::npos) << "missing: " << want << "\ntrace:\n" << t;
  }
}

TEST(SummaryTest, ReportsWhatWasLeftBehind) {
  ProcessResult r = RunClient("setup_client", {"--leave-open"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("exit summary: 1 live mapping (0x200000 bytes), 0 PASIDs allocated, 0 faults recorded, "
                       "3 vfio fds left open\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("  mapping: container 1 iova 0x100000-0x2fffff vaddr 0x"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(": container 1\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(": group 1\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(": device 0000:00:01.0\n"), std::string::npos) << r.err;

  // Faults of the device models' own DMA count too (edu_dma_client provokes one).
  r = RunClient("edu_dma_client");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("0 PASIDs allocated, 1 fault recorded, 0 vfio fds left open\n"), std::string::npos) << r.err;

  r = RunClient("setup_client", {"--leave-open"}, {{"VFIOSIM_SUMMARY", "0"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("exit summary"), std::string::npos) << r.err;
}

// ---- configuration ----

TEST(ConfigTest, UnknownProfileMakesTheDevicesDisappear) {
  ProcessResult r = RunClient("setup_client", {}, {{"VFIOSIM_PROFILE", "no-such-profile"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("vfiosim-preload: unknown profile 'no-such-profile'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CHECK failed: container >= 0 (errno 2:"), std::string::npos) << r.err;  // ENOENT
}

TEST(ConfigTest, ProfileChangesTheAnswers) {
  // linux-6.18 answers a non-container fd in SET_CONTAINER with EBADFD (6.1: EINVAL).
  ProcessResult r = RunClient("probe_client", {}, {{"VFIOSIM_PROFILE", "linux-6.18"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("group.set_container.not_a_container ret=-1 errno=EBADFD\n"), std::string::npos) << r.out;
  r = RunClient("probe_client");
  EXPECT_NE(r.out.find("group.set_container.not_a_container ret=-1 errno=EINVAL\n"), std::string::npos) << r.out;
}

TEST(ConfigTest, TopologyFromTheEnvironment) {
  // edu alone, at another address and in group 7: the client finds it through sysfs.
  const std::string topo = TempPath("edu7.json");
  std::ofstream(topo) << R"({"bus": [{"bus_id": "0000:00", "devices": [
      {"address": "0000:00:02.0", "vendor": "0x1234", "device": "0x11e8", "class": "0x00ff00",
       "model": "edu", "group": 7}]}]})";
  ProcessResult r = RunClient("edu_dma_client", {}, {{"VFIOSIM_TOPOLOGY", topo}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("through group 7 (0000:00:02.0): OK"), std::string::npos) << r.out;

  r = RunClient("edu_dma_client", {}, {{"VFIOSIM_TOPOLOGY", topo + ".missing"}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("vfiosim-preload: bad topology"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace vfiosim::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  vfiosim::testing::ParsePathArgs(argc, argv);
  return RUN_ALL_TESTS();
}
