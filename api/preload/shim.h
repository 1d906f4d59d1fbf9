// Shim: everything the LD_PRELOAD library knows in one process — the
// simulated machine (an api::VfioSim), its fake sysfs and /dev/vfio tree, the
// placeholder fds it handed out, the directory streams it emulates, the
// tracer, and the RLIMIT_MEMLOCK model. interpose.cc turns each libc entry
// point into one call here when the path or fd is the simulator's, and goes
// straight to libc otherwise.
//
// Configuration (environment, read once at the first simulated call):
//   VFIOSIM_PROFILE   uAPI profile name (default linux-6.1)
//   VFIOSIM_TOPOLOGY  topology file (see preload/sim_factory.h)
//   VFIOSIM_TRACE     "-" (stderr) or a file: one line per served call
//   VFIOSIM_SUMMARY   "0" turns the exit summary off
// A bad profile or topology is reported once on stderr; the simulated paths
// then do not exist (ENOENT), the rest of the process is unaffected.
//
// fds: every fd handed out is a real kernel fd (a memfd placeholder), so fd
// numbers never collide with the process's other files and FD_CLOEXEC and
// F_GETFD/F_SETFD/F_GETFL are real. poll/select/epoll are not interposed:
// the fds a VFIO client waits on are its own eventfds (SET_IRQS), real
// kernel objects the device models signal with write(2); a placeholder
// itself polls as an always-ready regular file. /dev/vfio fds are the
// facade's (VfioSim::fds()); sysfs files are memfds that hold the file's
// text (read/lseek/mmap/fstat work natively on them); directories are memfd
// placeholders that remember their node (dirfd(), openat(dirfd, ...),
// fdopendir). dup/dup2/dup3/F_DUPFD* register the new number as the same
// File (FdTable::InstallAt), closing a number drops it. A per-fd kind table
// (lock-free, fds < kMaxSimFd) lets every read/write/close of other fds pass
// through at the cost of one relaxed load.
//
// Device regions: read/write/pread/pwrite and mmap of device fds go to the
// facade (VfioSim::PreadErrno/MmapErrno); read/write use the placeholder's
// own file position (lseek works). While BAR mappings exist every munmap is
// routed through VfioSim::MunmapErrno, which forgets BAR mappings in the
// range and unmaps the rest as munmap(2) would.
//
// RLIMIT_MEMLOCK: see shim_report.cc (the simulated process starts with
// CAP_IPC_LOCK; capset/setrlimit/prlimit are watched).
//
// fork: the child gets a copy of the whole simulator with the parent's
// state at fork time; its fds are the kernel's copies of the placeholders
// and keep working against the child's copy. From then on the two copies
// diverge: a mapping made in the child is not seen by the parent, and the
// group a parent has open is "open" in both copies (unlike Linux, where both
// processes share one open file). The shim's own locks are held across fork
// (pthread_atfork), but a fork while another thread is inside the kernel
// model may leave a model lock held in the child; fork from a quiet moment.
// Threads do not survive fork: eventfd watchers the device state started
// (virqfd-style unmask/mask eventfds) are absent from the child's copy.
// exec: the shim's state does not survive exec. CLOEXEC placeholders (device
// fds always, others when opened with O_CLOEXEC) vanish; others survive as
// plain memfds the new image's shim does not know (ioctl on them: ENOTTY).
//
// Extended attributes of simulated paths: none (ENODATA, empty lists), so
// `ls -l` works. Other path calls (chmod, utime, mknod, unlink, ...) reach
// the host file system, where the simulated paths usually do not exist.
//
// Not seen by the shim: relative paths resolved against the cwd (only
// absolute paths and paths relative to a simulated directory fd are
// simulated), raw syscall(2), and fds closed inside libc (fclose of a FILE
// opened on /dev/vfio; a stale entry is dropped when the number is reused by
// an open or dup through the shim).
//
// Thread safety: all methods may be called from any thread.
#ifndef VFIOSIM_API_PRELOAD_SHIM_H_
#define VFIOSIM_API_PRELOAD_SHIM_H_

#include <dirent.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/preload/sysfs_tree.h"
#include "api/preload/tracer.h"
#include "api/trace/ioctl_names.h"

struct statx;

namespace vfiosim::api {
class File;
class VfioSim;
class TestChannel;
}  // namespace vfiosim::api

namespace vfiosim::api::preload {

// What an fd number is to the shim.
enum class SimFd : uint8_t { kNone = 0, kVfio, kSysfsFile, kSysfsDir };
inline constexpr int kMaxSimFd = 65536;
SimFd FdKindOf(int fd);  // lock-free; kNone for any fd the shim does not own

// Quick test before any lookup: could this (dirfd, path) be the simulator's?
bool MaybeSimPath(int dirfd, const char* path);

// A directory stream the client holds as a DIR*: entries fixed at opendir
// time ("." and ".." first, then the children in name order).
struct SimDir {
  const SysfsNode* node = nullptr;
  int fd = -1;  // the directory's placeholder fd (dirfd()); closed by closedir
  std::vector<struct dirent64> entries;
  size_t pos = 0;
};

class Shim {
 public:
  // The process's shim, built on first use. Call only when !InSim().
  static Shim& Get();
  // nullptr until Get() has built it.
  static Shim* Peek();

  // ---- path calls (MaybeSimPath was true); syscall convention ----
  int OpenAt(const char* fn, int dirfd, const char* path, int flags, mode_t mode);
  FILE* Fopen(const char* path, const char* mode);
  int StatAt(const char* fn, int dirfd, const char* path, struct stat* st, int flags);
  int Statx(int dirfd, const char* path, int flags, unsigned mask, struct statx* stx);
  int AccessAt(const char* fn, int dirfd, const char* path, int mode, int flags);
  ssize_t ReadlinkAt(const char* fn, int dirfd, const char* path, char* buf, size_t size);
  char* Realpath(const char* path, char* resolved);
  // getxattr/listxattr and their l variants: simulated nodes have no extended
  // attributes (ENODATA, an empty list), as sysfs without an LSM.
  ssize_t XattrPath(const char* fn, const char* path, bool follow, bool list, const char* name, void* value,
                    size_t size);
  DIR* Opendir(const char* path);
  int Scandir(const char* path, struct dirent64*** namelist, int (*filter)(const struct dirent64*),
              int (*compar)(const struct dirent64**, const struct dirent64**));

  // ---- fd calls (FdKindOf(fd) != kNone) ----
  int Close(int fd);
  int Ioctl(int fd, unsigned long request, uintptr_t arg);
  ssize_t Read(int fd, void* buf, size_t count);
  ssize_t Write(int fd, const void* buf, size_t count);
  ssize_t Pread(int fd, void* buf, size_t count, off_t offset);
  ssize_t Pwrite(int fd, const void* buf, size_t count, off_t offset);
  ssize_t Transfer(const char* name, int fd, void* buf, size_t count, std::optional<off_t> offset, bool write);
  void* Mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset);
  // munmap goes through the facade while BAR mappings exist (HasMappings).
  bool HasMappings();
  int Munmap(void* addr, size_t length);
  int Fstat(int fd, struct stat* st);
  ssize_t XattrFd(const char* fn, int fd, bool list);
  // dup family: `op` is "dup", "dup2", "dup3" or "fcntl"; either fd may be simulated.
  int Dup(int oldfd);
  int Dup3(const char* fn, int oldfd, int newfd, int flags);
  int FcntlDup(int fd, int cmd, int min_fd);
  // After the real close_range/closefrom: forget every simulated fd in range.
  void ForgetRange(unsigned first, unsigned last);
  // An fd number the kernel just handed out for something else: drop any stale entry.
  void NoteHostFd(int fd);

  // ---- directory streams ----
  static bool MaybeSimDir(DIR* dir);  // lock-free: false when no stream is open
  SimDir* FindDir(DIR* dir);
  DIR* Fdopendir(int fd);
  struct dirent64* Readdir(SimDir* d);
  int ReaddirR(SimDir* d, struct dirent64* entry, struct dirent64** result);
  int Closedir(SimDir* d);
  void Rewinddir(SimDir* d);
  int Dirfd(SimDir* d);
  long Telldir(SimDir* d);
  void Seekdir(SimDir* d, long pos);

  // ---- RLIMIT_MEMLOCK model (see shim_memlock.cc) ----
  // The real call has succeeded; feed the kernel model.
  static void NoteCapset(const void* header, const void* data);
  static void NoteMemlockLimit(const struct rlimit64* limit);

  // The exit summary (also used by tests through the trace).
  std::string Summary();
  void PrintSummary();

  VfioSim* sim() { return sim_.get(); }

 private:
  Shim();
  ~Shim() = delete;  // lives until the process ends: other threads may still call in
  void Init();
  void ApplyMemlock();

  Lookup Resolve(int dirfd, const char* path, bool follow);
  int OpenNode(const char* fn, int dirfd, const char* path, const SysfsNode* node, int flags);
  int NewPlaceholder(const char* name, bool cloexec);
  void Register(int fd, SimFd kind, const SysfsNode* node);
  // Forgets `fd` without closing it (mu_ held). The File it stood for is
  // returned so that its release (which may join device threads) runs after
  // the caller has dropped mu_.
  [[nodiscard]] std::shared_ptr<File> DropLocked(int fd);
  const SysfsNode* NodeOf(int fd);
  trace::FdKind TraceKind(int fd);
  void Trace(const std::string& line);
  SimDir* NewDir(const SysfsNode* node, int fd);

  std::unique_ptr<VfioSim> sim_;
  std::unique_ptr<TestChannel> channel_;
  SysfsTree tree_;
  Tracer tracer_;
  trace::DecodeOptions decode_;
  bool summary_ = true;
  std::atomic<bool> used_{false};  // a simulated path or fd was served (summary only then)

  std::mutex mu_;  // nodes_, dirs_ and fd bookkeeping across the real dup/close
  std::unordered_map<int, const SysfsNode*> nodes_;
  std::unordered_map<DIR*, std::unique_ptr<SimDir>> dirs_;

  friend void AtForkPrepare();
  friend void AtForkParent();
  friend void AtForkChild();
};

}  // namespace vfiosim::api::preload

#endif  // VFIOSIM_API_PRELOAD_SHIM_H_
