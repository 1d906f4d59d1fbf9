// PciConfigSpace: a PCI function's configuration space kept as data.
//
// Every byte has a value, a write mask (bits software may change) and a
// write-1-to-clear mask (status bits software clears by writing 1). A write
// computes, per byte:
//     value = (value & ~wmask) | (data & wmask);  value &= ~(data & w1cmask);
// so every register's behaviour — read-only ids, RW control bits, W1C status
// bits and BAR sizing — is data set up by the builders below. BAR sizing falls
// out of the masks exactly as in hardware: the address bits below the BAR's
// size and the type/prefetch bits are read-only, so writing all-ones and
// reading back yields ~(size - 1) | flags (per dword of a 64-bit BAR).
//
// Layout rules enforced by the builders:
//   - Standard capabilities live in [0x40, 0x100), dword aligned, linked from
//     the Capabilities Pointer (0x34) in the order they were added; the first
//     one sets Status.Capabilities-List.
//   - Extended capabilities (PCIe only, 4096-byte space) start at 0x100 and are
//     linked through the "next" field (bits 31:20) of each header.
//   - A 64-bit BAR uses two BAR registers; the upper one is not a BAR.
//
// Offsets and bit names are the Linux ones from <linux/pci_regs.h>.
//
// Thread safety: none; a value type. PciDevice serialises access to its copy.
#ifndef VFIOSIM_SIM_PCI_CONFIG_H_
#define VFIOSIM_SIM_PCI_CONFIG_H_

#include <linux/pci_regs.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/status.h"

namespace vfiosim::sim {

enum class ConfigKind { kConventional, kExpress };  // 256 or 4096 bytes

enum class BarType : uint8_t { kNone, kMem32, kMem64, kIo };

struct BarSpec {
  BarType type = BarType::kNone;
  uint64_t size = 0;          // power of two; mem >= 16, io 4..256
  bool prefetchable = false;  // memory BARs only
};

struct Type0Header {
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  uint8_t revision = 0;
  uint32_t class_code = 0;  // 24 bits: base class << 16 | subclass << 8 | prog-if
  uint16_t subsystem_vendor_id = 0;
  uint16_t subsystem_id = 0;
  uint8_t interrupt_pin = 0;  // 0: no INTx; 1..4: INTA..INTD
};

struct MsiSpec {
  uint32_t vectors = 1;  // 1, 2, 4, 8, 16 or 32 (Multiple Message Capable)
  bool is_64bit = true;
  bool per_vector_mask = false;
};

struct MsixSpec {
  uint32_t table_size = 1;  // 1..2048 entries
  uint8_t table_bar = 0;
  uint32_t table_offset = 0;  // 8-byte aligned
  uint8_t pba_bar = 0;
  uint32_t pba_offset = 0;  // 8-byte aligned
};

enum class PcieType : uint8_t {
  kEndpoint = PCI_EXP_TYPE_ENDPOINT,
  kLegacyEndpoint = PCI_EXP_TYPE_LEG_END,
  kRcIntegratedEndpoint = PCI_EXP_TYPE_RC_END,
};

struct PcieSpec {
  PcieType type = PcieType::kEndpoint;
  bool flr = false;  // Function Level Reset capable (DevCap bit 28)
};

struct PasidSpec {
  uint8_t max_width = 20;  // Max PASID Width, 1..20
  bool exec = false;       // Execute Permission Supported
  bool priv = false;       // Privileged Mode Supported
};

struct AtsSpec {
  uint8_t invalidate_queue_depth = 0;  // 0 means 32
  bool page_aligned = true;
};

struct CapabilityInfo {
  uint16_t id = 0;
  uint16_t offset = 0;
  bool extended = false;
  bool operator==(const CapabilityInfo&) const = default;
};

// Sizes of the capability structures the builders allocate (bytes).
inline constexpr uint16_t kPcieCapSize = 0x3c;  // PCIe capability, version 2
inline constexpr uint16_t kMsixCapSize = 12;
uint16_t MsiCapSize(const MsiSpec& spec);

class PciConfigSpace {
 public:
  explicit PciConfigSpace(ConfigKind kind = ConfigKind::kConventional);

  size_t size() const { return value_.size(); }
  bool is_express() const { return size() == PCI_CFG_SPACE_EXP_SIZE; }

  // ---- Accesses as a configuration request sees them ----
  // `size` is 1, 2 or 4, `offset` naturally aligned and inside the space;
  // anything else is EINVAL and changes nothing. Little-endian.
  core::Result<uint32_t> Read(uint32_t offset, unsigned size) const;
  core::Status Write(uint32_t offset, unsigned size, uint32_t value);

  // ---- Raw access for the device itself and for builders ----
  // No masks applied. Out-of-range bytes read as 0 and are not written.
  uint8_t Get8(uint32_t offset) const;
  uint16_t Get16(uint32_t offset) const;
  uint32_t Get32(uint32_t offset) const;
  void Set8(uint32_t offset, uint8_t value);
  void Set16(uint32_t offset, uint16_t value);
  void Set32(uint32_t offset, uint32_t value);
  // Set value and masks of `width` (1, 2 or 4) bytes at once.
  void Define(uint32_t offset, unsigned width, uint32_t value, uint32_t wmask,
              uint32_t w1cmask = 0);
  void SetWriteMask(uint32_t offset, unsigned width, uint32_t mask);
  void SetW1cMask(uint32_t offset, unsigned width, uint32_t mask);
  uint32_t WriteMask(uint32_t offset, unsigned width) const;
  uint32_t W1cMask(uint32_t offset, unsigned width) const;

  // ---- Builders ----
  // Type-0 header with the usual writable bits: Command IO/MEM/MASTER/PARITY/
  // SERR/INTX_DISABLE, cache line size, latency timer, interrupt line; Status
  // error bits W1C. Clears the capability lists and BARs.
  void InitType0Header(const Type0Header& header);

  // Defines BAR `index` (0..5). EINVAL: index out of range, size not a power
  // of two or outside the type's limits (mem32 <= 2 GiB), 64-bit BAR at index
  // 5, overlapping a neighbouring 64-bit BAR, prefetchable I/O.
  core::Status SetBar(int index, const BarSpec& spec);
  // BarType::kNone for an undefined index or the upper half of a 64-bit BAR.
  BarSpec GetBar(int index) const;
  // The address software programmed (flag bits stripped).
  uint64_t BarAddress(int index) const;

  // Append a capability; returns its offset. EINVAL for bad specs (and for
  // extended capabilities in conventional config space), EEXIST when the
  // capability is already present, ENOSPC when it does not fit.
  core::Result<uint16_t> AddMsiCapability(const MsiSpec& spec);
  core::Result<uint16_t> AddMsixCapability(const MsixSpec& spec);
  core::Result<uint16_t> AddPcieCapability(const PcieSpec& spec);
  core::Result<uint16_t> AddPasidCapability(const PasidSpec& spec);
  core::Result<uint16_t> AddAtsCapability(const AtsSpec& spec);
  // Vendor-specific capability (id 9; may repeat) of `length` bytes (3..192,
  // length byte at +2), body read-only zeros for the model to fill.
  core::Result<uint16_t> AddVendorCapability(uint8_t length);

  // ---- Capability chain walk (as software does it) ----
  // Bounded against loops and out-of-range pointers in either list.
  std::vector<CapabilityInfo> Capabilities() const;
  uint16_t FindCapability(uint8_t id) const;      // 0 when absent
  uint16_t FindExtCapability(uint16_t id) const;  // 0 when absent

 private:
  core::Result<uint16_t> AllocStandard(uint8_t id, uint16_t size);
  core::Result<uint16_t> AllocExtended(uint16_t id, uint8_t version, uint16_t size);
  bool InRange(uint32_t offset, unsigned width) const;

  std::vector<uint8_t> value_;
  std::vector<uint8_t> wmask_;
  std::vector<uint8_t> w1cmask_;
  std::array<BarSpec, PCI_STD_NUM_BARS> bars_{};
  uint16_t next_cap_ = PCI_STD_HEADER_SIZEOF;  // next free standard-cap offset
  uint16_t last_cap_ = 0;                      // last standard cap, 0 if none
  uint16_t next_ext_ = PCI_CFG_SPACE_SIZE;     // next free extended-cap offset
  uint16_t last_ext_ = 0;                      // last extended cap, 0 if none
};

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_PCI_CONFIG_H_
