#include "tests/kernel/clients/sim_client_runner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "api/vfio_sim.h"

namespace vfiosim::testing {

ClientRun RunClientOnSim(ClientMain client_main, int address_width, const std::vector<std::string>& argv) {
  ClientRun run;
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return run;
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return run;
  }
  if (pid == 0) {
    close(pipe_fds[0]);
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[1]);
    api::VfioSimOptions options;
    options.machine.address_width = address_width;
    int rc;
    {
      api::VfioSim sim(options);
      VfioSimShimInstall(&sim);
      std::vector<std::string> args = argv;
      std::vector<char*> cargs;
      for (auto& a : args) cargs.push_back(a.data());
      cargs.push_back(nullptr);
      rc = client_main(static_cast<int>(args.size()), cargs.data());
      std::fflush(stdout);
      VfioSimShimInstall(nullptr);
    }
    _exit(rc & 0xff);
  }
  close(pipe_fds[1]);
  char buf[65536];
  for (;;) {
    ssize_t n = read(pipe_fds[0], buf, sizeof(buf));
    if (n > 0) {
      run.output.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) run.signal = WTERMSIG(status);
  return run;
}

}  // namespace vfiosim::testing
