// Shim: directory streams (SimDir, see shim.h) over the fake tree.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "api/preload/real_libc.h"
#include "api/preload/shim.h"
#include "api/trace/ioctl_names.h"
#include "api/trace/syscall_format.h"

namespace vfiosim::api::preload {

namespace {

// Open simulated streams; readdir & co. skip the map lookup while it is 0.
std::atomic<int> g_open_dirs{0};

unsigned char DirentType(NodeType t) {
  switch (t) {
    case NodeType::kDir: return DT_DIR;
    case NodeType::kFile: return DT_REG;
    case NodeType::kSymlink: return DT_LNK;
    case NodeType::kCharDev: return DT_CHR;
  }
  return DT_UNKNOWN;
}

struct dirent64 Entry(const char* name, ino_t ino, unsigned char type, size_t index) {
  struct dirent64 e {};
  e.d_ino = ino;
  e.d_off = static_cast<off64_t>(index + 1);
  e.d_type = type;
  std::strncpy(e.d_name, name, sizeof(e.d_name) - 1);
  size_t len = offsetof(struct dirent64, d_name) + std::strlen(e.d_name) + 1;
  e.d_reclen = static_cast<unsigned short>((len + 7) & ~size_t{7});
  return e;
}

std::string DirText(const void* d) { return trace::Hex(reinterpret_cast<uintptr_t>(d)); }

}  // namespace

bool Shim::MaybeSimDir(DIR*) { return g_open_dirs.load(std::memory_order_acquire) > 0; }

SimDir* Shim::NewDir(const SysfsNode* node, int fd) {
  auto d = std::make_unique<SimDir>();
  d->node = node;
  d->fd = fd;
  d->entries.push_back(Entry(".", node->ino, DT_DIR, 0));
  d->entries.push_back(Entry("..", node->parent ? node->parent->ino : node->ino, DT_DIR, 1));
  for (const auto& [name, child] : node->children) {
    d->entries.push_back(Entry(name.c_str(), child->ino, DirentType(child->type), d->entries.size()));
  }
  SimDir* raw = d.get();
  std::lock_guard<std::mutex> lock(mu_);
  dirs_.emplace(reinterpret_cast<DIR*>(raw), std::move(d));
  g_open_dirs.fetch_add(1, std::memory_order_release);
  return raw;
}

SimDir* Shim::FindDir(DIR* dir) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = dirs_.find(dir);
  return it == dirs_.end() ? nullptr : it->second.get();
}

DIR* Shim::Opendir(const char* path) {
  SimScope scope;
  Lookup l = Resolve(AT_FDCWD, path, true);
  if (l.kind == Lookup::Kind::kHost) return Real_opendir()(l.touched ? l.path.c_str() : path);
  used_ = true;
  SimDir* d = nullptr;
  int err = 0;
  if (l.kind == Lookup::Kind::kError) {
    err = l.err;
  } else if (l.node->type != NodeType::kDir) {
    err = ENOTDIR;
  } else {
    int fd = NewPlaceholder("vfio-sim:dir", /*cloexec=*/true);  // opendir uses O_CLOEXEC
    if (fd < 0) {
      err = errno;
    } else {
      {
        std::shared_ptr<File> stale;  // a number closed behind our back; released after mu_
        std::lock_guard<std::mutex> lock(mu_);
        stale = DropLocked(fd);
        Register(fd, SimFd::kSysfsDir, l.node);
      }
      d = NewDir(l.node, fd);
    }
  }
  Trace(trace::FormatCall("opendir", {trace::QuoteString(path)}, trace::FormatPointerReturn(d, err)));
  errno = err;
  return reinterpret_cast<DIR*>(d);
}

DIR* Shim::Fdopendir(int fd) {
  SimScope scope;
  const SysfsNode* node = NodeOf(fd);
  SimDir* d = nullptr;
  int err = 0;
  if (node == nullptr || node->type != NodeType::kDir) {
    err = node == nullptr ? EBADF : ENOTDIR;
  } else {
    d = NewDir(node, fd);  // the stream now owns `fd`
  }
  Trace(trace::FormatCall("fdopendir", {std::to_string(fd)}, trace::FormatPointerReturn(d, err)));
  errno = err;
  return reinterpret_cast<DIR*>(d);
}

struct dirent64* Shim::Readdir(SimDir* d) {
  SimScope scope;
  struct dirent64* e = d->pos < d->entries.size() ? &d->entries[d->pos++] : nullptr;
  Trace(trace::FormatCall("readdir", {DirText(d)},
                          e ? "= {d_name=" + trace::QuoteString(e->d_name) + "}" : std::string("= NULL")));
  return e;  // end of stream: NULL with errno untouched
}

int Shim::ReaddirR(SimDir* d, struct dirent64* entry, struct dirent64** result) {
  struct dirent64* e = Readdir(d);
  if (e == nullptr) {
    *result = nullptr;
    return 0;
  }
  std::memcpy(entry, e, sizeof(*entry));
  *result = entry;
  return 0;
}

int Shim::Closedir(SimDir* d) {
  SimScope scope;
  int fd = d->fd;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dirs_.erase(reinterpret_cast<DIR*>(d));  // frees `d`
    g_open_dirs.fetch_sub(1, std::memory_order_release);
  }
  Trace(trace::FormatCall("closedir", {DirText(d)}, "= 0"));
  return FdKindOf(fd) == SimFd::kNone ? RealClose(fd) : Close(fd);
}

void Shim::Rewinddir(SimDir* d) { d->pos = 0; }
int Shim::Dirfd(SimDir* d) { return d->fd; }
long Shim::Telldir(SimDir* d) { return static_cast<long>(d->pos); }
void Shim::Seekdir(SimDir* d, long pos) {
  d->pos = std::min(static_cast<size_t>(std::max(pos, 0L)), d->entries.size());
}

int Shim::Scandir(const char* path, struct dirent64*** namelist, int (*filter)(const struct dirent64*),
                  int (*compar)(const struct dirent64**, const struct dirent64**)) {
  SimScope scope;
  Lookup l = Resolve(AT_FDCWD, path, true);
  if (l.kind == Lookup::Kind::kHost) {
    return Real_scandir64()(l.touched ? l.path.c_str() : path, namelist, filter, compar);
  }
  used_ = true;
  int err = 0;
  int count = -1;
  if (l.kind == Lookup::Kind::kError) {
    err = l.err;
  } else if (l.node->type != NodeType::kDir) {
    err = ENOTDIR;
  } else {
    SimDir d;
    d.node = l.node;
    d.entries.push_back(Entry(".", l.node->ino, DT_DIR, 0));
    d.entries.push_back(Entry("..", l.node->parent ? l.node->parent->ino : l.node->ino, DT_DIR, 1));
    for (const auto& [name, child] : l.node->children) {
      d.entries.push_back(Entry(name.c_str(), child->ino, DirentType(child->type), d.entries.size()));
    }
    std::vector<struct dirent64*> kept;
    bool oom = false;
    for (const struct dirent64& e : d.entries) {
      if (filter && !filter(&e)) continue;
      // Each entry and the array are malloc'd: the caller frees them with free().
      auto* copy = static_cast<struct dirent64*>(std::malloc(sizeof(struct dirent64)));
      if (copy == nullptr) {
        oom = true;
        break;
      }
      std::memcpy(copy, &e, sizeof(e));
      kept.push_back(copy);
    }
    auto** array = oom ? nullptr
                       : static_cast<struct dirent64**>(std::malloc(std::max<size_t>(1, kept.size()) * sizeof(void*)));
    if (array == nullptr) {
      for (auto* e : kept) std::free(e);
      err = ENOMEM;
    } else {
      if (compar) {
        std::stable_sort(kept.begin(), kept.end(), [compar](const struct dirent64* a, const struct dirent64* b) {
          return compar(const_cast<const struct dirent64**>(&a), const_cast<const struct dirent64**>(&b)) < 0;
        });
      }
      std::copy(kept.begin(), kept.end(), array);
      *namelist = array;
      count = static_cast<int>(kept.size());
    }
  }
  Trace(trace::FormatCall("scandir", {trace::QuoteString(path), "...", filter ? "filter" : "NULL", compar ? "compar" : "NULL"},
                          trace::FormatReturn(count, err)));
  errno = err;
  return count;
}

}  // namespace vfiosim::api::preload
