// The referee: run the probe against vfio-sim on a machine configured like
// the reference VM and compare, line by line, with what Linux 6.1 answered
// (testdata/, copied from ../shared/spec/kernel-transcripts). Both VT-d
// address widths (39 and 48 bits).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "api/vfio_sim.h"
#include "tests/kernel/probe.h"
#include "tests/kernel/transcript_compare.h"

namespace vfiosim::testing {
namespace {

struct SimSys {
  api::VfioSim* sim;
  static int Open(void* ctx, const char* path, int flags) {
    return static_cast<SimSys*>(ctx)->sim->Open(path, flags);
  }
  static int Close(void* ctx, int fd) {
    auto* self = static_cast<SimSys*>(ctx);
    return self->sim->Owns(fd) ? self->sim->Close(fd) : ::close(fd);
  }
  static int Ioctl(void* ctx, int fd, unsigned long request, uintptr_t arg) {
    return static_cast<SimSys*>(ctx)->sim->Ioctl(fd, request, arg);
  }
  static ssize_t Pread(void* ctx, int fd, void* buf, size_t count, off_t offset) {
    return static_cast<SimSys*>(ctx)->sim->Pread(fd, buf, count, offset);
  }
  static ssize_t Pwrite(void* ctx, int fd, const void* buf, size_t count, off_t offset) {
    return static_cast<SimSys*>(ctx)->sim->Pwrite(fd, buf, count, offset);
  }
  static void* Mmap(void* ctx, void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
    return static_cast<SimSys*>(ctx)->sim->Mmap(addr, len, prot, flags, fd, offset);
  }
  static int Munmap(void* ctx, void* addr, size_t len) {
    return static_cast<SimSys*>(ctx)->sim->Munmap(addr, len);
  }
  static int DropCap(void*) { return 0; }  // the limit below applies as if CAP_IPC_LOCK were gone
  static int SetMemlock(void* ctx, uint64_t bytes) {
    static_cast<SimSys*>(ctx)->sim->kernel().SetMemlockLimit(bytes);
    return 0;
  }
};

std::string RunProbe(int address_width) {
  api::VfioSimOptions options;
  options.machine.address_width = address_width;
  api::VfioSim sim(options);
  SimSys ctx{&sim};
  probe_sys sys{&ctx,           SimSys::Open,   SimSys::Close,  SimSys::Ioctl, SimSys::DropCap,
                SimSys::SetMemlock, SimSys::Pread, SimSys::Pwrite, SimSys::Mmap,  SimSys::Munmap};
  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  EXPECT_EQ(probe_run(&sys, out, "/dev/vfio/1", "0000:00:01.0"), 0);
  std::fclose(out);
  std::string result(text, size);
  std::free(text);
  return result;
}

class TranscriptReplayTest : public ::testing::TestWithParam<std::pair<int, const char*>> {};

TEST_P(TranscriptReplayTest, MatchesLinux61CallByCall) {
  const auto [width, file] = GetParam();
  std::ifstream transcript(std::string("tests/kernel/testdata/") + file);
  ASSERT_TRUE(transcript.good()) << file;
  std::stringstream text;
  text << transcript.rdbuf();
  std::vector<std::string> want = CallLines(text.str());
  ASSERT_GT(want.size(), 250u);
  ExpectSameCalls(want, CallLines(RunProbe(width)));
}

INSTANTIATE_TEST_SUITE_P(
    VtdWidths, TranscriptReplayTest,
    ::testing::Values(std::make_pair(39, "probe-linux-6.1.0-56-cloud-amd64.txt"),
                      std::make_pair(48, "probe-linux-6.1.0-56-cloud-amd64-aw48.txt")),
    [](const auto& info) { return "aw" + std::to_string(info.param.first); });

}  // namespace
}  // namespace vfiosim::testing
