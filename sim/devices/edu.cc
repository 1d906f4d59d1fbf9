#include "sim/devices/edu.h"

#include <cstring>
#include <new>

namespace vfiosim::sim {
namespace {

// n! modulo 2^32. From 34! on the product has 32 factors of two, so the
// result is 0 and the loop can stop (QEMU would loop up to 4 billion times).
uint32_t Factorial(uint32_t n) {
  uint32_t r = 1;
  while (n > 0 && r != 0) r *= n--;
  return r;
}

}  // namespace

EduDevice::EduDevice(const Options& options)
    : PciDevice(ConfigKind::kConventional), dma_mask_(options.dma_mask) {}

core::Result<std::unique_ptr<EduDevice>> EduDevice::Create(const Options& options) {
  std::unique_ptr<EduDevice> dev(new (std::nothrow) EduDevice(options));
  if (dev == nullptr) return core::Error(ENOMEM);
  VFIOSIM_RETURN_IF_ERROR(dev->Init());
  return dev;
}

core::Status EduDevice::Init() {
  PciConfigSpace& cfg = mutable_config();
  cfg.InitType0Header({.vendor_id = kVendorId, .device_id = kDeviceId, .revision = 0x10,
                       .class_code = 0x00ff00, .subsystem_vendor_id = 0x1af4,
                       .subsystem_id = 0x1100, .interrupt_pin = 1});
  VFIOSIM_RETURN_IF_ERROR(DefineBar(0, {BarType::kMem32, kBar0Size, false}));
  core::Result<uint16_t> msi = cfg.AddMsiCapability({.vectors = 1, .is_64bit = true,
                                                     .per_vector_mask = false});
  if (!msi.ok()) return msi.status();
  return FinalizeConfig();
}

uint64_t EduDevice::OnBarRead(int /*bar*/, uint64_t offset, unsigned size) {
  // QEMU declares edu's MMIO valid for 4- and 8-byte accesses only; anything
  // smaller never reaches the device and reads as 0 (seen on Linux 6.1 +
  // QEMU 7.2: a 2-byte read of the identification register gives 0).
  if (size != 4 && size != 8) return 0;
  if (offset < 0x80 && size != 4) return ~uint64_t{0};
  if (offset >= 0x80 && size != 4 && size != 8) return ~uint64_t{0};
  switch (offset) {
    case kRegId: return kIdValue;
    case kRegLiveness: return liveness_;
    case kRegFactorial: return fact_;
    case kRegStatus: return status_;
    case kRegIrqStatus: return irq_status_;
    case kRegDmaSrc: return dma_src_;
    case kRegDmaDst: return dma_dst_;
    case kRegDmaCount: return dma_count_;
    case kRegDmaCmd: return dma_cmd_;
    default: return ~uint64_t{0};
  }
}

void EduDevice::OnBarWrite(int /*bar*/, uint64_t offset, unsigned size, uint64_t value) {
  if (offset < 0x80 && size != 4) return;
  if (offset >= 0x80 && size != 4 && size != 8) return;
  const auto v32 = static_cast<uint32_t>(value);
  // DMA registers are frozen while a transfer runs; with synchronous DMA that
  // window is never observable, but the rule is kept for fidelity.
  const bool dma_running = dma_cmd_ & kDmaStart;
  switch (offset) {
    case kRegLiveness:
      liveness_ = ~v32;
      break;
    case kRegFactorial:
      if (status_ & kStatusComputing) break;
      fact_ = Factorial(v32);
      if (status_ & kStatusIrqFact) RaiseIrq(kIrqFact);
      break;
    case kRegStatus:
      status_ = (v32 & kStatusIrqFact) ? (status_ | kStatusIrqFact) : (status_ & ~kStatusIrqFact);
      break;
    case kRegIrqRaise:
      RaiseIrq(v32);
      break;
    case kRegIrqAck:
      LowerIrq(v32);
      break;
    case kRegDmaSrc:
      if (!dma_running) dma_src_ = value;
      break;
    case kRegDmaDst:
      if (!dma_running) dma_dst_ = value;
      break;
    case kRegDmaCount:
      if (!dma_running) dma_count_ = value;
      break;
    case kRegDmaCmd:
      if (!(value & kDmaStart) || dma_running) break;
      dma_cmd_ = value;
      RunDma();
      break;
    default:
      break;
  }
}

void EduDevice::RaiseIrq(uint32_t bits) {
  irq_status_ |= bits;
  if (irq_status_ == 0) return;
  if (MsiEnabled()) {
    RaiseMsi(0);
  } else {
    RaiseIntx();
  }
}

void EduDevice::LowerIrq(uint32_t bits) {
  irq_status_ &= ~bits;
  if (irq_status_ == 0 && !MsiEnabled()) LowerIntx();
}

void EduDevice::RunDma() {
  const bool to_ram = dma_cmd_ & kDmaToRam;
  const uint64_t edu_addr = to_ram ? dma_src_ : dma_dst_;
  const uint64_t ram_addr = (to_ram ? dma_dst_ : dma_src_) & dma_mask_;
  const uint64_t count = dma_count_;
  last_fault_.reset();
  const bool in_window = count <= kBufferSize && edu_addr >= kBufferAddr &&
                         edu_addr - kBufferAddr <= kBufferSize - count;
  if (in_window) {
    const uint64_t off = edu_addr - kBufferAddr;
    if (to_ram) {
      DmaResult r = DmaWrite(ram_addr, buffer_.data() + off, count);
      if (!r.ok) last_fault_ = r.fault;
    } else {
      // Bounce so a fault leaves the device buffer untouched.
      DmaResult r = DmaRead(ram_addr, bounce_.data(), count);
      if (r.ok) {
        std::memcpy(buffer_.data() + off, bounce_.data(), count);
      } else {
        last_fault_ = r.fault;
      }
    }
  }
  dma_cmd_ &= ~kDmaStart;
  if (dma_cmd_ & kDmaIrq) RaiseIrq(kIrqDma);
}

std::array<uint8_t, EduDevice::kBufferSize> EduDevice::DmaBuffer() const {
  core::MutexLock lock(mu_);
  return buffer_;
}

std::optional<core::FaultRecord> EduDevice::LastDmaFault() const {
  core::MutexLock lock(mu_);
  return last_fault_;
}

}  // namespace vfiosim::sim
