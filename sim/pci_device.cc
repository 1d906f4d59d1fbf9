#include "sim/pci_device.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>

#include "core/fault_injection.h"
#include "core/range.h"

namespace vfiosim::sim {
namespace {

using core::Error;
using core::FaultReason;
using core::FaultRecord;
using core::MutexLock;
using core::Result;
using core::Status;

static_assert(std::endian::native == std::endian::little,
              "BAR and MSI-X emulation copies little-endian registers with memcpy");

constexpr uint64_t SizeMask(unsigned size) {
  return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
}

constexpr uint64_t PageAlignUp(uint64_t n) {
  return (n + kSimPageSize - 1) & ~(kSimPageSize - 1);
}

bool IsMemory(BarType t) { return t == BarType::kMem32 || t == BarType::kMem64; }

// [a, a+as) and [b, b+bs) intersect (sizes > 0, no overflow by construction).
bool Overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs) { return a < b + bs && b < a + as; }

bool InsideBar(const BarInfo& bar, uint64_t offset, uint64_t size) {
  return offset <= bar.spec.size && size <= bar.spec.size - offset;
}

}  // namespace

void PciDevice::FreeDeleter::operator()(uint8_t* p) const { std::free(p); }

PciDevice::PciDevice(ConfigKind kind) : config_(kind), power_on_(kind) {}

PciDevice::~PciDevice() = default;

const BarInfo& PciDevice::Bar(int index) const {
  static const BarInfo kNoBar;
  if (index < 0 || index >= PCI_STD_NUM_BARS) return kNoBar;
  return bars_[index];
}

uint32_t PciDevice::IntxCount() const {
  return power_on_.Get8(PCI_INTERRUPT_PIN) != 0 ? 1 : 0;
}

uint32_t PciDevice::MsiVectorCount() const {
  if (msi_cap_ == 0) return 0;
  const uint16_t flags = power_on_.Get16(msi_cap_ + PCI_MSI_FLAGS);
  return 1u << ((flags & PCI_MSI_FLAGS_QMASK) >> 1);
}

// ---- Construction ----

Status PciDevice::DefineBar(int index, const BarSpec& spec, std::vector<MmapArea> areas) {
  if (index < 0 || index >= PCI_STD_NUM_BARS) return Error(EINVAL);
  if (!areas.empty() && !IsMemory(spec.type)) return Error(EINVAL);
  std::sort(areas.begin(), areas.end(),
            [](const MmapArea& a, const MmapArea& b) { return a.offset < b.offset; });
  BarInfo info{spec, {}};
  for (size_t i = 0; i < areas.size(); ++i) {
    const MmapArea& a = areas[i];
    if (a.size == 0 || !core::IsAligned(a.offset, kSimPageSize) ||
        !core::IsAligned(a.size, kSimPageSize) || !InsideBar(info, a.offset, a.size)) {
      return Error(EINVAL);
    }
    if (i > 0 && areas[i - 1].offset + areas[i - 1].size > a.offset) return Error(EINVAL);
  }
  VFIOSIM_RETURN_IF_ERROR(mutable_config().SetBar(index, spec));
  info.mmap_areas = std::move(areas);
  bars_[index] = std::move(info);
  return Status::Ok();
}

Status PciDevice::FinalizeConfig() {
  const uint16_t msi_cap = config_.FindCapability(PCI_CAP_ID_MSI);
  const uint16_t msix_cap = config_.FindCapability(PCI_CAP_ID_MSIX);
  const uint16_t pcie_cap = config_.FindCapability(PCI_CAP_ID_EXP);
  const uint16_t pasid_cap = config_.FindExtCapability(PCI_EXT_CAP_ID_PASID);

  MsixLayout msix;
  if (msix_cap != 0) {
    const uint32_t table = config_.Get32(msix_cap + PCI_MSIX_TABLE);
    const uint32_t pba = config_.Get32(msix_cap + PCI_MSIX_PBA);
    msix.present = true;
    msix.table_size = (config_.Get16(msix_cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1;
    msix.table_bar = static_cast<int>(table & PCI_MSIX_TABLE_BIR);
    msix.table_offset = table & PCI_MSIX_TABLE_OFFSET;
    msix.pba_bar = static_cast<int>(pba & PCI_MSIX_PBA_BIR);
    msix.pba_offset = pba & PCI_MSIX_PBA_OFFSET;
    const BarInfo& tbar = Bar(msix.table_bar);
    const BarInfo& pbar = Bar(msix.pba_bar);
    if (!IsMemory(tbar.spec.type) || !IsMemory(pbar.spec.type) ||
        !InsideBar(tbar, msix.table_offset, msix.table_bytes()) ||
        !InsideBar(pbar, msix.pba_offset, msix.pba_bytes())) {
      return Error(EINVAL);
    }
    if (msix.table_bar == msix.pba_bar &&
        Overlap(msix.table_offset, msix.table_bytes(), msix.pba_offset, msix.pba_bytes())) {
      return Error(EINVAL);
    }
    for (const MmapArea& a : tbar.mmap_areas) {
      if (Overlap(a.offset, a.size, msix.table_offset, msix.table_bytes())) return Error(EINVAL);
    }
    for (const MmapArea& a : pbar.mmap_areas) {
      if (Overlap(a.offset, a.size, msix.pba_offset, msix.pba_bytes())) return Error(EINVAL);
    }
  }

  // Everything that can fail happens before anything is published.
  if (core::ShouldFail(core::FailSite::kObjectAlloc)) return Error(ENOMEM);
  std::array<std::unique_ptr<uint8_t[], FreeDeleter>, PCI_STD_NUM_BARS> backing;
  std::array<uint64_t, PCI_STD_NUM_BARS> backing_size{};
  for (int i = 0; i < PCI_STD_NUM_BARS; ++i) {
    if (!bars_[i].mmappable()) continue;
    const uint64_t size = PageAlignUp(bars_[i].spec.size);
    void* p = std::aligned_alloc(kSimPageSize, size);
    if (p == nullptr) return Error(ENOMEM);
    std::memset(p, 0, size);
    backing[i].reset(static_cast<uint8_t*>(p));
    backing_size[i] = size;
  }

  msi_cap_ = msi_cap;
  msix_cap_ = msix_cap;
  pcie_cap_ = pcie_cap;
  pasid_cap_ = pasid_cap;
  msix_ = msix;
  backing_ = std::move(backing);
  backing_size_ = backing_size;
  msix_table_.assign(msix.table_bytes(), 0);
  msix_pba_.assign(msix.pba_bytes() / 8, 0);
  for (uint32_t v = 0; v < msix.table_size; ++v) {
    msix_table_[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] =
        PCI_MSIX_ENTRY_CTRL_MASKBIT;  // entries come out of reset masked
  }
  power_on_ = config_;
  return Status::Ok();
}

// ---- Attach / config ----

void PciDevice::Attach(DmaPort* dma, IrqSink* irq) {
  MutexLock lock(mu_);
  dma_ = dma;
  irq_ = irq;
  if (irq_ != nullptr && intx_line_) irq_->SetIntx(true);
}

void PciDevice::SetEnforceEnableBits(bool enforce) {
  MutexLock lock(mu_);
  enforce_enables_ = enforce;
  DeliverPendingMsi();
  DeliverPendingMsix();
}

Result<uint32_t> PciDevice::ConfigRead(uint32_t offset, unsigned size) {
  MutexLock lock(mu_);
  return config_.Read(offset, size);
}

Status PciDevice::ConfigWrite(uint32_t offset, unsigned size, uint32_t value) {
  MutexLock lock(mu_);
  VFIOSIM_RETURN_IF_ERROR(config_.Write(offset, size, value));
  // Initiate FLR is write-only (reads 0, so it is not in the write mask):
  // look at the data written to Device Control's high byte.
  if (pcie_cap_ != 0 && SupportsReset() &&
      (power_on_.Get32(pcie_cap_ + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR)) {
    const uint32_t flr_byte = pcie_cap_ + PCI_EXP_DEVCTL + 1;
    if (flr_byte >= offset && flr_byte < offset + size &&
        ((value >> (8 * (flr_byte - offset))) & (PCI_EXP_DEVCTL_BCR_FLR >> 8))) {
      ResetLocked();
      return Status::Ok();
    }
  }
  UpdateIntxLine();
  DeliverPendingMsi();
  DeliverPendingMsix();
  return Status::Ok();
}

// ---- BARs ----

uint8_t* PciDevice::MmapBacking(int bar) const {
  if (bar < 0 || bar >= PCI_STD_NUM_BARS) return nullptr;
  return backing_[bar].get();
}

uint8_t* PciDevice::MmapWindowByte(int bar, uint64_t offset) const {
  if (!backing_[bar]) return nullptr;
  for (const MmapArea& a : bars_[bar].mmap_areas) {
    if (offset >= a.offset && offset - a.offset < a.size) return backing_[bar].get() + offset;
  }
  return nullptr;
}

bool PciDevice::InMsixTable(int bar, uint64_t offset) const {
  return msix_.present && bar == msix_.table_bar && offset >= msix_.table_offset &&
         offset - msix_.table_offset < msix_.table_bytes();
}

bool PciDevice::InMsixPba(int bar, uint64_t offset) const {
  return msix_.present && bar == msix_.pba_bar && offset >= msix_.pba_offset &&
         offset - msix_.pba_offset < msix_.pba_bytes();
}

namespace {
Status CheckBarAccess(const BarInfo& bar, uint64_t offset, unsigned size) {
  if (bar.spec.type == BarType::kNone) return Error(EINVAL);
  if (size != 1 && size != 2 && size != 4 && size != 8) return Error(EINVAL);
  if (size == 8 && bar.spec.type == BarType::kIo) return Error(EINVAL);
  if (offset % size != 0 || !InsideBar(bar, offset, size)) return Error(EINVAL);
  return Status::Ok();
}
}  // namespace

Result<uint64_t> PciDevice::BarRead(int bar, uint64_t offset, unsigned size) {
  VFIOSIM_RETURN_IF_ERROR(CheckBarAccess(Bar(bar), offset, size));
  // Accesses are naturally aligned and windows/table/PBA are at least 8-byte
  // aligned, so an access never straddles two of them.
  if (const uint8_t* p = MmapWindowByte(bar, offset)) {
    uint64_t v = 0;
    std::memcpy(&v, p, size);
    return v;
  }
  MutexLock lock(mu_);
  if (InMsixTable(bar, offset)) return MsixTableRead(offset - msix_.table_offset, size);
  if (InMsixPba(bar, offset)) return MsixPbaRead(offset - msix_.pba_offset, size);
  return OnBarRead(bar, offset, size) & SizeMask(size);
}

Status PciDevice::BarWrite(int bar, uint64_t offset, unsigned size, uint64_t value) {
  VFIOSIM_RETURN_IF_ERROR(CheckBarAccess(Bar(bar), offset, size));
  if (uint8_t* p = MmapWindowByte(bar, offset)) {
    std::memcpy(p, &value, size);
    return Status::Ok();
  }
  MutexLock lock(mu_);
  if (InMsixTable(bar, offset)) {
    MsixTableWrite(offset - msix_.table_offset, size, value);
  } else if (!InMsixPba(bar, offset)) {  // the PBA is read-only
    OnBarWrite(bar, offset, size, value & SizeMask(size));
  }
  return Status::Ok();
}

// ---- Reset ----

Status PciDevice::Reset() {
  MutexLock lock(mu_);
  if (!SupportsReset()) return Error(EINVAL);
  ResetLocked();
  return Status::Ok();
}

void PciDevice::ResetLocked() {
  config_ = power_on_;
  std::fill(msix_table_.begin(), msix_table_.end(), 0);
  for (uint32_t v = 0; v < msix_.table_size; ++v) {
    msix_table_[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
  }
  std::fill(msix_pba_.begin(), msix_pba_.end(), 0);
  for (int i = 0; i < PCI_STD_NUM_BARS; ++i) {
    if (backing_[i]) std::memset(backing_[i].get(), 0, backing_size_[i]);
  }
  intx_level_ = false;
  UpdateIntxLine();
  OnReset();
}

// ---- DMA ----

bool PciDevice::BusMasterEnabled() const {
  return (config_.Get16(PCI_COMMAND) & PCI_COMMAND_MASTER) != 0;
}

bool PciDevice::PasidEnabled() const {
  return pasid_cap_ != 0 && (config_.Get16(pasid_cap_ + PCI_PASID_CTRL) & PCI_PASID_CTRL_ENABLE);
}

DmaResult PciDevice::CheckIssue(uint64_t iova, core::Pasid pasid, uint8_t perm) const {
  FaultRecord f;
  f.reason = FaultReason::kUnknown;
  f.addr_valid = true;
  f.addr = iova & ~(kSimPageSize - 1);
  f.perm = perm;
  if (pasid != core::kNoPasid) {
    f.pasid_valid = true;
    f.pasid = pasid;
  }
  if (dma_ == nullptr) return DmaResult::Fault(f);
  if (enforce_enables_ && !BusMasterEnabled()) return DmaResult::Fault(f);
  if (pasid != core::kNoPasid) {
    if (pasid_cap_ == 0) return DmaResult::Fault(f);
    if (enforce_enables_ && !PasidEnabled()) return DmaResult::Fault(f);
    const unsigned width = (config_.Get16(pasid_cap_ + PCI_PASID_CAP) >> 8) & 0x1f;
    if (pasid >= (uint64_t{1} << width)) return DmaResult::Fault(f);
  }
  return DmaResult::Ok();
}

DmaResult PciDevice::DmaRead(uint64_t iova, void* dst, size_t len, core::Pasid pasid) {
  if (len == 0) return DmaResult::Ok();
  DmaResult r = CheckIssue(iova, pasid, core::kProtRead);
  if (!r.ok) return r;
  return dma_->Read(iova, dst, len, pasid);
}

DmaResult PciDevice::DmaWrite(uint64_t iova, const void* src, size_t len, core::Pasid pasid) {
  if (len == 0) return DmaResult::Ok();
  DmaResult r = CheckIssue(iova, pasid, core::kProtWrite);
  if (!r.ok) return r;
  return dma_->Write(iova, src, len, pasid);
}

// ---- INTx ----

void PciDevice::SetIntxLevel(bool level) {
  intx_level_ = level;
  UpdateIntxLine();
}

void PciDevice::UpdateIntxLine() {
  uint16_t status = config_.Get16(PCI_STATUS);
  status = intx_level_ ? (status | PCI_STATUS_INTERRUPT) : (status & ~PCI_STATUS_INTERRUPT);
  config_.Set16(PCI_STATUS, status);
  const bool line = intx_level_ && IntxCount() != 0 &&
                    !(config_.Get16(PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
  if (line == intx_line_) return;
  intx_line_ = line;
  if (irq_ != nullptr) irq_->SetIntx(line);
}

bool PciDevice::IntxLineAsserted() const {
  MutexLock lock(mu_);
  return intx_line_;
}

// ---- MSI ----

bool PciDevice::MessagesAllowed() const { return !enforce_enables_ || BusMasterEnabled(); }

bool PciDevice::MsiEnabled() const {
  return msi_cap_ != 0 && (config_.Get16(msi_cap_ + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE);
}

namespace {
struct MsiRegs {
  bool maskable;
  uint32_t mask_off;
  uint32_t pending_off;
};
MsiRegs MsiLayout(const PciConfigSpace& c, uint16_t cap) {
  const uint16_t flags = c.Get16(cap + PCI_MSI_FLAGS);
  const bool is64 = flags & PCI_MSI_FLAGS_64BIT;
  return {(flags & PCI_MSI_FLAGS_MASKBIT) != 0,
          static_cast<uint32_t>(cap + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32)),
          static_cast<uint32_t>(cap + (is64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32))};
}
}  // namespace

bool PciDevice::RaiseMsi(uint32_t vector) {
  if (!MsiEnabled() || !MessagesAllowed()) return false;
  const uint16_t flags = config_.Get16(msi_cap_ + PCI_MSI_FLAGS);
  const unsigned capable = (flags & PCI_MSI_FLAGS_QMASK) >> 1;
  const unsigned enabled = (flags & PCI_MSI_FLAGS_QSIZE) >> 4;
  // With fewer messages allocated than requested the function may only vary
  // the low log2(enabled) bits of the data: vectors alias.
  const uint32_t v = vector & ((1u << std::min(capable, enabled)) - 1);
  const MsiRegs regs = MsiLayout(config_, msi_cap_);
  if (regs.maskable && ((config_.Get32(regs.mask_off) >> v) & 1)) {
    config_.Set32(regs.pending_off, config_.Get32(regs.pending_off) | (1u << v));
    return false;
  }
  if (irq_ == nullptr) return false;
  irq_->SignalMsi(v);
  return true;
}

void PciDevice::DeliverPendingMsi() {
  if (!MsiEnabled() || !MessagesAllowed()) return;
  const MsiRegs regs = MsiLayout(config_, msi_cap_);
  if (!regs.maskable) return;
  uint32_t fire = config_.Get32(regs.pending_off) & ~config_.Get32(regs.mask_off);
  if (fire == 0) return;
  config_.Set32(regs.pending_off, config_.Get32(regs.pending_off) & ~fire);
  for (; fire != 0; fire &= fire - 1) {
    if (irq_ != nullptr) irq_->SignalMsi(static_cast<uint32_t>(std::countr_zero(fire)));
  }
}

// ---- MSI-X ----

bool PciDevice::MsixEnabled() const {
  return msix_cap_ != 0 && (config_.Get16(msix_cap_ + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE);
}

bool PciDevice::MsixFunctionMasked() const {
  return (config_.Get16(msix_cap_ + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_MASKALL) != 0;
}

bool PciDevice::MsixEntryMasked(uint32_t vector) const {
  return msix_table_[vector * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] &
         PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

bool PciDevice::RaiseMsix(uint32_t vector) {
  if (!MsixEnabled() || vector >= msix_.table_size || !MessagesAllowed()) return false;
  if (MsixFunctionMasked() || MsixEntryMasked(vector)) {
    msix_pba_[vector / 64] |= uint64_t{1} << (vector % 64);
    return false;
  }
  if (irq_ == nullptr) return false;
  irq_->SignalMsi(vector);
  return true;
}

void PciDevice::DeliverPendingMsix() {
  if (!MsixEnabled() || MsixFunctionMasked() || !MessagesAllowed()) return;
  for (size_t w = 0; w < msix_pba_.size(); ++w) {
    for (uint64_t bits = msix_pba_[w]; bits != 0; bits &= bits - 1) {
      const auto v = static_cast<uint32_t>(w * 64 + std::countr_zero(bits));
      if (MsixEntryMasked(v)) continue;
      msix_pba_[w] &= ~(uint64_t{1} << (v % 64));
      if (irq_ != nullptr) irq_->SignalMsi(v);
    }
  }
}

uint64_t PciDevice::MsixTableRead(uint64_t offset, unsigned size) const {
  uint64_t v = 0;
  std::memcpy(&v, msix_table_.data() + offset, size);
  return v;
}

void PciDevice::MsixTableWrite(uint64_t offset, unsigned size, uint64_t value) {
  std::memcpy(msix_table_.data() + offset, &value, size);
  // Reserved bits stay zero: address bits 1:0 and Vector Control bits 31:1.
  uint8_t* entry = msix_table_.data() + offset / PCI_MSIX_ENTRY_SIZE * PCI_MSIX_ENTRY_SIZE;
  entry[PCI_MSIX_ENTRY_LOWER_ADDR] &= ~uint8_t{3};
  entry[PCI_MSIX_ENTRY_VECTOR_CTRL] &= PCI_MSIX_ENTRY_CTRL_MASKBIT;
  std::memset(entry + PCI_MSIX_ENTRY_VECTOR_CTRL + 1, 0, 3);
  DeliverPendingMsix();  // clearing a Mask bit releases a pending message
}

uint64_t PciDevice::MsixPbaRead(uint64_t offset, unsigned size) const {
  uint64_t v = 0;
  std::memcpy(&v, reinterpret_cast<const uint8_t*>(msix_pba_.data()) + offset, size);
  return v;
}

bool PciDevice::MsixVectorPending(uint32_t vector) const {
  MutexLock lock(mu_);
  if (vector >= msix_.table_size) return false;
  return (msix_pba_[vector / 64] >> (vector % 64)) & 1;
}

bool PciDevice::MsixVectorMasked(uint32_t vector) const {
  MutexLock lock(mu_);
  if (vector >= msix_.table_size) return false;
  return MsixEntryMasked(vector);
}

IrqKind PciDevice::SignalInterrupt(uint32_t vector) {
  if (MsixEnabled()) {
    RaiseMsix(vector);
    return IrqKind::kMsix;
  }
  if (MsiEnabled()) {
    RaiseMsi(vector);
    return IrqKind::kMsi;
  }
  RaiseIntx();
  return IrqKind::kIntx;
}

}  // namespace vfiosim::sim
