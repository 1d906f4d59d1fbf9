// IrqSink: how a simulated device raises interrupts.
//
// The api layer connects a sink to the eventfds a client registered with
// VFIO_DEVICE_SET_IRQS; tests use a recording sink. The device decides which
// mechanism is live from its own config space, as hardware does: MSI-X when
// the MSI-X Enable bit is set, else MSI when the MSI Enable bit is set, else
// the INTx pin (whose level reaches the sink only while Command.INTx-Disable
// is clear). See PciDevice for masking and pending-bit handling.
//
// Thread safety: sinks are called with the device lock held (lock order:
// device -> sink) and must not call back into the device. A sink may be shared
// by devices only if it is itself thread-safe.
#ifndef VFIOSIM_SIM_IRQ_H_
#define VFIOSIM_SIM_IRQ_H_

#include <cstdint>

namespace vfiosim::sim {

// The VFIO_PCI_*_IRQ_INDEX values.
enum class IrqKind { kIntx = 0, kMsi = 1, kMsix = 2, kErr = 3, kReq = 4 };

class IrqSink {
 public:
  virtual ~IrqSink() = default;
  // Level of the INTx line; called on every change of the level only.
  virtual void SetIntx(bool asserted) = 0;
  // An edge on MSI or MSI-X vector `vector` (whichever is enabled). MSI
  // vectors are already reduced to the enabled Multiple Message count.
  virtual void SignalMsi(uint32_t vector) = 0;
};

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_IRQ_H_
