// GenericDevice: a PCI function with identity and nothing else — the model
// behind topology entries with "model": "generic" (a NIC or NVMe function that
// only has to exist, be grouped and answer config reads). One INTx pin, no
// BARs, no DMA.
#ifndef VFIOSIM_SIM_DEVICES_GENERIC_DEVICE_H_
#define VFIOSIM_SIM_DEVICES_GENERIC_DEVICE_H_

#include <memory>

#include "sim/pci_device.h"

namespace vfiosim::sim {

class GenericDevice final : public PciDevice {
 public:
  static core::Result<std::unique_ptr<GenericDevice>> Create(const Type0Header& header, bool express);
  std::string_view ModelName() const override { return "generic"; }

 private:
  explicit GenericDevice(bool express) : PciDevice(express ? ConfigKind::kExpress : ConfigKind::kConventional) {}
  uint64_t OnBarRead(int, uint64_t, unsigned) override REQUIRES(mu_) { return ~uint64_t{0}; }
  void OnBarWrite(int, uint64_t, unsigned, uint64_t) override REQUIRES(mu_) {}
};

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_DEVICES_GENERIC_DEVICE_H_
