// The libc entry points of the file-system side: stat family, access,
// readlink, realpath, extended attributes, directory streams, and the
// RLIMIT_MEMLOCK/capset watchers (see interpose.cc for the conventions).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "api/preload/interpose_util.h"
#include "api/preload/real_libc.h"
#include "api/preload/shim.h"

using vfiosim::api::preload::InSim;
using vfiosim::api::preload::Shim;
using vfiosim::api::preload::SimDir;
using vfiosim::api::preload::SimFd;
namespace pl = vfiosim::api::preload;
using vfiosim::api::preload::interpose::Sim;
using vfiosim::api::preload::interpose::SimPath;

extern "C" {
// Not declared by the 2.36 headers any more, or never declared.
int __xstat(int ver, const char* path, struct stat* st);
int __lxstat(int ver, const char* path, struct stat* st);
int __fxstat(int ver, int fd, struct stat* st);
int __fxstatat(int ver, int dirfd, const char* path, struct stat* st, int flags);
int __xstat64(int ver, const char* path, struct stat64* st);
int __lxstat64(int ver, const char* path, struct stat64* st);
int __fxstat64(int ver, int fd, struct stat64* st);
int __fxstatat64(int ver, int dirfd, const char* path, struct stat64* st, int flags);
ssize_t __readlink_chk(const char* path, char* buf, size_t len, size_t buflen);
ssize_t __readlinkat_chk(int dirfd, const char* path, char* buf, size_t len, size_t buflen);
char* __realpath_chk(const char* path, char* resolved, size_t resolvedlen);
int capset(void* header, const void* data);
void __chk_fail(void) __attribute__((noreturn));
}

namespace {

// Out of line: glibc declares `path` nonnull, but AT_EMPTY_PATH callers may pass NULL.
__attribute__((noinline)) bool IsEmptyPath(const char* path) { return path == nullptr || path[0] == '\0'; }

int DoStat(const char* fn, int dirfd, const char* path, struct stat* st, int flags) {
  if ((flags & AT_EMPTY_PATH) && IsEmptyPath(path) && Sim(dirfd)) return Shim::Get().Fstat(dirfd, st);
  if (SimPath(dirfd, path)) return Shim::Get().StatAt(fn, dirfd, path, st, flags);
  return pl::Real_fstatat()(dirfd, path, st, flags);
}

int DoFstat(int fd, struct stat* st) {
  if (Sim(fd)) return Shim::Get().Fstat(fd, st);
  return pl::Real_fstat()(fd, st);
}

SimDir* OurDir(DIR* d) {
  if (InSim() || !Shim::MaybeSimDir(d)) return nullptr;
  Shim* s = Shim::Peek();
  return s ? s->FindDir(d) : nullptr;
}

ssize_t DoReadlink(const char* fn, int dirfd, const char* path, char* buf, size_t size) {
  if (SimPath(dirfd, path)) return Shim::Get().ReadlinkAt(fn, dirfd, path, buf, size);
  return pl::Real_readlinkat()(dirfd, path, buf, size);
}

char* DoRealpath(const char* path, char* resolved) {
  if (SimPath(AT_FDCWD, path)) return Shim::Get().Realpath(path, resolved);
  return pl::Real_realpath()(path, resolved);
}

int DoSetMemlock(pid_t pid, int resource, const struct rlimit64* limit, struct rlimit64* old) {
  int r = pl::Real_prlimit64()(pid, resource, limit, old);
  if (r == 0 && limit != nullptr && resource == RLIMIT_MEMLOCK && (pid == 0 || pid == getpid()) && !InSim()) {
    Shim::NoteMemlockLimit(limit);
  }
  return r;
}

}  // namespace

extern "C" {

// ---- stat family ----

int stat(const char* path, struct stat* st) noexcept { return DoStat("stat", AT_FDCWD, path, st, 0); }
int stat64(const char* path, struct stat64* st) noexcept {
  return DoStat("stat", AT_FDCWD, path, reinterpret_cast<struct stat*>(st), 0);
}
int lstat(const char* path, struct stat* st) noexcept {
  return DoStat("lstat", AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}
int lstat64(const char* path, struct stat64* st) noexcept {
  return DoStat("lstat", AT_FDCWD, path, reinterpret_cast<struct stat*>(st), AT_SYMLINK_NOFOLLOW);
}
int fstatat(int dirfd, const char* path, struct stat* st, int flags) noexcept {
  return DoStat("newfstatat", dirfd, path, st, flags);
}
int fstatat64(int dirfd, const char* path, struct stat64* st, int flags) noexcept {
  return DoStat("newfstatat", dirfd, path, reinterpret_cast<struct stat*>(st), flags);
}
int fstat(int fd, struct stat* st) noexcept { return DoFstat(fd, st); }
int fstat64(int fd, struct stat64* st) noexcept { return DoFstat(fd, reinterpret_cast<struct stat*>(st)); }
int __xstat(int, const char* path, struct stat* st) { return DoStat("stat", AT_FDCWD, path, st, 0); }
int __xstat64(int, const char* path, struct stat64* st) {
  return DoStat("stat", AT_FDCWD, path, reinterpret_cast<struct stat*>(st), 0);
}
int __lxstat(int, const char* path, struct stat* st) {
  return DoStat("lstat", AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}
int __lxstat64(int, const char* path, struct stat64* st) {
  return DoStat("lstat", AT_FDCWD, path, reinterpret_cast<struct stat*>(st), AT_SYMLINK_NOFOLLOW);
}
int __fxstat(int, int fd, struct stat* st) { return DoFstat(fd, st); }
int __fxstat64(int, int fd, struct stat64* st) { return DoFstat(fd, reinterpret_cast<struct stat*>(st)); }
int __fxstatat(int, int dirfd, const char* path, struct stat* st, int flags) {
  return DoStat("newfstatat", dirfd, path, st, flags);
}
int __fxstatat64(int, int dirfd, const char* path, struct stat64* st, int flags) {
  return DoStat("newfstatat", dirfd, path, reinterpret_cast<struct stat*>(st), flags);
}
int statx(int dirfd, const char* path, int flags, unsigned int mask, struct statx* stx) noexcept {
  bool empty_sim = (flags & AT_EMPTY_PATH) && IsEmptyPath(path) && Sim(dirfd);
  if (empty_sim || SimPath(dirfd, path)) return Shim::Get().Statx(dirfd, path, flags, mask, stx);
  auto real = pl::Real_statx();
  if (real == nullptr) {  // a libc older than 2.28 below us
    errno = ENOSYS;
    return -1;
  }
  return real(dirfd, path, flags, mask, stx);
}

// ---- access / readlink / realpath ----

int access(const char* path, int mode) noexcept {
  if (SimPath(AT_FDCWD, path)) return Shim::Get().AccessAt("access", AT_FDCWD, path, mode, 0);
  return pl::Real_faccessat()(AT_FDCWD, path, mode, 0);
}
int faccessat(int dirfd, const char* path, int mode, int flags) noexcept {
  if (SimPath(dirfd, path)) return Shim::Get().AccessAt("faccessat", dirfd, path, mode, flags);
  return pl::Real_faccessat()(dirfd, path, mode, flags);
}

ssize_t readlink(const char* path, char* buf, size_t size) noexcept {
  return DoReadlink("readlink", AT_FDCWD, path, buf, size);
}
ssize_t readlinkat(int dirfd, const char* path, char* buf, size_t size) noexcept {
  return DoReadlink("readlinkat", dirfd, path, buf, size);
}
ssize_t __readlink_chk(const char* path, char* buf, size_t len, size_t buflen) {
  if (len > buflen) __chk_fail();
  return DoReadlink("readlink", AT_FDCWD, path, buf, len);
}
ssize_t __readlinkat_chk(int dirfd, const char* path, char* buf, size_t len, size_t buflen) {
  if (len > buflen) __chk_fail();
  return DoReadlink("readlinkat", dirfd, path, buf, len);
}

char* realpath(const char* path, char* resolved) noexcept { return DoRealpath(path, resolved); }
char* __realpath_chk(const char* path, char* resolved, size_t resolvedlen) {
  if (resolvedlen < PATH_MAX) __chk_fail();
  return DoRealpath(path, resolved);
}
char* canonicalize_file_name(const char* path) noexcept { return DoRealpath(path, nullptr); }

// ---- extended attributes (ls -l asks for security labels and ACLs) ----

ssize_t getxattr(const char* path, const char* name, void* value, size_t size) noexcept {
  if (SimPath(AT_FDCWD, path)) return Shim::Get().XattrPath("getxattr", path, true, false, name, value, size);
  return pl::Real_getxattr()(path, name, value, size);
}
ssize_t lgetxattr(const char* path, const char* name, void* value, size_t size) noexcept {
  if (SimPath(AT_FDCWD, path)) return Shim::Get().XattrPath("lgetxattr", path, false, false, name, value, size);
  return pl::Real_lgetxattr()(path, name, value, size);
}
ssize_t fgetxattr(int fd, const char* name, void* value, size_t size) noexcept {
  if (Sim(fd)) return Shim::Get().XattrFd("fgetxattr", fd, false);
  return pl::Real_fgetxattr()(fd, name, value, size);
}
ssize_t listxattr(const char* path, char* list, size_t size) noexcept {
  if (SimPath(AT_FDCWD, path)) return Shim::Get().XattrPath("listxattr", path, true, true, nullptr, list, size);
  return pl::Real_listxattr()(path, list, size);
}
ssize_t llistxattr(const char* path, char* list, size_t size) noexcept {
  if (SimPath(AT_FDCWD, path)) return Shim::Get().XattrPath("llistxattr", path, false, true, nullptr, list, size);
  return pl::Real_llistxattr()(path, list, size);
}
ssize_t flistxattr(int fd, char* list, size_t size) noexcept {
  if (Sim(fd)) return Shim::Get().XattrFd("flistxattr", fd, true);
  return pl::Real_flistxattr()(fd, list, size);
}

// ---- directories ----

DIR* opendir(const char* path) {
  if (SimPath(AT_FDCWD, path)) return Shim::Get().Opendir(path);
  return pl::Real_opendir()(path);
}
DIR* fdopendir(int fd) {
  if (Sim(fd)) return Shim::Get().Fdopendir(fd);
  return pl::Real_fdopendir()(fd);
}
struct dirent* readdir(DIR* d) {
  if (SimDir* s = OurDir(d)) return reinterpret_cast<struct dirent*>(Shim::Get().Readdir(s));
  return pl::Real_readdir()(d);
}
struct dirent64* readdir64(DIR* d) {
  if (SimDir* s = OurDir(d)) return Shim::Get().Readdir(s);
  return pl::Real_readdir64()(d);
}
int readdir_r(DIR* d, struct dirent* entry, struct dirent** result) {
  if (SimDir* s = OurDir(d)) {
    return Shim::Get().ReaddirR(s, reinterpret_cast<struct dirent64*>(entry),
                                reinterpret_cast<struct dirent64**>(result));
  }
  return pl::Real_readdir_r()(d, entry, result);
}
int readdir64_r(DIR* d, struct dirent64* entry, struct dirent64** result) {
  if (SimDir* s = OurDir(d)) return Shim::Get().ReaddirR(s, entry, result);
  return pl::Real_readdir64_r()(d, entry, result);
}
int closedir(DIR* d) {
  if (SimDir* s = OurDir(d)) return Shim::Get().Closedir(s);
  return pl::Real_closedir()(d);
}
void rewinddir(DIR* d) noexcept {
  if (SimDir* s = OurDir(d)) return Shim::Get().Rewinddir(s);
  pl::Real_rewinddir()(d);
}
int dirfd(DIR* d) noexcept {
  if (SimDir* s = OurDir(d)) return Shim::Get().Dirfd(s);
  return pl::Real_dirfd()(d);
}
long telldir(DIR* d) noexcept {
  if (SimDir* s = OurDir(d)) return Shim::Get().Telldir(s);
  return pl::Real_telldir()(d);
}
void seekdir(DIR* d, long pos) noexcept {
  if (SimDir* s = OurDir(d)) return Shim::Get().Seekdir(s, pos);
  pl::Real_seekdir()(d, pos);
}
int scandir(const char* path, struct dirent*** namelist, int (*filter)(const struct dirent*),
            int (*compar)(const struct dirent**, const struct dirent**)) {
  if (SimPath(AT_FDCWD, path)) {
    // struct dirent and struct dirent64 are the same layout on LP64.
    return Shim::Get().Scandir(
        path, reinterpret_cast<struct dirent64***>(namelist),
        reinterpret_cast<int (*)(const struct dirent64*)>(filter),
        reinterpret_cast<int (*)(const struct dirent64**, const struct dirent64**)>(compar));
  }
  return pl::Real_scandir()(path, namelist, filter, compar);
}
int scandir64(const char* path, struct dirent64*** namelist, int (*filter)(const struct dirent64*),
              int (*compar)(const struct dirent64**, const struct dirent64**)) {
  if (SimPath(AT_FDCWD, path)) return Shim::Get().Scandir(path, namelist, filter, compar);
  return pl::Real_scandir64()(path, namelist, filter, compar);
}

// ---- RLIMIT_MEMLOCK and CAP_IPC_LOCK (see shim_report.cc) ----

int capset(void* header, const void* data) {
  int r = pl::Real_capset()(header, data);
  if (r == 0 && !InSim()) Shim::NoteCapset(header, data);
  return r;
}
int setrlimit(__rlimit_resource_t resource, const struct rlimit* limit) noexcept {
  return DoSetMemlock(0, resource, reinterpret_cast<const struct rlimit64*>(limit), nullptr);
}
int setrlimit64(__rlimit_resource_t resource, const struct rlimit64* limit) noexcept {
  return DoSetMemlock(0, resource, limit, nullptr);
}
int prlimit(pid_t pid, enum __rlimit_resource resource, const struct rlimit* limit, struct rlimit* old) noexcept {
  return DoSetMemlock(pid, resource, reinterpret_cast<const struct rlimit64*>(limit),
                      reinterpret_cast<struct rlimit64*>(old));
}
int prlimit64(pid_t pid, enum __rlimit_resource resource, const struct rlimit64* limit, struct rlimit64* old) noexcept {
  return DoSetMemlock(pid, resource, limit, old);
}

}  // extern "C"

// The exit summary. exit() runs this after the client's atexit handlers;
// _exit() and death by signal skip it.
__attribute__((destructor)) static void VfioSimPreloadAtExit() {
  if (Shim* s = Shim::Peek()) s->PrintSummary();
}
