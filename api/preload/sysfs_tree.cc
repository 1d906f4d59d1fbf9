#include "api/preload/sysfs_tree.h"

#include <sys/sysmacros.h>

#include <cerrno>
#include <ctime>
#include <deque>

namespace vfiosim::api::preload {
namespace {

// The kernel's MAXSYMLINKS.
constexpr int kMaxSymlinks = 40;

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string Join(const std::string& dir, std::string_view name) {
  if (dir == "/") return "/" + std::string(name);
  return dir + "/" + std::string(name);
}

}  // namespace

std::string NormalizeLexically(std::string_view abs_path) {
  std::vector<std::string_view> parts;
  for (std::string_view c : Split(abs_path)) {
    if (c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  std::string out;
  for (std::string_view c : parts) {
    out += '/';
    out += c;
  }
  return out.empty() ? "/" : out;
}

SysfsTree::SysfsTree() : root_(std::make_unique<SysfsNode>()) {
  root_->path = "/";
  root_->ino = 2;
  clock_gettime(CLOCK_REALTIME, &birth_);
}

SysfsNode* SysfsTree::Ensure(std::string_view path, NodeType type, bool* created) {
  SysfsNode* cur = root_.get();
  std::vector<std::string_view> parts = Split(path);
  *created = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto it = cur->children.find(parts[i]);
    if (it == cur->children.end()) {
      auto node = std::make_unique<SysfsNode>();
      node->name = std::string(parts[i]);
      node->path = Join(cur->path, parts[i]);
      node->parent = cur;
      node->owned = cur->owned;
      node->dev = cur->dev;
      node->ino = next_ino_++;
      node->type = i + 1 == parts.size() ? type : NodeType::kDir;
      if (i + 1 == parts.size()) *created = true;
      it = cur->children.emplace(node->name, std::move(node)).first;
    }
    cur = it->second.get();
  }
  return cur;
}

SysfsNode* SysfsTree::Add(std::string_view path, NodeType type) {
  bool created = false;
  SysfsNode* node = Ensure(path, type, &created);
  node->type = type;
  return node;
}

SysfsNode* SysfsTree::AddRoot(std::string_view path, dev_t dev) {
  SysfsNode* node = Add(path, NodeType::kDir);
  node->owned = true;
  node->dev = dev;
  node->mode = 0755;
  roots_.push_back(node);
  return node;
}

SysfsNode* SysfsTree::AddDir(std::string_view path, uint32_t mode) {
  SysfsNode* node = Add(path, NodeType::kDir);
  node->mode = mode;
  return node;
}

SysfsNode* SysfsTree::AddFile(std::string_view path, std::string content, uint32_t mode, int64_t size) {
  SysfsNode* node = Add(path, NodeType::kFile);
  node->content = std::move(content);
  node->mode = mode;
  node->size = size;
  return node;
}

SysfsNode* SysfsTree::AddSymlink(std::string_view path, std::string target) {
  SysfsNode* node = Add(path, NodeType::kSymlink);
  node->target = std::move(target);
  node->mode = 0777;
  node->size = 0;  // kernfs symlinks report 0
  return node;
}

SysfsNode* SysfsTree::AddCharDev(std::string_view path, dev_t rdev, uint32_t mode) {
  SysfsNode* node = Add(path, NodeType::kCharDev);
  node->rdev = rdev;
  node->mode = mode;
  node->size = 0;
  return node;
}

bool SysfsTree::UnderRoot(std::string_view abs_path) const {
  std::string norm = NormalizeLexically(abs_path);
  for (const SysfsNode* r : roots_) {
    if (norm == r->path || (norm.size() > r->path.size() && norm.compare(0, r->path.size(), r->path) == 0 &&
                            norm[r->path.size()] == '/')) {
      return true;
    }
  }
  return false;
}

Lookup SysfsTree::Resolve(std::string_view path, bool follow_last) const {
  return Walk(root_.get(), path, follow_last);
}

Lookup SysfsTree::ResolveAt(const SysfsNode* dir, std::string_view path, bool follow_last) const {
  if (!path.empty() && path[0] == '/') return Walk(root_.get(), path, follow_last);
  return Walk(dir, path, follow_last);
}

Lookup SysfsTree::Walk(const SysfsNode* start, std::string_view path, bool follow_last) const {
  Lookup out;
  const bool trailing_slash = !path.empty() && path.back() == '/';
  std::deque<std::string> pending;
  for (std::string_view c : Split(path)) pending.emplace_back(c);
  const SysfsNode* cur = start;
  out.touched = start->owned;
  int links = 0;
  while (!pending.empty()) {
    std::string comp = std::move(pending.front());
    pending.pop_front();
    if (comp == ".") continue;
    if (comp == "..") {
      if (cur->parent) cur = cur->parent;
      continue;
    }
    if (cur->type != NodeType::kDir) {
      out.kind = Lookup::Kind::kError;
      out.err = ENOTDIR;
      return out;
    }
    auto it = cur->children.find(comp);
    if (it == cur->children.end()) {
      if (!cur->owned) {
        // Leaves the tree through a host directory: the host decides.
        out.kind = Lookup::Kind::kHost;
        out.path = Join(cur->path, comp);
        for (const std::string& rest : pending) out.path = Join(out.path, rest);
        if (trailing_slash) out.path += '/';
        return out;
      }
      out.kind = Lookup::Kind::kError;
      out.err = ENOENT;
      if (pending.empty()) {
        out.parent = cur;
        out.path = Join(cur->path, comp);
      }
      return out;
    }
    const SysfsNode* child = it->second.get();
    out.touched |= child->owned;
    const bool last = pending.empty();
    if (child->type == NodeType::kSymlink && (!last || follow_last || trailing_slash)) {
      if (++links > kMaxSymlinks) {
        out.kind = Lookup::Kind::kError;
        out.err = ELOOP;
        return out;
      }
      out.touched = true;
      std::vector<std::string_view> parts = Split(child->target);
      for (auto p = parts.rbegin(); p != parts.rend(); ++p) pending.emplace_front(*p);
      if (!child->target.empty() && child->target[0] == '/') cur = root_.get();
      continue;  // relative targets resolve from the link's directory, `cur`
    }
    cur = child;
  }
  if (trailing_slash && cur->type != NodeType::kDir) {
    out.kind = Lookup::Kind::kError;
    out.err = ENOTDIR;
    return out;
  }
  out.path = cur->path;
  out.kind = cur->owned ? Lookup::Kind::kNode : Lookup::Kind::kHost;
  if (out.kind == Lookup::Kind::kNode) out.node = cur;
  return out;
}

struct stat SysfsTree::Stat(const SysfsNode& node) const {
  struct stat st {};
  st.st_dev = node.dev;
  st.st_ino = node.ino;
  switch (node.type) {
    case NodeType::kDir: st.st_mode = S_IFDIR; break;
    case NodeType::kFile: st.st_mode = S_IFREG; break;
    case NodeType::kSymlink: st.st_mode = S_IFLNK; break;
    case NodeType::kCharDev: st.st_mode = S_IFCHR; break;
  }
  st.st_mode |= node.mode;
  st.st_nlink = node.type == NodeType::kDir ? 2 : 1;
  st.st_rdev = node.rdev;
  st.st_size = node.size >= 0 ? node.size : static_cast<off_t>(node.content.size());
  st.st_blksize = 4096;
  st.st_blocks = 0;
  st.st_atim = st.st_mtim = st.st_ctim = birth_;
  return st;
}

}  // namespace vfiosim::api::preload
