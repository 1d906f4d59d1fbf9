// Shim: calls that take a path (open, fopen, stat, access, readlink,
// realpath). Each resolves the path in the fake tree; a path that leaves the
// tree goes to libc with the canonical path the walk reached.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "api/preload/real_libc.h"
#include "api/preload/shim.h"
#include "api/trace/syscall_format.h"
#include "api/vfio_sim.h"

namespace vfiosim::api::preload {
namespace {

int Fail(int err) {
  errno = err;
  return -1;
}

std::string StatText(const struct stat& st) {
  std::string out = "{st_mode=" + trace::StatMode(st.st_mode);
  if (S_ISCHR(st.st_mode)) {
    out += ", st_rdev=makedev(" + trace::Hex(major(st.st_rdev)) + ", " + trace::Hex(minor(st.st_rdev)) + ")";
  } else {
    out += ", st_size=" + std::to_string(st.st_size);
  }
  return out + "}";
}

// The path to hand to libc for a walk that ended outside the tree.
const char* HostPath(const Lookup& l, const char* original) { return l.touched ? l.path.c_str() : original; }

// fopen's mode string as open(2) flags (glibc's rules, 'e' and 'x' included).
int FopenFlags(const char* mode, bool* ok) {
  int flags = 0;
  *ok = true;
  switch (mode[0]) {
    case 'r': flags = O_RDONLY; break;
    case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
    case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
    default: *ok = false; return 0;
  }
  for (const char* p = mode + 1; *p; ++p) {
    if (*p == '+') flags = (flags & ~O_ACCMODE) | O_RDWR;
    if (*p == 'e') flags |= O_CLOEXEC;
    if (*p == 'x') flags |= O_EXCL;
  }
  return flags;
}

}  // namespace

Lookup Shim::Resolve(int dirfd, const char* path, bool follow) {
  if (path[0] == '/') return tree_.Resolve(path, follow);
  const SysfsNode* dir = NodeOf(dirfd);
  if (dir == nullptr || dir->type != NodeType::kDir) {
    Lookup l;
    l.kind = Lookup::Kind::kError;
    l.err = dir == nullptr ? EBADF : ENOTDIR;
    return l;
  }
  return tree_.ResolveAt(dir, path, follow);
}

int Shim::OpenAt(const char* fn, int dirfd, const char* path, int flags, mode_t mode) {
  SimScope scope;
  const bool follow = !(flags & O_NOFOLLOW);
  Lookup l = Resolve(dirfd, path, follow);
  if (l.kind == Lookup::Kind::kHost) {
    int fd = RealOpenat(dirfd, HostPath(l, path), flags, mode);
    if (fd >= 0) NoteHostFd(fd);
    return fd;
  }
  used_ = true;
  int r, err;
  if (l.kind == Lookup::Kind::kError) {
    // Neither sysfs nor devtmpfs lets a client create files here.
    err = (l.err == ENOENT && l.parent != nullptr && (flags & O_CREAT)) ? EACCES : l.err;
    r = -1;
  } else {
    r = OpenNode(fn, dirfd, path, l.node, flags);
    err = r < 0 ? errno : 0;
  }
  std::string args = (std::strcmp(fn, "openat") == 0 ? trace::DirFd(dirfd) + ", " : "") + trace::QuoteString(path);
  Trace(trace::FormatCall(fn, {args, trace::OpenFlags(flags)}, trace::FormatReturn(r, err)));
  errno = err;
  return r;
}

int Shim::OpenNode(const char*, int, const char*, const SysfsNode* node, int flags) {
  const int acc = flags & O_ACCMODE;
  const bool cloexec = flags & O_CLOEXEC;
  if ((flags & O_CREAT) && (flags & O_EXCL)) return Fail(EEXIST);
  if ((flags & O_DIRECTORY) && node->type != NodeType::kDir) return Fail(ENOTDIR);
  switch (node->type) {
    case NodeType::kSymlink:
      return Fail(ELOOP);  // O_NOFOLLOW on a link
    case NodeType::kDir: {
      if (acc != O_RDONLY && !(flags & O_PATH)) return Fail(EISDIR);
      int fd = NewPlaceholder("vfio-sim:dir", cloexec);
      if (fd < 0) return -1;
      std::shared_ptr<File> stale;  // a number closed behind our back; released after mu_
      std::lock_guard<std::mutex> lock(mu_);
      stale = DropLocked(fd);
      Register(fd, SimFd::kSysfsDir, node);
      return fd;
    }
    case NodeType::kCharDev: {
      if (!sim_) return Fail(ENODEV);
      long fd = sim_->OpenErrno(node->path.c_str(), flags);
      if (fd < 0) return Fail(static_cast<int>(-fd));
      if (fd >= kMaxSimFd) {
        sim_->CloseErrno(static_cast<int>(fd));
        return Fail(EMFILE);
      }
      std::lock_guard<std::mutex> lock(mu_);
      nodes_.erase(static_cast<int>(fd));
      Register(static_cast<int>(fd), SimFd::kVfio, nullptr);
      return static_cast<int>(fd);
    }
    case NodeType::kFile: {
      // kernfs refuses a write open of an attribute without a store method.
      if (acc != O_RDONLY && !(flags & O_PATH) && !(node->mode & 0222)) return Fail(EACCES);
      if (acc == O_RDONLY && !(flags & O_PATH) && !(node->mode & 0444)) return Fail(EACCES);
      int fd = NewPlaceholder("vfio-sim:sysfs", cloexec);
      if (fd < 0) return -1;
      // The memfd holds the text: read, lseek, pread and mmap then just work.
      const std::string& text = node->content;
      size_t done = 0;
      while (done < text.size()) {
        ssize_t n = RealWrite(fd, text.data() + done, text.size() - done);
        if (n <= 0) {
          int e = n < 0 ? errno : EIO;
          RealClose(fd);
          return Fail(e);
        }
        done += static_cast<size_t>(n);
      }
      lseek(fd, 0, SEEK_SET);
      std::shared_ptr<File> stale;  // a number closed behind our back; released after mu_
      std::lock_guard<std::mutex> lock(mu_);
      stale = DropLocked(fd);
      Register(fd, SimFd::kSysfsFile, node);
      return fd;
    }
  }
  return Fail(ENOENT);
}

FILE* Shim::Fopen(const char* path, const char* mode) {
  SimScope scope;
  Lookup l = Resolve(AT_FDCWD, path, true);
  if (l.kind == Lookup::Kind::kHost) return Real_fopen()(HostPath(l, path), mode);
  bool ok = false;
  int flags = FopenFlags(mode, &ok);
  if (!ok) {
    errno = EINVAL;
    return nullptr;
  }
  int fd = OpenAt("fopen", AT_FDCWD, path, flags, 0666);
  if (fd < 0) return nullptr;
  if (FdKindOf(fd) == SimFd::kSysfsFile) {
    // fclose() closes inside libc, unseen: a sysfs stream stays an ordinary memfd.
    std::shared_ptr<File> gone;
    std::lock_guard<std::mutex> lock(mu_);
    gone = DropLocked(fd);
  }
  FILE* f = fdopen(fd, mode);
  if (f == nullptr) {
    int e = errno;
    if (FdKindOf(fd) != SimFd::kNone) {
      Close(fd);
    } else {
      RealClose(fd);
    }
    errno = e;
  }
  return f;
}

int Shim::StatAt(const char* fn, int dirfd, const char* path, struct stat* st, int flags) {
  SimScope scope;
  if ((flags & AT_EMPTY_PATH) && path[0] == '\0') return Fstat(dirfd, st);
  Lookup l = Resolve(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW));
  if (l.kind == Lookup::Kind::kHost) return Real_fstatat()(dirfd, HostPath(l, path), st, flags);
  used_ = true;
  int r = 0, err = 0;
  if (l.kind == Lookup::Kind::kError) {
    r = -1;
    err = l.err;
  } else {
    *st = tree_.Stat(*l.node);
  }
  Trace(trace::FormatCall(fn, {trace::QuoteString(path), r == 0 ? StatText(*st) : trace::Hex(reinterpret_cast<uintptr_t>(st))},
                          trace::FormatReturn(r, err)));
  errno = err;
  return r;
}

int Shim::Statx(int dirfd, const char* path, int flags, unsigned mask, struct statx* stx) {
  SimScope scope;
  struct stat st;
  int r;
  if ((flags & AT_EMPTY_PATH) && path[0] == '\0') {
    if (FdKindOf(dirfd) == SimFd::kNone) return Real_statx()(dirfd, path, flags, mask, stx);
    r = Fstat(dirfd, &st);
  } else {
    Lookup l = Resolve(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW));
    if (l.kind == Lookup::Kind::kHost) return Real_statx()(dirfd, HostPath(l, path), flags, mask, stx);
    r = StatAt("statx", dirfd, path, &st, flags);
  }
  if (r < 0) return r;
  std::memset(stx, 0, sizeof(*stx));
  stx->stx_mask = STATX_BASIC_STATS;
  stx->stx_blksize = static_cast<uint32_t>(st.st_blksize);
  stx->stx_nlink = static_cast<uint32_t>(st.st_nlink);
  stx->stx_uid = st.st_uid;
  stx->stx_gid = st.st_gid;
  stx->stx_mode = static_cast<uint16_t>(st.st_mode);
  stx->stx_ino = st.st_ino;
  stx->stx_size = static_cast<uint64_t>(st.st_size);
  stx->stx_blocks = static_cast<uint64_t>(st.st_blocks);
  stx->stx_atime = {st.st_atim.tv_sec, static_cast<uint32_t>(st.st_atim.tv_nsec), 0};
  stx->stx_mtime = {st.st_mtim.tv_sec, static_cast<uint32_t>(st.st_mtim.tv_nsec), 0};
  stx->stx_ctime = {st.st_ctim.tv_sec, static_cast<uint32_t>(st.st_ctim.tv_nsec), 0};
  stx->stx_rdev_major = major(st.st_rdev);
  stx->stx_rdev_minor = minor(st.st_rdev);
  stx->stx_dev_major = major(st.st_dev);
  stx->stx_dev_minor = minor(st.st_dev);
  return 0;
}

int Shim::AccessAt(const char* fn, int dirfd, const char* path, int mode, int flags) {
  SimScope scope;
  Lookup l = Resolve(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW));
  if (l.kind == Lookup::Kind::kHost) return Real_faccessat()(dirfd, HostPath(l, path), mode, flags);
  used_ = true;
  int r = 0, err = 0;
  if (l.kind == Lookup::Kind::kError) {
    r = -1;
    err = l.err;
  } else if ((mode & X_OK) && l.node->type != NodeType::kDir && !(l.node->mode & 0111)) {
    // As for root (VFIO clients run privileged): read and write are granted, execute needs an x bit.
    r = -1;
    err = EACCES;
  }
  Trace(trace::FormatCall(fn, {trace::QuoteString(path), trace::AccessMode(mode)}, trace::FormatReturn(r, err)));
  errno = err;
  return r;
}

ssize_t Shim::ReadlinkAt(const char* fn, int dirfd, const char* path, char* buf, size_t size) {
  SimScope scope;
  Lookup l = Resolve(dirfd, path, false);
  if (l.kind == Lookup::Kind::kHost) return Real_readlinkat()(dirfd, HostPath(l, path), buf, size);
  used_ = true;
  ssize_t r = -1;
  int err = 0;
  if (l.kind == Lookup::Kind::kError) {
    err = l.err;
  } else if (l.node->type != NodeType::kSymlink) {
    err = EINVAL;
  } else if (size == 0) {
    err = EINVAL;
  } else {
    r = static_cast<ssize_t>(std::min(size, l.node->target.size()));
    std::memcpy(buf, l.node->target.data(), static_cast<size_t>(r));  // no NUL, as readlink(2)
  }
  Trace(trace::FormatCall(fn, {trace::QuoteString(path), r > 0 ? trace::QuoteData(buf, static_cast<size_t>(r), 256) : "0x...",
                               std::to_string(size)},
                          trace::FormatReturn(r, err)));
  errno = err;
  return r;
}

char* Shim::Realpath(const char* path, char* resolved) {
  SimScope scope;
  Lookup l = Resolve(AT_FDCWD, path, true);
  if (l.kind == Lookup::Kind::kHost) return Real_realpath()(HostPath(l, path), resolved);
  used_ = true;
  char* r = nullptr;
  int err = 0;
  if (l.kind == Lookup::Kind::kError) {
    err = l.err;
  } else if (l.path.size() >= PATH_MAX) {
    err = ENAMETOOLONG;
  } else if (resolved != nullptr) {
    std::memcpy(resolved, l.path.c_str(), l.path.size() + 1);
    r = resolved;
  } else {
    r = strdup(l.path.c_str());
    if (r == nullptr) err = ENOMEM;
  }
  Trace(trace::FormatCall("realpath", {trace::QuoteString(path), r ? trace::QuoteString(r) : "NULL"},
                          trace::FormatPointerReturn(r, err)));
  errno = err;
  return r;
}

ssize_t Shim::XattrPath(const char* fn, const char* path, bool follow, bool list, const char* name, void* value,
                        size_t size) {
  SimScope scope;
  Lookup l = Resolve(AT_FDCWD, path, follow);
  if (l.kind == Lookup::Kind::kHost) {
    const char* p = HostPath(l, path);
    if (list) {
      return follow ? Real_listxattr()(p, static_cast<char*>(value), size)
                    : Real_llistxattr()(p, static_cast<char*>(value), size);
    }
    return follow ? Real_getxattr()(p, name, value, size) : Real_lgetxattr()(p, name, value, size);
  }
  used_ = true;
  int err = l.kind == Lookup::Kind::kError ? l.err : (list ? 0 : ENODATA);
  ssize_t r = err ? -1 : 0;
  Trace(trace::FormatCall(fn, {trace::QuoteString(path), list ? "..." : trace::QuoteString(name), std::to_string(size)},
                          trace::FormatReturn(r, err)));
  errno = err;
  return r;
}

ssize_t Shim::XattrFd(const char* fn, int fd, bool list) {
  SimScope scope;
  int err = list ? 0 : ENODATA;
  ssize_t r = err ? -1 : 0;
  Trace(trace::FormatCall(fn, {std::to_string(fd), "..."}, trace::FormatReturn(r, err)));
  errno = err;
  return r;
}

}  // namespace vfiosim::api::preload
