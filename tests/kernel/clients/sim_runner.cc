// parity_sim_runner: the vfio-sim half of `./vfiosim verify` (in-process
// fallback). Loads a client built as a shared object with sim_shim.h
// force-included and main renamed to vfiosim_client_main
//   gcc -shared -fPIC -D_GNU_SOURCE -I<repo> -include tests/kernel/clients/sim_shim.h CLIENT.c -o client.so
// and runs it against a fresh simulated machine like the reference VM. The
// client's vfiosim_shim_* calls resolve against this executable (linked with
// -rdynamic), so a client needs no vfio-sim library of its own.
//
//   parity_sim_runner --width 39|48 CLIENT.so [CLIENT ARGS...]
//
// Prints the client's stdout; exits with the client's exit status (70 when
// it crashed, 64 on a usage error, 66 when the object cannot be loaded).
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tests/kernel/clients/sim_client_runner.h"

int main(int argc, char** argv) {
  int width = 39;
  int i = 1;
  if (i + 1 < argc && std::strcmp(argv[i], "--width") == 0) {
    width = std::atoi(argv[i + 1]);
    i += 2;
  }
  if (i >= argc || (width != 39 && width != 48)) {
    std::fprintf(stderr, "usage: parity_sim_runner --width 39|48 CLIENT.so [ARGS...]\n");
    return 64;
  }
  void* handle = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    std::fprintf(stderr, "parity_sim_runner: %s\n", dlerror());
    return 66;
  }
  auto client_main = reinterpret_cast<vfiosim::testing::ClientMain>(dlsym(handle, "vfiosim_client_main"));
  if (client_main == nullptr) {
    std::fprintf(stderr, "parity_sim_runner: %s has no vfiosim_client_main (build it with sim_shim.h)\n", argv[i]);
    return 66;
  }
  std::vector<std::string> args = {argv[i]};
  for (int k = i + 1; k < argc; ++k) args.push_back(argv[k]);
  if (args.size() == 1) {
    args.push_back("/dev/vfio/1");
    args.push_back("0000:00:01.0");
  }
  vfiosim::testing::ClientRun run = vfiosim::testing::RunClientOnSim(client_main, width, args);
  std::fwrite(run.output.data(), 1, run.output.size(), stdout);
  if (run.signal != 0) {
    std::fprintf(stderr, "parity_sim_runner: the client died of signal %d\n", run.signal);
    return 70;
  }
  return run.exit_code;
}
