#include "sim/pci_config.h"

#include <algorithm>
#include <bit>

namespace vfiosim::sim {
namespace {

using core::Error;
using core::Result;
using core::Status;

constexpr uint32_t BarRegister(int index) { return PCI_BASE_ADDRESS_0 + 4 * index; }

constexpr uint16_t RoundUp4(uint16_t n) { return static_cast<uint16_t>((n + 3) & ~3); }

bool ValidAccess(uint32_t offset, unsigned size, size_t space) {
  if (size != 1 && size != 2 && size != 4) return false;
  if (offset % size != 0) return false;
  return offset < space && size <= space - offset;
}

// Command bits software may change. IO/MEMORY/MASTER gate the function,
// PARITY/SERR enable error reporting, INTX_DISABLE masks the pin.
constexpr uint16_t kCommandWmask = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                                   PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
                                   PCI_COMMAND_INTX_DISABLE;
// Status error bits are sticky until software writes 1 to them.
constexpr uint16_t kStatusW1c = PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |
                                PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT |
                                PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY;
// Device Control: error reporting enables, relaxed ordering, max payload,
// extended tags, no-snoop, max read request. Bit 15 (Initiate FLR) always
// reads 0, so it is not in the mask; PciDevice watches writes for it.
constexpr uint16_t kDevCtlWmask = PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE |
                                  PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE |
                                  PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_PAYLOAD |
                                  PCI_EXP_DEVCTL_EXT_TAG | PCI_EXP_DEVCTL_NOSNOOP_EN |
                                  PCI_EXP_DEVCTL_READRQ;
// Power-on Device Control: 512-byte max read request, relaxed ordering and
// no-snoop enabled, as the PCIe spec's defaults.
constexpr uint16_t kDevCtlDefault =
    PCI_EXP_DEVCTL_READRQ_512B | PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN;

}  // namespace

uint16_t MsiCapSize(const MsiSpec& spec) {
  if (spec.per_vector_mask) return spec.is_64bit ? PCI_MSI_PENDING_64 + 4 : PCI_MSI_PENDING_32 + 4;
  return spec.is_64bit ? PCI_MSI_DATA_64 + 2 : PCI_MSI_DATA_32 + 2;
}

PciConfigSpace::PciConfigSpace(ConfigKind kind)
    : value_(kind == ConfigKind::kExpress ? PCI_CFG_SPACE_EXP_SIZE : PCI_CFG_SPACE_SIZE, 0),
      wmask_(value_.size(), 0),
      w1cmask_(value_.size(), 0) {}

bool PciConfigSpace::InRange(uint32_t offset, unsigned width) const {
  return offset < size() && width <= size() - offset;
}

Result<uint32_t> PciConfigSpace::Read(uint32_t offset, unsigned size) const {
  if (!ValidAccess(offset, size, this->size())) return Error(EINVAL);
  uint32_t v = 0;
  for (unsigned i = 0; i < size; ++i) v |= uint32_t{value_[offset + i]} << (8 * i);
  return v;
}

Status PciConfigSpace::Write(uint32_t offset, unsigned size, uint32_t value) {
  if (!ValidAccess(offset, size, this->size())) return Error(EINVAL);
  for (unsigned i = 0; i < size; ++i) {
    const uint32_t at = offset + i;
    const auto data = static_cast<uint8_t>(value >> (8 * i));
    uint8_t v = static_cast<uint8_t>((value_[at] & ~wmask_[at]) | (data & wmask_[at]));
    v = static_cast<uint8_t>(v & ~(data & w1cmask_[at]));
    value_[at] = v;
  }
  return Status::Ok();
}

uint8_t PciConfigSpace::Get8(uint32_t offset) const {
  return InRange(offset, 1) ? value_[offset] : 0;
}
uint16_t PciConfigSpace::Get16(uint32_t offset) const {
  return static_cast<uint16_t>(Get8(offset) | (Get8(offset + 1) << 8));
}
uint32_t PciConfigSpace::Get32(uint32_t offset) const {
  return uint32_t{Get16(offset)} | (uint32_t{Get16(offset + 2)} << 16);
}
void PciConfigSpace::Set8(uint32_t offset, uint8_t value) {
  if (InRange(offset, 1)) value_[offset] = value;
}
void PciConfigSpace::Set16(uint32_t offset, uint16_t value) {
  Set8(offset, static_cast<uint8_t>(value));
  Set8(offset + 1, static_cast<uint8_t>(value >> 8));
}
void PciConfigSpace::Set32(uint32_t offset, uint32_t value) {
  Set16(offset, static_cast<uint16_t>(value));
  Set16(offset + 2, static_cast<uint16_t>(value >> 16));
}

void PciConfigSpace::SetWriteMask(uint32_t offset, unsigned width, uint32_t mask) {
  for (unsigned i = 0; i < width && i < 4; ++i) {
    if (InRange(offset + i, 1)) wmask_[offset + i] = static_cast<uint8_t>(mask >> (8 * i));
  }
}
void PciConfigSpace::SetW1cMask(uint32_t offset, unsigned width, uint32_t mask) {
  for (unsigned i = 0; i < width && i < 4; ++i) {
    if (InRange(offset + i, 1)) w1cmask_[offset + i] = static_cast<uint8_t>(mask >> (8 * i));
  }
}
uint32_t PciConfigSpace::WriteMask(uint32_t offset, unsigned width) const {
  uint32_t m = 0;
  for (unsigned i = 0; i < width && i < 4; ++i) {
    if (InRange(offset + i, 1)) m |= uint32_t{wmask_[offset + i]} << (8 * i);
  }
  return m;
}
uint32_t PciConfigSpace::W1cMask(uint32_t offset, unsigned width) const {
  uint32_t m = 0;
  for (unsigned i = 0; i < width && i < 4; ++i) {
    if (InRange(offset + i, 1)) m |= uint32_t{w1cmask_[offset + i]} << (8 * i);
  }
  return m;
}

void PciConfigSpace::Define(uint32_t offset, unsigned width, uint32_t value, uint32_t wmask,
                            uint32_t w1cmask) {
  for (unsigned i = 0; i < width && i < 4; ++i) Set8(offset + i, static_cast<uint8_t>(value >> (8 * i)));
  SetWriteMask(offset, width, wmask);
  SetW1cMask(offset, width, w1cmask);
}

void PciConfigSpace::InitType0Header(const Type0Header& h) {
  std::fill(value_.begin(), value_.end(), 0);
  std::fill(wmask_.begin(), wmask_.end(), 0);
  std::fill(w1cmask_.begin(), w1cmask_.end(), 0);
  bars_ = {};
  next_cap_ = PCI_STD_HEADER_SIZEOF;
  last_cap_ = 0;
  next_ext_ = PCI_CFG_SPACE_SIZE;
  last_ext_ = 0;

  Set16(PCI_VENDOR_ID, h.vendor_id);
  Set16(PCI_DEVICE_ID, h.device_id);
  Define(PCI_COMMAND, 2, 0, kCommandWmask);
  Define(PCI_STATUS, 2, 0, 0, kStatusW1c);
  Set8(PCI_REVISION_ID, h.revision);
  Set8(PCI_CLASS_PROG, static_cast<uint8_t>(h.class_code));
  Set16(PCI_CLASS_DEVICE, static_cast<uint16_t>(h.class_code >> 8));
  Define(PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
  // PCIe hardwires the latency timer to 0; conventional PCI lets software set it.
  Define(PCI_LATENCY_TIMER, 1, 0, is_express() ? 0 : 0xff);
  Set8(PCI_HEADER_TYPE, PCI_HEADER_TYPE_NORMAL);
  Set16(PCI_SUBSYSTEM_VENDOR_ID, h.subsystem_vendor_id);
  Set16(PCI_SUBSYSTEM_ID, h.subsystem_id);
  Define(PCI_INTERRUPT_LINE, 1, 0, 0xff);
  Set8(PCI_INTERRUPT_PIN, h.interrupt_pin);
}

Status PciConfigSpace::SetBar(int index, const BarSpec& spec) {
  if (index < 0 || index >= PCI_STD_NUM_BARS) return Error(EINVAL);
  const uint64_t size = spec.size;
  switch (spec.type) {
    case BarType::kNone:
      break;
    case BarType::kMem32:
      if (!std::has_single_bit(size) || size < 16 || size > (uint64_t{1} << 31)) return Error(EINVAL);
      break;
    case BarType::kMem64:
      if (!std::has_single_bit(size) || size < 16 || size > (uint64_t{1} << 63)) return Error(EINVAL);
      if (index == PCI_STD_NUM_BARS - 1) return Error(EINVAL);
      if (bars_[index + 1].type != BarType::kNone) return Error(EINVAL);
      break;
    case BarType::kIo:
      if (!std::has_single_bit(size) || size < 4 || size > 256) return Error(EINVAL);
      if (spec.prefetchable) return Error(EINVAL);
      break;
  }
  // The upper register of a 64-bit BAR is not a BAR of its own.
  if (index > 0 && bars_[index - 1].type == BarType::kMem64) return Error(EINVAL);

  // Forget what was here, including the upper half of a previous 64-bit BAR.
  if (bars_[index].type == BarType::kMem64) Define(BarRegister(index + 1), 4, 0, 0);
  Define(BarRegister(index), 4, 0, 0);
  bars_[index] = spec.type == BarType::kNone ? BarSpec{} : spec;

  if (spec.type == BarType::kIo) {
    const uint32_t mask = static_cast<uint32_t>(~(size - 1)) & ~uint32_t{3};
    Define(BarRegister(index), 4, PCI_BASE_ADDRESS_SPACE_IO, mask);
  } else if (spec.type != BarType::kNone) {
    uint32_t flags = PCI_BASE_ADDRESS_SPACE_MEMORY;
    if (spec.type == BarType::kMem64) flags |= PCI_BASE_ADDRESS_MEM_TYPE_64;
    if (spec.prefetchable) flags |= PCI_BASE_ADDRESS_MEM_PREFETCH;
    const uint64_t mask = ~(size - 1) & ~uint64_t{0xf};
    Define(BarRegister(index), 4, flags, static_cast<uint32_t>(mask));
    if (spec.type == BarType::kMem64) {
      Define(BarRegister(index + 1), 4, 0, static_cast<uint32_t>(mask >> 32));
    }
  }
  return Status::Ok();
}

BarSpec PciConfigSpace::GetBar(int index) const {
  if (index < 0 || index >= PCI_STD_NUM_BARS) return BarSpec{};
  return bars_[index];
}

uint64_t PciConfigSpace::BarAddress(int index) const {
  const BarSpec bar = GetBar(index);
  const uint32_t lo = Get32(BarRegister(index));
  switch (bar.type) {
    case BarType::kNone: return 0;
    case BarType::kIo: return lo & ~uint32_t{3};
    case BarType::kMem32: return lo & ~uint32_t{0xf};
    case BarType::kMem64:
      return (lo & ~uint64_t{0xf}) | (uint64_t{Get32(BarRegister(index + 1))} << 32);
  }
  return 0;
}

Result<uint16_t> PciConfigSpace::AllocStandard(uint8_t id, uint16_t size) {
  // Vendor-specific capabilities may repeat; the architected ones may not.
  if (id != PCI_CAP_ID_VNDR && FindCapability(id) != 0) return Error(EEXIST);
  const uint16_t rounded = RoundUp4(size);
  if (next_cap_ + rounded > PCI_CFG_SPACE_SIZE) return Error(ENOSPC);
  const uint16_t offset = next_cap_;
  Define(offset, 2, id, 0);  // id, next = 0
  if (last_cap_ == 0) {
    Set8(PCI_CAPABILITY_LIST, static_cast<uint8_t>(offset));
    Set16(PCI_STATUS, Get16(PCI_STATUS) | PCI_STATUS_CAP_LIST);
  } else {
    Set8(last_cap_ + PCI_CAP_LIST_NEXT, static_cast<uint8_t>(offset));
  }
  last_cap_ = offset;
  next_cap_ = static_cast<uint16_t>(next_cap_ + rounded);
  return offset;
}

Result<uint16_t> PciConfigSpace::AllocExtended(uint16_t id, uint8_t version, uint16_t size) {
  if (!is_express()) return Error(EINVAL);
  if (FindExtCapability(id) != 0) return Error(EEXIST);
  const uint16_t rounded = RoundUp4(size);
  if (next_ext_ + rounded > PCI_CFG_SPACE_EXP_SIZE) return Error(ENOSPC);
  const uint16_t offset = next_ext_;
  Define(offset, 4, id | (uint32_t{version} << 16), 0);
  if (last_ext_ != 0) Set32(last_ext_, Get32(last_ext_) | (uint32_t{offset} << 20));
  last_ext_ = offset;
  next_ext_ = static_cast<uint16_t>(next_ext_ + rounded);
  return offset;
}

Result<uint16_t> PciConfigSpace::AddMsiCapability(const MsiSpec& spec) {
  if (!std::has_single_bit(spec.vectors) || spec.vectors > 32) return Error(EINVAL);
  Result<uint16_t> off = AllocStandard(PCI_CAP_ID_MSI, MsiCapSize(spec));
  if (!off.ok()) return off;
  const uint16_t o = *off;
  uint16_t flags = static_cast<uint16_t>(std::countr_zero(spec.vectors) << 1);
  if (spec.is_64bit) flags |= PCI_MSI_FLAGS_64BIT;
  if (spec.per_vector_mask) flags |= PCI_MSI_FLAGS_MASKBIT;
  Define(o + PCI_MSI_FLAGS, 2, flags, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
  Define(o + PCI_MSI_ADDRESS_LO, 4, 0, ~uint32_t{3});  // dword-aligned address
  if (spec.is_64bit) Define(o + PCI_MSI_ADDRESS_HI, 4, 0, ~uint32_t{0});
  Define(o + (spec.is_64bit ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, 0, 0xffff);
  if (spec.per_vector_mask) {
    const uint32_t implemented =
        spec.vectors == 32 ? ~uint32_t{0} : (uint32_t{1} << spec.vectors) - 1;
    Define(o + (spec.is_64bit ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32), 4, 0, implemented);
    // Pending bits are set by the function only.
  }
  return o;
}

Result<uint16_t> PciConfigSpace::AddMsixCapability(const MsixSpec& spec) {
  if (spec.table_size < 1 || spec.table_size > 2048) return Error(EINVAL);
  if (spec.table_bar >= PCI_STD_NUM_BARS || spec.pba_bar >= PCI_STD_NUM_BARS) return Error(EINVAL);
  if ((spec.table_offset & PCI_MSIX_TABLE_BIR) != 0 || (spec.pba_offset & PCI_MSIX_PBA_BIR) != 0) {
    return Error(EINVAL);
  }
  Result<uint16_t> off = AllocStandard(PCI_CAP_ID_MSIX, kMsixCapSize);
  if (!off.ok()) return off;
  const uint16_t o = *off;
  Define(o + PCI_MSIX_FLAGS, 2, spec.table_size - 1,
         PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
  Define(o + PCI_MSIX_TABLE, 4, spec.table_offset | spec.table_bar, 0);
  Define(o + PCI_MSIX_PBA, 4, spec.pba_offset | spec.pba_bar, 0);
  return o;
}

Result<uint16_t> PciConfigSpace::AddPcieCapability(const PcieSpec& spec) {
  if (spec.type != PcieType::kEndpoint && spec.type != PcieType::kLegacyEndpoint &&
      spec.type != PcieType::kRcIntegratedEndpoint) {
    return Error(EINVAL);
  }
  Result<uint16_t> off = AllocStandard(PCI_CAP_ID_EXP, kPcieCapSize);
  if (!off.ok()) return off;
  const uint16_t o = *off;
  Define(o + PCI_EXP_FLAGS, 2, 2 | (static_cast<uint16_t>(spec.type) << 4), 0);  // version 2
  uint32_t devcap = 1 /* 256-byte max payload */ | PCI_EXP_DEVCAP_RBER;
  if (spec.flr) devcap |= PCI_EXP_DEVCAP_FLR;
  Define(o + PCI_EXP_DEVCAP, 4, devcap, 0);
  Define(o + PCI_EXP_DEVCTL, 2, kDevCtlDefault, kDevCtlWmask);
  Define(o + PCI_EXP_DEVSTA, 2, 0, 0,
         PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED | PCI_EXP_DEVSTA_FED | PCI_EXP_DEVSTA_URD);
  // Root-complex integrated endpoints have no link; the link registers stay 0.
  if (spec.type != PcieType::kRcIntegratedEndpoint) {
    Define(o + PCI_EXP_LNKCAP, 4, PCI_EXP_LNKCAP_SLS_2_5GB | (1 << 4) /* x1 */, 0);
    Define(o + PCI_EXP_LNKCTL, 2, 0,
           PCI_EXP_LNKCTL_ASPMC | PCI_EXP_LNKCTL_CCC | PCI_EXP_LNKCTL_ES);
    Define(o + PCI_EXP_LNKSTA, 2, PCI_EXP_LNKSTA_CLS_2_5GB | (1 << PCI_EXP_LNKSTA_NLW_SHIFT), 0);
  }
  return o;
}

Result<uint16_t> PciConfigSpace::AddPasidCapability(const PasidSpec& spec) {
  if (spec.max_width < 1 || spec.max_width > 20) return Error(EINVAL);
  Result<uint16_t> off = AllocExtended(PCI_EXT_CAP_ID_PASID, 1, PCI_EXT_CAP_PASID_SIZEOF);
  if (!off.ok()) return off;
  const uint16_t o = *off;
  uint16_t cap = static_cast<uint16_t>(spec.max_width << 8);
  uint16_t ctrl_wmask = PCI_PASID_CTRL_ENABLE;
  if (spec.exec) {
    cap |= PCI_PASID_CAP_EXEC;
    ctrl_wmask |= PCI_PASID_CTRL_EXEC;
  }
  if (spec.priv) {
    cap |= PCI_PASID_CAP_PRIV;
    ctrl_wmask |= PCI_PASID_CTRL_PRIV;
  }
  Define(o + PCI_PASID_CAP, 2, cap, 0);
  Define(o + PCI_PASID_CTRL, 2, 0, ctrl_wmask);
  return o;
}

Result<uint16_t> PciConfigSpace::AddAtsCapability(const AtsSpec& spec) {
  if (spec.invalidate_queue_depth > 31) return Error(EINVAL);
  Result<uint16_t> off = AllocExtended(PCI_EXT_CAP_ID_ATS, 1, PCI_EXT_CAP_ATS_SIZEOF);
  if (!off.ok()) return off;
  const uint16_t o = *off;
  uint16_t cap = PCI_ATS_CAP_QDEP(spec.invalidate_queue_depth);
  if (spec.page_aligned) cap |= PCI_ATS_CAP_PAGE_ALIGNED;
  Define(o + PCI_ATS_CAP, 2, cap, 0);
  Define(o + PCI_ATS_CTRL, 2, 0, PCI_ATS_CTRL_ENABLE | PCI_ATS_CTRL_STU(0x1f));
  return o;
}

Result<uint16_t> PciConfigSpace::AddVendorCapability(uint8_t length) {
  if (length < 3 || length > PCI_CFG_SPACE_SIZE - PCI_STD_HEADER_SIZEOF) return Error(EINVAL);
  Result<uint16_t> off = AllocStandard(PCI_CAP_ID_VNDR, length);
  if (!off.ok()) return off;
  Define(*off + PCI_CAP_FLAGS, 1, length, 0);
  return off;
}

std::vector<CapabilityInfo> PciConfigSpace::Capabilities() const {
  std::vector<CapabilityInfo> caps;
  if (Get16(PCI_STATUS) & PCI_STATUS_CAP_LIST) {
    // At most 48 dword-aligned capabilities fit in [0x40, 0x100); more steps
    // than that means the list loops.
    uint8_t ptr = Get8(PCI_CAPABILITY_LIST) & ~3;
    for (int steps = 0; steps < 48 && ptr >= PCI_STD_HEADER_SIZEOF; ++steps) {
      caps.push_back({Get8(ptr), ptr, false});
      ptr = Get8(ptr + PCI_CAP_LIST_NEXT) & ~3;
    }
  }
  if (is_express()) {
    uint32_t off = PCI_CFG_SPACE_SIZE;
    const int max_steps = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8;
    for (int steps = 0; steps < max_steps; ++steps) {
      const uint32_t header = Get32(off);
      if (header == 0 || header == ~uint32_t{0}) break;
      caps.push_back({static_cast<uint16_t>(PCI_EXT_CAP_ID(header)), static_cast<uint16_t>(off),
                      true});
      off = PCI_EXT_CAP_NEXT(header);
      if (off < PCI_CFG_SPACE_SIZE) break;
    }
  }
  return caps;
}

uint16_t PciConfigSpace::FindCapability(uint8_t id) const {
  for (const CapabilityInfo& c : Capabilities()) {
    if (!c.extended && c.id == id) return c.offset;
  }
  return 0;
}

uint16_t PciConfigSpace::FindExtCapability(uint16_t id) const {
  for (const CapabilityInfo& c : Capabilities()) {
    if (c.extended && c.id == id) return c.offset;
  }
  return 0;
}

}  // namespace vfiosim::sim
