#include "sim/devices/ring_device.h"

#include <bit>
#include <cstring>
#include <new>

#include "core/range.h"
#include "sim/devices/register_halves.h"

namespace vfiosim::sim {

RingDevice::RingDevice(const Options& options)
    : PciDevice(ConfigKind::kExpress), options_(options) {}

core::Result<std::unique_ptr<RingDevice>> RingDevice::Create(const Options& options) {
  if (options.num_queues < 1 || options.num_queues > kMaxQueues) return core::Error(EINVAL);
  std::unique_ptr<RingDevice> dev(new (std::nothrow) RingDevice(options));
  if (dev == nullptr) return core::Error(ENOMEM);
  VFIOSIM_RETURN_IF_ERROR(dev->Init());
  return dev;
}

core::Status RingDevice::Init() {
  PciConfigSpace& cfg = mutable_config();
  cfg.InitType0Header({.vendor_id = kVendorId, .device_id = kDeviceId, .revision = 0x01,
                       .class_code = 0x080100, .subsystem_vendor_id = kVendorId,
                       .subsystem_id = kDeviceId, .interrupt_pin = 1});
  VFIOSIM_RETURN_IF_ERROR(DefineBar(0, {BarType::kMem32, kBar0Size, false}));
  if (auto r = cfg.AddPcieCapability({PcieType::kEndpoint, /*flr=*/true}); !r.ok()) {
    return r.status();
  }
  if (auto r = cfg.AddMsixCapability(
          {options_.num_queues, 0, kMsixTableOffset, 0, kMsixPbaOffset});
      !r.ok()) {
    return r.status();
  }
  if (options_.pasid) {
    if (auto r = cfg.AddPasidCapability({20, false, false}); !r.ok()) return r.status();
  }
  VFIOSIM_RETURN_IF_ERROR(FinalizeConfig());
  // Preallocated so that a doorbell never allocates.
  bounce_.assign(kMaxLen, 0);
  return core::Status::Ok();
}

// ---- Registers ----

uint64_t RingDevice::OnBarRead(int /*bar*/, uint64_t offset, unsigned size) {
  if (offset >= kQueueBase && offset < kQueueBase + kQueueStride * kMaxQueues) {
    const auto index = static_cast<uint32_t>((offset - kQueueBase) / kQueueStride);
    if (index >= options_.num_queues) return 0;
    return QueueRead(queues_[index], (offset - kQueueBase) % kQueueStride, size);
  }
  if (size != 4) return ~uint64_t{0};
  switch (offset) {
    case kRegId: return kIdValue;
    case kRegNumQueues: return options_.num_queues;
    case kRegIrqStatus: return irq_status_;
    default: return 0;
  }
}

void RingDevice::OnBarWrite(int /*bar*/, uint64_t offset, unsigned size, uint64_t value) {
  if (offset >= kQueueBase && offset < kQueueBase + kQueueStride * kMaxQueues) {
    const auto index = static_cast<uint32_t>((offset - kQueueBase) / kQueueStride);
    if (index < options_.num_queues) {
      QueueWrite(queues_[index], (offset - kQueueBase) % kQueueStride, size, value);
    }
    return;
  }
  if (size != 4) return;
  const auto v = static_cast<uint32_t>(value);
  switch (offset) {
    case kRegIrqAck:
      irq_status_ &= ~v;
      if (irq_status_ == 0) LowerIntx();
      break;
    case kRegDoorbell:
      if (v < options_.num_queues) Process(v);
      break;
    default:
      break;
  }
}

uint64_t RingDevice::QueueRead(Queue& q, uint64_t reg, unsigned size) {
  uint64_t v = 0;
  if (ReadRegisterHalf(q.base, kQBase, reg, size, &v)) return v;
  if (ReadRegisterHalf(q.fault_addr, kQFaultAddr, reg, size, &v)) return v;
  if (size != 4) return ~uint64_t{0};
  switch (reg) {
    case kQSize: return q.size;
    case kQPasid: return q.pasid;
    case kQControl: return q.control;
    case kQStatus: return q.status;
    case kQHead: return q.head;
    case kQTail: return q.tail;
    case kQCompleted: return q.completed;
    case kQFaultReason: return q.fault_reason;
    default: return 0;
  }
}

void RingDevice::QueueWrite(Queue& q, uint64_t reg, unsigned size, uint64_t value) {
  const bool enabled = q.status & kStatusEnabled;
  if (reg == kQBase || reg == kQBase + 4) {
    if (!enabled) WriteRegisterHalf(&q.base, kQBase, reg, size, value);
    return;
  }
  if (size != 4) return;
  const auto v = static_cast<uint32_t>(value);
  switch (reg) {
    case kQSize:
      if (!enabled) q.size = v;
      break;
    case kQPasid:
      if (!enabled) q.pasid = v & (kPasidValid | kPasidMask);
      break;
    case kQControl:
      SetControl(q, v);
      break;
    case kQTail:
      if (enabled && v < q.size) q.tail = v;
      break;
    default:
      break;
  }
}

void RingDevice::SetControl(Queue& q, uint32_t value) {
  const bool enable = value & kControlEnable;
  const bool enabled = q.status & kStatusEnabled;
  if (enable == enabled) return;
  if (!enable) {
    q.control = 0;
    q.status = 0;  // HALTED and CONFIG_ERROR clear with the queue
    return;
  }
  const bool valid = core::IsAligned(q.base, sizeof(RingDescriptor)) &&
                     std::has_single_bit(q.size) && q.size >= kMinRingSize &&
                     q.size <= kMaxRingSize &&
                     core::IovaRange::FromStartSize(q.base, uint64_t{q.size} *
                                                               sizeof(RingDescriptor))
                         .has_value();
  if (!valid) {
    q.control = 0;
    q.status = kStatusConfigError;
    return;
  }
  q.control = kControlEnable;
  q.status = kStatusEnabled;
  q.head = q.tail = q.completed = 0;
  q.fault_reason = 0;
  q.fault_addr = 0;
}

void RingDevice::OnReset() {
  queues_ = {};
  irq_status_ = 0;
}

// ---- Processing ----

void RingDevice::NoteFault(Queue& q, const core::FaultRecord& f) {
  q.fault_reason = static_cast<uint32_t>(f.reason);
  q.fault_addr = f.addr;
}

uint32_t RingDevice::Copy(const RingDescriptor& d, core::Pasid pasid, Queue& q) {
  if ((d.flags & ~kDescFill) != 0 || d.len == 0 || d.len > kMaxLen) return kDescBad;
  if (d.flags & kDescFill) {
    std::memset(bounce_.data(), static_cast<uint8_t>(d.src), d.len);
  } else if (DmaResult r = DmaRead(d.src, bounce_.data(), d.len, pasid); !r.ok) {
    NoteFault(q, r.fault);
    return kDescFault;
  }
  if (DmaResult r = DmaWrite(d.dst, bounce_.data(), d.len, pasid); !r.ok) {
    NoteFault(q, r.fault);
    return kDescFault;
  }
  return kDescDone;
}

void RingDevice::Process(uint32_t index) {
  Queue& q = queues_[index];
  if (!(q.status & kStatusEnabled) || (q.status & kStatusHalted)) return;
  const core::Pasid pasid = (q.pasid & kPasidValid) ? (q.pasid & kPasidMask) : core::kNoPasid;
  bool worked = false;
  while (q.head != q.tail) {
    worked = true;
    const uint64_t at = q.base + uint64_t{q.head} * sizeof(RingDescriptor);
    RingDescriptor d;
    if (DmaResult r = DmaRead(at, &d, sizeof(d), pasid); !r.ok) {
      NoteFault(q, r.fault);
      q.status |= kStatusHalted;
      break;
    }
    const uint32_t status = Copy(d, pasid, q);
    const uint32_t writeback[2] = {status, status == kDescFault ? q.fault_reason : 0};
    if (DmaResult r = DmaWrite(at + offsetof(RingDescriptor, status), writeback,
                               sizeof(writeback), pasid);
        !r.ok) {
      NoteFault(q, r.fault);
      q.status |= kStatusHalted;
      break;
    }
    q.head = (q.head + 1) & (q.size - 1);
    ++q.completed;
  }
  if (!worked) return;
  irq_status_ |= 1u << index;
  SignalInterrupt(index);
}

}  // namespace vfiosim::sim
