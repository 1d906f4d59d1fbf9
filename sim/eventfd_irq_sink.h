// EventfdIrqSink: a device's interrupts delivered to the eventfds a client
// registered with VFIO_DEVICE_SET_IRQS, as vfio-pci does.
//
// One interrupt type is active at a time (none, INTx, MSI or MSI-X), chosen
// by SET_IRQS; ERR and REQ have their own eventfd. INTx is level-triggered
// and auto-masked: an asserted line signals once and stays masked until the
// client unmasks it, and an unmask while the line is still asserted signals
// again. Eventfds are dup'ed on registration (the kernel takes its own
// reference) and closed when replaced or disabled.
//
// Thread safety: all methods are thread-safe (own mutex). Devices call the
// IrqSink methods with their lock held; this class never calls a device.
#ifndef VFIOSIM_SIM_EVENTFD_IRQ_SINK_H_
#define VFIOSIM_SIM_EVENTFD_IRQ_SINK_H_

#include <cstdint>
#include <map>
#include <optional>
#include <mutex>
#include <vector>

#include "core/status.h"
#include "sim/irq.h"

namespace vfiosim::sim {

class EventfdIrqSink : public IrqSink {
 public:
  ~EventfdIrqSink() override;

  // IrqSink.
  void SetIntx(bool asserted) override;
  void SignalMsi(uint32_t vector) override;

  // The active interrupt type (kIntx, kMsi, kMsix) or none.
  std::optional<IrqKind> active() const;
  // Makes `kind` active with `count` vectors (MSI/MSI-X) or the INTx line.
  void Enable(IrqKind kind, uint32_t count);
  // Disables `kind` if active: closes its eventfds.
  void Disable(IrqKind kind);
  // Registers (fd >= 0, dup'ed) or removes (fd == -1) the eventfd of a vector.
  // EBADF when fd cannot be dup'ed.
  core::Status SetTrigger(IrqKind kind, uint32_t vector, int fd);
  bool HasTrigger(IrqKind kind, uint32_t vector) const;
  // Signals a vector now (SET_IRQS ACTION_TRIGGER without eventfd data).
  void Trigger(IrqKind kind, uint32_t vector);
  void MaskIntx();
  // Unmasks; re-signals when the line is still asserted.
  void UnmaskIntx();
  bool intx_masked() const;
  uint64_t signals(IrqKind kind) const;

 private:
  void SignalLocked(IrqKind kind, uint32_t vector);

  mutable std::mutex mu_;
  std::optional<IrqKind> active_;
  uint32_t vectors_ = 0;
  bool intx_asserted_ = false;
  bool intx_masked_ = false;
  std::map<std::pair<int, uint32_t>, int> fds_;  // (kind, vector) -> owned eventfd
  uint64_t signals_[5] = {};
};

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_EVENTFD_IRQ_SINK_H_
