// VFIO_DEVICE_SET_IRQS: every DATA x ACTION cell of every index, from the
// relevant starting states (table-driven). Each row sets up a state with a
// "pre" eventfd, makes the call, and checks the errno, the resulting
// interrupt type, INTx masking, and which eventfds fired - optionally after
// a loopback trigger (DATA_NONE|ACTION_TRIGGER count 1) that shows which
// eventfd is registered now.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "api/device_file.h"
#include "tests/uapi/device_test_fixture.h"

namespace vfiosim::testing {
namespace {

using api::IrqType;

constexpr uint32_t kNone = VFIO_IRQ_SET_DATA_NONE;
constexpr uint32_t kBool = VFIO_IRQ_SET_DATA_BOOL;
constexpr uint32_t kEvfd = VFIO_IRQ_SET_DATA_EVENTFD;
constexpr uint32_t kMask = VFIO_IRQ_SET_ACTION_MASK;
constexpr uint32_t kUnmask = VFIO_IRQ_SET_ACTION_UNMASK;
constexpr uint32_t kTrigger = VFIO_IRQ_SET_ACTION_TRIGGER;
constexpr uint32_t kIntx = VFIO_PCI_INTX_IRQ_INDEX;
constexpr uint32_t kMsi = VFIO_PCI_MSI_IRQ_INDEX;
constexpr uint32_t kMsix = VFIO_PCI_MSIX_IRQ_INDEX;
constexpr uint32_t kErr = VFIO_PCI_ERR_IRQ_INDEX;
constexpr uint32_t kReq = VFIO_PCI_REQ_IRQ_INDEX;

enum class Dev { kEdu, kDma };
enum class Pre { kNone, kIntx, kIntxMasked, kMsi, kMsix, kErr, kReq };
enum class Data { kNoData, kTrue, kFalse, kEv, kEvPair, kMinus1, kMinus5, kClosedFd, kPipe };

struct Cell {
  const char* name;
  Dev dev;
  Pre pre;
  uint32_t index;
  uint32_t flags;
  uint32_t start;
  uint32_t count;
  Data data;
  int err;           // 0: success
  IrqType after;     // interrupt type after the call
  bool loopback;     // then DATA_NONE|TRIGGER start 0 count 1 on `index`
  int pre_signals;   // on the pre-existing eventfd (-1: not checked)
  int new_signals;   // on the call's eventfd (-1: not checked)
  int masked = -1;   // INTx masked afterwards (-1: not checked)
};

class SetIrqsMatrix : public DeviceTest, public ::testing::WithParamInterface<Cell> {
 protected:
  void SetUpState(int dev, Pre pre, int fd) {
    switch (pre) {
      case Pre::kNone: break;
      case Pre::kIntx: ASSERT_OK(SetEventfds(dev, kIntx, 0, {fd})); break;
      case Pre::kIntxMasked:
        ASSERT_OK(SetEventfds(dev, kIntx, 0, {fd}));
        ASSERT_OK(SetIrqs(dev, kNone | kMask, kIntx, 0, 1));
        break;
      case Pre::kMsi: ASSERT_OK(SetEventfds(dev, kMsi, 0, {fd})); break;
      case Pre::kMsix: ASSERT_OK(SetEventfds(dev, kMsix, 0, {fd})); break;
      case Pre::kErr: ASSERT_OK(SetEventfds(dev, kErr, 0, {fd})); break;
      case Pre::kReq: ASSERT_OK(SetEventfds(dev, kReq, 0, {fd})); break;
    }
  }
  std::vector<uint8_t> Payload(const Cell& c, int ev, int ev2, int pipe_fd) {
    auto fds = [&](int32_t fd) { return Fds(std::vector<int32_t>(c.count, fd)); };
    switch (c.data) {
      case Data::kNoData: return {};
      case Data::kTrue: return std::vector<uint8_t>(c.count, 1);
      case Data::kFalse: return std::vector<uint8_t>(c.count, 0);
      case Data::kEv: return fds(ev);
      case Data::kEvPair: return Fds({ev, ev2});
      case Data::kMinus1: return fds(-1);
      case Data::kMinus5: return fds(-5);
      case Data::kClosedFd: return fds(987654);
      case Data::kPipe: return fds(pipe_fd);
    }
    return {};
  }
};

TEST_P(SetIrqsMatrix, Cell) {
  const Cell& c = GetParam();
  const char* bdf = c.dev == Dev::kEdu ? kEduBdf : kDmaTestBdf;
  int dev = c.dev == Dev::kEdu ? OpenEdu() : OpenDmaTest();
  Eventfd pre, ev, ev2;
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  SetUpState(dev, c.pre, pre.fd());
  pre.Take();

  std::vector<uint8_t> payload = Payload(c, ev.fd(), ev2.fd(), pipe_fds[0]);
  if (c.err != 0) {
    EXPECT_ERRNO(SetIrqs(dev, c.flags, c.index, c.start, c.count, payload), c.err);
  } else {
    EXPECT_OK(SetIrqs(dev, c.flags, c.index, c.start, c.count, payload));
  }
  auto& file = static_cast<api::DeviceFile&>(*sim_.fds().Get(dev));
  EXPECT_EQ(file.state().irq_type(), c.after);
  if (c.masked >= 0) {
    EXPECT_EQ(sim_.machine().FindDevice(bdf)->irq->intx_masked(), c.masked == 1);
  }
  if (c.loopback) (void)SetIrqs(dev, kNone | kTrigger, c.index, 0, 1);
  if (c.pre_signals >= 0) {
    EXPECT_EQ(pre.Take(), static_cast<uint64_t>(c.pre_signals));
  }
  if (c.new_signals >= 0) {
    EXPECT_EQ(ev.Take(), static_cast<uint64_t>(c.new_signals));
  }
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

constexpr IrqType N = IrqType::kNone;
constexpr IrqType X = IrqType::kIntx;
constexpr IrqType M = IrqType::kMsi;
constexpr IrqType MX = IrqType::kMsix;

INSTANTIATE_TEST_SUITE_P(
    AllCells, SetIrqsMatrix,
    ::testing::Values(
        // ---- INTx (DMA test device) ----
        Cell{"intx_mask_none_inactive", Dev::kDma, Pre::kNone, kIntx, kNone | kMask, 0, 1, Data::kNoData, EINVAL, N, false, -1, -1},
        Cell{"intx_mask_none", Dev::kDma, Pre::kIntx, kIntx, kNone | kMask, 0, 1, Data::kNoData, 0, X, false, 0, -1, 1},
        Cell{"intx_mask_bool_true", Dev::kDma, Pre::kIntx, kIntx, kBool | kMask, 0, 1, Data::kTrue, 0, X, false, 0, -1, 1},
        Cell{"intx_mask_bool_false", Dev::kDma, Pre::kIntx, kIntx, kBool | kMask, 0, 1, Data::kFalse, 0, X, false, 0, -1, 0},
        Cell{"intx_mask_eventfd", Dev::kDma, Pre::kIntx, kIntx, kEvfd | kMask, 0, 1, Data::kEv, ENOTTY, X, false, 0, 0, 0},
        Cell{"intx_mask_eventfd_inactive", Dev::kDma, Pre::kNone, kIntx, kEvfd | kMask, 0, 1, Data::kEv, EINVAL, N, false, -1, 0},
        Cell{"intx_unmask_none_inactive", Dev::kDma, Pre::kNone, kIntx, kNone | kUnmask, 0, 1, Data::kNoData, EINVAL, N, false, -1, -1},
        Cell{"intx_unmask_none", Dev::kDma, Pre::kIntxMasked, kIntx, kNone | kUnmask, 0, 1, Data::kNoData, 0, X, false, 0, -1, 0},
        Cell{"intx_unmask_bool_true", Dev::kDma, Pre::kIntxMasked, kIntx, kBool | kUnmask, 0, 1, Data::kTrue, 0, X, false, 0, -1, 0},
        Cell{"intx_unmask_bool_false", Dev::kDma, Pre::kIntxMasked, kIntx, kBool | kUnmask, 0, 1, Data::kFalse, 0, X, false, 0, -1, 1},
        Cell{"intx_unmask_eventfd", Dev::kDma, Pre::kIntx, kIntx, kEvfd | kUnmask, 0, 1, Data::kEv, 0, X, false, 0, 0},
        Cell{"intx_unmask_eventfd_minus1", Dev::kDma, Pre::kIntx, kIntx, kEvfd | kUnmask, 0, 1, Data::kMinus1, 0, X, false, 0, -1},
        Cell{"intx_unmask_eventfd_closed_fd", Dev::kDma, Pre::kIntx, kIntx, kEvfd | kUnmask, 0, 1, Data::kClosedFd, EBADF, X, false, 0, -1},
        Cell{"intx_unmask_eventfd_not_eventfd", Dev::kDma, Pre::kIntx, kIntx, kEvfd | kUnmask, 0, 1, Data::kPipe, EINVAL, X, false, 0, -1},
        Cell{"intx_trigger_none_inactive", Dev::kDma, Pre::kNone, kIntx, kNone | kTrigger, 0, 1, Data::kNoData, EINVAL, N, false, -1, -1},
        Cell{"intx_trigger_none", Dev::kDma, Pre::kIntx, kIntx, kNone | kTrigger, 0, 1, Data::kNoData, 0, X, false, 1, -1},
        Cell{"intx_trigger_none_count0_disables", Dev::kDma, Pre::kIntx, kIntx, kNone | kTrigger, 0, 0, Data::kNoData, 0, N, true, 0, -1},
        Cell{"intx_trigger_none_count0_inactive", Dev::kDma, Pre::kNone, kIntx, kNone | kTrigger, 0, 0, Data::kNoData, EINVAL, N, false, -1, -1},
        Cell{"intx_trigger_bool_true", Dev::kDma, Pre::kIntx, kIntx, kBool | kTrigger, 0, 1, Data::kTrue, 0, X, false, 1, -1},
        Cell{"intx_trigger_bool_false", Dev::kDma, Pre::kIntx, kIntx, kBool | kTrigger, 0, 1, Data::kFalse, 0, X, false, 0, -1},
        Cell{"intx_trigger_bool_inactive", Dev::kDma, Pre::kNone, kIntx, kBool | kTrigger, 0, 1, Data::kTrue, EINVAL, N, false, -1, -1},
        Cell{"intx_trigger_eventfd_enables", Dev::kDma, Pre::kNone, kIntx, kEvfd | kTrigger, 0, 1, Data::kEv, 0, X, true, -1, 1, 0},
        Cell{"intx_trigger_eventfd_replaces", Dev::kDma, Pre::kIntx, kIntx, kEvfd | kTrigger, 0, 1, Data::kEv, 0, X, true, 0, 1},
        Cell{"intx_trigger_eventfd_minus1", Dev::kDma, Pre::kIntx, kIntx, kEvfd | kTrigger, 0, 1, Data::kMinus1, 0, X, true, 0, -1},
        Cell{"intx_trigger_eventfd_closed_fd", Dev::kDma, Pre::kNone, kIntx, kEvfd | kTrigger, 0, 1, Data::kClosedFd, EBADF, N, false, -1, -1},
        Cell{"intx_trigger_eventfd_not_eventfd", Dev::kDma, Pre::kNone, kIntx, kEvfd | kTrigger, 0, 1, Data::kPipe, EINVAL, N, false, -1, -1},
        Cell{"intx_trigger_eventfd_bad_keeps_old", Dev::kDma, Pre::kIntx, kIntx, kEvfd | kTrigger, 0, 1, Data::kClosedFd, EBADF, X, true, 1, -1},
        Cell{"intx_trigger_while_msix", Dev::kDma, Pre::kMsix, kIntx, kEvfd | kTrigger, 0, 1, Data::kEv, EINVAL, MX, false, 0, 0},
        Cell{"intx_trigger_count2", Dev::kDma, Pre::kNone, kIntx, kEvfd | kTrigger, 0, 2, Data::kEv, EINVAL, N, false, -1, -1},
        Cell{"intx_two_actions", Dev::kDma, Pre::kIntx, kIntx, kNone | kTrigger | kMask, 0, 1, Data::kNoData, ENOTTY, X, false, 0, -1, 0},
        // ---- MSI (edu) ----
        Cell{"msi_mask_none", Dev::kEdu, Pre::kMsi, kMsi, kNone | kMask, 0, 1, Data::kNoData, ENOTTY, M, false, 0, -1},
        Cell{"msi_mask_bool", Dev::kEdu, Pre::kMsi, kMsi, kBool | kMask, 0, 1, Data::kTrue, ENOTTY, M, false, 0, -1},
        Cell{"msi_mask_eventfd", Dev::kEdu, Pre::kNone, kMsi, kEvfd | kMask, 0, 1, Data::kEv, ENOTTY, N, false, -1, 0},
        Cell{"msi_unmask_none", Dev::kEdu, Pre::kMsi, kMsi, kNone | kUnmask, 0, 1, Data::kNoData, ENOTTY, M, false, 0, -1},
        Cell{"msi_unmask_bool", Dev::kEdu, Pre::kMsi, kMsi, kBool | kUnmask, 0, 1, Data::kTrue, ENOTTY, M, false, 0, -1},
        Cell{"msi_unmask_eventfd", Dev::kEdu, Pre::kNone, kMsi, kEvfd | kUnmask, 0, 1, Data::kEv, ENOTTY, N, false, -1, 0},
        Cell{"msi_no_action", Dev::kEdu, Pre::kNone, kMsi, kNone, 0, 1, Data::kNoData, ENOTTY, N, false, -1, -1},
        Cell{"msi_trigger_none_count0_inactive", Dev::kEdu, Pre::kNone, kMsi, kNone | kTrigger, 0, 0, Data::kNoData, EINVAL, N, false, -1, -1},
        Cell{"msi_trigger_none_count0_disables", Dev::kEdu, Pre::kMsi, kMsi, kNone | kTrigger, 0, 0, Data::kNoData, 0, N, true, 0, -1},
        Cell{"msi_trigger_none", Dev::kEdu, Pre::kMsi, kMsi, kNone | kTrigger, 0, 1, Data::kNoData, 0, M, false, 1, -1},
        Cell{"msi_trigger_bool_true", Dev::kEdu, Pre::kMsi, kMsi, kBool | kTrigger, 0, 1, Data::kTrue, 0, M, false, 1, -1},
        Cell{"msi_trigger_bool_false", Dev::kEdu, Pre::kMsi, kMsi, kBool | kTrigger, 0, 1, Data::kFalse, 0, M, false, 0, -1},
        Cell{"msi_trigger_bool_inactive", Dev::kEdu, Pre::kNone, kMsi, kBool | kTrigger, 0, 1, Data::kTrue, EINVAL, N, false, -1, -1},
        Cell{"msi_trigger_eventfd_enables", Dev::kEdu, Pre::kNone, kMsi, kEvfd | kTrigger, 0, 1, Data::kEv, 0, M, true, -1, 1},
        Cell{"msi_trigger_eventfd_count0", Dev::kEdu, Pre::kNone, kMsi, kEvfd | kTrigger, 0, 0, Data::kNoData, ERANGE, N, false, -1, -1},
        Cell{"msi_trigger_eventfd_replaces", Dev::kEdu, Pre::kMsi, kMsi, kEvfd | kTrigger, 0, 1, Data::kEv, 0, M, true, 0, 1},
        Cell{"msi_trigger_eventfd_minus1_clears", Dev::kEdu, Pre::kMsi, kMsi, kEvfd | kTrigger, 0, 1, Data::kMinus1, 0, M, true, 0, -1},
        Cell{"msi_trigger_eventfd_closed_fd", Dev::kEdu, Pre::kMsi, kMsi, kEvfd | kTrigger, 0, 1, Data::kClosedFd, EBADF, M, true, 1, -1},
        Cell{"msi_trigger_eventfd_not_eventfd", Dev::kEdu, Pre::kNone, kMsi, kEvfd | kTrigger, 0, 1, Data::kPipe, EINVAL, N, false, -1, -1},
        Cell{"msi_trigger_while_intx", Dev::kEdu, Pre::kIntx, kMsi, kEvfd | kTrigger, 0, 1, Data::kEv, EINVAL, X, false, 0, 0},
        // ---- MSI-X (DMA test device, 4 vectors) ----
        Cell{"msix_mask_none", Dev::kDma, Pre::kMsix, kMsix, kNone | kMask, 0, 1, Data::kNoData, ENOTTY, MX, false, 0, -1},
        Cell{"msix_unmask_bool", Dev::kDma, Pre::kMsix, kMsix, kBool | kUnmask, 0, 1, Data::kTrue, ENOTTY, MX, false, 0, -1},
        Cell{"msix_unmask_eventfd", Dev::kDma, Pre::kNone, kMsix, kEvfd | kUnmask, 0, 1, Data::kEv, ENOTTY, N, false, -1, 0},
        Cell{"msix_trigger_eventfd_two", Dev::kDma, Pre::kNone, kMsix, kEvfd | kTrigger, 0, 2, Data::kEvPair, 0, MX, true, -1, 1},
        Cell{"msix_trigger_eventfd_closed_fd", Dev::kDma, Pre::kNone, kMsix, kEvfd | kTrigger, 0, 1, Data::kClosedFd, EBADF, N, false, -1, -1},
        Cell{"msix_noresize", Dev::kDma, Pre::kMsix, kMsix, kEvfd | kTrigger, 1, 1, Data::kEv, EINVAL, MX, true, 1, 0},
        Cell{"msix_trigger_none", Dev::kDma, Pre::kMsix, kMsix, kNone | kTrigger, 0, 1, Data::kNoData, 0, MX, false, 1, -1},
        Cell{"msix_trigger_bool", Dev::kDma, Pre::kMsix, kMsix, kBool | kTrigger, 0, 1, Data::kTrue, 0, MX, false, 1, -1},
        Cell{"msix_trigger_none_count0_disables", Dev::kDma, Pre::kMsix, kMsix, kNone | kTrigger, 0, 0, Data::kNoData, 0, N, true, 0, -1},
        Cell{"msix_trigger_while_intx", Dev::kDma, Pre::kIntx, kMsix, kEvfd | kTrigger, 0, 1, Data::kEv, EINVAL, X, false, 0, 0},
        Cell{"msix_start_at_table_size", Dev::kDma, Pre::kNone, kMsix, kEvfd | kTrigger, 4, 1, Data::kEv, EINVAL, N, false, -1, 0},
        Cell{"msi_on_msix_only_device", Dev::kDma, Pre::kNone, kMsi, kEvfd | kTrigger, 0, 1, Data::kEv, EINVAL, N, false, -1, 0},
        // ---- ERR (DMA test device: PCIe) ----
        Cell{"err_trigger_none_without_eventfd", Dev::kDma, Pre::kNone, kErr, kNone | kTrigger, 0, 1, Data::kNoData, EINVAL, N, false, -1, -1},
        Cell{"err_trigger_none", Dev::kDma, Pre::kErr, kErr, kNone | kTrigger, 0, 1, Data::kNoData, 0, N, false, 1, -1},
        Cell{"err_trigger_none_count0_clears", Dev::kDma, Pre::kErr, kErr, kNone | kTrigger, 0, 0, Data::kNoData, 0, N, true, 0, -1},
        Cell{"err_trigger_bool_true", Dev::kDma, Pre::kErr, kErr, kBool | kTrigger, 0, 1, Data::kTrue, 0, N, false, 1, -1},
        Cell{"err_trigger_bool_count0", Dev::kDma, Pre::kErr, kErr, kBool | kTrigger, 0, 0, Data::kNoData, EINVAL, N, false, 0, -1},
        Cell{"err_trigger_eventfd", Dev::kDma, Pre::kNone, kErr, kEvfd | kTrigger, 0, 1, Data::kEv, 0, N, true, -1, 1},
        Cell{"err_trigger_eventfd_count0", Dev::kDma, Pre::kErr, kErr, kEvfd | kTrigger, 0, 0, Data::kNoData, EINVAL, N, true, 1, -1},
        Cell{"err_trigger_eventfd_minus1_clears", Dev::kDma, Pre::kErr, kErr, kEvfd | kTrigger, 0, 1, Data::kMinus1, 0, N, true, 0, -1},
        Cell{"err_trigger_eventfd_minus5_ignored", Dev::kDma, Pre::kErr, kErr, kEvfd | kTrigger, 0, 1, Data::kMinus5, 0, N, true, 1, -1},
        Cell{"err_trigger_eventfd_not_eventfd", Dev::kDma, Pre::kErr, kErr, kEvfd | kTrigger, 0, 1, Data::kPipe, EINVAL, N, true, 1, -1},
        Cell{"err_mask", Dev::kDma, Pre::kErr, kErr, kNone | kMask, 0, 1, Data::kNoData, ENOTTY, N, false, 0, -1},
        Cell{"err_unmask", Dev::kDma, Pre::kErr, kErr, kBool | kUnmask, 0, 1, Data::kTrue, ENOTTY, N, false, 0, -1},
        Cell{"err_on_conventional_pci", Dev::kEdu, Pre::kNone, kErr, kEvfd | kTrigger, 0, 1, Data::kEv, EINVAL, N, false, -1, 0},
        // ---- REQ (edu) ----
        Cell{"req_trigger_eventfd", Dev::kEdu, Pre::kNone, kReq, kEvfd | kTrigger, 0, 1, Data::kEv, 0, N, true, -1, 1},
        Cell{"req_trigger_none", Dev::kEdu, Pre::kReq, kReq, kNone | kTrigger, 0, 1, Data::kNoData, 0, N, false, 1, -1},
        Cell{"req_trigger_bool_false", Dev::kEdu, Pre::kReq, kReq, kBool | kTrigger, 0, 1, Data::kFalse, 0, N, false, 0, -1},
        Cell{"req_trigger_eventfd_replaces", Dev::kEdu, Pre::kReq, kReq, kEvfd | kTrigger, 0, 1, Data::kEv, 0, N, true, 0, 1},
        Cell{"req_mask", Dev::kEdu, Pre::kReq, kReq, kNone | kMask, 0, 1, Data::kNoData, ENOTTY, N, false, 0, -1},
        Cell{"req_unmask_eventfd", Dev::kEdu, Pre::kReq, kReq, kEvfd | kUnmask, 0, 1, Data::kEv, ENOTTY, N, false, 0, 0},
        Cell{"req_start1", Dev::kEdu, Pre::kReq, kReq, kNone | kTrigger, 1, 0, Data::kNoData, EINVAL, N, false, 0, -1}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace vfiosim::testing
