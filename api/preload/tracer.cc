#include "api/preload/tracer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "api/preload/real_libc.h"

namespace vfiosim::api::preload {
namespace {

// Lowest fd number the trace descriptor may take.
constexpr int kTraceFdFloor = 100;

int MoveHigh(int fd) {
  int high = RealFcntl(fd, F_DUPFD_CLOEXEC, kTraceFdFloor);
  if (high < 0) return fd;  // keep the low one rather than lose tracing
  RealClose(fd);
  return high;
}

}  // namespace

bool Tracer::Open(const char* spec, std::string* error) {
  leader_ = getpid();
  if (spec == nullptr || *spec == '\0') return true;
  if (std::strcmp(spec, "-") == 0) {
    fd_ = RealFcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, kTraceFdFloor);
    if (fd_ < 0 && error) *error = std::string("cannot duplicate stderr: ") + std::strerror(errno);
    return fd_ >= 0;
  }
  int fd = RealOpenat(AT_FDCWD, spec, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (error) *error = std::string("cannot open trace file ") + spec + ": " + std::strerror(errno);
    return false;
  }
  fd_ = MoveHigh(fd);
  return true;
}

void Tracer::WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = RealWrite(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk or closed stderr must not hurt the client
    text.remove_prefix(static_cast<size_t>(n));
  }
}

void Tracer::Line(std::string_view text) {
  if (fd_ < 0) return;
  std::string line;
  pid_t pid = getpid();
  if (pid != leader_) line = "[pid " + std::to_string(pid) + "] ";
  line += text;
  line += '\n';
  int saved = errno;
  std::lock_guard<std::mutex> lock(mu_);
  WriteAll(fd_, line);
  errno = saved;
}

void Tracer::Report(std::string_view text) {
  int saved = errno;
  std::lock_guard<std::mutex> lock(mu_);
  WriteAll(fd_ >= 0 ? fd_ : STDERR_FILENO, text);
  errno = saved;
}

}  // namespace vfiosim::api::preload
