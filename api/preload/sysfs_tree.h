// SysfsTree: a small in-memory file tree (directories, text files, symlinks,
// character devices) that the preload shim shows in place of parts of the
// host's /sys and /dev, and the path resolver that walks it the way the
// kernel's namei does.
//
// Owned and host nodes: AddRoot() declares a subtree the tree owns (e.g.
// /sys/bus/pci); everything under it comes from the tree, and a name that is
// not there does not exist (ENOENT), whatever the host has. Directories above
// a root (/, /sys, /sys/bus) are "host" nodes: they exist only so that `..`
// and relative symlinks can climb out of one root and into another; a walk
// that ends on a host node, or leaves the tree through one, is handed back to
// the host with the canonical path it reached.
//
// Resolution (Resolve/ResolveAt): component by component, `.` and `..` as the
// kernel treats them (`..` after a symlink goes to the parent of the target,
// not of the link), symlinks followed in the middle of a path always and at
// the end when `follow_last` is set, ELOOP after 40 links, ENOTDIR for a
// component (or trailing slash) that is not a directory.
//
// Invariants: every node's `path` is its canonical absolute path; children are
// kept sorted by name (readdir order is deterministic); inode numbers are
// unique; nodes are never removed, so pointers stay valid for the tree's life.
//
// Thread safety: build single-threaded, then only const methods (safe to call
// concurrently).
#ifndef VFIOSIM_API_PRELOAD_SYSFS_TREE_H_
#define VFIOSIM_API_PRELOAD_SYSFS_TREE_H_

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vfiosim::api::preload {

enum class NodeType : uint8_t { kDir, kFile, kSymlink, kCharDev };

struct SysfsNode {
  NodeType type = NodeType::kDir;
  std::string name;  // last component ("" for "/")
  std::string path;  // canonical absolute path
  uint32_t mode = 0755;  // permission bits only
  bool owned = false;    // false: a host directory above a root
  std::string content;   // kFile
  std::string target;    // kSymlink
  dev_t rdev = 0;        // kCharDev
  dev_t dev = 0;         // st_dev of the file system it pretends to live on
  ino_t ino = 0;
  int64_t size = -1;     // st_size; -1: the content's length
  SysfsNode* parent = nullptr;
  std::map<std::string, std::unique_ptr<SysfsNode>, std::less<>> children;
};

struct Lookup {
  enum class Kind {
    kNode,   // an owned node: `node`, canonical path in `path`
    kHost,   // not ours: hand `path` (canonical) to the host
    kError,  // `err` (ENOENT, ENOTDIR, ELOOP, ...); `parent` set for a missing last name
  };
  Kind kind = Kind::kHost;
  const SysfsNode* node = nullptr;
  const SysfsNode* parent = nullptr;  // kError ENOENT of the last component: its directory
  std::string path;
  int err = 0;
  bool touched = false;  // the walk entered an owned node or followed a link
};

class SysfsTree {
 public:
  SysfsTree();
  SysfsTree(const SysfsTree&) = delete;
  SysfsTree& operator=(const SysfsTree&) = delete;

  // ---- building (absolute, canonical paths; parents are created) ----
  // Declares an owned subtree rooted at `path` (a directory).
  SysfsNode* AddRoot(std::string_view path, dev_t dev);
  SysfsNode* AddDir(std::string_view path, uint32_t mode = 0755);
  SysfsNode* AddFile(std::string_view path, std::string content, uint32_t mode = 0444,
                     int64_t size = -1);
  SysfsNode* AddSymlink(std::string_view path, std::string target);
  SysfsNode* AddCharDev(std::string_view path, dev_t rdev, uint32_t mode);

  // ---- queries ----
  const SysfsNode* root() const { return root_.get(); }
  const std::vector<const SysfsNode*>& roots() const { return roots_; }
  // `path` must be absolute.
  Lookup Resolve(std::string_view path, bool follow_last) const;
  // `path` relative to `dir` (an owned directory), or absolute.
  Lookup ResolveAt(const SysfsNode* dir, std::string_view path, bool follow_last) const;
  // True when the path, normalized lexically, lies in an owned root (a cheap
  // pre-check; Resolve gives the exact answer).
  bool UnderRoot(std::string_view abs_path) const;

  // stat(2) as the kernel would fill it for `node` (times: the tree's birth).
  struct stat Stat(const SysfsNode& node) const;
  // The "/"-joined canonical path of `node` ("/" for the root).
  static const std::string& PathOf(const SysfsNode& node) { return node.path; }

 private:
  SysfsNode* Ensure(std::string_view path, NodeType type, bool* created);
  SysfsNode* Add(std::string_view path, NodeType type);
  Lookup Walk(const SysfsNode* start, std::string_view path, bool follow_last) const;

  std::unique_ptr<SysfsNode> root_;
  std::vector<const SysfsNode*> roots_;
  ino_t next_ino_ = 1000;
  struct timespec birth_{};
};

// Lexical normalization of an absolute path: collapses "//", "." and ".."
// without consulting any file system ("/a/b/../c/" -> "/a/c").
std::string NormalizeLexically(std::string_view abs_path);

}  // namespace vfiosim::api::preload

#endif  // VFIOSIM_API_PRELOAD_SYSFS_TREE_H_
