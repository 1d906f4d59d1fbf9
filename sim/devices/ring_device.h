// RingDevice: a descriptor-ring copy engine (vfio-sim's own design).
//
// Up to four queues, each a ring of 32-byte descriptors in client memory.
// Software fills descriptors, advances the queue's TAIL and writes the queue
// number to DOORBELL; the device then, inside that write, walks HEAD..TAIL:
// fetches each descriptor by DMA, copies LEN bytes SRC -> DST by DMA, writes
// the descriptor's status back by DMA, advances HEAD, and finally raises the
// queue's interrupt once. Many small DMAs per doorbell — the workload that
// stresses an IOMMU's translation path and IOTLB.
//
// Identity: 1234:5d02 rev 0x01, class 0x080100 (DMA controller), subsystem
// 1234:5d02 (0x1234 as for DmaTestDevice; 0x5d02 = "sim device 2"). PCIe
// endpoint with FLR, INTA pin, MSI-X (one vector per queue), PASID extended
// capability (width 20) unless Options.pasid is false.
//
// BAR0: 16 KiB, 32-bit non-prefetchable, no mmappable window (MmapBacking is
// nullptr): registers 0x0000-0x0fff, MSI-X table 0x2000, PBA 0x3000.
//
// Registers (4-byte accesses; BASE and FAULT_ADDR also 8-byte or halves;
// other sizes read all-ones / are dropped; unknown offsets read 0):
//   0x000 RO ID          0x5d020001
//   0x004 RO NUM_QUEUES
//   0x008 RO IRQ_STATUS  bit q: queue q completed work since last IRQ_ACK
//   0x00c WO IRQ_ACK     write 1s to clear; INTx drops when all clear
//   0x010 WO DOORBELL    queue number; other values ignored
//   queue q at 0x100 + 0x40 * q:
//   +0x00 RW BASE (64)   ring IOVA, 32-byte aligned          } writes ignored
//   +0x08 RW SIZE        entries, power of two, 2..32768     } while ENABLE
//   +0x0c RW PASID       bit31 valid, bits 19:0 PASID        } is set
//   +0x10 RW CONTROL     bit0 ENABLE. 0->1 validates BASE/SIZE (failure:
//                        stays disabled, STATUS.CONFIG_ERROR) and zeroes
//                        HEAD, TAIL, COMPLETED, fault registers and HALTED.
//   +0x14 RO STATUS      bit0 ENABLED, bit1 HALTED, bit2 CONFIG_ERROR
//   +0x18 RO HEAD        next descriptor the device will process
//   +0x1c RW TAIL        one past the last ready descriptor; ignored unless
//                        the queue is enabled and the value is < SIZE.
//                        HEAD == TAIL: ring empty (so at most SIZE - 1
//                        descriptors are outstanding).
//   +0x20 RO COMPLETED   descriptors finished since enable (any status)
//   +0x24 RO FAULT_REASON core::FaultReason of the queue's last fault
//   +0x28 RO FAULT_ADDR (64) IOVA page of the queue's last fault
//
// Descriptor (little-endian, RingDescriptor below), at BASE + 32 * index:
//   +0x00 SRC (64)  +0x08 DST (64)  +0x10 LEN (32, 1..64 KiB)
//   +0x14 FLAGS (32): bit0 FILL = write LEN copies of SRC's low byte to DST
//                     (no source read); other bits must be 0
//   +0x18 STATUS (32, device-written): 1 DONE, 2 FAULT, 3 BAD_DESCRIPTOR
//   +0x1c FAULT_REASON (32, device-written): core::FaultReason on FAULT, else 0
//
// Fault policy:
//   - A fault on the data copy is the descriptor's own failure: STATUS =
//     FAULT, FAULT_REASON set, queue fault registers updated, and the device
//     CONTINUES with the next descriptor. A source fault leaves DST untouched
//     (the copy goes through a bounce buffer).
//   - A fault fetching a descriptor or writing its status back leaves the
//     device nowhere to report per descriptor: the queue HALTS with HEAD on
//     that descriptor, STATUS.HALTED set, the fault registers set and the
//     interrupt raised. Further doorbells are ignored until software disables
//     and re-enables the queue. Reason 0 means the request was not issued
//     (Bus-Master clear, PASID not enabled; see PciDevice).
//
// Interrupts: after a doorbell that finished at least one descriptor or
// halted the queue, IRQ_STATUS bit q is set and MSI-X vector q is sent (MSI-X
// enabled), else INTx is asserted until IRQ_ACK clears all bits.
//
// Thread safety: as PciDevice (all state guarded by mu_).
#ifndef VFIOSIM_SIM_DEVICES_RING_DEVICE_H_
#define VFIOSIM_SIM_DEVICES_RING_DEVICE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "sim/pci_device.h"

namespace vfiosim::sim {

struct RingDescriptor {
  uint64_t src = 0;
  uint64_t dst = 0;
  uint32_t len = 0;
  uint32_t flags = 0;
  uint32_t status = 0;
  uint32_t fault_reason = 0;
};
static_assert(sizeof(RingDescriptor) == 32);
static_assert(offsetof(RingDescriptor, len) == 0x10);
static_assert(offsetof(RingDescriptor, status) == 0x18);

class RingDevice final : public PciDevice {
 public:
  static constexpr uint16_t kVendorId = 0x1234;
  static constexpr uint16_t kDeviceId = 0x5d02;
  static constexpr uint32_t kIdValue = 0x5d020001;
  static constexpr uint64_t kBar0Size = 0x4000;
  static constexpr uint64_t kMsixTableOffset = 0x2000;
  static constexpr uint64_t kMsixPbaOffset = 0x3000;
  static constexpr uint32_t kMaxQueues = 4;
  static constexpr uint32_t kMinRingSize = 2;
  static constexpr uint32_t kMaxRingSize = 32768;
  static constexpr uint32_t kMaxLen = 64 * 1024;

  static constexpr uint64_t kRegId = 0x000;
  static constexpr uint64_t kRegNumQueues = 0x004;
  static constexpr uint64_t kRegIrqStatus = 0x008;
  static constexpr uint64_t kRegIrqAck = 0x00c;
  static constexpr uint64_t kRegDoorbell = 0x010;
  static constexpr uint64_t kQueueBase = 0x100;
  static constexpr uint64_t kQueueStride = 0x40;
  // Offsets inside a queue's register block.
  static constexpr uint64_t kQBase = 0x00;
  static constexpr uint64_t kQSize = 0x08;
  static constexpr uint64_t kQPasid = 0x0c;
  static constexpr uint64_t kQControl = 0x10;
  static constexpr uint64_t kQStatus = 0x14;
  static constexpr uint64_t kQHead = 0x18;
  static constexpr uint64_t kQTail = 0x1c;
  static constexpr uint64_t kQCompleted = 0x20;
  static constexpr uint64_t kQFaultReason = 0x24;
  static constexpr uint64_t kQFaultAddr = 0x28;
  static constexpr uint64_t QueueReg(uint32_t q, uint64_t reg) {
    return kQueueBase + kQueueStride * q + reg;
  }

  static constexpr uint32_t kControlEnable = 1u << 0;
  static constexpr uint32_t kStatusEnabled = 1u << 0;
  static constexpr uint32_t kStatusHalted = 1u << 1;
  static constexpr uint32_t kStatusConfigError = 1u << 2;
  static constexpr uint32_t kPasidValid = 1u << 31;
  static constexpr uint32_t kPasidMask = 0xfffff;

  static constexpr uint32_t kDescFill = 1u << 0;
  enum DescStatus : uint32_t { kDescDone = 1, kDescFault = 2, kDescBad = 3 };

  struct Options {
    uint32_t num_queues = kMaxQueues;  // 1..4
    bool pasid = true;
  };

  // EINVAL for a bad queue count, ENOMEM on allocation failure.
  static core::Result<std::unique_ptr<RingDevice>> Create(const Options& options);
  static core::Result<std::unique_ptr<RingDevice>> Create() { return Create(Options{}); }

  std::string_view ModelName() const override { return "ring"; }
  bool SupportsReset() const override { return true; }

 protected:
  uint64_t OnBarRead(int bar, uint64_t offset, unsigned size) override REQUIRES(mu_);
  void OnBarWrite(int bar, uint64_t offset, unsigned size, uint64_t value) override
      REQUIRES(mu_);
  void OnReset() override REQUIRES(mu_);

 private:
  struct Queue {
    uint64_t base = 0;
    uint32_t size = 0;
    uint32_t pasid = 0;
    uint32_t control = 0;
    uint32_t status = 0;
    uint32_t head = 0;
    uint32_t tail = 0;
    uint32_t completed = 0;
    uint32_t fault_reason = 0;
    uint64_t fault_addr = 0;
  };

  explicit RingDevice(const Options& options);
  core::Status Init() NO_THREAD_SAFETY_ANALYSIS;
  uint64_t QueueRead(Queue& q, uint64_t reg, unsigned size) REQUIRES(mu_);
  void QueueWrite(Queue& q, uint64_t reg, unsigned size, uint64_t value) REQUIRES(mu_);
  void SetControl(Queue& q, uint32_t value) REQUIRES(mu_);
  void Process(uint32_t index) REQUIRES(mu_);
  uint32_t Copy(const RingDescriptor& d, core::Pasid pasid, Queue& q) REQUIRES(mu_);
  void NoteFault(Queue& q, const core::FaultRecord& f) REQUIRES(mu_);

  const Options options_;
  std::array<Queue, kMaxQueues> queues_ GUARDED_BY(mu_);
  uint32_t irq_status_ GUARDED_BY(mu_) = 0;
  std::vector<uint8_t> bounce_ GUARDED_BY(mu_);  // kMaxLen bytes
};

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_DEVICES_RING_DEVICE_H_
