#include "sim/eventfd_irq_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include "core/fault_injection.h"

namespace vfiosim::sim {
namespace {
int Index(IrqKind kind) { return static_cast<int>(kind); }
}  // namespace

EventfdIrqSink::~EventfdIrqSink() {
  for (auto& [key, fd] : fds_) close(fd);
}

void EventfdIrqSink::SignalLocked(IrqKind kind, uint32_t vector) {
  ++signals_[Index(kind)];
  auto it = fds_.find({Index(kind), vector});
  if (it == fds_.end()) return;
  uint64_t one = 1;
  if (core::ShouldFail(core::FailSite::kEventfdSignal)) return;
  (void)!write(it->second, &one, sizeof(one));
}

void EventfdIrqSink::SetIntx(bool asserted) {
  std::lock_guard<std::mutex> lock(mu_);
  intx_asserted_ = asserted;
  if (!asserted || active_ != IrqKind::kIntx || intx_masked_) return;
  intx_masked_ = true;  // automask: the client unmasks after servicing
  SignalLocked(IrqKind::kIntx, 0);
}

void EventfdIrqSink::SignalMsi(uint32_t vector) {
  std::lock_guard<std::mutex> lock(mu_);
  if (active_ != IrqKind::kMsi && active_ != IrqKind::kMsix) return;
  if (vector >= vectors_) return;
  SignalLocked(*active_, vector);
}

std::optional<IrqKind> EventfdIrqSink::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_;
}

void EventfdIrqSink::Enable(IrqKind kind, uint32_t count) {
  std::lock_guard<std::mutex> lock(mu_);
  active_ = kind;
  vectors_ = count;
  if (kind == IrqKind::kIntx) intx_masked_ = false;
}

void EventfdIrqSink::Disable(IrqKind kind) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = fds_.begin(); it != fds_.end();) {
    if (it->first.first == Index(kind)) {
      close(it->second);
      it = fds_.erase(it);
    } else {
      ++it;
    }
  }
  if (active_ == kind) {
    active_.reset();
    vectors_ = 0;
  }
}

core::Status EventfdIrqSink::SetTrigger(IrqKind kind, uint32_t vector, int fd) {
  int owned = -1;
  if (fd >= 0) {
    owned = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (owned < 0) return core::Error(EBADF);
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto key = std::make_pair(Index(kind), vector);
  if (auto it = fds_.find(key); it != fds_.end()) {
    close(it->second);
    fds_.erase(it);
  }
  if (owned >= 0) fds_[key] = owned;
  return core::Status::Ok();
}

bool EventfdIrqSink::HasTrigger(IrqKind kind, uint32_t vector) const {
  std::lock_guard<std::mutex> lock(mu_);
  return fds_.count({Index(kind), vector}) != 0;
}

void EventfdIrqSink::Trigger(IrqKind kind, uint32_t vector) {
  std::lock_guard<std::mutex> lock(mu_);
  SignalLocked(kind, vector);
}

void EventfdIrqSink::MaskIntx() {
  std::lock_guard<std::mutex> lock(mu_);
  intx_masked_ = true;
}

void EventfdIrqSink::UnmaskIntx() {
  std::lock_guard<std::mutex> lock(mu_);
  intx_masked_ = false;
  if (intx_asserted_ && active_ == IrqKind::kIntx) {
    intx_masked_ = true;
    SignalLocked(IrqKind::kIntx, 0);
  }
}

bool EventfdIrqSink::intx_masked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return intx_masked_;
}

uint64_t EventfdIrqSink::signals(IrqKind kind) const {
  std::lock_guard<std::mutex> lock(mu_);
  return signals_[Index(kind)];
}

}  // namespace vfiosim::sim
