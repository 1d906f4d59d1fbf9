// The demo: the canonical VFIO client sequence on the default machine, each
// step printed with its result, through the same facade a client uses.
#ifndef VFIOSIM_API_CLI_DEMO_H_
#define VFIOSIM_API_CLI_DEMO_H_

#include <cstdio>
#include <string>

namespace vfiosim::api {

struct DemoOptions {
  std::string profile = "linux-6.1";
};

// Returns the process exit code: 0 when every step gave the expected result.
int RunDemo(const DemoOptions& options, std::FILE* out);

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_CLI_DEMO_H_
