// RealLibc: the functions the preload shim interposes, as the next library in
// the lookup order (normally glibc) defines them, found with
// dlsym(RTLD_NEXT) the first time each one is needed.
//
// Reentrancy: dlsym itself, the C++ runtime and the simulator call open,
// close, read, fcntl... which land in the shim again. Two guards:
//  - SimScope marks "this thread is inside the simulator"; every interposer
//    checks InSim() first and goes straight to the real function, so the
//    facade closing a placeholder or the vaddr check reading /proc/self/maps
//    never re-enter the simulator (and never deadlock on its locks).
//  - While a thread is inside dlsym, a lookup from the same thread returns
//    nullptr and the caller uses the raw system call instead (RawOpenat etc.).
// The depth counter is a plain initial-exec TLS int: reading it needs no
// allocation and works before the C++ runtime of this library is set up.
//
// Thread safety: every function may be called from any thread at any time.
#ifndef VFIOSIM_API_PRELOAD_REAL_LIBC_H_
#define VFIOSIM_API_PRELOAD_REAL_LIBC_H_

#include <dirent.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>

struct statx;

namespace vfiosim::api::preload {

bool InSim();
class SimScope {
 public:
  SimScope();
  ~SimScope();
  SimScope(const SimScope&) = delete;
  SimScope& operator=(const SimScope&) = delete;
};

// One lazily resolved function pointer.
void* ResolveNext(std::atomic<void*>* slot, const char* name);

#define VFIOSIM_REAL_FN(ret, name, params)                   \
  using name##_fn = ret(*) params;                           \
  inline name##_fn Real_##name() {                           \
    static std::atomic<void*> slot{nullptr};                 \
    return reinterpret_cast<name##_fn>(ResolveNext(&slot, #name)); \
  }

VFIOSIM_REAL_FN(int, openat, (int, const char*, int, ...))
VFIOSIM_REAL_FN(int, close, (int))
VFIOSIM_REAL_FN(int, ioctl, (int, unsigned long, ...))
VFIOSIM_REAL_FN(ssize_t, read, (int, void*, size_t))
VFIOSIM_REAL_FN(ssize_t, write, (int, const void*, size_t))
VFIOSIM_REAL_FN(ssize_t, pread64, (int, void*, size_t, off_t))
VFIOSIM_REAL_FN(ssize_t, pwrite64, (int, const void*, size_t, off_t))
VFIOSIM_REAL_FN(void*, mmap, (void*, size_t, int, int, int, off_t))
VFIOSIM_REAL_FN(int, munmap, (void*, size_t))
VFIOSIM_REAL_FN(int, dup, (int))
VFIOSIM_REAL_FN(int, dup2, (int, int))
VFIOSIM_REAL_FN(int, dup3, (int, int, int))
VFIOSIM_REAL_FN(int, fcntl, (int, int, ...))
VFIOSIM_REAL_FN(int, close_range, (unsigned, unsigned, int))
VFIOSIM_REAL_FN(void, closefrom, (int))
VFIOSIM_REAL_FN(int, fstatat, (int, const char*, struct stat*, int))
VFIOSIM_REAL_FN(int, fstat, (int, struct stat*))
VFIOSIM_REAL_FN(int, statx, (int, const char*, int, unsigned, struct statx*))
VFIOSIM_REAL_FN(int, faccessat, (int, const char*, int, int))
VFIOSIM_REAL_FN(ssize_t, readlinkat, (int, const char*, char*, size_t))
VFIOSIM_REAL_FN(char*, realpath, (const char*, char*))
VFIOSIM_REAL_FN(DIR*, opendir, (const char*))
VFIOSIM_REAL_FN(DIR*, fdopendir, (int))
VFIOSIM_REAL_FN(struct dirent*, readdir, (DIR*))
VFIOSIM_REAL_FN(struct dirent64*, readdir64, (DIR*))
VFIOSIM_REAL_FN(int, readdir_r, (DIR*, struct dirent*, struct dirent**))
VFIOSIM_REAL_FN(int, readdir64_r, (DIR*, struct dirent64*, struct dirent64**))
VFIOSIM_REAL_FN(int, closedir, (DIR*))
VFIOSIM_REAL_FN(void, rewinddir, (DIR*))
VFIOSIM_REAL_FN(int, dirfd, (DIR*))
VFIOSIM_REAL_FN(long, telldir, (DIR*))
VFIOSIM_REAL_FN(void, seekdir, (DIR*, long))
VFIOSIM_REAL_FN(int, scandir, (const char*, struct dirent***, int (*)(const struct dirent*),
                               int (*)(const struct dirent**, const struct dirent**)))
VFIOSIM_REAL_FN(int, scandir64, (const char*, struct dirent64***, int (*)(const struct dirent64*),
                                 int (*)(const struct dirent64**, const struct dirent64**)))
VFIOSIM_REAL_FN(FILE*, fopen, (const char*, const char*))
VFIOSIM_REAL_FN(ssize_t, getxattr, (const char*, const char*, void*, size_t))
VFIOSIM_REAL_FN(ssize_t, lgetxattr, (const char*, const char*, void*, size_t))
VFIOSIM_REAL_FN(ssize_t, fgetxattr, (int, const char*, void*, size_t))
VFIOSIM_REAL_FN(ssize_t, listxattr, (const char*, char*, size_t))
VFIOSIM_REAL_FN(ssize_t, llistxattr, (const char*, char*, size_t))
VFIOSIM_REAL_FN(ssize_t, flistxattr, (int, char*, size_t))
VFIOSIM_REAL_FN(int, capset, (void*, const void*))
VFIOSIM_REAL_FN(int, prlimit64, (pid_t, int, const struct rlimit64*, struct rlimit64*))

#undef VFIOSIM_REAL_FN

// System calls without libc, for use while dlsym is running.
int RawOpenat(int dirfd, const char* path, int flags, mode_t mode);
int RawClose(int fd);
ssize_t RawWrite(int fd, const void* buf, size_t len);

// Calls the real function, or the raw system call when it is not resolvable yet.
int RealOpenat(int dirfd, const char* path, int flags, mode_t mode);
int RealClose(int fd);
ssize_t RealWrite(int fd, const void* buf, size_t len);
ssize_t RealRead(int fd, void* buf, size_t len);
int RealFcntl(int fd, int cmd, unsigned long arg);

}  // namespace vfiosim::api::preload

#endif  // VFIOSIM_API_PRELOAD_REAL_LIBC_H_
