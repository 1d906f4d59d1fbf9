// Benchmarks of the device models (sim/devices/) through a trivial identity
// DmaPort, so they measure the device side only: register decoding, the
// framework's checks, bounce copies and interrupt signalling. The lead reruns
// them with the real DMA port (translation + fault-safe copy) to see what the
// IOMMU path costs on top.
//
//  - BM_DmaTestDevice{Read,Write}: one 4 KiB request per doorbell (bytes/s).
//  - BM_EduDma: edu RAM->EDU 4 KiB transfers (bytes/s).
//  - BM_RingDevice/<batch>/<len>: descriptors per doorbell and bytes each
//    (items/s = descriptors/s); each descriptor costs two DMA reads and two
//    DMA writes.
//
// Build: g++ -std=c++20 -O2 -I. bench/device_bench.cc sim/pci_config.cc
//        sim/pci_device.cc sim/devices/*.cc core/fault*.cc -lbenchmark -lpthread
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "sim/devices/dma_test_device.h"
#include "sim/devices/edu.h"
#include "sim/devices/ring_device.h"
#include "sim/dma_port.h"
#include "sim/irq.h"

namespace vfiosim::sim {
namespace {

// IOVA == offset into one arena; out-of-range requests fault.
class IdentityDmaPort : public DmaPort {
 public:
  explicit IdentityDmaPort(size_t size) : mem_(size, 0) {}

  DmaResult Read(uint64_t iova, void* dst, size_t len, core::Pasid) override {
    if (!InRange(iova, len)) return Oor(iova, core::kProtRead);
    std::memcpy(dst, mem_.data() + iova, len);
    return DmaResult::Ok();
  }
  DmaResult Write(uint64_t iova, const void* src, size_t len, core::Pasid) override {
    if (!InRange(iova, len)) return Oor(iova, core::kProtWrite);
    std::memcpy(mem_.data() + iova, src, len);
    return DmaResult::Ok();
  }
  uint8_t* data() { return mem_.data(); }

 private:
  bool InRange(uint64_t iova, size_t len) const {
    return iova <= mem_.size() && len <= mem_.size() - iova;
  }
  static DmaResult Oor(uint64_t iova, uint8_t perm) {
    core::FaultRecord f;
    f.reason = core::FaultReason::kOorAddress;
    f.addr_valid = true;
    f.addr = iova & ~uint64_t{4095};
    f.perm = perm;
    return DmaResult::Fault(f);
  }
  std::vector<uint8_t> mem_;
};

class CountingIrqSink : public IrqSink {
 public:
  void SetIntx(bool) override { ++intx; }
  void SignalMsi(uint32_t) override { ++msi; }
  uint64_t intx = 0;
  uint64_t msi = 0;
};

constexpr uint64_t kArena = 16 << 20;

// Command Memory|Master, MSI-X enabled with every vector unmasked, PASID on.
bool EnableDevice(PciDevice& dev) {
  if (!dev.ConfigWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER).ok()) return false;
  const MsixLayout& m = dev.msix_layout();
  if (m.present) {
    const uint16_t cap = dev.power_on_config().FindCapability(PCI_CAP_ID_MSIX);
    if (!dev.ConfigWrite(cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE).ok()) return false;
    for (uint32_t v = 0; v < m.table_size; ++v) {
      if (!dev.BarWrite(m.table_bar, m.table_offset + 16 * v + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0)
               .ok()) {
        return false;
      }
    }
  }
  return true;
}

void DmaTestDevice4K(benchmark::State& state, uint32_t opcode) {
  auto dev = DmaTestDevice::Create();
  IdentityDmaPort port(kArena);
  CountingIrqSink sink;
  if (!dev.ok() || !EnableDevice(**dev)) {
    state.SkipWithError("device setup failed");
    return;
  }
  DmaTestDevice& d = **dev;
  d.Attach(&port, &sink);
  (void)d.BarWrite(0, DmaTestDevice::kRegIova, 8, 0x100000);
  (void)d.BarWrite(0, DmaTestDevice::kRegLength, 4, 4096);
  (void)d.BarWrite(0, DmaTestDevice::kRegOpcode, 4, opcode);
  for (auto _ : state) {
    (void)d.BarWrite(0, DmaTestDevice::kRegDoorbell, 4, 1);
  }
  if (*d.BarRead(0, DmaTestDevice::kRegResult, 4) != DmaTestDevice::kOk || sink.msi == 0) {
    state.SkipWithError("request failed");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 4096);
}

void BM_DmaTestDeviceRead(benchmark::State& state) {
  DmaTestDevice4K(state, DmaTestDevice::kOpRead);
}
void BM_DmaTestDeviceWrite(benchmark::State& state) {
  DmaTestDevice4K(state, DmaTestDevice::kOpWrite);
}
BENCHMARK(BM_DmaTestDeviceRead);
BENCHMARK(BM_DmaTestDeviceWrite);

void BM_EduDma(benchmark::State& state) {
  auto dev = EduDevice::Create();
  IdentityDmaPort port(kArena);
  CountingIrqSink sink;
  if (!dev.ok() || !EnableDevice(**dev)) {
    state.SkipWithError("device setup failed");
    return;
  }
  EduDevice& d = **dev;
  d.Attach(&port, &sink);
  (void)d.BarWrite(0, EduDevice::kRegDmaSrc, 8, 0x100000);
  (void)d.BarWrite(0, EduDevice::kRegDmaDst, 8, EduDevice::kBufferAddr);
  (void)d.BarWrite(0, EduDevice::kRegDmaCount, 8, 4096);
  for (auto _ : state) {
    (void)d.BarWrite(0, EduDevice::kRegDmaCmd, 8, EduDevice::kDmaStart);
  }
  if (d.LastDmaFault().has_value()) state.SkipWithError("DMA faulted");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 4096);
}
BENCHMARK(BM_EduDma);

void BM_RingDevice(benchmark::State& state) {
  const auto batch = static_cast<uint32_t>(state.range(0));
  const auto len = static_cast<uint32_t>(state.range(1));
  constexpr uint32_t kRingSize = 1024;
  constexpr uint64_t kRingIova = 0x10000;
  constexpr uint64_t kSrc = 0x100000;
  constexpr uint64_t kDst = 0x800000;
  auto dev = RingDevice::Create();
  IdentityDmaPort port(kArena);
  CountingIrqSink sink;
  if (!dev.ok() || !EnableDevice(**dev)) {
    state.SkipWithError("device setup failed");
    return;
  }
  RingDevice& d = **dev;
  d.Attach(&port, &sink);
  // Every slot holds a valid descriptor; the device never checks the status
  // it wrote last time round, so the ring can be reused as is.
  for (uint32_t i = 0; i < kRingSize; ++i) {
    RingDescriptor desc{.src = kSrc + uint64_t{i % 64} * len, .dst = kDst + uint64_t{i % 64} * len,
                        .len = len};
    std::memcpy(port.data() + kRingIova + 32 * i, &desc, sizeof(desc));
  }
  (void)d.BarWrite(0, RingDevice::QueueReg(0, RingDevice::kQBase), 8, kRingIova);
  (void)d.BarWrite(0, RingDevice::QueueReg(0, RingDevice::kQSize), 4, kRingSize);
  (void)d.BarWrite(0, RingDevice::QueueReg(0, RingDevice::kQControl), 4,
                   RingDevice::kControlEnable);
  uint32_t tail = 0;
  for (auto _ : state) {
    tail = (tail + batch) % kRingSize;
    (void)d.BarWrite(0, RingDevice::QueueReg(0, RingDevice::kQTail), 4, tail);
    (void)d.BarWrite(0, RingDevice::kRegDoorbell, 4, 0);
  }
  if (*d.BarRead(0, RingDevice::QueueReg(0, RingDevice::kQHead), 4) != tail ||
      *d.BarRead(0, RingDevice::QueueReg(0, RingDevice::kQStatus), 4) !=
          RingDevice::kStatusEnabled) {
    state.SkipWithError("ring did not drain");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * batch);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * batch * len);
}
BENCHMARK(BM_RingDevice)->Args({1, 64})->Args({16, 64})->Args({256, 64})->Args({256, 4096});

}  // namespace
}  // namespace vfiosim::sim

BENCHMARK_MAIN();
