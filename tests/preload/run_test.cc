// `vfiosim run` (api/cli/run.h): option checking (exit 2, CMD not run),
// the environment it hands the shim, exit-status pass-through and 127.
#include "api/cli/run.h"

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "tests/preload/process_util.h"

namespace vfiosim::testing {
namespace {

// RunMain in a child process (it execs on success).
ProcessResult RunCli(std::vector<std::string> args) {
  return SpawnFunction([&] {
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    return api::RunMain(static_cast<int>(argv.size()), argv.data(), stdout, stderr);
  });
}

std::string Preload() { return "--preload=" + PathArg("preload"); }

struct BadCase {
  const char* name;
  std::vector<std::string> args;
  const char* message;
};

TEST(RunTest, BadOptionsExitTwoWithoutRunningTheCommand) {
  const std::string marker = TempPath("ran");
  const std::string touch = "touch " + marker;
  const BadCase cases[] = {
      {"unknown_option", {"--profiel", "x", "--", "sh", "-c", touch}, "unknown option '--profiel'"},
      {"missing_value", {"--profile"}, "option --profile needs a value"},
      {"no_command", {Preload(), "--"}, "no command to run"},
      {"unknown_profile", {Preload(), "--profile", "linux-9.9", "--", "sh", "-c", touch},
       "unknown profile 'linux-9.9'"},
      {"missing_topology", {Preload(), "--topology", "/nonexistent/t.json", "--", "sh", "-c", touch},
       "bad topology"},
      {"missing_preload", {"--preload=/nonexistent/lib.so", "--", "sh", "-c", touch}, "preload library"},
      {"trace_unwritable", {Preload(), "--trace", "/nonexistent/dir/t", "--", "sh", "-c", touch},
       "trace file /nonexistent/dir/t"},
  };
  for (const BadCase& c : cases) {
    ProcessResult r = RunCli(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.name << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.name << "\n" << r.err;
  }
  EXPECT_EQ(ReadFile(marker), "");
  EXPECT_NE(access(marker.c_str(), F_OK), 0);  // no command ever ran
}

TEST(RunTest, InvalidTopologyContentIsRefused) {
  const std::string topo = TempPath("bad.json");
  FILE* f = fopen(topo.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("{\"bus\": [], \"typo\": 1}", f);
  fclose(f);
  ProcessResult r = RunCli({Preload(), "--topology", topo, "--", "true"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad topology"), std::string::npos) << r.err;
}

TEST(RunTest, HelpPrintsUsage) {
  ProcessResult r = RunCli({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: vfiosim run"), std::string::npos) << r.out;
}

TEST(RunTest, ExitStatusIsTheCommands) {
  EXPECT_EQ(RunCli({Preload(), "--", "sh", "-c", "exit 3"}).exit_code, 3);
  EXPECT_EQ(RunCli({Preload(), "sh", "-c", "exit 0"}).exit_code, 0);  // "--" is optional
  ProcessResult r = RunCli({Preload(), "--", "/nonexistent/program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("cannot run '/nonexistent/program'"), std::string::npos) << r.err;
}

TEST(RunTest, HandsTheOptionsToTheShim) {
  setenv("VFIOSIM_TOPOLOGY", "/leaked/from/parent", 1);  // must not reach the command
  ProcessResult r = RunCli({Preload(), "--profile", "linux-6.18", "--", "sh", "-c",
                         "echo \"$LD_PRELOAD|$VFIOSIM_PROFILE|$VFIOSIM_TOPOLOGY|$VFIOSIM_TRACE\""});
  unsetenv("VFIOSIM_TOPOLOGY");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, PathArg("preload") + "|linux-6.18||\n");
}

TEST(RunTest, RunsAClientWithATrace) {
  const std::string trace = TempPath("run.trace");
  ProcessResult r = RunCli({Preload(), "--trace", trace, "--", PathArg("setup_client")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("setup_client: OK"), std::string::npos) << r.out;
  std::string t = ReadFile(trace);
  EXPECT_NE(t.find("VFIO_IOMMU_MAP_DMA, {argsz=32, flags=VFIO_DMA_MAP_FLAG_READ|VFIO_DMA_MAP_FLAG_WRITE"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("exit summary: 0 live mappings"), std::string::npos) << t;
  // A second run truncates the file first.
  r = RunCli({Preload(), "--trace", trace, "--", "true"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(ReadFile(trace), "");
}

}  // namespace
}  // namespace vfiosim::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  vfiosim::testing::ParsePathArgs(argc, argv);
  return RUN_ALL_TESTS();
}
