#include "api/trace/syscall_format.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "api/trace/ioctl_names.h"

namespace vfiosim::api::trace {
namespace {

void AppendEscaped(std::string* out, unsigned char c, unsigned char next) {
  switch (c) {
    case '\n': *out += "\\n"; return;
    case '\t': *out += "\\t"; return;
    case '\r': *out += "\\r"; return;
    case '"': *out += "\\\""; return;
    case '\\': *out += "\\\\"; return;
    default: break;
  }
  if (c >= 0x20 && c < 0x7f) {
    *out += static_cast<char>(c);
    return;
  }
  // Octal, padded to three digits when a digit follows (so it cannot be misread).
  char buf[8];
  if (next >= '0' && next <= '7') {
    std::snprintf(buf, sizeof(buf), "\\%03o", c);
  } else {
    std::snprintf(buf, sizeof(buf), "\\%o", c);
  }
  *out += buf;
}

}  // namespace

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? name : std::to_string(err);
}

std::string FormatReturn(long ret, int err) {
  if (ret >= 0) return "= " + std::to_string(ret);
  const char* desc = strerrordesc_np(err);
  std::string out = "= -1 " + ErrnoName(err);
  if (desc) out += std::string(" (") + desc + ")";
  return out;
}

std::string FormatPointerReturn(const void* ret, int err) {
  if (ret != nullptr) return "= " + Hex(reinterpret_cast<uintptr_t>(ret));
  const char* desc = strerrordesc_np(err);
  std::string out = "= NULL " + ErrnoName(err);
  if (desc) out += std::string(" (") + desc + ")";
  return out;
}

std::string QuoteString(const char* s, size_t max_shown) {
  if (s == nullptr) return "NULL";
  size_t len = strnlen(s, max_shown + 1);
  std::string out = "\"";
  size_t shown = len > max_shown ? max_shown : len;
  for (size_t i = 0; i < shown; ++i) {
    AppendEscaped(&out, static_cast<unsigned char>(s[i]),
                  i + 1 < shown ? static_cast<unsigned char>(s[i + 1]) : 0);
  }
  out += '"';
  if (len > max_shown) out += "...";
  return out;
}

std::string QuoteData(const void* data, size_t len, size_t max_shown) {
  if (data == nullptr) return "NULL";
  const auto* p = static_cast<const unsigned char*>(data);
  size_t shown = len > max_shown ? max_shown : len;
  std::string out = "\"";
  for (size_t i = 0; i < shown; ++i) AppendEscaped(&out, p[i], i + 1 < shown ? p[i + 1] : 0);
  out += '"';
  if (len > max_shown) out += "...";
  return out;
}

std::string OpenFlags(int flags) {
  std::string out;
  switch (flags & O_ACCMODE) {
    case O_RDONLY: out = "O_RDONLY"; break;
    case O_WRONLY: out = "O_WRONLY"; break;
    case O_RDWR: out = "O_RDWR"; break;
    default: out = "O_ACCMODE"; break;
  }
  static constexpr FlagName kBits[] = {
      {O_CREAT, "O_CREAT"},       {O_EXCL, "O_EXCL"},           {O_NOCTTY, "O_NOCTTY"},
      {O_TRUNC, "O_TRUNC"},       {O_APPEND, "O_APPEND"},       {O_NONBLOCK, "O_NONBLOCK"},
      {O_SYNC, "O_SYNC"},         {O_DSYNC, "O_DSYNC"},         {O_DIRECT, "O_DIRECT"},       {O_LARGEFILE, "O_LARGEFILE"},
      {O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"}, {O_NOATIME, "O_NOATIME"},
      {O_CLOEXEC, "O_CLOEXEC"},   {O_PATH, "O_PATH"},           {O_TMPFILE & ~O_DIRECTORY, "O_TMPFILE"},
      {0100000, "O_LARGEFILE"},  // the kernel's value; glibc's O_LARGEFILE is 0 on LP64
  };
  uint64_t rest = static_cast<unsigned>(flags) & ~static_cast<unsigned>(O_ACCMODE);
  if (rest != 0) out += "|" + FlagsToString(rest, kBits);
  return out;
}

std::string AccessMode(int mode) {
  if (mode == F_OK) return "F_OK";
  static constexpr FlagName kBits[] = {{R_OK, "R_OK"}, {W_OK, "W_OK"}, {X_OK, "X_OK"}};
  return FlagsToString(static_cast<unsigned>(mode), kBits);
}

std::string ProtFlags(int prot) {
  if (prot == PROT_NONE) return "PROT_NONE";
  static constexpr FlagName kBits[] = {{PROT_READ, "PROT_READ"}, {PROT_WRITE, "PROT_WRITE"},
                                       {PROT_EXEC, "PROT_EXEC"}};
  return FlagsToString(static_cast<unsigned>(prot), kBits);
}

std::string MmapFlags(int flags) {
  static constexpr FlagName kBits[] = {
      {MAP_SHARED_VALIDATE, "MAP_SHARED_VALIDATE"}, {MAP_SHARED, "MAP_SHARED"},
      {MAP_PRIVATE, "MAP_PRIVATE"},                 {MAP_FIXED, "MAP_FIXED"},
      {MAP_ANONYMOUS, "MAP_ANONYMOUS"},             {MAP_POPULATE, "MAP_POPULATE"},
      {MAP_NORESERVE, "MAP_NORESERVE"},             {MAP_LOCKED, "MAP_LOCKED"},
      {MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"},
  };
  return FlagsToString(static_cast<unsigned>(flags), kBits);
}

std::string FcntlCommand(int cmd) {
  switch (cmd) {
    case F_DUPFD: return "F_DUPFD";
    case F_DUPFD_CLOEXEC: return "F_DUPFD_CLOEXEC";
    case F_GETFD: return "F_GETFD";
    case F_SETFD: return "F_SETFD";
    case F_GETFL: return "F_GETFL";
    case F_SETFL: return "F_SETFL";
    default: return std::to_string(cmd);
  }
}

std::string DirFd(int dirfd) { return dirfd == AT_FDCWD ? "AT_FDCWD" : std::to_string(dirfd); }

std::string StatMode(uint32_t mode) {
  const char* type = "";
  switch (mode & S_IFMT) {
    case S_IFDIR: type = "S_IFDIR"; break;
    case S_IFREG: type = "S_IFREG"; break;
    case S_IFLNK: type = "S_IFLNK"; break;
    case S_IFCHR: type = "S_IFCHR"; break;
    case S_IFBLK: type = "S_IFBLK"; break;
    case S_IFIFO: type = "S_IFIFO"; break;
    case S_IFSOCK: type = "S_IFSOCK"; break;
    default: break;
  }
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%s%s%04o", type, *type ? "|" : "", mode & 07777);
  return buf;
}

std::string FormatCall(std::string_view name, std::initializer_list<std::string_view> args,
                       std::string_view ret) {
  std::string out(name);
  out += '(';
  bool first = true;
  for (std::string_view a : args) {
    if (!first) out += ", ";
    out += a;
    first = false;
  }
  out += ") ";
  out += ret;
  return out;
}

}  // namespace vfiosim::api::trace
