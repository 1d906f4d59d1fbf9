// libFuzzer entry point (clang: -fsanitize=fuzzer,address,undefined).
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/fuzz_ops.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vfiosim::fuzz::RunStats stats = vfiosim::fuzz::RunOps(data, size);
  if (!stats.violations.empty()) {
    std::fprintf(stderr, "invariant violated: %s\n", stats.violations.front().c_str());
    std::abort();
  }
  return 0;
}
