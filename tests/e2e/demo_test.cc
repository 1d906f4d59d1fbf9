// The demo is part of the README's promise: it must keep running every step
// (including edu DMA with its MSI and the fault after unmap) for every profile
// that has the type1 v2 container it uses.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "api/cli/demo.h"

namespace vfiosim::testing {
namespace {

class DemoTest : public ::testing::TestWithParam<const char*> {};

TEST_P(DemoTest, EveryStepAnswersAsExpected) {
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  api::DemoOptions options;
  options.profile = GetParam();
  int rc = api::RunDemo(options, out);
  std::fclose(out);
  std::string output(text, size);
  std::free(text);
  EXPECT_EQ(rc, 0) << output;
  EXPECT_NE(output.find("the 256 bytes arrived in client memory"), std::string::npos) << output;
  EXPECT_NE(output.find("PTE_FETCH at IOVA 0x101000"), std::string::npos) << output;
  EXPECT_EQ(output.find("UNEXPECTED"), std::string::npos) << output;
}

INSTANTIATE_TEST_SUITE_P(Profiles, DemoTest, ::testing::Values("linux-6.1", "linux-6.18", "rfc-vsva-2020"));

TEST(DemoProfileTest, UnknownProfileIsAUsageError) {
  api::DemoOptions options;
  options.profile = "linux-9.9";
  EXPECT_EQ(api::RunDemo(options, stdout), 2);
}

}  // namespace
}  // namespace vfiosim::testing
