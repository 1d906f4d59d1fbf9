#include "sim/pci_address.h"

#include <cerrno>
#include <cstdio>

namespace vfiosim::sim {
namespace {

// Value of one lower-case hex digit, or -1. Upper case is rejected because the
// kernel never prints it (see the header).
int LowerHexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Parses exactly text.size() lower-case hex digits.
bool ParseFixedHex(std::string_view text, uint32_t* out) {
  uint32_t value = 0;
  for (char c : text) {
    int d = LowerHexDigit(c);
    if (d < 0) return false;
    value = value * 16 + static_cast<uint32_t>(d);
  }
  *out = value;
  return true;
}

void SetWhy(std::string* why, std::string text) {
  if (why != nullptr) *why = std::move(text);
}

}  // namespace

core::Result<PciAddress> PciAddress::Parse(std::string_view text) { return Parse(text, nullptr); }

core::Result<PciAddress> PciAddress::Parse(std::string_view text, std::string* why) {
  // "dddd:bb:dd.f" is exactly 12 characters.
  if (text.size() != 12 || text[4] != ':' || text[7] != ':' || text[10] != '.') {
    SetWhy(why,
           "expected a PCI address like \"0000:01:00.0\" (domain:bus:device.function, "
           "lower-case hex)");
    return core::Error(EINVAL);
  }
  uint32_t domain = 0, bus = 0, device = 0, function = 0;
  if (!ParseFixedHex(text.substr(0, 4), &domain) || !ParseFixedHex(text.substr(5, 2), &bus) ||
      !ParseFixedHex(text.substr(8, 2), &device) || !ParseFixedHex(text.substr(11, 1), &function)) {
    SetWhy(why, "expected lower-case hex digits in a PCI address like \"0000:01:00.0\"");
    return core::Error(EINVAL);
  }
  if (device > kPciMaxDevice) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "device number 0x%02x is above 0x1f", device);
    SetWhy(why, buf);
    return core::Error(EINVAL);
  }
  if (function > kPciMaxFunction) {
    SetWhy(why, "function number " + std::to_string(function) + " is above 7");
    return core::Error(EINVAL);
  }
  return PciAddress{static_cast<uint16_t>(domain), static_cast<uint8_t>(bus),
                    static_cast<uint8_t>(device), static_cast<uint8_t>(function)};
}

std::string PciAddress::ToString() const {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04x:%02x:%02x.%x", domain, bus, device, function & 0xfu);
  return buf;
}

std::string PciAddress::ToShortString() const {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%02x:%02x.%x", bus, device, function & 0xfu);
  return buf;
}

core::Result<PciBusId> PciBusId::Parse(std::string_view text, std::string* why) {
  uint32_t domain = 0, bus = 0;
  if (text.size() != 7 || text[4] != ':' || !ParseFixedHex(text.substr(0, 4), &domain) ||
      !ParseFixedHex(text.substr(5, 2), &bus)) {
    SetWhy(why, "expected a PCI bus id like \"0000:00\" (domain:bus, lower-case hex)");
    return core::Error(EINVAL);
  }
  return PciBusId{static_cast<uint16_t>(domain), static_cast<uint8_t>(bus)};
}

std::string PciBusId::ToString() const {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04x:%02x", domain, bus);
  return buf;
}

}  // namespace vfiosim::sim
