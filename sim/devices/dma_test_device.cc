#include "sim/devices/dma_test_device.h"

#include <cstring>
#include <new>

#include "sim/devices/register_halves.h"

namespace vfiosim::sim {

DmaTestDevice::DmaTestDevice(const Options& options)
    : PciDevice(ConfigKind::kExpress), options_(options) {}

core::Result<std::unique_ptr<DmaTestDevice>> DmaTestDevice::Create(const Options& options) {
  std::unique_ptr<DmaTestDevice> dev(new (std::nothrow) DmaTestDevice(options));
  if (dev == nullptr) return core::Error(ENOMEM);
  VFIOSIM_RETURN_IF_ERROR(dev->Init());
  return dev;
}

core::Status DmaTestDevice::Init() {
  if (options_.pasid_width > 20) return core::Error(EINVAL);
  PciConfigSpace& cfg = mutable_config();
  cfg.InitType0Header({.vendor_id = kVendorId, .device_id = kDeviceId, .revision = 0x01,
                       .class_code = 0x088000, .subsystem_vendor_id = kVendorId,
                       .subsystem_id = kDeviceId, .interrupt_pin = 1});
  VFIOSIM_RETURN_IF_ERROR(DefineBar(0, {BarType::kMem32, kBar0Size, false},
                                    {{kBufferOffset, kBufferSize}}));
  if (auto r = cfg.AddPcieCapability({PcieType::kEndpoint, /*flr=*/true}); !r.ok()) {
    return r.status();
  }
  if (auto r = cfg.AddMsixCapability({kMsixVectors, 0, kMsixTableOffset, 0, kMsixPbaOffset});
      !r.ok()) {
    return r.status();
  }
  if (options_.pasid_width != 0) {
    if (auto r = cfg.AddPasidCapability({options_.pasid_width, false, false}); !r.ok()) {
      return r.status();
    }
  }
  if (options_.ats) {
    if (auto r = cfg.AddAtsCapability({}); !r.ok()) return r.status();
  }
  return FinalizeConfig();
}

uint64_t DmaTestDevice::OnBarRead(int /*bar*/, uint64_t offset, unsigned size) {
  uint64_t v = 0;
  if (ReadRegisterHalf(regs_.iova, kRegIova, offset, size, &v)) return v;
  if (ReadRegisterHalf(regs_.fault_addr, kRegFaultAddr, offset, size, &v)) return v;
  if (size != 4) return ~uint64_t{0};
  switch (offset) {
    case kRegId: return kIdValue;
    case kRegCaps:
      return (options_.pasid_width != 0 ? kCapPasid : 0) | (options_.ats ? kCapAts : 0);
    case kRegLength: return regs_.length;
    case kRegBufOffset: return regs_.buf_offset;
    case kRegPasid: return regs_.pasid;
    case kRegOpcode: return regs_.opcode;
    case kRegResult: return regs_.result;
    case kRegCompletions: return regs_.completions;
    case kRegMsixVector: return regs_.msix_vector;
    case kRegIrqStatus: return regs_.irq_status;
    case kRegFaultReason: return regs_.fault_reason;
    case kRegFaultPasid: return regs_.fault_pasid;
    case kRegFaultPerm: return regs_.fault_perm;
    case kRegMismatchOffset: return regs_.mismatch_offset;
    default: return 0;
  }
}

void DmaTestDevice::OnBarWrite(int /*bar*/, uint64_t offset, unsigned size, uint64_t value) {
  if (WriteRegisterHalf(&regs_.iova, kRegIova, offset, size, value)) return;
  if (size != 4) return;
  const auto v = static_cast<uint32_t>(value);
  switch (offset) {
    case kRegLength: regs_.length = v; break;
    case kRegBufOffset: regs_.buf_offset = v; break;
    case kRegPasid: regs_.pasid = v & (kPasidValid | kPasidMask); break;
    case kRegOpcode: regs_.opcode = v; break;
    case kRegDoorbell: Execute(); break;
    case kRegMsixVector:
      if (v < kMsixVectors) regs_.msix_vector = v;
      break;
    case kRegIrqAck:
      regs_.irq_status &= ~v;
      if (regs_.irq_status == 0) LowerIntx();
      break;
    default: break;
  }
}

void DmaTestDevice::OnReset() {
  regs_ = Regs{};
  bounce_.fill(0);
}

void DmaTestDevice::Execute() {
  regs_.result = Run();
  ++regs_.completions;
  regs_.irq_status |= 1;
  SignalInterrupt(regs_.msix_vector);
}

DmaTestDevice::ResultCode DmaTestDevice::Fault(const core::FaultRecord& fault) {
  regs_.fault_addr = fault.addr;
  regs_.fault_reason = static_cast<uint32_t>(fault.reason);
  regs_.fault_pasid = fault.pasid_valid ? (kPasidValid | (fault.pasid & kPasidMask)) : 0;
  regs_.fault_perm = fault.perm;
  return kFault;
}

DmaTestDevice::ResultCode DmaTestDevice::Run() {
  regs_.fault_addr = 0;
  regs_.fault_reason = 0;
  regs_.fault_pasid = 0;
  regs_.fault_perm = 0;
  regs_.mismatch_offset = 0;
  const uint32_t len = regs_.length;
  const uint32_t off = regs_.buf_offset;
  if (regs_.opcode < kOpRead || regs_.opcode > kOpCompare) return kBadRequest;
  if (len == 0 || len > kBufferSize || off > kBufferSize || len > kBufferSize - off) {
    return kBadRequest;
  }
  const core::Pasid pasid =
      (regs_.pasid & kPasidValid) ? (regs_.pasid & kPasidMask) : core::kNoPasid;
  if (!CanIssue(pasid)) return kBadRequest;

  uint8_t* buf = MmapBacking(0) + kBufferOffset + off;
  switch (regs_.opcode) {
    case kOpRead: {
      DmaResult r = DmaRead(regs_.iova, bounce_.data(), len, pasid);
      if (!r.ok) return Fault(r.fault);
      std::memcpy(buf, bounce_.data(), len);
      return kOk;
    }
    case kOpWrite: {
      DmaResult r = DmaWrite(regs_.iova, buf, len, pasid);
      return r.ok ? kOk : Fault(r.fault);
    }
    default: {  // kOpCompare
      DmaResult r = DmaRead(regs_.iova, bounce_.data(), len, pasid);
      if (!r.ok) return Fault(r.fault);
      for (uint32_t i = 0; i < len; ++i) {
        if (bounce_[i] != buf[i]) {
          regs_.mismatch_offset = i;
          return kMismatch;
        }
      }
      return kOk;
    }
  }
}

}  // namespace vfiosim::sim
