#include "tests/preload/process_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

namespace vfiosim::testing {
namespace {

std::map<std::string, std::string>& Paths() {
  static auto* paths = new std::map<std::string, std::string>;
  return *paths;
}

ProcessResult Run(const std::function<void()>& exec_child) {
  static std::atomic<int> counter{0};
  const std::string base = TempPath("child" + std::to_string(counter++));
  const std::string out_path = base + ".out", err_path = base + ".err";
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || in < 0) _exit(120);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    close(in);
    close(out);
    close(err);
    exec_child();
    _exit(121);
  }
  ProcessResult r;
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) {
    ADD_FAILURE() << "fork/waitpid failed";
    return r;
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

}  // namespace

void ParsePathArgs(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    if (eq == std::string::npos) continue;
    char real[PATH_MAX];
    std::string path = arg.substr(eq + 1);
    Paths()[arg.substr(0, eq)] = realpath(path.c_str(), real) ? real : path;
  }
}

std::string PathArg(const std::string& name) {
  auto it = Paths().find(name);
  if (it == Paths().end()) {
    ADD_FAILURE() << "missing argument " << name << "=PATH";
    return "/nonexistent/" + name;
  }
  return it->second;
}

ProcessResult Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  return Run([&] {
    for (const auto& [k, v] : env) {
      if (v.empty()) {
        unsetenv(k.c_str());
      } else {
        setenv(k.c_str(), v.c_str(), 1);
      }
    }
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(122);
  });
}

ProcessResult SpawnFunction(const std::function<int()>& child) {
  return Run([&] {
    int code = child();
    fflush(nullptr);
    _exit(code);
  });
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/" + name + "." + std::to_string(getpid());
}

}  // namespace vfiosim::testing
