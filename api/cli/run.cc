#include "api/cli/run.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "api/preload/sim_factory.h"

namespace vfiosim::api {
namespace {

std::string Absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

void SetOrUnset(const char* name, const std::string& value) {
  if (value.empty()) {
    unsetenv(name);
  } else {
    setenv(name, value.c_str(), 1);
  }
}

}  // namespace

const char kRunUsage[] =
    "usage: vfiosim run [--topology FILE] [--profile NAME] [--trace FILE|-] -- CMD [ARGS...]\n"
    "  runs CMD with the vfio-sim preload shim: its /dev/vfio and sysfs calls reach a\n"
    "  simulated machine (the built-in default machine unless --topology is given).\n"
    "  --topology FILE  machine description (JSON; see sim/topology_loader.h)\n"
    "  --profile NAME   uAPI profile (linux-6.1 default, linux-6.18, rfc-...)\n"
    "  --trace FILE|-   one strace-style line per simulated call, to FILE or stderr\n"
    "  exit status: CMD's; 2 for bad options; 127 when CMD cannot be run\n";

std::string DefaultPreloadPath() {
  if (const char* env = std::getenv("VFIOSIM_PRELOAD_LIB"); env && *env) return env;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return "libvfiosim_preload.so";
  self[n] = '\0';
  std::string dir(self);
  dir.erase(dir.rfind('/'));  // .../bazel-bin/api/cli
  return dir + "/../preload/libvfiosim_preload.so";
}

bool ParseRunArgs(int argc, const char* const* argv, RunOptions* options, bool* help, std::string* error) {
  *help = false;
  int i = 0;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "-h" || arg == "--help") {
      *help = true;
      return true;
    }
    if (arg.empty() || arg[0] != '-') break;  // the command starts here
    std::string* slot = nullptr;
    std::string_view name = arg.substr(0, arg.find('='));
    if (name == "--topology") slot = &options->topology;
    if (name == "--profile") slot = &options->profile;
    if (name == "--trace") slot = &options->trace;
    if (name == "--preload") slot = &options->preload;
    if (slot == nullptr) {
      *error = "unknown option '" + std::string(arg) + "'";
      return false;
    }
    if (arg.size() > name.size()) {
      *slot = std::string(arg.substr(name.size() + 1));
    } else if (i + 1 < argc) {
      *slot = argv[++i];
    } else {
      *error = "option " + std::string(name) + " needs a value";
      return false;
    }
    if (slot->empty()) {
      *error = "option " + std::string(name) + " needs a non-empty value";
      return false;
    }
  }
  for (; i < argc; ++i) options->command.emplace_back(argv[i]);
  if (options->command.empty()) {
    *error = "no command to run (put it after --)";
    return false;
  }
  return true;
}

int ExecRun(const RunOptions& options, std::FILE* err) {
  std::string error;
  if (!preload::ValidateSimOptions(options.profile, options.topology, &error)) {
    std::fprintf(err, "vfiosim run: %s\n", error.c_str());
    return 2;
  }
  const std::string lib = Absolute(options.preload.empty() ? DefaultPreloadPath() : options.preload);
  if (access(lib.c_str(), R_OK) != 0) {
    std::fprintf(err, "vfiosim run: preload library %s: %s (build //api/preload:libvfiosim_preload.so)\n",
                 lib.c_str(), std::strerror(errno));
    return 2;
  }
  std::string trace = options.trace;
  if (!trace.empty() && trace != "-") {
    trace = Absolute(trace);
    int fd = open(trace.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      std::fprintf(err, "vfiosim run: trace file %s: %s\n", trace.c_str(), std::strerror(errno));
      return 2;
    }
    close(fd);
  }
  std::string preload = lib;
  if (const char* old = std::getenv("LD_PRELOAD"); old && *old) preload += std::string(":") + old;
  setenv("LD_PRELOAD", preload.c_str(), 1);
  SetOrUnset("VFIOSIM_PROFILE", options.profile);
  SetOrUnset("VFIOSIM_TOPOLOGY", Absolute(options.topology));
  SetOrUnset("VFIOSIM_TRACE", trace);

  std::vector<char*> argv;
  for (const std::string& a : options.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(nullptr);
  execvp(argv[0], argv.data());
  std::fprintf(err, "vfiosim run: cannot run '%s': %s\n", argv[0], std::strerror(errno));
  return 127;
}

int RunMain(int argc, const char* const* argv, std::FILE* out, std::FILE* err) {
  RunOptions options;
  bool help = false;
  std::string error;
  if (!ParseRunArgs(argc, argv, &options, &help, &error)) {
    std::fprintf(err, "vfiosim run: %s\n%s", error.c_str(), kRunUsage);
    return 2;
  }
  if (help) {
    std::fputs(kRunUsage, out);
    return 0;
  }
  return ExecRun(options, err);
}

}  // namespace vfiosim::api
