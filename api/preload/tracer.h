// Tracer: where the preload shim writes its strace-style lines (one per call
// it served) and its exit summary.
//
// The destination comes from VFIOSIM_TRACE: "-" is the process's stderr as it
// was when tracing started, anything else a file opened for appending
// (`vfiosim run --trace FILE` truncates it first, so one run gives one file,
// and a child that execs appends to its parent's file instead of wiping it).
// The descriptor is moved to >= 100 with FD_CLOEXEC so that it neither takes a
// low fd number the client expects nor leaks into exec'd programs.
//
// Lines of a fork()ed child carry a "[pid N] " prefix, as strace -f does.
//
// Thread safety: Line() may be called concurrently; Open() once, before use.
#ifndef VFIOSIM_API_PRELOAD_TRACER_H_
#define VFIOSIM_API_PRELOAD_TRACER_H_

#include <sys/types.h>

#include <mutex>
#include <string>
#include <string_view>

namespace vfiosim::api::preload {

class Tracer {
 public:
  // Empty or null `spec`: tracing off. Returns false (and stays off) when the
  // file cannot be opened; *error says why.
  bool Open(const char* spec, std::string* error);
  bool enabled() const { return fd_ >= 0; }
  // Writes `text` and a newline (with the fork-child prefix).
  void Line(std::string_view text);
  // Writes to the trace when on, else to stderr (the exit summary).
  void Report(std::string_view text);

  std::mutex& mu() { return mu_; }  // held across fork (pthread_atfork)

 private:
  void WriteAll(int fd, std::string_view text);

  int fd_ = -1;
  pid_t leader_ = 0;
  std::mutex mu_;
};

}  // namespace vfiosim::api::preload

#endif  // VFIOSIM_API_PRELOAD_TRACER_H_
