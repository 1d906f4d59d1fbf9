// The libc entry points libvfiosim_preload.so defines, fd side: open, fopen,
// close, dup, fcntl, ioctl, read/write, mmap (the file-system side is in
// interpose_fs.cc). Each one is a thin switch: inside the simulator (InSim)
// or for a path/fd that is not the simulator's, the real function (dlsym
// RTLD_NEXT); otherwise Shim.
//
// glibc 2.36 still exports the __xstat family (binaries built before 2.33
// call it instead of stat/fstat/lstat), so both are interposed; newer
// binaries call stat/fstat/lstat/fstatat(64) directly. Fortified builds
// (_FORTIFY_SOURCE) call __open_2, __read_chk & co., which reach the real
// functions inside libc without a PLT hop, so they are interposed too, as
// are fopen (libc opens the file internally) and scandir/opendir (likewise).
//
// Signatures match the glibc headers exactly (noexcept where they say
// __THROW) so that a declaration clash is a compile error, not a bad call.
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "api/preload/interpose_util.h"
#include "api/preload/real_libc.h"
#include "api/preload/shim.h"

using vfiosim::api::preload::FdKindOf;
using vfiosim::api::preload::InSim;
using vfiosim::api::preload::Shim;
using vfiosim::api::preload::SimFd;
namespace pl = vfiosim::api::preload;
using vfiosim::api::preload::interpose::Host;
using vfiosim::api::preload::interpose::Sim;
using vfiosim::api::preload::interpose::SimPath;

extern "C" {
// Not declared by the 2.36 headers, or never declared.
int __open(const char* path, int flags, ...);
int __open64(const char* path, int flags, ...);
int __open_2(const char* path, int flags);
int __open64_2(const char* path, int flags);
int __openat_2(int dirfd, const char* path, int flags);
int __openat64_2(int dirfd, const char* path, int flags);
int __close(int fd);
ssize_t __read_chk(int fd, void* buf, size_t nbytes, size_t buflen);
ssize_t __pread_chk(int fd, void* buf, size_t nbytes, off_t offset, size_t buflen);
ssize_t __pread64_chk(int fd, void* buf, size_t nbytes, off64_t offset, size_t buflen);
void __chk_fail(void) __attribute__((noreturn));
}

namespace {

int DoOpen(const char* fn, int dirfd, const char* path, int flags, mode_t mode) {
  if (SimPath(dirfd, path)) return Shim::Get().OpenAt(fn, dirfd, path, flags, mode);
  return Host(pl::RealOpenat(dirfd, path, flags, mode));
}

mode_t ModeOf(int flags, va_list ap) {
  if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) return static_cast<mode_t>(va_arg(ap, int));
  return 0;
}

}  // namespace

extern "C" {

// ---- open ----

int open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = ModeOf(flags, ap);
  va_end(ap);
  return DoOpen("open", AT_FDCWD, path, flags, mode);
}
int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = ModeOf(flags, ap);
  va_end(ap);
  return DoOpen("open", AT_FDCWD, path, flags, mode);
}
int __open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = ModeOf(flags, ap);
  va_end(ap);
  return DoOpen("open", AT_FDCWD, path, flags, mode);
}
int __open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = ModeOf(flags, ap);
  va_end(ap);
  return DoOpen("open", AT_FDCWD, path, flags, mode);
}
int openat(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = ModeOf(flags, ap);
  va_end(ap);
  return DoOpen("openat", dirfd, path, flags, mode);
}
int openat64(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = ModeOf(flags, ap);
  va_end(ap);
  return DoOpen("openat", dirfd, path, flags, mode);
}
// The fortify variants exist for calls without a mode; O_CREAT there is a bug glibc aborts on.
int __open_2(const char* path, int flags) {
  if (flags & O_CREAT) __chk_fail();
  return DoOpen("open", AT_FDCWD, path, flags, 0);
}
int __open64_2(const char* path, int flags) {
  if (flags & O_CREAT) __chk_fail();
  return DoOpen("open", AT_FDCWD, path, flags, 0);
}
int __openat_2(int dirfd, const char* path, int flags) {
  if (flags & O_CREAT) __chk_fail();
  return DoOpen("openat", dirfd, path, flags, 0);
}
int __openat64_2(int dirfd, const char* path, int flags) {
  if (flags & O_CREAT) __chk_fail();
  return DoOpen("openat", dirfd, path, flags, 0);
}

FILE* fopen(const char* path, const char* mode) {
  if (SimPath(AT_FDCWD, path)) return Shim::Get().Fopen(path, mode);
  pl::fopen_fn real = pl::Real_fopen();
  if (real == nullptr) {
    errno = ENOSYS;  // libc's fopen could not be resolved (dlsym re-entered)
    return nullptr;
  }
  FILE* f = real(path, mode);
  if (f != nullptr) Host(fileno(f));
  return f;
}
FILE* fopen64(const char* path, const char* mode) { return fopen(path, mode); }

// ---- close / dup ----

int close(int fd) {
  if (Sim(fd)) return Shim::Get().Close(fd);
  return pl::RealClose(fd);
}
int __close(int fd) { return close(fd); }

int close_range(unsigned first, unsigned last, int flags) noexcept {
  auto real = pl::Real_close_range();
  if (real == nullptr) {  // a libc older than 2.34 below us
    errno = ENOSYS;
    return -1;
  }
  int r = real(first, last, flags);
  if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC) && !InSim()) {
    if (Shim* s = Shim::Peek()) s->ForgetRange(first, last);
  }
  return r;
}
void closefrom(int lowfd) noexcept {
  if (auto real = pl::Real_closefrom()) {
    real(lowfd);
  } else {
    for (int fd = lowfd; fd >= 0 && fd < pl::kMaxSimFd; ++fd) close(fd);
  }
  if (!InSim() && lowfd >= 0) {
    if (Shim* s = Shim::Peek()) s->ForgetRange(static_cast<unsigned>(lowfd), ~0u);
  }
}

int dup(int fd) noexcept {
  if (Sim(fd)) return Shim::Get().Dup(fd);
  return Host(pl::Real_dup()(fd));
}
int dup2(int oldfd, int newfd) noexcept {
  if (Sim(oldfd) || Sim(newfd)) return Shim::Get().Dup3("dup2", oldfd, newfd, 0);
  return pl::Real_dup2()(oldfd, newfd);
}
int dup3(int oldfd, int newfd, int flags) noexcept {
  if (Sim(oldfd) || Sim(newfd)) return Shim::Get().Dup3("dup3", oldfd, newfd, flags);
  return pl::Real_dup3()(oldfd, newfd, flags);
}

int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  // Every fcntl argument is an int or a pointer: passing it on as a long is exact.
  unsigned long arg = va_arg(ap, unsigned long);
  va_end(ap);
  if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
    if (Sim(fd)) return Shim::Get().FcntlDup(fd, cmd, static_cast<int>(arg));
    return Host(pl::RealFcntl(fd, cmd, arg));
  }
  return pl::RealFcntl(fd, cmd, arg);
}
int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  unsigned long arg = va_arg(ap, unsigned long);
  va_end(ap);
  return fcntl(fd, cmd, arg);
}

// ---- ioctl / read / write / mmap ----

int ioctl(int fd, unsigned long request, ...) noexcept {
  va_list ap;
  va_start(ap, request);
  uintptr_t arg = va_arg(ap, uintptr_t);
  va_end(ap);
  if (Sim(fd)) return Shim::Get().Ioctl(fd, request, arg);
  return pl::Real_ioctl()(fd, request, arg);
}

ssize_t read(int fd, void* buf, size_t count) {
  if (Sim(fd)) return Shim::Get().Read(fd, buf, count);
  return pl::RealRead(fd, buf, count);
}
ssize_t write(int fd, const void* buf, size_t count) {
  if (Sim(fd)) return Shim::Get().Write(fd, buf, count);
  return pl::RealWrite(fd, buf, count);
}
ssize_t pread(int fd, void* buf, size_t count, off_t offset) {
  if (Sim(fd)) return Shim::Get().Pread(fd, buf, count, offset);
  return pl::Real_pread64()(fd, buf, count, offset);
}
ssize_t pread64(int fd, void* buf, size_t count, off64_t offset) { return pread(fd, buf, count, offset); }
ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  if (Sim(fd)) return Shim::Get().Pwrite(fd, buf, count, offset);
  return pl::Real_pwrite64()(fd, buf, count, offset);
}
ssize_t pwrite64(int fd, const void* buf, size_t count, off64_t offset) { return pwrite(fd, buf, count, offset); }
ssize_t __read_chk(int fd, void* buf, size_t nbytes, size_t buflen) {
  if (nbytes > buflen) __chk_fail();
  return read(fd, buf, nbytes);
}
ssize_t __pread_chk(int fd, void* buf, size_t nbytes, off_t offset, size_t buflen) {
  if (nbytes > buflen) __chk_fail();
  return pread(fd, buf, nbytes, offset);
}
ssize_t __pread64_chk(int fd, void* buf, size_t nbytes, off64_t offset, size_t buflen) {
  if (nbytes > buflen) __chk_fail();
  return pread(fd, buf, nbytes, offset);
}

void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) noexcept {
  if (!(flags & MAP_ANONYMOUS) && Sim(fd)) return Shim::Get().Mmap(addr, length, prot, flags, fd, offset);
  return pl::Real_mmap()(addr, length, prot, flags, fd, offset);
}
void* mmap64(void* addr, size_t length, int prot, int flags, int fd, off64_t offset) noexcept {
  return mmap(addr, length, prot, flags, fd, offset);
}
// A BAR mapping holds its device file open until it is unmapped.
int munmap(void* addr, size_t length) noexcept {
  if (!InSim()) {
    Shim* s = Shim::Peek();
    if (s != nullptr && s->HasMappings()) return s->Munmap(addr, length);
  }
  return pl::Real_munmap()(addr, length);
}

}  // extern "C"
