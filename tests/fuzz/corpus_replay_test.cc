// Replays every checked-in fuzz input (seed corpus and every crash found) as
// an ordinary test built with g++, so a crash found once stays fixed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "tests/fuzz/fuzz_ops.h"

namespace vfiosim::fuzz {
namespace {

TEST(CorpusReplayTest, EveryInputKeepsTheModelConsistent) {
  size_t inputs = 0, operations = 0, failed = 0;
  for (const auto& entry : std::filesystem::directory_iterator("tests/fuzz/corpus")) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    RunStats stats = RunOps(data.data(), data.size());
    EXPECT_TRUE(stats.violations.empty()) << entry.path() << ": " << stats.violations.front();
    ++inputs;
    operations += stats.operations;
    failed += stats.failed_calls;
  }
  EXPECT_GE(inputs, 8u);
  EXPECT_GT(operations, 100u);
  EXPECT_GT(failed, 0u) << "the corpus must reach error paths";
  EXPECT_LT(failed, operations) << "and successful ones";
}

}  // namespace
}  // namespace vfiosim::fuzz
