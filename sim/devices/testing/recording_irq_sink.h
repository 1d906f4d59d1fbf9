// RecordingIrqSink: a test-only IrqSink that remembers every interrupt event.
//
// INTx changes are recorded as {kIntx, level}, messages as {kMsi, vector}
// (the sink cannot tell MSI from MSI-X; the device decides, see irq.h).
//
// Thread safety: all methods are thread-safe (one internal mutex).
#ifndef VFIOSIM_SIM_DEVICES_TESTING_RECORDING_IRQ_SINK_H_
#define VFIOSIM_SIM_DEVICES_TESTING_RECORDING_IRQ_SINK_H_

#include <cstdint>
#include <mutex>
#include <vector>

#include "sim/irq.h"

namespace vfiosim::sim::testing {

class RecordingIrqSink : public IrqSink {
 public:
  struct Event {
    IrqKind kind;
    uint32_t value;  // kIntx: new level (0/1); kMsi: vector
    bool operator==(const Event&) const = default;
  };

  void SetIntx(bool asserted) override {
    std::lock_guard<std::mutex> lock(mu_);
    intx_ = asserted;
    events_.push_back({IrqKind::kIntx, asserted ? 1u : 0u});
  }
  void SignalMsi(uint32_t vector) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back({IrqKind::kMsi, vector});
  }

  bool intx() const {
    std::lock_guard<std::mutex> lock(mu_);
    return intx_;
  }
  size_t msi_count(uint32_t vector) const {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const Event& e : events_) n += e.kind == IrqKind::kMsi && e.value == vector;
    return n;
  }
  size_t total_msi() const {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const Event& e : events_) n += e.kind == IrqKind::kMsi;
    return n;
  }
  std::vector<Event> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    events_.clear();
  }

 private:
  mutable std::mutex mu_;
  bool intx_ = false;
  std::vector<Event> events_;
};

}  // namespace vfiosim::sim::testing

#endif  // VFIOSIM_SIM_DEVICES_TESTING_RECORDING_IRQ_SINK_H_
