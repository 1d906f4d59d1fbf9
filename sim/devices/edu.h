// EduDevice: QEMU's "edu" educational PCI device (docs/specs/edu.rst,
// hw/misc/edu.c), as seen by a driver.
//
// Identity: 1234:11e8 rev 0x10, class 0x00ff (unclassified), subsystem
// 1af4:1100 (QEMU's default), conventional PCI (256-byte config space, no
// PCIe capability), INTA pin, one MSI capability at 0x40 (64-bit, 1 vector,
// no per-vector masking), BAR0 = 1 MiB 32-bit non-prefetchable MMIO that
// always traps. No MSI-X, no reset (SupportsReset() is false).
//
// BAR0 registers. Offsets < 0x80 accept only 4-byte accesses, offsets >= 0x80
// 4 or 8 bytes; other sizes read all-ones and writes are dropped. Unknown
// offsets read all-ones. A 4-byte write to a 64-bit DMA register replaces the
// whole register with the zero-extended value (as QEMU does).
//   0x00 RO identification 0x010000ed
//   0x04 RW liveness: reads return ~(last value written)
//   0x08 RW factorial: write n, read n! (mod 2^32)
//   0x20 RW status: bit0 computing (RO), bit7 raise interrupt 0x01 when a
//        factorial finishes
//   0x24 RO interrupt status
//   0x60 WO raise interrupt: value ORed into interrupt status
//   0x64 WO acknowledge: value cleared from interrupt status
//   0x80 RW DMA source, 0x88 RW DMA destination, 0x90 RW DMA count
//   0x98 RW DMA command: bit0 start, bit1 direction (0 RAM->EDU, 1 EDU->RAM),
//        bit2 raise interrupt 0x100 when done
// The 4 KiB DMA buffer sits at EDU address 0x40000..0x40fff: it is a DMA
// target only, not readable through BAR0 (QEMU does not map it either).
//
// Interrupts: while interrupt status != 0 the device asserts INTx, or sends
// MSI vector 0 on every raise when MSI is enabled. Acknowledging to 0 lowers
// INTx (only when MSI is off, like QEMU).
//
// Timing: QEMU computes factorials on a thread and runs DMA from a 100 ms
// timer; here both finish inside the register write (status bit0 and command
// bit0 are already clear when the write returns). Drivers that poll, as the
// spec asks, see the same results.
//
// DMA addressing: only the RAM-side address is reduced with the DMA mask
// (default 28 bits: addr & 0x0fffffff), exactly QEMU's edu_clamp_addr; the
// EDU-side address is not masked and must lie in the buffer window.
//
// Failures, where QEMU and vfio-sim differ, and what a client sees:
//   - Transfer outside the buffer window (or count > 4096): QEMU only logs and
//     then overruns its buffer (older versions abort the VM). vfio-sim moves no
//     data. Either way the command bit clears and, if requested, interrupt
//     0x100 is raised.
//   - IOMMU fault: the DmaPort records the fault; no byte of the destination
//     changes (RAM->EDU goes through a bounce buffer; EDU->RAM relies on the
//     port's all-or-nothing write). QEMU ignores the DMA result too, so the
//     command bit clears and interrupt 0x100 is still raised: edu has no error
//     register and a driver cannot tell a faulted transfer from a good one.
//     (QEMU's memory core fills a faulted read with zeros; vfio-sim keeps the
//     buffer unchanged, as the project specifies.)
//   - Count 4096 works (QEMU 7.2's range check rejected it by one).
//   - Bus-Master clear: the transfer is not issued (see PciDevice).
//
// Thread safety: as PciDevice (all state guarded by mu_).
#ifndef VFIOSIM_SIM_DEVICES_EDU_H_
#define VFIOSIM_SIM_DEVICES_EDU_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "core/fault.h"
#include "core/status.h"
#include "sim/pci_device.h"

namespace vfiosim::sim {

class EduDevice final : public PciDevice {
 public:
  static constexpr uint16_t kVendorId = 0x1234;
  static constexpr uint16_t kDeviceId = 0x11e8;
  static constexpr uint64_t kBar0Size = 1 << 20;

  // Register offsets in BAR0.
  static constexpr uint64_t kRegId = 0x00;
  static constexpr uint64_t kRegLiveness = 0x04;
  static constexpr uint64_t kRegFactorial = 0x08;
  static constexpr uint64_t kRegStatus = 0x20;
  static constexpr uint64_t kRegIrqStatus = 0x24;
  static constexpr uint64_t kRegIrqRaise = 0x60;
  static constexpr uint64_t kRegIrqAck = 0x64;
  static constexpr uint64_t kRegDmaSrc = 0x80;
  static constexpr uint64_t kRegDmaDst = 0x88;
  static constexpr uint64_t kRegDmaCount = 0x90;
  static constexpr uint64_t kRegDmaCmd = 0x98;

  static constexpr uint32_t kIdValue = 0x010000ed;
  static constexpr uint32_t kStatusComputing = 0x01;
  static constexpr uint32_t kStatusIrqFact = 0x80;
  static constexpr uint32_t kIrqFact = 0x001;
  static constexpr uint32_t kIrqDma = 0x100;
  static constexpr uint64_t kDmaStart = 0x1;
  static constexpr uint64_t kDmaToRam = 0x2;  // direction: EDU -> RAM
  static constexpr uint64_t kDmaIrq = 0x4;
  static constexpr uint64_t kBufferAddr = 0x40000;
  static constexpr uint64_t kBufferSize = 4096;
  static constexpr uint64_t kDefaultDmaMask = (uint64_t{1} << 28) - 1;

  struct Options {
    uint64_t dma_mask = kDefaultDmaMask;  // QEMU's -device edu,dma_mask=...
  };

  // ENOMEM on allocation failure (fault site kObjectAlloc).
  static core::Result<std::unique_ptr<EduDevice>> Create(const Options& options);
  static core::Result<std::unique_ptr<EduDevice>> Create() { return Create(Options{}); }

  std::string_view ModelName() const override { return "edu"; }

  // ---- Inspection for tests ----
  std::array<uint8_t, kBufferSize> DmaBuffer() const EXCLUDES(mu_);
  // The fault of the most recent DMA, if it faulted (reset by the next DMA).
  std::optional<core::FaultRecord> LastDmaFault() const EXCLUDES(mu_);

 protected:
  uint64_t OnBarRead(int bar, uint64_t offset, unsigned size) override REQUIRES(mu_);
  void OnBarWrite(int bar, uint64_t offset, unsigned size, uint64_t value) override
      REQUIRES(mu_);

 private:
  explicit EduDevice(const Options& options);
  core::Status Init();
  void RaiseIrq(uint32_t bits) REQUIRES(mu_);
  void LowerIrq(uint32_t bits) REQUIRES(mu_);
  void RunDma() REQUIRES(mu_);

  const uint64_t dma_mask_;
  uint32_t liveness_ GUARDED_BY(mu_) = 0;
  uint32_t fact_ GUARDED_BY(mu_) = 0;
  uint32_t status_ GUARDED_BY(mu_) = 0;
  uint32_t irq_status_ GUARDED_BY(mu_) = 0;
  uint64_t dma_src_ GUARDED_BY(mu_) = 0;
  uint64_t dma_dst_ GUARDED_BY(mu_) = 0;
  uint64_t dma_count_ GUARDED_BY(mu_) = 0;
  uint64_t dma_cmd_ GUARDED_BY(mu_) = 0;
  std::array<uint8_t, kBufferSize> buffer_ GUARDED_BY(mu_){};
  std::array<uint8_t, kBufferSize> bounce_ GUARDED_BY(mu_){};
  std::optional<core::FaultRecord> last_fault_ GUARDED_BY(mu_);
};

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_DEVICES_EDU_H_
