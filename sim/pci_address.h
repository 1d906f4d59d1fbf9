// PciAddress and PciBusId: where a PCI function (or a bus) sits in the machine.
//
// Models Linux's PCI naming: a function is "DDDD:BB:dd.f" (domain/segment 16
// bits, bus 8 bits, device 5 bits, function 3 bits), the form used by sysfs
// (/sys/bus/pci/devices/0000:01:00.0) and by VFIO_GROUP_GET_DEVICE_FD. A bus is
// "DDDD:BB" (/sys/class/pci_bus/0000:01).
//
// Parsing is strict on purpose: the kernel only ever prints lower-case,
// zero-padded hex with exactly these widths, and VFIO_GROUP_GET_DEVICE_FD
// matches the device name by string compare, so "0000:1:0.0" or "0000:01:00.0"
// in upper case would never name a real device. Accepting them here would let a
// topology file name a device that no client could open.
//
// Invariant: a PciAddress built by Parse() has device <= 31 and function <= 7;
// IsValid() checks the same for aggregates built by hand.
// Thread safety: plain values; no shared state.
#ifndef VFIOSIM_SIM_PCI_ADDRESS_H_
#define VFIOSIM_SIM_PCI_ADDRESS_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vfiosim::sim {

inline constexpr uint8_t kPciMaxDevice = 31;
inline constexpr uint8_t kPciMaxFunction = 7;

struct PciAddress {
  uint16_t domain = 0;
  uint8_t bus = 0;
  uint8_t device = 0;    // 0..31
  uint8_t function = 0;  // 0..7

  // Strict Linux format "dddd:bb:dd.f" (lower-case hex). EINVAL otherwise.
  static core::Result<PciAddress> Parse(std::string_view text);
  // Same, and on failure stores a human-readable reason in *why (if non-null),
  // e.g. "device number 0x20 is above 0x1f".
  static core::Result<PciAddress> Parse(std::string_view text, std::string* why);

  // "0000:01:00.0".
  std::string ToString() const;
  // "01:00.0", the short form lspci prints for domain 0.
  std::string ToShortString() const;

  bool IsValid() const { return device <= kPciMaxDevice && function <= kPciMaxFunction; }
  // devfn as the kernel packs it: device << 3 | function.
  uint8_t Devfn() const { return static_cast<uint8_t>((device << 3) | (function & 7)); }
  // 16-bit requester id (bus << 8 | devfn), what the IOMMU sees on the wire.
  uint16_t RequesterId() const { return static_cast<uint16_t>((bus << 8) | Devfn()); }
  // True when `other` is another function of the same physical device (slot).
  bool SameSlot(const PciAddress& other) const {
    return domain == other.domain && bus == other.bus && device == other.device;
  }

  auto operator<=>(const PciAddress&) const = default;
};

// A PCI bus: domain + bus number, printed "dddd:bb".
struct PciBusId {
  uint16_t domain = 0;
  uint8_t bus = 0;

  static core::Result<PciBusId> Parse(std::string_view text, std::string* why = nullptr);
  std::string ToString() const;

  auto operator<=>(const PciBusId&) const = default;
};

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_PCI_ADDRESS_H_
