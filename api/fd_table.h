// FdTable: the fds of one simulated machine.
//
// Every fd handed out is a real kernel fd (a memfd placeholder), so numbers
// never collide with the process's other files, FD_CLOEXEC is real, and
// fcntl/dup work on them. The table maps the number to the File; a File
// lives while any fd or another File (a device file keeps its group file)
// references it, which is how the kernel's deferred releases are modelled.
//
// Thread safety: all methods may be called concurrently.
#ifndef VFIOSIM_API_FD_TABLE_H_
#define VFIOSIM_API_FD_TABLE_H_

#include <memory>
#include <shared_mutex>
#include <vector>

#include "api/file.h"
#include "core/status.h"

namespace vfiosim::api {

class FdTable {
 public:
  FdTable() = default;
  ~FdTable();
  FdTable(const FdTable&) = delete;
  FdTable& operator=(const FdTable&) = delete;

  // Creates a placeholder fd and installs `file` on it. EMFILE/ENFILE from the OS.
  core::Result<int> Install(std::shared_ptr<File> file, bool cloexec, const char* name);
  // Installs `file` on an fd the caller already owns (dup of a vfio-sim fd).
  void InstallAt(int fd, std::shared_ptr<File> file);
  std::shared_ptr<File> Get(int fd) const;
  // Removes and closes the fd; EBADF if it is not a vfio-sim fd.
  core::Status Close(int fd);
  // Drops the entry without closing the fd (the caller closes it).
  std::shared_ptr<File> Detach(int fd);
  size_t open_count() const;
  std::vector<int> OpenFds() const;

 private:
  mutable std::shared_mutex mu_;
  std::vector<std::shared_ptr<File>> files_;  // indexed by fd
};

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_FD_TABLE_H_
