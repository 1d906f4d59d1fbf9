// The config region (VFIO_PCI_CONFIG_REGION_INDEX) with vfio-pci's
// virtualization (drivers/vfio/pci/vfio_pci_config.c), as permission data:
// every byte has `virt` bits, read from the virtual copy vconfig_ instead of
// the device, and `write` bits the user may change. A write updates the
// virtual writable bits in vconfig_ and sends the physical writable bits to
// the model (its own masks apply on top). What the tables say:
//   header   IDs, revision, class, header type, subsystem: read-only.
//            Command: writable, passed to the device (Memory, I/O, Bus
//            Master, INTx-Disable, SERR#, ...). Status: read-only for the
//            user (error bits cannot be cleared), Capabilities-List virtual.
//            BAR0-5 and ROM: fully virtual; reads give the written value
//            masked with the BAR's size mask plus its type bits, so sizing
//            (write all-ones, read back) yields ~(size - 1) | flags and the
//            device's own BARs never change. Cache line, latency timer,
//            BIST: writable. Interrupt Line: virtual and writable; Interrupt
//            Pin: virtual, read-only.
//   MSI      fully virtual. Flags accept Multiple Message Enable (clamped to
//            what SET_IRQS allocated) and Enable (kept only while SET_IRQS
//            has MSI on); the device's MSI is programmed by SET_IRQS alone.
//   MSI-X    read-only, reads the device (Enable shows what SET_IRQS did).
//   PCIe     read-only except Device Control (all but Phantom Functions; the
//            FLR bit runs a function reset with save/restore; Max Payload
//            and Max Read Request are kept virtual) and Device Control 2
//            (all but ARI).
//   vendor   read/write, raw. Extended capabilities (PASID, ATS, ...):
//            read-only (6.1 has no write handler for them).
//   others   bytes outside the header and every capability: raw read/write
//            ("unassigned", for devices that hide registers there).
// Capability headers (id, next) read from vconfig_: the chain as at open.
// Accesses are split into naturally aligned 4/2/1-byte pieces; any access
// reaching past the config space is EFAULT, as vfio_config_do_rw answers.
#include <cstring>

#include "api/device_state.h"

namespace vfiosim::api {
namespace {

using core::Error;
using core::Result;

constexpr uint32_t kAll = 0xffffffffu;

unsigned StdCapLength(const sim::PciConfigSpace& pc, const sim::CapabilityInfo& cap) {
  switch (cap.id) {
    case PCI_CAP_ID_MSI: {
      const uint16_t flags = pc.Get16(cap.offset + PCI_MSI_FLAGS);
      return 10 + ((flags & PCI_MSI_FLAGS_64BIT) ? 4 : 0) + ((flags & PCI_MSI_FLAGS_MASKBIT) ? 10 : 0);
    }
    case PCI_CAP_ID_MSIX: return PCI_CAP_MSIX_SIZEOF;
    case PCI_CAP_ID_EXP: return sim::kPcieCapSize;
    case PCI_CAP_ID_PM: return PCI_PM_SIZEOF;
    case PCI_CAP_ID_VNDR: return std::max<unsigned>(pc.Get8(cap.offset + 2), 3);
    default: return 4;
  }
}

unsigned ExtCapLength(uint16_t id) {
  switch (id) {
    case PCI_EXT_CAP_ID_PASID: return PCI_EXT_CAP_PASID_SIZEOF;
    case PCI_EXT_CAP_ID_ATS: return PCI_EXT_CAP_ATS_SIZEOF;
    default: return 4;
  }
}

bool Touches(uint32_t pos, unsigned size, uint32_t reg, unsigned reg_size) {
  return pos < reg + reg_size && reg < pos + size;
}

}  // namespace

void DeviceState::SetPerm(uint32_t offset, unsigned width, uint32_t virt, uint32_t write) {
  for (unsigned i = 0; i < width && offset + i < virt_.size(); ++i) {
    virt_[offset + i] = static_cast<uint8_t>(virt >> (8 * i));
    write_[offset + i] = static_cast<uint8_t>(write >> (8 * i));
  }
}

// The size mask and type bits of BAR register `index` (6: the ROM).
uint32_t DeviceState::BarMask(int index, uint32_t* flags) const {
  const sim::PciConfigSpace& pc = model()->power_on_config();
  *flags = 0;
  if (index >= PCI_STD_NUM_BARS) return 0;  // no model has an option ROM
  const sim::BarSpec spec = pc.GetBar(index);
  if (spec.type == sim::BarType::kNone) {
    if (index > 0 && pc.GetBar(index - 1).type == sim::BarType::kMem64) {
      return static_cast<uint32_t>(~(pc.GetBar(index - 1).size - 1) >> 32);  // upper half
    }
    return 0;
  }
  const bool io = spec.type == sim::BarType::kIo;
  *flags = pc.Get32(PCI_BASE_ADDRESS_0 + 4 * index) & (io ? 0x3u : 0xfu);
  return static_cast<uint32_t>(~(spec.size - 1)) & (io ? ~0x3u : ~0xfu);
}

void DeviceState::InitVirtualConfig() {
  sim::PciDevice* m = model();
  const sim::PciConfigSpace& pc = m->power_on_config();
  const size_t n = m->ConfigSize();
  vconfig_.assign(n, 0);
  virt_.assign(n, 0);
  write_.assign(n, 0);
  for (uint32_t off = 0; off < n; off += 4) {
    Result<uint32_t> v = m->ConfigRead(off, 4);
    uint32_t value = v.ok() ? *v : 0;
    std::memcpy(&vconfig_[off], &value, 4);
  }
  // Unassigned bytes: raw read/write (the header and capabilities override).
  std::fill(write_.begin() + PCI_STD_HEADER_SIZEOF, write_.end(), 0xff);

  SetPerm(PCI_VENDOR_ID, 4, kAll, 0);
  SetPerm(PCI_COMMAND, 2, 0, 0xffff);
  SetPerm(PCI_STATUS, 2, PCI_STATUS_CAP_LIST, 0);
  SetPerm(PCI_CACHE_LINE_SIZE, 1, 0, 0xff);
  SetPerm(PCI_LATENCY_TIMER, 1, 0, 0xff);
  SetPerm(PCI_BIST, 1, 0, 0xff);
  for (int i = 0; i <= PCI_STD_NUM_BARS; ++i) {
    const uint32_t reg = i < PCI_STD_NUM_BARS ? PCI_BASE_ADDRESS_0 + 4 * i : PCI_ROM_ADDRESS;
    SetPerm(reg, 4, kAll, kAll);
    uint32_t flags;
    const uint32_t value = (pc.Get32(reg) & BarMask(i, &flags)) | flags;
    std::memcpy(&vconfig_[reg], &value, 4);
  }
  SetPerm(PCI_CAPABILITY_LIST, 1, 0xff, 0);
  SetPerm(PCI_INTERRUPT_LINE, 1, 0xff, 0xff);
  SetPerm(PCI_INTERRUPT_PIN, 1, 0xff, 0);

  msi_cap_ = pcie_cap_ = 0;
  for (const sim::CapabilityInfo& cap : pc.Capabilities()) {
    if (cap.extended) {
      SetPerm(cap.offset, 4, kAll, 0);  // header: the chain as at open
      SetPerm(cap.offset + 4, ExtCapLength(cap.id) - 4, 0, 0);
      continue;
    }
    const unsigned len = StdCapLength(pc, cap);
    for (unsigned i = 2; i < len; ++i) SetPerm(cap.offset + i, 1, 0, 0);  // read-only by default
    SetPerm(cap.offset, 2, 0xffff, 0);  // id and next
    switch (cap.id) {
      case PCI_CAP_ID_MSI: {
        msi_cap_ = cap.offset;
        for (unsigned i = 2; i < len; ++i) SetPerm(cap.offset + i, 1, 0xff, 0xff);
        SetPerm(cap.offset + PCI_MSI_FLAGS, 2, 0xffff, PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE);
        const uint16_t flags = pc.Get16(cap.offset + PCI_MSI_FLAGS);
        if (flags & PCI_MSI_FLAGS_MASKBIT) {  // the pending bits stay read-only
          SetPerm(cap.offset + ((flags & PCI_MSI_FLAGS_64BIT) ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32), 4,
                  kAll, 0);
        }
        break;
      }
      case PCI_CAP_ID_EXP:
        pcie_cap_ = cap.offset;
        SetPerm(cap.offset + PCI_EXP_DEVCTL, 2,
                PCI_EXP_DEVCTL_BCR_FLR | PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_READRQ,
                static_cast<uint16_t>(~PCI_EXP_DEVCTL_PHANTOM));
        SetPerm(cap.offset + PCI_EXP_DEVCTL2, 2, 0, static_cast<uint16_t>(~PCI_EXP_DEVCTL2_ARI));
        break;
      case PCI_CAP_ID_VNDR:
        for (unsigned i = 3; i < len; ++i) SetPerm(cap.offset + i, 1, 0, 0xff);
        break;
      default:
        break;  // MSI-X, PM and the rest: read the device, writes dropped
    }
  }
}

uint32_t DeviceState::ConfigReadChunk(uint32_t pos, unsigned size) const {
  Result<uint32_t> phys = model()->ConfigRead(pos, size);
  uint32_t value = 0;
  for (unsigned i = 0; i < size; ++i) {
    const uint8_t p = phys.ok() ? static_cast<uint8_t>(*phys >> (8 * i)) : 0xff;
    const uint8_t m = virt_[pos + i];
    value |= uint32_t{static_cast<uint8_t>((p & ~m) | (vconfig_[pos + i] & m))} << (8 * i);
  }
  return value;
}

void DeviceState::ConfigWriteChunk(uint32_t pos, unsigned size, uint32_t value) {
  sim::PciDevice* m = model();
  uint32_t virt = 0, writable = 0;
  for (unsigned i = 0; i < size; ++i) {
    virt |= uint32_t{virt_[pos + i]} << (8 * i);
    writable |= uint32_t{write_[pos + i]} << (8 * i);
  }
  if (const uint32_t vw = writable & virt) {
    for (unsigned i = 0; i < size; ++i) {
      const auto mask = static_cast<uint8_t>(vw >> (8 * i));
      vconfig_[pos + i] = static_cast<uint8_t>((vconfig_[pos + i] & ~mask) | ((value >> (8 * i)) & mask));
    }
  }
  if (const uint32_t pw = writable & ~virt) {
    Result<uint32_t> phys = m->ConfigRead(pos, size);
    // Bits the user may not write keep their value; write-1-to-clear bits
    // among them get a 0 so that nothing is cleared behind the user's back.
    const uint32_t w1c = m->power_on_config().W1cMask(pos, size);
    const uint32_t out = ((phys.ok() ? *phys : 0) & ~pw & ~w1c) | (value & pw);
    (void)m->ConfigWrite(pos, size, out);
  }

  // BARs: re-apply the size mask and type bits to every register touched.
  for (int i = 0; i <= PCI_STD_NUM_BARS; ++i) {
    const uint32_t reg = i < PCI_STD_NUM_BARS ? PCI_BASE_ADDRESS_0 + 4 * i : PCI_ROM_ADDRESS;
    if (!Touches(pos, size, reg, 4)) continue;
    uint32_t flags, bar;
    std::memcpy(&bar, &vconfig_[reg], 4);
    bar = (bar & BarMask(i, &flags)) | flags;
    std::memcpy(&vconfig_[reg], &bar, 4);
  }
  // MSI flags: Enable only while SET_IRQS has MSI on; MME no larger than
  // what SET_IRQS allocated (vfio_msi_config_write).
  if (msi_cap_ != 0 && Touches(pos, size, msi_cap_ + PCI_MSI_FLAGS, 2)) {
    uint16_t flags;
    std::memcpy(&flags, &vconfig_[msi_cap_ + PCI_MSI_FLAGS], 2);
    if (irq_type_ != IrqType::kMsi) flags &= ~PCI_MSI_FLAGS_ENABLE;
    if (((flags & PCI_MSI_FLAGS_QSIZE) >> 4) > msi_qmax_) {
      flags = static_cast<uint16_t>((flags & ~PCI_MSI_FLAGS_QSIZE) | (msi_qmax_ << 4));
    }
    std::memcpy(&vconfig_[msi_cap_ + PCI_MSI_FLAGS], &flags, 2);
  }
  // Device Control FLR: reads as 0; with FLR capability, a function reset.
  if (pcie_cap_ != 0 && Touches(pos, size, pcie_cap_ + PCI_EXP_DEVCTL, 2)) {
    uint16_t ctl;
    std::memcpy(&ctl, &vconfig_[pcie_cap_ + PCI_EXP_DEVCTL], 2);
    if (ctl & PCI_EXP_DEVCTL_BCR_FLR) {
      ctl &= ~PCI_EXP_DEVCTL_BCR_FLR;
      std::memcpy(&vconfig_[pcie_cap_ + PCI_EXP_DEVCTL], &ctl, 2);
      if (m->power_on_config().Get32(pcie_cap_ + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR) {
        (void)ResetFunctionLocked();
      }
    }
  }
}

Result<long> DeviceState::ConfigRw(uint8_t* buf, size_t count, uint64_t pos, bool write) {
  sim::PciDevice* m = model();
  if (m == nullptr) return Error(EINVAL);
  const size_t size = m->ConfigSize();
  if (pos >= size || count > size - pos) return Error(EFAULT);
  for (size_t done = 0; done < count;) {
    const auto p = static_cast<uint32_t>(pos + done);
    const size_t left = count - done;
    const unsigned n = (left >= 4 && p % 4 == 0) ? 4 : (left >= 2 && p % 2 == 0) ? 2 : 1;
    uint32_t value = 0;
    if (write) {
      std::memcpy(&value, buf + done, n);
      ConfigWriteChunk(p, n, value);
    } else {
      value = ConfigReadChunk(p, n);
      std::memcpy(buf + done, &value, n);
    }
    done += n;
  }
  return static_cast<long>(count);
}

}  // namespace vfiosim::api
