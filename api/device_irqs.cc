// Interrupts of a vfio-pci device: GET_IRQ_INFO and the SET_IRQS DATA x
// ACTION matrix (drivers/vfio/pci/vfio_pci_intrs.c, 6.1).
//
// One interrupt type is live at a time (none, INTx, MSI, MSI-X); ERR and REQ
// each have one optional eventfd. Eventfds are the client's real ones; the
// device's EventfdIrqSink dups and signals them. Enabling MSI or MSI-X also
// programs the device the way pci_alloc_irq_vectors() does - capability
// Enable (and Multiple Message Enable), message address/data, MSI-X table
// entries of the allocated vectors unmasked - because the model only sends
// messages its config space enables. The user-visible MSI capability stays
// virtual (device_config.cc).
//
//   index   action   DATA_NONE            DATA_BOOL            DATA_EVENTFD
//   INTx    MASK     mask                 mask if true         ENOTTY
//           UNMASK   unmask (re-signals   unmask if true       fd >= 0: unmask on each
//                    while asserted)                           signal (EBUSY if set);
//                                                              fd < 0: stop that
//           TRIGGER  count 0: disable;    signal if true       enable + set fd
//                    else signal                               (fd < 0: no eventfd)
//   MSI/-X  TRIGGER  count 0: disable;    signal vectors       enable start+count
//                    else signal vectors  whose byte is true   vectors or set fds of
//                                                              live ones (fd < 0: clear)
//           MASK/UNMASK                   ENOTTY
//   ERR/REQ TRIGGER  count 1: signal,     count 1: signal      fd -1 clears, fd >= 0
//                    count 0: clear;      if true              sets (other negatives
//                    no eventfd: EINVAL                        ignored)
//   anything else, including no or several action bits: ENOTTY.
// Deliberate difference: every eventfd is checked before anything changes,
// so a bad fd (EBADF, EINVAL for a non-eventfd) leaves all state as it was;
// the kernel has already released some vectors by then.
#include <bit>
#include <cstring>

#include "api/device_state.h"
#include "core/fault_injection.h"

namespace vfiosim::api {
namespace {

using core::Error;
using core::Status;
using sim::IrqKind;

constexpr uint32_t kMsiAddress = 0xfee00000;  // x86 local APIC window

uint32_t Log2Ceil(uint32_t n) { return n <= 1 ? 0 : 32 - std::countl_zero(n - 1); }

int32_t FdAt(const uint8_t* data, uint32_t i) {
  int32_t fd;
  std::memcpy(&fd, data + 4 * i, sizeof(fd));
  return fd;
}

}  // namespace

uint32_t DeviceState::IrqCount(uint32_t index) const {
  const sim::PciDevice* m = model();
  if (m == nullptr) return 0;
  switch (index) {
    case VFIO_PCI_INTX_IRQ_INDEX: return m->IntxCount();
    case VFIO_PCI_MSI_IRQ_INDEX: return m->MsiVectorCount();
    case VFIO_PCI_MSIX_IRQ_INDEX: return m->MsixTableSize();
    case VFIO_PCI_ERR_IRQ_INDEX: return m->IsExpress() ? 1 : 0;
    case VFIO_PCI_REQ_IRQ_INDEX: return 1;
    default: return 0;
  }
}

Status DeviceState::IrqInfo(vfio_irq_info* info) const {
  if (info->index >= VFIO_PCI_NUM_IRQS) return Error(EINVAL);
  if (info->index == VFIO_PCI_ERR_IRQ_INDEX && (model() == nullptr || !model()->IsExpress())) {
    return Error(EINVAL);
  }
  info->flags = VFIO_IRQ_INFO_EVENTFD;
  if (info->index == VFIO_PCI_INTX_IRQ_INDEX) {
    info->flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
  } else {
    info->flags |= VFIO_IRQ_INFO_NORESIZE;  // 6.1: no dynamic MSI-X allocation
  }
  info->count = IrqCount(info->index);
  return Status::Ok();
}

Status DeviceState::SetIrqs(uint32_t flags, uint32_t index, uint32_t start, uint32_t count,
                            const uint8_t* data) {
  const uint32_t action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
  const uint32_t dtype = flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
  core::MutexLock lock(mu_);
  if (dev_->irq == nullptr) return Error(ENOTTY);
  Status s = Error(ENOTTY);
  switch (index) {
    case VFIO_PCI_INTX_IRQ_INDEX:
      if (action == VFIO_IRQ_SET_ACTION_MASK || action == VFIO_IRQ_SET_ACTION_UNMASK ||
          action == VFIO_IRQ_SET_ACTION_TRIGGER) {
        s = SetIntx(action, dtype, start, count, data);
      }
      break;
    case VFIO_PCI_MSI_IRQ_INDEX:
    case VFIO_PCI_MSIX_IRQ_INDEX:
      if (action == VFIO_IRQ_SET_ACTION_TRIGGER) {
        s = SetMsi(index == VFIO_PCI_MSIX_IRQ_INDEX, dtype, start, count, data);
      }
      break;
    case VFIO_PCI_ERR_IRQ_INDEX:
      if (action == VFIO_IRQ_SET_ACTION_TRIGGER && model()->IsExpress()) {
        s = start != 0 || count > 1 ? Error(EINVAL) : SetSingle(IrqKind::kErr, dtype, count, data);
      }
      break;
    case VFIO_PCI_REQ_IRQ_INDEX:
      if (action == VFIO_IRQ_SET_ACTION_TRIGGER) {
        s = start != 0 || count > 1 ? Error(EINVAL) : SetSingle(IrqKind::kReq, dtype, count, data);
      }
      break;
    default:
      break;
  }
  RefreshLocked();
  return s;
}

// ---- INTx ----

Status DeviceState::SetIntx(uint32_t action, uint32_t dtype, uint32_t start, uint32_t count,
                            const uint8_t* data) {
  sim::EventfdIrqSink* sink = dev_->irq.get();
  if (action == VFIO_IRQ_SET_ACTION_TRIGGER) {
    if (irq_type_ == IrqType::kIntx && count == 0 && dtype == VFIO_IRQ_SET_DATA_NONE) {
      DisableIntx();
      return Status::Ok();
    }
    if ((irq_type_ != IrqType::kIntx && irq_type_ != IrqType::kNone) || start != 0 || count != 1) {
      return Error(EINVAL);
    }
    if (dtype == VFIO_IRQ_SET_DATA_EVENTFD) {
      const int32_t fd = FdAt(data, 0);
      if (fd >= 0) VFIOSIM_RETURN_IF_ERROR(CheckEventfd(fd));
      const bool fresh = irq_type_ == IrqType::kNone;
      if (fresh) {
        sink->Enable(IrqKind::kIntx, 1);
        irq_type_ = IrqType::kIntx;
      }
      if (Status s = sink->SetTrigger(IrqKind::kIntx, 0, fd >= 0 ? fd : -1); !s.ok()) {
        if (fresh) DisableIntx();
        return s;
      }
      // A line already asserted fires as soon as the handler is installed.
      if (fresh && model()->IntxLineAsserted()) sink->UnmaskIntx();
      return Status::Ok();
    }
    if (irq_type_ != IrqType::kIntx) return Error(EINVAL);
    if (dtype == VFIO_IRQ_SET_DATA_NONE || data[0] != 0) sink->Trigger(IrqKind::kIntx, 0);
    return Status::Ok();
  }

  if (irq_type_ != IrqType::kIntx || start != 0 || count != 1) return Error(EINVAL);
  const bool mask = action == VFIO_IRQ_SET_ACTION_MASK;
  if (dtype == VFIO_IRQ_SET_DATA_EVENTFD) {
    if (mask) return Error(ENOTTY);  // not implemented by vfio-pci either
    const int32_t fd = FdAt(data, 0);
    if (fd < 0) {
      intx_unmask_.Stop();
      return Status::Ok();
    }
    if (intx_unmask_.active()) return Error(EBUSY);
    return intx_unmask_.Start(fd, [sink] { sink->UnmaskIntx(); });
  }
  if (dtype == VFIO_IRQ_SET_DATA_BOOL && data[0] == 0) return Status::Ok();
  if (mask) {
    sink->MaskIntx();
  } else {
    sink->UnmaskIntx();
  }
  return Status::Ok();
}

void DeviceState::DisableIntx() {
  intx_unmask_.Stop();
  dev_->irq->Disable(IrqKind::kIntx);
  irq_type_ = IrqType::kNone;
}

// ---- MSI / MSI-X ----

Status DeviceState::SetMsi(bool msix, uint32_t dtype, uint32_t start, uint32_t count,
                           const uint8_t* data) {
  sim::EventfdIrqSink* sink = dev_->irq.get();
  const IrqKind kind = msix ? IrqKind::kMsix : IrqKind::kMsi;
  const IrqType type = msix ? IrqType::kMsix : IrqType::kMsi;
  if (irq_type_ == type && count == 0 && dtype == VFIO_IRQ_SET_DATA_NONE) {
    DisableMsi();
    return Status::Ok();
  }
  if (irq_type_ != type && irq_type_ != IrqType::kNone) return Error(EINVAL);

  if (dtype == VFIO_IRQ_SET_DATA_EVENTFD) {
    for (uint32_t i = 0; i < count; ++i) {
      if (FdAt(data, i) >= 0) VFIOSIM_RETURN_IF_ERROR(CheckEventfd(FdAt(data, i)));
    }
    const bool fresh = irq_type_ == IrqType::kNone;
    if (fresh) {
      const uint32_t nvec = start + count;
      // pci_alloc_irq_vectors(1, 0) is -ERANGE; kcalloc may fail.
      if (nvec == 0) return Error(ERANGE);
      if (core::ShouldFail(core::FailSite::kObjectAlloc)) return Error(ENOMEM);
      // Seed 000: each vector's doorbell gets an IOVA in the user's MSI window.
      if (dev_->dma) {
        core::Result<std::vector<uint64_t>> doorbells = dev_->dma->AllocMsiDoorbells(nvec);
        if (!doorbells.ok()) return doorbells.status();
        msi_doorbells_ = std::move(*doorbells);
      }
      sink->Enable(kind, nvec);
      if (msix) {
        ProgramMsix(nvec);
      } else {
        ProgramMsi(nvec);
        msi_qmax_ = Log2Ceil(nvec);
      }
      irq_type_ = type;
      num_ctx_ = nvec;
    } else if (start >= num_ctx_ || count > num_ctx_ - start) {
      return Error(EINVAL);  // NORESIZE: only the vectors enabled first
    }
    for (uint32_t i = 0; i < count; ++i) {
      const int32_t fd = FdAt(data, i);
      if (Status s = sink->SetTrigger(kind, start + i, fd >= 0 ? fd : -1); !s.ok()) {
        if (fresh) DisableMsi();  // only dup() running out of fds gets here
        return s;
      }
    }
    return Status::Ok();
  }

  if (irq_type_ != type) return Error(EINVAL);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t vector = start + i;
    if (vector >= num_ctx_ || !sink->HasTrigger(kind, vector)) continue;
    if (dtype == VFIO_IRQ_SET_DATA_NONE || data[i] != 0) sink->Trigger(kind, vector);
  }
  return Status::Ok();
}

void DeviceState::DisableMsi() {
  if (dev_->dma) dev_->dma->FreeMsiDoorbells(msi_doorbells_);
  msi_doorbells_.clear();
  const bool msix = irq_type_ == IrqType::kMsix;
  dev_->irq->Disable(msix ? IrqKind::kMsix : IrqKind::kMsi);
  if (msix) {
    UnprogramMsix();
  } else {
    UnprogramMsi();
  }
  irq_type_ = IrqType::kNone;
  num_ctx_ = 0;
}

void DeviceState::ProgramMsi(uint32_t nvec) {
  sim::PciDevice* m = model();
  const uint16_t cap = m->power_on_config().FindCapability(PCI_CAP_ID_MSI);
  if (cap == 0) return;
  uint16_t flags = m->power_on_config().Get16(cap + PCI_MSI_FLAGS);
  const bool is64 = flags & PCI_MSI_FLAGS_64BIT;
  (void)m->ConfigWrite(cap + PCI_MSI_ADDRESS_LO, 4, kMsiAddress);
  if (is64) (void)m->ConfigWrite(cap + PCI_MSI_ADDRESS_HI, 4, 0);
  (void)m->ConfigWrite(cap + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, 0x4000);
  if (flags & PCI_MSI_FLAGS_MASKBIT) {
    const uint32_t allocated = nvec >= 32 ? ~0u : (1u << nvec) - 1;
    (void)m->ConfigWrite(cap + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32), 4, ~allocated);
  }
  flags = static_cast<uint16_t>((flags & ~PCI_MSI_FLAGS_QSIZE) | (Log2Ceil(nvec) << 4) |
                                PCI_MSI_FLAGS_ENABLE);
  (void)m->ConfigWrite(cap + PCI_MSI_FLAGS, 2, flags);
}

void DeviceState::UnprogramMsi() {
  sim::PciDevice* m = model();
  const uint16_t cap = m->power_on_config().FindCapability(PCI_CAP_ID_MSI);
  if (cap == 0) return;
  const uint16_t flags = m->power_on_config().Get16(cap + PCI_MSI_FLAGS);
  if (flags & PCI_MSI_FLAGS_MASKBIT) {
    const bool is64 = flags & PCI_MSI_FLAGS_64BIT;
    (void)m->ConfigWrite(cap + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32), 4, ~0u);
  }
  (void)m->ConfigWrite(cap + PCI_MSI_FLAGS, 2, flags & ~(PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE));
}

void DeviceState::ProgramMsix(uint32_t nvec) {
  sim::PciDevice* m = model();
  const uint16_t cap = m->power_on_config().FindCapability(PCI_CAP_ID_MSIX);
  const sim::MsixLayout& msix = m->msix_layout();
  if (cap == 0 || !msix.present) return;
  const uint16_t ctrl = m->power_on_config().Get16(cap + PCI_MSIX_FLAGS);
  // Function Mask while the table is written, as msix_capability_init does.
  (void)m->ConfigWrite(cap + PCI_MSIX_FLAGS, 2, ctrl | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
  for (uint32_t v = 0; v < msix.table_size; ++v) {
    const uint64_t entry = msix.table_offset + uint64_t{v} * PCI_MSIX_ENTRY_SIZE;
    (void)m->BarWrite(msix.table_bar, entry + PCI_MSIX_ENTRY_LOWER_ADDR, 4, kMsiAddress);
    (void)m->BarWrite(msix.table_bar, entry + PCI_MSIX_ENTRY_UPPER_ADDR, 4, 0);
    (void)m->BarWrite(msix.table_bar, entry + PCI_MSIX_ENTRY_DATA, 4, 0x4000 + v);
    (void)m->BarWrite(msix.table_bar, entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 4,
                      v < nvec ? 0 : PCI_MSIX_ENTRY_CTRL_MASKBIT);
  }
  (void)m->ConfigWrite(cap + PCI_MSIX_FLAGS, 2, (ctrl | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL);
}

void DeviceState::UnprogramMsix() {
  sim::PciDevice* m = model();
  const uint16_t cap = m->power_on_config().FindCapability(PCI_CAP_ID_MSIX);
  const sim::MsixLayout& msix = m->msix_layout();
  if (cap == 0 || !msix.present) return;
  for (uint32_t v = 0; v < msix.table_size; ++v) {
    const uint64_t entry = msix.table_offset + uint64_t{v} * PCI_MSIX_ENTRY_SIZE;
    (void)m->BarWrite(msix.table_bar, entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, PCI_MSIX_ENTRY_CTRL_MASKBIT);
  }
  const uint16_t ctrl = m->power_on_config().Get16(cap + PCI_MSIX_FLAGS);
  (void)m->ConfigWrite(cap + PCI_MSIX_FLAGS, 2, ctrl & ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL));
}

void DeviceState::ReprogramIrqs() {
  if (irq_type_ == IrqType::kMsi) ProgramMsi(num_ctx_);
  if (irq_type_ == IrqType::kMsix) ProgramMsix(num_ctx_);
}

void DeviceState::DisableAllIrqs() {
  if (dev_->irq == nullptr) return;
  if (irq_type_ == IrqType::kIntx) DisableIntx();
  if (irq_type_ == IrqType::kMsi || irq_type_ == IrqType::kMsix) DisableMsi();
  dev_->irq->Disable(IrqKind::kErr);
  dev_->irq->Disable(IrqKind::kReq);
}

// ---- ERR / REQ (vfio_pci_set_ctx_trigger_single) ----

Status DeviceState::SetSingle(IrqKind kind, uint32_t dtype, uint32_t count, const uint8_t* data) {
  sim::EventfdIrqSink* sink = dev_->irq.get();
  const bool has = sink->HasTrigger(kind, 0);
  switch (dtype) {
    case VFIO_IRQ_SET_DATA_NONE:
      if (!has) return Error(EINVAL);
      if (count != 0) {
        sink->Trigger(kind, 0);
        return Status::Ok();
      }
      return sink->SetTrigger(kind, 0, -1);
    case VFIO_IRQ_SET_DATA_BOOL:
      if (count == 0) return Error(EINVAL);
      if (data[0] != 0 && has) sink->Trigger(kind, 0);
      return Status::Ok();
    case VFIO_IRQ_SET_DATA_EVENTFD: {
      if (count == 0) return Error(EINVAL);
      const int32_t fd = FdAt(data, 0);
      if (fd == -1) return sink->SetTrigger(kind, 0, -1);
      if (fd < 0) return Status::Ok();
      VFIOSIM_RETURN_IF_ERROR(CheckEventfd(fd));
      return sink->SetTrigger(kind, 0, fd);
    }
    default:
      return Error(EINVAL);
  }
}

}  // namespace vfiosim::api
