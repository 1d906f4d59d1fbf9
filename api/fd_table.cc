#include "api/fd_table.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

namespace vfiosim::api {

core::Result<long> File::Pread(void*, size_t, uint64_t) { return core::Error(EINVAL); }
core::Result<long> File::Pwrite(const void*, size_t, uint64_t) { return core::Error(EINVAL); }

FdTable::~FdTable() {
  // Releases run as the last references drop; a device file keeps its group
  // file alive, so the order of this loop does not matter.
  std::vector<std::shared_ptr<File>> doomed;
  {
    std::unique_lock lock(mu_);
    for (size_t fd = 0; fd < files_.size(); ++fd) {
      if (files_[fd]) {
        ::close(static_cast<int>(fd));
        doomed.push_back(std::move(files_[fd]));
      }
    }
  }
}

core::Result<int> FdTable::Install(std::shared_ptr<File> file, bool cloexec, const char* name) {
  int fd = memfd_create(name, cloexec ? MFD_CLOEXEC : 0);
  if (fd < 0) return core::Error(errno);
  InstallAt(fd, std::move(file));
  return fd;
}

void FdTable::InstallAt(int fd, std::shared_ptr<File> file) {
  std::unique_lock lock(mu_);
  if (files_.size() <= static_cast<size_t>(fd)) files_.resize(static_cast<size_t>(fd) + 64);
  files_[static_cast<size_t>(fd)] = std::move(file);
}

std::shared_ptr<File> FdTable::Get(int fd) const {
  std::shared_lock lock(mu_);
  if (fd < 0 || static_cast<size_t>(fd) >= files_.size()) return nullptr;
  return files_[static_cast<size_t>(fd)];
}

std::shared_ptr<File> FdTable::Detach(int fd) {
  std::unique_lock lock(mu_);
  if (fd < 0 || static_cast<size_t>(fd) >= files_.size()) return nullptr;
  return std::move(files_[static_cast<size_t>(fd)]);
}

core::Status FdTable::Close(int fd) {
  std::shared_ptr<File> file = Detach(fd);
  if (!file) return core::Error(EBADF);
  ::close(fd);
  file.reset();  // release runs here when this was the last reference
  return core::Status::Ok();
}

size_t FdTable::open_count() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& f : files_) n += f != nullptr;
  return n;
}

std::vector<int> FdTable::OpenFds() const {
  std::shared_lock lock(mu_);
  std::vector<int> out;
  for (size_t fd = 0; fd < files_.size(); ++fd) {
    if (files_[fd]) out.push_back(static_cast<int>(fd));
  }
  return out;
}

}  // namespace vfiosim::api
