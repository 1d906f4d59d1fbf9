#include "api/trace/syscall_format.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace vfiosim::api::trace {
namespace {

TEST(SyscallFormatTest, Returns) {
  EXPECT_EQ(FormatReturn(0, 0), "= 0");
  EXPECT_EQ(FormatReturn(7, 0), "= 7");
  EXPECT_EQ(FormatReturn(-1, EEXIST), "= -1 EEXIST (File exists)");
  EXPECT_EQ(FormatReturn(-1, ENOENT), "= -1 ENOENT (No such file or directory)");
  EXPECT_EQ(FormatReturn(-1, 4242), "= -1 4242");
  EXPECT_EQ(FormatPointerReturn(nullptr, ENOTDIR), "= NULL ENOTDIR (Not a directory)");
  EXPECT_EQ(FormatPointerReturn(reinterpret_cast<void*>(0x1000), 0), "= 0x1000");
  EXPECT_EQ(ErrnoName(EBADF), "EBADF");
}

struct QuoteCase {
  std::string in;
  size_t max;
  std::string want;
};

TEST(SyscallFormatTest, QuotesLikeStrace) {
  const QuoteCase cases[] = {
      {"0x1234\n", 32, "\"0x1234\\n\""},
      {"a\"b\\c\td", 32, "\"a\\\"b\\\\c\\td\""},
      {std::string("\x01" "7", 2), 32, "\"\\0017\""},  // octal padded before a digit
      {std::string("\x01" "x", 2), 32, "\"\\1x\""},
      {"abcdef", 3, "\"abc\"..."},
      {std::string("\0\0", 2), 32, "\"\\0\\0\""},
  };
  for (const QuoteCase& c : cases) {
    EXPECT_EQ(QuoteData(c.in.data(), c.in.size(), c.max), c.want) << c.in;
  }
  EXPECT_EQ(QuoteString("/dev/vfio/1"), "\"/dev/vfio/1\"");
  EXPECT_EQ(QuoteString("abcdef", 4), "\"abcd\"...");
  EXPECT_EQ(QuoteString(nullptr), "NULL");
  EXPECT_EQ(QuoteData(nullptr, 3), "NULL");
}

TEST(SyscallFormatTest, FlagWords) {
  EXPECT_EQ(OpenFlags(O_RDONLY), "O_RDONLY");
  EXPECT_EQ(OpenFlags(O_RDWR | O_CLOEXEC), "O_RDWR|O_CLOEXEC");
  EXPECT_EQ(OpenFlags(O_RDONLY | O_DIRECTORY | O_NOFOLLOW), "O_RDONLY|O_DIRECTORY|O_NOFOLLOW");
  EXPECT_EQ(OpenFlags(O_WRONLY | O_SYNC), "O_WRONLY|O_SYNC");
  EXPECT_EQ(OpenFlags(O_RDONLY | 0100000), "O_RDONLY|O_LARGEFILE");
  EXPECT_EQ(AccessMode(F_OK), "F_OK");
  EXPECT_EQ(AccessMode(R_OK | W_OK), "R_OK|W_OK");
  EXPECT_EQ(ProtFlags(PROT_NONE), "PROT_NONE");
  EXPECT_EQ(ProtFlags(PROT_READ | PROT_WRITE), "PROT_READ|PROT_WRITE");
  EXPECT_EQ(MmapFlags(MAP_SHARED), "MAP_SHARED");
  EXPECT_EQ(MmapFlags(MAP_PRIVATE | MAP_ANONYMOUS), "MAP_PRIVATE|MAP_ANONYMOUS");
  EXPECT_EQ(MmapFlags(MAP_SHARED_VALIDATE), "MAP_SHARED_VALIDATE");
  EXPECT_EQ(FcntlCommand(F_DUPFD_CLOEXEC), "F_DUPFD_CLOEXEC");
  EXPECT_EQ(FcntlCommand(9999), "9999");
  EXPECT_EQ(DirFd(AT_FDCWD), "AT_FDCWD");
  EXPECT_EQ(DirFd(7), "7");
  EXPECT_EQ(StatMode(S_IFCHR | 0600), "S_IFCHR|0600");
  EXPECT_EQ(StatMode(S_IFDIR | 0755), "S_IFDIR|0755");
  EXPECT_EQ(StatMode(0600), "0600");
}

TEST(SyscallFormatTest, Calls) {
  EXPECT_EQ(FormatCall("open", {"\"/dev/vfio/vfio\"", "O_RDWR"}, "= 3"), "open(\"/dev/vfio/vfio\", O_RDWR) = 3");
  EXPECT_EQ(FormatCall("close", {"3"}, "= 0"), "close(3) = 0");
}

}  // namespace
}  // namespace vfiosim::api::trace
