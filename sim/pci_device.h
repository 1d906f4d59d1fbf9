// PciDevice: the abstract base of every simulated PCI function.
//
// What it models: one PCI/PCIe function as software sees it through vfio-pci —
// a configuration space (PciConfigSpace), up to six BARs, an INTx pin, MSI and
// MSI-X, and function-level reset — plus the two ways the function reaches the
// outside world: a DmaPort for bus-master requests and an IrqSink for
// interrupts. A model (sim/devices/) supplies identity, capabilities and the
// behaviour of its registers; the base class does everything PCI-generic so
// that all models behave alike:
//   - MSI-X table and PBA emulation (per-vector Mask bit, Function Mask,
//     pending bits delivered on unmask), MSI with optional per-vector masking
//     and Multiple Message Enable aliasing, the INTx line gated by
//     Command.INTx-Disable and mirrored into Status.Interrupt-Status.
//   - Enable bits as hardware obeys them: no DMA and no MSI/MSI-X message while
//     Command.Bus-Master is clear, no PASID-tagged request while the PASID
//     capability's Enable bit is clear (a device without the capability never
//     issues one). Messages blocked this way are dropped, as QEMU drops them.
//     SetEnforceEnableBits(false) turns the gating off for clients that do not
//     program these bits (the real vfio-pci leaves them to the user).
//   - Mmappable BAR windows: plain memory the client may map; the model reads
//     it when it needs the data (RAM semantics, no access callbacks).
//   - Reset (FLR): config space back to its power-on image, MSI-X table masked,
//     PBA and mmap windows cleared, INTx deasserted, then the model's OnReset().
//     Like hardware FLR it does NOT preserve BAR addresses or the Command
//     register: Linux's pci_reset_function() saves and restores them around
//     the reset, and the api layer must do the same.
//
// Work is synchronous: a doorbell write performs its DMA and raises its
// interrupt before BarWrite returns. No device thread exists, so tests are
// deterministic.
//
// Construction: a model's factory constructs the object, builds config space
// with mutable_config()/DefineBar() and calls FinalizeConfig(), which
// validates the layout and snapshots the power-on image. Bar(), the IRQ
// counts and power_on_config() are immutable afterwards.
//
// Thread safety: every public method is thread-safe. One mutex (mu_) per
// device serialises config, BAR, reset and attach; model hooks run with it
// held. Lock order: device mu_ -> DmaPort internals -> IrqSink. Ports and
// sinks must not call back into the device. Mmap windows are shared with the
// client without locking, like device RAM shared with a CPU.
#ifndef VFIOSIM_SIM_PCI_DEVICE_H_
#define VFIOSIM_SIM_PCI_DEVICE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "core/thread_annotations.h"
#include "core/types.h"
#include "sim/dma_port.h"
#include "sim/irq.h"
#include "sim/pci_config.h"

namespace vfiosim::sim {

inline constexpr uint64_t kSimPageSize = 4096;

// A page-aligned window of a BAR with plain-memory semantics.
struct MmapArea {
  uint64_t offset = 0;
  uint64_t size = 0;
  bool operator==(const MmapArea&) const = default;
};

struct BarInfo {
  BarSpec spec;                      // spec.type == kNone: BAR not implemented
  std::vector<MmapArea> mmap_areas;  // sorted; empty: every access traps
  bool mmappable() const { return !mmap_areas.empty(); }
};

// Where the MSI-X table and PBA live, from the MSI-X capability.
struct MsixLayout {
  bool present = false;
  uint32_t table_size = 0;
  int table_bar = 0;
  uint64_t table_offset = 0;
  int pba_bar = 0;
  uint64_t pba_offset = 0;
  uint64_t table_bytes() const { return uint64_t{table_size} * PCI_MSIX_ENTRY_SIZE; }
  uint64_t pba_bytes() const { return (uint64_t{table_size} + 63) / 64 * 8; }
};

class PciDevice {
 public:
  virtual ~PciDevice();
  PciDevice(const PciDevice&) = delete;
  PciDevice& operator=(const PciDevice&) = delete;

  // Short model name ("edu", "dma-test", "ring").
  virtual std::string_view ModelName() const = 0;
  // Whether the function can be reset (FLR). Without it Reset() is EINVAL,
  // which is what VFIO_DEVICE_RESET answers for such a device.
  virtual bool SupportsReset() const { return false; }

  // ---- Static description (valid after FinalizeConfig; no lock) ----
  const BarInfo& Bar(int index) const;  // an empty BarInfo for bad indexes
  size_t ConfigSize() const { return power_on_.size(); }
  bool IsExpress() const { return power_on_.is_express(); }
  const PciConfigSpace& power_on_config() const { return power_on_; }
  const MsixLayout& msix_layout() const { return msix_; }
  uint32_t IntxCount() const;       // 1 when the Interrupt Pin is non-zero
  uint32_t MsiVectorCount() const;  // Multiple Message Capable; 0 without MSI
  uint32_t MsixTableSize() const { return msix_.table_size; }

  // Connects the device; either may be null (disconnected: DMA fails,
  // interrupts go nowhere). If the INTx line is high, the new sink sees it.
  void Attach(DmaPort* dma, IrqSink* irq) EXCLUDES(mu_);

  // ---- Configuration space (the vfio config region) ----
  // 1, 2 or 4 bytes, naturally aligned, inside the space; else EINVAL.
  core::Result<uint32_t> ConfigRead(uint32_t offset, unsigned size) EXCLUDES(mu_);
  // Applies the masks, then the side effects: INTx gating, delivery of MSI /
  // MSI-X messages that became unmasked, FLR on Device Control bit 15.
  core::Status ConfigWrite(uint32_t offset, unsigned size, uint32_t value) EXCLUDES(mu_);

  // ---- BAR access (what vfio's read()/write() on a BAR region does) ----
  // bar implemented, size 1/2/4/8 (8 not for I/O BARs), offset naturally
  // aligned and inside the BAR; else EINVAL. The api layer splits unaligned
  // requests into aligned pieces, as vfio-pci does.
  core::Result<uint64_t> BarRead(int bar, uint64_t offset, unsigned size) EXCLUDES(mu_);
  core::Status BarWrite(int bar, uint64_t offset, unsigned size, uint64_t value) EXCLUDES(mu_);

  // Page-aligned memory backing the BAR's mmap windows (the buffer spans the
  // whole BAR, only bytes inside Bar(bar).mmap_areas are meaningful); nullptr
  // when the BAR has no window and every access must trap.
  uint8_t* MmapBacking(int bar) const;

  // Function-level reset; EINVAL when !SupportsReset().
  core::Status Reset() EXCLUDES(mu_);

  // See the header comment. Default: enforced.
  void SetEnforceEnableBits(bool enforce) EXCLUDES(mu_);

  // ---- Inspection (tests, debugging) ----
  bool IntxLineAsserted() const EXCLUDES(mu_);
  bool MsixVectorPending(uint32_t vector) const EXCLUDES(mu_);
  bool MsixVectorMasked(uint32_t vector) const EXCLUDES(mu_);

 protected:
  explicit PciDevice(ConfigKind kind);

  // ---- Construction only (before FinalizeConfig, single-threaded) ----
  PciConfigSpace& mutable_config() NO_THREAD_SAFETY_ANALYSIS { return config_; }
  // Defines a BAR in config space and records its mmap windows (page aligned,
  // inside the BAR, non-overlapping; EINVAL otherwise).
  core::Status DefineBar(int index, const BarSpec& spec, std::vector<MmapArea> mmap_areas = {});
  // Validates the MSI-X layout (table and PBA inside memory BARs, disjoint
  // from each other and from mmap windows: EINVAL), allocates mmap backing
  // (ENOMEM, fault site kObjectAlloc) and snapshots the power-on image.
  core::Status FinalizeConfig() NO_THREAD_SAFETY_ANALYSIS;

  // ---- Model hooks; mu_ held ----
  // Trapped accesses outside the MSI-X table/PBA and the mmap windows,
  // already validated. Reads are truncated to `size` bytes by the caller.
  virtual uint64_t OnBarRead(int bar, uint64_t offset, unsigned size) REQUIRES(mu_) = 0;
  virtual void OnBarWrite(int bar, uint64_t offset, unsigned size, uint64_t value)
      REQUIRES(mu_) = 0;
  // Model state back to power-on; config space is already reset.
  virtual void OnReset() REQUIRES(mu_) {}

  // ---- Helpers for models; mu_ held ----
  const PciConfigSpace& config() const REQUIRES(mu_) { return config_; }
  bool BusMasterEnabled() const REQUIRES(mu_);
  bool PasidEnabled() const REQUIRES(mu_);
  // Bus-master requests. Fails without touching memory when no port is
  // attached, Bus-Master is clear, or a PASID is given and PASID is not
  // enabled: then fault.reason is kUnknown ("request not issued"), addr_valid
  // is set and nothing is reported to the IOMMU. len == 0 always succeeds.
  DmaResult DmaRead(uint64_t iova, void* dst, size_t len, core::Pasid pasid = core::kNoPasid)
      REQUIRES(mu_);
  DmaResult DmaWrite(uint64_t iova, const void* src, size_t len,
                     core::Pasid pasid = core::kNoPasid) REQUIRES(mu_);
  // Whether a request tagged `pasid` would be issued at all (port attached,
  // Bus-Master, PASID capability enabled and wide enough): lets a model report
  // "bad request" instead of a fault.
  bool CanIssue(core::Pasid pasid) const REQUIRES(mu_) { return CheckIssue(0, pasid, 0).ok; }

  // Interrupts. Raise* return true when a message/edge reached the sink now.
  void RaiseIntx() REQUIRES(mu_) { SetIntxLevel(true); }
  void LowerIntx() REQUIRES(mu_) { SetIntxLevel(false); }
  void SetIntxLevel(bool level) REQUIRES(mu_);
  bool MsiEnabled() const REQUIRES(mu_);
  bool MsixEnabled() const REQUIRES(mu_);
  // MSI: vector reduced modulo the enabled message count; a masked vector
  // sets its Pending bit and fires when unmasked.
  bool RaiseMsi(uint32_t vector) REQUIRES(mu_);
  // MSI-X: a vector masked (or Function Mask set) sets its PBA bit and fires
  // when unmasked; vectors beyond the table are ignored.
  bool RaiseMsix(uint32_t vector) REQUIRES(mu_);
  // The usual device policy: MSI-X if enabled, else MSI, else assert INTx
  // (the model lowers INTx when software acknowledges). Returns the path used.
  IrqKind SignalInterrupt(uint32_t vector) REQUIRES(mu_);

  mutable core::Mutex mu_;

 private:
  bool InMsixTable(int bar, uint64_t offset) const;
  bool InMsixPba(int bar, uint64_t offset) const;
  uint8_t* MmapWindowByte(int bar, uint64_t offset) const;
  uint64_t MsixTableRead(uint64_t offset, unsigned size) const REQUIRES(mu_);
  void MsixTableWrite(uint64_t offset, unsigned size, uint64_t value) REQUIRES(mu_);
  uint64_t MsixPbaRead(uint64_t offset, unsigned size) const REQUIRES(mu_);
  bool MsixEntryMasked(uint32_t vector) const REQUIRES(mu_);
  bool MsixFunctionMasked() const REQUIRES(mu_);
  void DeliverPendingMsix() REQUIRES(mu_);
  void DeliverPendingMsi() REQUIRES(mu_);
  bool MessagesAllowed() const REQUIRES(mu_);
  void UpdateIntxLine() REQUIRES(mu_);
  void ResetLocked() REQUIRES(mu_);
  DmaResult CheckIssue(uint64_t iova, core::Pasid pasid, uint8_t perm) const REQUIRES(mu_);

  struct FreeDeleter {
    void operator()(uint8_t* p) const;
  };

  PciConfigSpace config_ GUARDED_BY(mu_);
  PciConfigSpace power_on_;  // immutable after FinalizeConfig
  std::array<BarInfo, PCI_STD_NUM_BARS> bars_;
  std::array<std::unique_ptr<uint8_t[], FreeDeleter>, PCI_STD_NUM_BARS> backing_;
  std::array<uint64_t, PCI_STD_NUM_BARS> backing_size_{};
  MsixLayout msix_;
  uint16_t msi_cap_ = 0;    // capability offsets, 0 when absent
  uint16_t msix_cap_ = 0;
  uint16_t pcie_cap_ = 0;
  uint16_t pasid_cap_ = 0;

  std::vector<uint8_t> msix_table_ GUARDED_BY(mu_);
  std::vector<uint64_t> msix_pba_ GUARDED_BY(mu_);
  DmaPort* dma_ GUARDED_BY(mu_) = nullptr;
  IrqSink* irq_ GUARDED_BY(mu_) = nullptr;
  bool intx_level_ GUARDED_BY(mu_) = false;  // the function's internal request
  bool intx_line_ GUARDED_BY(mu_) = false;   // what the sink last saw
  bool enforce_enables_ GUARDED_BY(mu_) = true;
};

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_PCI_DEVICE_H_
