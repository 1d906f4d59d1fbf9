// `vfiosim topology [--topology FILE]`: the machine as `lspci -tv` would show
// it, with vendor:device, driver and IOMMU group per function, then every
// group with its devices and reserved regions (sysfs format).
#ifndef VFIOSIM_API_CLI_TOPOLOGY_CMD_H_
#define VFIOSIM_API_CLI_TOPOLOGY_CMD_H_

#include <cstdio>
#include <string>

namespace vfiosim::api {

// Returns the exit code: 0, or 2 with a message on stderr for a bad file.
int RunTopology(const std::string& topology_file, std::FILE* out);

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_CLI_TOPOLOGY_CMD_H_
