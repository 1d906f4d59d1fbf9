// DmaTestDevice: a PASID-capable DMA test device (vfio-sim's own design).
//
// A client programs one request — read, write or compare of up to 4 KiB at an
// IOVA, with or without a PASID — against the device's 4 KiB internal buffer,
// rings the doorbell and reads a result code plus, on a fault, what the
// IOMMU reported. It exists to exercise translation paths (PASID or not,
// faults, permissions) from the device side.
//
// Identity: 1234:5d01 rev 0x01, class 0x088000 (system peripheral, other),
// subsystem 1234:5d01. Vendor 0x1234 is the id QEMU uses for its own
// unofficial devices (stdvga 1234:1111, edu 1234:11e8); device 0x5d01 ("sim
// device 1") is used by no QEMU device we know of, so lspci output makes it
// obvious the function is simulated. PCIe endpoint (4096-byte config space)
// with FLR, INTA pin, MSI-X (4 vectors), PASID extended capability (max width
// from Options, default 20; no exec/privileged modes) and, optionally, ATS
// (present for discovery only: the device never sends translation requests).
//
// BAR0: 16 KiB, 32-bit, non-prefetchable memory.
//   0x0000-0x0fff registers (trap)
//   0x1000-0x1fff data buffer, 4 KiB: the BAR's one mmappable window (plain
//                 memory; also reachable with trapped reads/writes)
//   0x2000-0x203f MSI-X table (4 entries, trap)
//   0x3000-0x3007 MSI-X PBA (trap)
// vfio would report BAR0 as mmappable with a sparse-mmap area {0x1000, 0x1000}.
//
// Registers: 4-byte accesses; the 64-bit ones (IOVA, FAULT_ADDR) also take an
// 8-byte access or two 4-byte halves. Other sizes read all-ones / are
// dropped; unknown offsets read 0. Everything resets to 0 on FLR.
//   0x00 RO  ID             0x5d010001
//   0x04 RO  CAPS           bit0 PASID capability, bit1 ATS capability
//   0x08 RW  IOVA (64)      target address
//   0x10 RW  LENGTH         1..4096
//   0x14 RW  BUF_OFFSET     offset into the data buffer; OFFSET+LENGTH <= 4096
//   0x18 RW  PASID          bit31 valid, bits 19:0 PASID
//   0x1c RW  OPCODE         1 READ (memory -> buffer), 2 WRITE (buffer ->
//                           memory), 3 COMPARE (memory vs buffer)
//   0x20 WO  DOORBELL       any write executes the request
//   0x24 RO  RESULT         0 ok, 1 fault, 2 compare mismatch, 3 bad request
//   0x28 RO  COMPLETIONS    requests executed (any result)
//   0x2c RW  MSIX_VECTOR    completion vector 0..3 (default 0; others dropped)
//   0x30 RO  IRQ_STATUS     bit0 completion pending
//   0x34 WO  IRQ_ACK        write 1s to clear IRQ_STATUS (lowers INTx)
//   0x38 RO  FAULT_ADDR(64) IOVA page of the fault (the IOMMU's record)
//   0x40 RO  FAULT_REASON   core::FaultReason (seed iommu_fault_reason value);
//                           0 when the request could not be issued
//   0x44 RO  FAULT_PASID    bit31 valid, bits 19:0 PASID
//   0x48 RO  FAULT_PERM     kProtRead (1) or kProtWrite (2)
//   0x4c RO  MISMATCH_OFFSET first differing byte, from the start of the
//                           transfer (COMPARE only)
// The fault registers and MISMATCH_OFFSET are cleared by every doorbell, so
// they always describe the last request.
//
// Bad request (RESULT 3, nothing transferred): unknown opcode, LENGTH 0 or
// > 4096, BUF_OFFSET + LENGTH > 4096, or a request the device cannot issue
// (no DMA port, Bus-Master clear, PASID requested while the PASID capability
// is disabled or the PASID exceeds its width; see PciDevice).
// A READ or COMPARE fault leaves the buffer unchanged (bounce buffer).
//
// Completion: IRQ_STATUS bit0 is set and MSI-X vector MSIX_VECTOR is sent
// when MSI-X is enabled, else INTx is asserted until IRQ_ACK clears it.
//
// Thread safety: as PciDevice (all state guarded by mu_).
#ifndef VFIOSIM_SIM_DEVICES_DMA_TEST_DEVICE_H_
#define VFIOSIM_SIM_DEVICES_DMA_TEST_DEVICE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "core/status.h"
#include "sim/pci_device.h"

namespace vfiosim::sim {

class DmaTestDevice final : public PciDevice {
 public:
  static constexpr uint16_t kVendorId = 0x1234;
  static constexpr uint16_t kDeviceId = 0x5d01;
  static constexpr uint32_t kIdValue = 0x5d010001;
  static constexpr uint64_t kBar0Size = 0x4000;
  static constexpr uint64_t kBufferOffset = 0x1000;  // in BAR0
  static constexpr uint64_t kBufferSize = 4096;
  static constexpr uint64_t kMsixTableOffset = 0x2000;
  static constexpr uint64_t kMsixPbaOffset = 0x3000;
  static constexpr uint32_t kMsixVectors = 4;

  static constexpr uint64_t kRegId = 0x00;
  static constexpr uint64_t kRegCaps = 0x04;
  static constexpr uint64_t kRegIova = 0x08;
  static constexpr uint64_t kRegLength = 0x10;
  static constexpr uint64_t kRegBufOffset = 0x14;
  static constexpr uint64_t kRegPasid = 0x18;
  static constexpr uint64_t kRegOpcode = 0x1c;
  static constexpr uint64_t kRegDoorbell = 0x20;
  static constexpr uint64_t kRegResult = 0x24;
  static constexpr uint64_t kRegCompletions = 0x28;
  static constexpr uint64_t kRegMsixVector = 0x2c;
  static constexpr uint64_t kRegIrqStatus = 0x30;
  static constexpr uint64_t kRegIrqAck = 0x34;
  static constexpr uint64_t kRegFaultAddr = 0x38;
  static constexpr uint64_t kRegFaultReason = 0x40;
  static constexpr uint64_t kRegFaultPasid = 0x44;
  static constexpr uint64_t kRegFaultPerm = 0x48;
  static constexpr uint64_t kRegMismatchOffset = 0x4c;

  static constexpr uint32_t kCapPasid = 1u << 0;
  static constexpr uint32_t kCapAts = 1u << 1;
  static constexpr uint32_t kPasidValid = 1u << 31;
  static constexpr uint32_t kPasidMask = 0xfffff;

  enum Opcode : uint32_t { kOpRead = 1, kOpWrite = 2, kOpCompare = 3 };
  enum ResultCode : uint32_t { kOk = 0, kFault = 1, kMismatch = 2, kBadRequest = 3 };

  struct Options {
    uint8_t pasid_width = 20;  // 1..20; 0 = no PASID capability
    bool ats = false;
  };

  // EINVAL for a bad pasid_width, ENOMEM on allocation failure.
  static core::Result<std::unique_ptr<DmaTestDevice>> Create(const Options& options);
  static core::Result<std::unique_ptr<DmaTestDevice>> Create() { return Create(Options{}); }

  std::string_view ModelName() const override { return "dma-test"; }
  bool SupportsReset() const override { return true; }

 protected:
  uint64_t OnBarRead(int bar, uint64_t offset, unsigned size) override REQUIRES(mu_);
  void OnBarWrite(int bar, uint64_t offset, unsigned size, uint64_t value) override
      REQUIRES(mu_);
  void OnReset() override REQUIRES(mu_);

 private:
  struct Regs {
    uint64_t iova = 0;
    uint32_t length = 0;
    uint32_t buf_offset = 0;
    uint32_t pasid = 0;
    uint32_t opcode = 0;
    uint32_t result = 0;
    uint32_t completions = 0;
    uint32_t msix_vector = 0;
    uint32_t irq_status = 0;
    uint64_t fault_addr = 0;
    uint32_t fault_reason = 0;
    uint32_t fault_pasid = 0;
    uint32_t fault_perm = 0;
    uint32_t mismatch_offset = 0;
  };

  explicit DmaTestDevice(const Options& options);
  core::Status Init();
  void Execute() REQUIRES(mu_);
  ResultCode Run() REQUIRES(mu_);
  ResultCode Fault(const core::FaultRecord& fault) REQUIRES(mu_);

  const Options options_;
  Regs regs_ GUARDED_BY(mu_);
  std::array<uint8_t, kBufferSize> bounce_ GUARDED_BY(mu_){};
};

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_DEVICES_DMA_TEST_DEVICE_H_
