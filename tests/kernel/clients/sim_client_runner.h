// RunClientOnSim: runs one parity client's main in-process against a fresh
// vfio-sim machine configured like the reference VM (linux-6.1 profile, edu
// at 0000:00:01.0 in IOMMU group 1, VT-d with the given address width), and
// returns what it printed.
//
// The client runs in a forked child so that its static state, its fds, its
// memory and a crash stay there: the parent collects stdout through a pipe
// and the exit status. The child's calls reach the simulator through
// sim_shim.h. `argv` is passed as the client's arguments (argv[0] included).
//
// Thread safety: call from a single-threaded process (fork).
#ifndef VFIOSIM_TESTS_KERNEL_CLIENTS_SIM_CLIENT_RUNNER_H_
#define VFIOSIM_TESTS_KERNEL_CLIENTS_SIM_CLIENT_RUNNER_H_

#include <string>
#include <vector>

namespace vfiosim::api {
class VfioSim;
}

namespace vfiosim::testing {

using ClientMain = int (*)(int argc, char** argv);

struct ClientRun {
  std::string output;  // the client's stdout
  int exit_code = -1;  // its exit status; -1 when it did not exit normally
  int signal = 0;      // the signal that ended it, if any
};

ClientRun RunClientOnSim(ClientMain client_main, int address_width, const std::vector<std::string>& argv);

// Makes `sim` the simulator sim_shim.h serves (nullptr: none); resets the
// modelled RLIMIT_MEMLOCK (unlimited) and CAP_IPC_LOCK (held).
void VfioSimShimInstall(api::VfioSim* sim);

}  // namespace vfiosim::testing

#endif  // VFIOSIM_TESTS_KERNEL_CLIENTS_SIM_CLIENT_RUNNER_H_
