// strace-style pieces of a trace line: return values with errno names,
// quoted strings and data, and the flag words of open/mmap/fcntl.
//
//   FormatReturn(-1, EEXIST)            -> "= -1 EEXIST (File exists)"
//   QuoteData("0x1234\n", 7)            -> "\"0x1234\\n\""
//   OpenFlags(O_RDWR | O_CLOEXEC)       -> "O_RDWR|O_CLOEXEC"
//
// Thread safety: pure functions (strerrordesc_np needs no locale state).
#ifndef VFIOSIM_API_TRACE_SYSCALL_FORMAT_H_
#define VFIOSIM_API_TRACE_SYSCALL_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace vfiosim::api::trace {

// "EEXIST"; an unknown number as its decimal value.
std::string ErrnoName(int err);
// "= 0", "= 5", or "= -1 EEXIST (File exists)" (ret < 0 means failure with `err`).
std::string FormatReturn(long ret, int err);
// Like FormatReturn for calls returning a pointer: "= 0x5555..." or "= NULL" (+ errno).
std::string FormatPointerReturn(const void* ret, int err);

// A C string as strace prints it: quoted, with \n, \t, \", \\ and \ooo escapes;
// NULL for a null pointer. Longer than `max_shown` bytes -> truncated with "...".
std::string QuoteString(const char* s, size_t max_shown = 256);
// `len` bytes of data, quoted and escaped like QuoteString; at most `max_shown`.
std::string QuoteData(const void* data, size_t len, size_t max_shown = 32);

std::string OpenFlags(int flags);     // "O_RDONLY|O_CLOEXEC"
std::string AccessMode(int mode);     // "F_OK", "R_OK|W_OK"
std::string ProtFlags(int prot);      // "PROT_READ|PROT_WRITE", "PROT_NONE"
std::string MmapFlags(int flags);     // "MAP_SHARED|MAP_FIXED"
std::string FcntlCommand(int cmd);    // "F_DUPFD_CLOEXEC", else decimal
std::string DirFd(int dirfd);         // "AT_FDCWD" or the number
std::string StatMode(uint32_t mode);  // "S_IFCHR|0600"

// "name(a, b, c) = ret" from already formatted pieces.
std::string FormatCall(std::string_view name, std::initializer_list<std::string_view> args,
                       std::string_view ret);

}  // namespace vfiosim::api::trace

#endif  // VFIOSIM_API_TRACE_SYSCALL_FORMAT_H_
