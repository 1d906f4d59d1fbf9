#include "api/cli/topology_cmd.h"

#include "sim/topology_loader.h"
#include "sim/topology_render.h"

namespace vfiosim::api {

int RunTopology(const std::string& topology_file, std::FILE* out) {
  sim::Topology topology = sim::DefaultTopology();
  if (!topology_file.empty()) {
    sim::LoadError error;
    core::Result<sim::Topology> loaded = sim::LoadTopologyFile(topology_file, &error);
    if (!loaded.ok()) {
      std::fprintf(stderr, "vfiosim topology: %s\n", error.message.c_str());
      return 2;
    }
    topology = std::move(*loaded);
  }
  std::string text = sim::RenderTree(topology);
  std::fwrite(text.data(), 1, text.size(), out);
  return 0;
}

}  // namespace vfiosim::api
