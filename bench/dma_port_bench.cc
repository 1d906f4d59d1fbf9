// Device DMA through the REAL port (issue 6 speed goals: 4 KiB DMA with IOTLB
// hits >= 5 GB/s; ring device >= 5 M descriptors/s; both with the cost split
// between translation and copy).
//
// The path measured is sim::IommuDmaPort: kernel group -> container lookup,
// container lock, core translation (IOTLB first), the fault-safe copy into
// client memory (core::CopyToUser/CopyFromUser). Client memory is a real
// anonymous buffer mapped with MAP_DMA on the default machine.
//
//   BM_DmaPort_Write4K / _Read4K  one 4 KiB DMA per iteration over 16 warm
//                                 pages of group 1 (api::TestChannel::Port);
//                                 bytes/s.
//   BM_DmaPort_Translate4K        the translation alone, the way the port
//                                 reaches it (api::TestChannel::Translate:
//                                 container lookup + lock + IOTLB hit).
//   BM_DmaPort_CopyTo4K / _CopyFrom4K  the guarded 4 KiB copy alone.
//   => split: translation share = Translate4K / Write4K time, copy share =
//      CopyTo4K / Write4K time (`vfiosim bench` prints both).
//   BM_RingDevice_RealPort/<batch>/<len>  the machine's descriptor-ring device
//                                 (0000:00:03.0, group 4) driven through its
//                                 BAR with the same ring as bench/device_bench's
//                                 BM_RingDevice (identity port), so that the
//                                 difference of the two is what the IOMMU
//                                 path costs; items/s = descriptors/s, counter
//                                 dmas_per_desc (4: fetch, read, write, status).
#include <benchmark/benchmark.h>
#include <linux/pci_regs.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "api/test_channel.h"
#include "bench/vfio_bench_util.h"
#include "core/user_memory.h"
#include "sim/devices/ring_device.h"

namespace vfiosim::bench {
namespace {

constexpr int kEduGroup = 1;
constexpr int kRingGroup = 4;
constexpr const char* kRingBdf = "0000:00:03.0";
constexpr uint64_t kIova = uint64_t{1} << 32;  // above the x86 interrupt window
constexpr size_t kDmaPages = 16;
constexpr size_t k4K = 4096;

// A container of `group` (default machine, verify policy) with `bytes` of
// real memory mapped at kIova.
struct MappedBuffer {
  MappedBuffer(int group, size_t bytes) : c(sim::DefaultMachineConfig(), group), buf(bytes) {
    ok = c.ok() && buf.data() != nullptr && c.Map(kIova, bytes, buf.va()) == 0;
  }
  SimContainer c;
  AnonBuffer buf;
  bool ok = false;
};

void Dma4K(benchmark::State& state, bool write) {
  MappedBuffer m(kEduGroup, kDmaPages * k4K);
  if (!m.ok) {
    state.SkipWithError("set-up failed");
    return;
  }
  api::TestChannel channel(m.c.sim());
  sim::IommuDmaPort& port = channel.Port(kEduGroup);
  std::vector<uint8_t> local(k4K, 0xa5);
  for (size_t p = 0; p < kDmaPages; ++p) (void)port.Read(kIova + p * k4K, local.data(), k4K);  // warm
  channel.ResetIotlbStats(kEduGroup);
  uint64_t failed = 0;
  size_t p = 0;
  for (auto _ : state) {
    const uint64_t iova = kIova + p * k4K;
    const sim::DmaResult r = write ? port.Write(iova, local.data(), k4K) : port.Read(iova, local.data(), k4K);
    failed += !r.ok;
    p = (p + 1) & (kDmaPages - 1);
  }
  benchmark::DoNotOptimize(local.data());
  if (failed != 0) state.SkipWithError("DMA faulted");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * k4K));
  state.SetItemsProcessed(state.iterations());
  if (std::optional<core::IotlbStats> s = channel.Iotlb(kEduGroup); s && s->hits + s->misses > 0) {
    state.counters["hit_rate"] = static_cast<double>(s->hits) / static_cast<double>(s->hits + s->misses);
  }
}

void BM_DmaPort_Write4K(benchmark::State& state) { Dma4K(state, /*write=*/true); }
void BM_DmaPort_Read4K(benchmark::State& state) { Dma4K(state, /*write=*/false); }
BENCHMARK(BM_DmaPort_Write4K);
BENCHMARK(BM_DmaPort_Read4K);

void BM_DmaPort_Translate4K(benchmark::State& state) {
  MappedBuffer m(kEduGroup, kDmaPages * k4K);
  if (!m.ok) {
    state.SkipWithError("set-up failed");
    return;
  }
  api::TestChannel channel(m.c.sim());
  for (size_t p = 0; p < kDmaPages; ++p) (void)channel.Translate(kEduGroup, kIova + p * k4K, core::kProtWrite);
  uint64_t failed = 0, sum = 0;
  size_t p = 0;
  for (auto _ : state) {
    const std::optional<core::DmaTranslation> t = channel.Translate(kEduGroup, kIova + p * k4K, core::kProtWrite);
    failed += !t || !t->ok;
    if (t) sum += core::ToU64(t->translation.output_base);
    p = (p + 1) & (kDmaPages - 1);
  }
  benchmark::DoNotOptimize(sum);
  if (failed != 0) state.SkipWithError("translation faulted");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DmaPort_Translate4K);

void Copy4K(benchmark::State& state, bool to_user) {
  AnonBuffer client(kDmaPages * k4K);
  std::vector<uint8_t> local(k4K, 0xa5);
  if (client.data() == nullptr) {
    state.SkipWithError("mmap failed");
    return;
  }
  uint64_t failed = 0;
  size_t p = 0;
  for (auto _ : state) {
    uint8_t* at = client.data() + p * k4K;
    const core::Status s = to_user ? core::CopyToUser(at, local.data(), k4K)
                                   : core::CopyFromUser(local.data(), at, k4K);
    failed += !s.ok();
    p = (p + 1) & (kDmaPages - 1);
  }
  benchmark::DoNotOptimize(local.data());
  if (failed != 0) state.SkipWithError("copy failed");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * k4K));
}
void BM_DmaPort_CopyTo4K(benchmark::State& state) { Copy4K(state, /*to_user=*/true); }
void BM_DmaPort_CopyFrom4K(benchmark::State& state) { Copy4K(state, /*to_user=*/false); }
BENCHMARK(BM_DmaPort_CopyTo4K);
BENCHMARK(BM_DmaPort_CopyFrom4K);

// The ring of bench/device_bench.cc's BM_RingDevice, at the same offsets,
// now in real client memory behind the IOMMU.
void BM_RingDevice_RealPort(benchmark::State& state) {
  const auto batch = static_cast<uint32_t>(state.range(0));
  const auto len = static_cast<uint32_t>(state.range(1));
  constexpr uint32_t kRingSize = 1024;
  constexpr uint64_t kRingOff = 0x10000;
  constexpr uint64_t kSrcOff = 0x100000;
  constexpr uint64_t kDstOff = 0x800000;
  MappedBuffer m(kRingGroup, 16 * kMiB);
  sim::MachineDevice* dev = m.ok ? m.c.sim().machine().FindDevice(kRingBdf) : nullptr;
  if (dev == nullptr || dev->model == nullptr || dev->model->ModelName() != "ring") {
    state.SkipWithError("set-up failed (no ring device in a mapped container)");
    return;
  }
  sim::PciDevice& d = *dev->model;
  if (!d.ConfigWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER).ok()) {
    state.SkipWithError("bus mastering refused");
    return;
  }
  // Every slot holds a valid descriptor; the device does not look at the
  // status it wrote last time round, so the ring is reused as is.
  for (uint32_t i = 0; i < kRingSize; ++i) {
    sim::RingDescriptor desc{.src = kIova + kSrcOff + uint64_t{i % 64} * len,
                             .dst = kIova + kDstOff + uint64_t{i % 64} * len,
                             .len = len};
    std::memcpy(m.buf.data() + kRingOff + sizeof(desc) * i, &desc, sizeof(desc));
  }
  using R = sim::RingDevice;
  bool ok = d.BarWrite(0, R::QueueReg(0, R::kQBase), 8, kIova + kRingOff).ok() &&
            d.BarWrite(0, R::QueueReg(0, R::kQSize), 4, kRingSize).ok() &&
            d.BarWrite(0, R::QueueReg(0, R::kQControl), 4, R::kControlEnable).ok();
  if (!ok) {
    state.SkipWithError("queue set-up failed");
    return;
  }
  const uint64_t reads0 = dev->dma->stats().reads.load() + dev->dma->stats().writes.load();
  uint32_t tail = 0;
  for (auto _ : state) {
    tail = (tail + batch) % kRingSize;
    (void)d.BarWrite(0, R::QueueReg(0, R::kQTail), 4, tail);
    (void)d.BarWrite(0, R::kRegDoorbell, 4, 0);
  }
  const uint64_t dmas = dev->dma->stats().reads.load() + dev->dma->stats().writes.load() - reads0;
  core::Result<uint64_t> head = d.BarRead(0, R::QueueReg(0, R::kQHead), 4);
  core::Result<uint64_t> status = d.BarRead(0, R::QueueReg(0, R::kQStatus), 4);
  if (!head.ok() || *head != tail || !status.ok() || *status != R::kStatusEnabled ||
      dev->dma->stats().faults.load() != 0) {
    state.SkipWithError("ring did not drain without faults");
  }
  const double descs = static_cast<double>(state.iterations()) * batch;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * batch);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * batch * len);
  state.counters["dmas_per_desc"] = descs > 0 ? static_cast<double>(dmas) / descs : 0;
}
BENCHMARK(BM_RingDevice_RealPort)->Args({256, 64})->Args({256, 4096});

}  // namespace
}  // namespace vfiosim::bench

BENCHMARK_MAIN();
