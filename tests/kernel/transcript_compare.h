// Comparing probe output with a recorded kernel transcript: the one filter
// (comment lines are not calls) and the one mismatch report, shared by the
// in-process replay and the preload run so the two cannot drift apart.
#ifndef VFIOSIM_TESTS_KERNEL_TRANSCRIPT_COMPARE_H_
#define VFIOSIM_TESTS_KERNEL_TRANSCRIPT_COMPARE_H_

#include <string>
#include <vector>

namespace vfiosim::testing {

// The call lines of a probe output or transcript ('#' lines are comments).
std::vector<std::string> CallLines(const std::string& text);

// Adds a gtest failure for each of the first ten differing lines and for a
// length mismatch.
void ExpectSameCalls(const std::vector<std::string>& linux_lines, const std::vector<std::string>& sim_lines);

}  // namespace vfiosim::testing

#endif  // VFIOSIM_TESTS_KERNEL_TRANSCRIPT_COMPARE_H_
