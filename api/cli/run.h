// `vfiosim run [--topology FILE] [--profile NAME] [--trace FILE|-] -- CMD [ARGS...]`:
// runs an unmodified program with the preload shim (api/preload/) in
// LD_PRELOAD, so that its /dev/vfio and sysfs calls reach a simulated machine.
//
// The options become the shim's environment (VFIOSIM_PROFILE,
// VFIOSIM_TOPOLOGY, VFIOSIM_TRACE; unset when not given, so the parent's
// environment cannot leak in) and are checked first: a bad option, an
// unknown profile, an unreadable or invalid topology, a trace file that
// cannot be created or a missing shim library give a message on `err` and
// exit status 2 without starting CMD. `--trace FILE` truncates FILE (the
// shim appends, so programs CMD execs add to the same file).
//
// On success the process execs CMD and CMD's exit status is the command's;
// 127 when CMD cannot be executed, as shells do.
//
// Where the shim is: --preload PATH, else $VFIOSIM_PRELOAD_LIB, else
// ../preload/libvfiosim_preload.so next to the running binary (bazel-bin).
//
// Thread safety: call from a single-threaded process (it execs).
#ifndef VFIOSIM_API_CLI_RUN_H_
#define VFIOSIM_API_CLI_RUN_H_

#include <cstdio>
#include <string>
#include <vector>

namespace vfiosim::api {

struct RunOptions {
  std::string topology;
  std::string profile;
  std::string trace;    // "": off, "-": stderr, else a file
  std::string preload;  // "": DefaultPreloadPath()
  std::vector<std::string> command;
};

// Parses the arguments after "run". False with a message in *error for bad
// options; *help set for -h/--help.
bool ParseRunArgs(int argc, const char* const* argv, RunOptions* options, bool* help, std::string* error);
// Checks, sets up the environment and execs; returns only on failure (2 or 127).
int ExecRun(const RunOptions& options, std::FILE* err);
// ParseRunArgs + ExecRun: the `run` subcommand (argv after "run").
int RunMain(int argc, const char* const* argv, std::FILE* out, std::FILE* err);

std::string DefaultPreloadPath();
extern const char kRunUsage[];

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_CLI_RUN_H_
