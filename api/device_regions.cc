// Regions of a vfio-pci device: GET_REGION_INFO and read()/write() on the
// device fd (vfio_pci_ioctl_get_region_info, vfio_pci_rw, vfio_pci_bar_rw).
//
// Layout: region `index` lives at device-fd offset index << 40. BAR0-5 come
// from the model (size 0 and flags 0 when unimplemented), READ|WRITE, plus
// MMAP for a memory BAR of at least a page (vfio-pci maps real MMIO; here
// see device_state.h "Mmap"). The MSI-X BAR adds the MSIX_MAPPABLE cap. ROM
// (index 6) has size 0 (no model has one), config (7) is 256 or 4096 bytes,
// VGA (8) and every index >= 9 are EINVAL: no model is a VGA device or has
// device-specific regions.
//
// BAR access follows 6.1's vfio_pci_core_do_io_rw: pieces of 4, 2 or 1 bytes
// by alignment (no 8-byte accesses before 6.12: an 8-byte pread becomes two
// 4-byte reads), the MSI-X table reads as 0xff and drops writes (the kernel
// owns it), an access at or past the end of the BAR is EINVAL and one that
// starts inside is cut short, a memory BAR with Command.Memory clear is EIO.
#include <cstring>

#include "api/device_state.h"
#include "api/region_caps.h"

namespace vfiosim::api {
namespace {

using core::Error;
using core::Result;
using core::Status;

bool IsMemoryBar(const sim::BarSpec& spec) {
  return spec.type == sim::BarType::kMem32 || spec.type == sim::BarType::kMem64;
}

}  // namespace

bool DeviceState::BarMmapSupported(int bar) const {
  if (model() == nullptr) return false;
  const sim::BarSpec& spec = model()->Bar(bar).spec;
  return IsMemoryBar(spec) && spec.size >= kPageSize;
}

Status DeviceState::RegionInfo(vfio_region_info* info, CapChain* caps) const {
  const sim::PciDevice* m = model();
  switch (info->index) {
    case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX: {
      const int bar = static_cast<int>(info->index);
      info->offset = RegionOffset(info->index);
      info->size = m != nullptr ? m->Bar(bar).spec.size : 0;
      if (info->size == 0) {
        info->flags = 0;
        break;
      }
      info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
      if (BarMmapSupported(bar)) {
        info->flags |= VFIO_REGION_INFO_FLAG_MMAP;
        const sim::MsixLayout& msix = m->msix_layout();
        if (msix.present && msix.table_bar == bar) AddMsixMappableCap(caps);
      }
      break;
    }
    case VFIO_PCI_ROM_REGION_INDEX:
      info->offset = RegionOffset(info->index);
      info->flags = 0;
      info->size = 0;
      break;
    case VFIO_PCI_CONFIG_REGION_INDEX:
      info->offset = RegionOffset(info->index);
      info->size = m != nullptr ? m->ConfigSize() : PCI_CFG_SPACE_SIZE;
      info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
      break;
    default:  // VGA (not a VGA device) and device-specific regions (none)
      return Error(EINVAL);
  }
  return Status::Ok();
}

Result<long> DeviceState::Rw(uint8_t* buf, size_t count, uint64_t pos, bool write) {
  const uint64_t index = pos >> kOffsetShift;
  if (index >= VFIO_PCI_NUM_REGIONS) return Error(EINVAL);
  core::MutexLock lock(mu_);
  Result<long> r = Error(EINVAL);
  switch (index) {
    case VFIO_PCI_CONFIG_REGION_INDEX:
      r = ConfigRw(buf, count, pos & kOffsetMask, write);
      break;
    case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
      r = BarRw(static_cast<int>(index), buf, count, pos & kOffsetMask, write);
      break;
    default:  // ROM (none), VGA (none)
      break;
  }
  // Only writes change device state (no model register has a read side
  // effect), so only they refresh the mirrored register pages.
  if (write) RefreshLocked();
  return r;
}

Result<long> DeviceState::BarRw(int bar, uint8_t* buf, size_t count, uint64_t pos, bool write) {
  sim::PciDevice* m = model();
  if (m == nullptr) return Error(EINVAL);
  const sim::BarSpec& spec = m->Bar(bar).spec;
  if (spec.type == sim::BarType::kNone || pos >= spec.size) return Error(EINVAL);
  count = std::min<uint64_t>(count, spec.size - pos);
  if (IsMemoryBar(spec) && !(Command() & PCI_COMMAND_MEMORY)) return Error(EIO);
  uint64_t x_start = 0, x_end = 0;  // the MSI-X table, owned by the kernel
  const sim::MsixLayout& msix = m->msix_layout();
  if (msix.present && msix.table_bar == bar) {
    x_start = msix.table_offset;
    x_end = msix.table_offset + msix.table_bytes();
  }
  for (size_t done = 0; done < count;) {
    const uint64_t off = pos + done;
    const size_t left = count - done;
    size_t fillable = 0;
    if (off < x_start) {
      fillable = std::min<uint64_t>(left, x_start - off);
    } else if (off >= x_end) {
      fillable = left;
    }
    unsigned n = 0;
    if (fillable >= 4 && off % 4 == 0) {
      n = 4;
    } else if (fillable >= 2 && off % 2 == 0) {
      n = 2;
    } else if (fillable > 0) {
      n = 1;
    } else {
      const size_t skip = std::min<uint64_t>(left, x_end - off);
      if (!write) std::memset(buf + done, 0xff, skip);
      done += skip;
      continue;
    }
    if (write) {
      uint64_t value = 0;
      std::memcpy(&value, buf + done, n);
      VFIOSIM_RETURN_IF_ERROR(m->BarWrite(bar, off, n, value));
    } else {
      Result<uint64_t> value = m->BarRead(bar, off, n);
      if (!value.ok()) return value.status();
      std::memcpy(buf + done, &*value, n);
    }
    done += n;
  }
  return static_cast<long>(count);
}

}  // namespace vfiosim::api
