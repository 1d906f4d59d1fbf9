// The fuzz program: bytes decoded into a sequence of operations on one
// simulated machine (fds, every ioctl with arbitrary argsz and flags, ranges
// that overflow or touch reserved windows, PASIDs in and out of range, bind
// and invalidate payloads, device DMA), across every uAPI profile. After
// every operation the kernel invariants are checked; a violation aborts.
//
// Shared by the libFuzzer target (clang, sanitizers) and the corpus replay
// test (g++, part of ./vfiosim test).
#ifndef VFIOSIM_TESTS_FUZZ_FUZZ_OPS_H_
#define VFIOSIM_TESTS_FUZZ_FUZZ_OPS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vfiosim::fuzz {

struct RunStats {
  size_t operations = 0;
  size_t failed_calls = 0;
  std::vector<std::string> violations;  // invariant violations (empty when consistent)
};

// Runs one input. Never aborts by itself; the caller decides what a violation means.
RunStats RunOps(const uint8_t* data, size_t size);

}  // namespace vfiosim::fuzz

#endif  // VFIOSIM_TESTS_FUZZ_FUZZ_OPS_H_
