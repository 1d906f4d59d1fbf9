#include "tests/kernel/transcript_compare.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

namespace vfiosim::testing {

std::vector<std::string> CallLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

void ExpectSameCalls(const std::vector<std::string>& linux_lines, const std::vector<std::string>& sim_lines) {
  size_t mismatches = 0;
  for (size_t i = 0; i < std::max(linux_lines.size(), sim_lines.size()) && mismatches < 10; ++i) {
    const std::string& w = i < linux_lines.size() ? linux_lines[i] : "<end>";
    const std::string& g = i < sim_lines.size() ? sim_lines[i] : "<end>";
    if (w != g) {
      ++mismatches;
      ADD_FAILURE() << "line " << i << "\n  linux:    " << w << "\n  vfio-sim: " << g;
    }
  }
  EXPECT_EQ(linux_lines.size(), sim_lines.size());
}

}  // namespace vfiosim::testing
