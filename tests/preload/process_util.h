// Test helpers for running a program as a child process: paths handed to the
// test as "name=path" arguments (Bazel $(rootpath ...)), and Spawn(), which
// runs a program with extra environment variables and collects its exit
// status, stdout and stderr (through files, so a chatty child cannot block).
//
// Thread safety: call from the test's main thread.
#ifndef VFIOSIM_TESTS_PRELOAD_PROCESS_UTIL_H_
#define VFIOSIM_TESTS_PRELOAD_PROCESS_UTIL_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace vfiosim::testing {

// Consumes "name=path" arguments (after InitGoogleTest) into absolute paths.
void ParsePathArgs(int argc, char** argv);
// The absolute path given as `name`; fails the test when missing.
std::string PathArg(const std::string& name);

struct ProcessResult {
  int exit_code = -1;  // -1: did not exit normally (signal)
  std::string out;
  std::string err;
};

// Runs `argv` with `env` added to (or, for an empty value, removed from) the
// environment.
ProcessResult Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env);
// Runs `child` in a forked process (its return value is the exit status).
ProcessResult SpawnFunction(const std::function<int()>& child);

std::string ReadFile(const std::string& path);
// A fresh path under TEST_TMPDIR (or /tmp).
std::string TempPath(const std::string& name);

}  // namespace vfiosim::testing

#endif  // VFIOSIM_TESTS_PRELOAD_PROCESS_UTIL_H_
