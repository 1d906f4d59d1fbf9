// vfiosim_cli: the subcommands behind the root `vfiosim` script.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string_view>

#include "api/cli/demo.h"
#include "api/cli/run.h"
#include "api/cli/topology_cmd.h"

int main(int argc, char** argv) {
  // `run` passes everything after its options to CMD: parsed by hand (api/cli/run.h).
  if (argc >= 2 && std::string_view(argv[1]) == "run") {
    return vfiosim::api::RunMain(argc - 2, argv + 2, stdout, stderr);
  }
  CLI::App app{"vfio-sim: a userspace emulation of the Linux VFIO type1 IOMMU backend"};
  app.require_subcommand(1);

  vfiosim::api::DemoOptions demo;
  CLI::App* demo_cmd = app.add_subcommand("demo", "run the canonical VFIO sequence on the default machine");
  demo_cmd->add_option("--profile", demo.profile, "uAPI profile (linux-6.1, linux-6.18, rfc-...)");

  std::string topology_file;
  CLI::App* topology_cmd = app.add_subcommand("topology", "print the simulated PCI tree and IOMMU groups");
  topology_cmd->add_option("--topology", topology_file, "topology file (JSON); default: the built-in machine");

  app.add_subcommand("run", "run a program under the preload shim: run [--topology F] [--profile P] [--trace F|-] -- CMD");
  CLI11_PARSE(app, argc, argv);
  if (*demo_cmd) return vfiosim::api::RunDemo(demo, stdout);
  if (*topology_cmd) return vfiosim::api::RunTopology(topology_file, stdout);
  return 2;
}
