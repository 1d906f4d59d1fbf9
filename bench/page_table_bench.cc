// Benchmarks of the IO page table and the IOTLB (core/page_table.h,
// core/iotlb.h). Output addresses are plain numbers: no memory behind them is
// touched, only the tables themselves.
//
// Goals these measure (see the design notes in core/page_table.h):
//  - Map + Unmap of 16 GiB in one call: ~20 ms at 4K leaves, microseconds at 1G;
//  - a cold walk of random IOVAs over 16 GiB of 4K leaves: >= 20 M/s;
//  - IOTLB hits: >= 300 M/s.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "core/iotlb.h"
#include "core/page_table.h"

namespace vfiosim::core {
namespace {

constexpr uint64_t kSize16G = uint64_t{16} << 30;
constexpr uint64_t kIovaBase = uint64_t{1} << 34;      // 1G aligned
constexpr uint64_t kOutBase = uint64_t{0x7f} << 36;    // 1G aligned host VA

using Clock = std::chrono::steady_clock;

// Maps and unmaps 16 GiB per iteration; the bitmap picks the leaf size (IOVA
// and output are both 1G aligned).
void MapUnmap16G(benchmark::State& state, uint64_t pgsize_bitmap) {
  IoPageTable pt(48, pgsize_bitmap);
  double map_ns = 0, unmap_ns = 0;
  size_t tables = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    if (!pt.Map(kIovaBase, HostVa{kOutBase}, kSize16G, kProtRead | kProtWrite).ok()) {
      state.SkipWithError("Map failed");
      break;
    }
    const auto t1 = Clock::now();
    tables = pt.table_count();
    if (!pt.Unmap(kIovaBase, kSize16G).ok()) {
      state.SkipWithError("Unmap failed");
      break;
    }
    const auto t2 = Clock::now();
    map_ns += std::chrono::duration<double, std::nano>(t1 - t0).count();
    unmap_ns += std::chrono::duration<double, std::nano>(t2 - t1).count();
  }
  const double n = static_cast<double>(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kSize16G));
  state.counters["map_us"] = n > 0 ? map_ns / n / 1e3 : 0;
  state.counters["unmap_us"] = n > 0 ? unmap_ns / n / 1e3 : 0;
  state.counters["tables"] = static_cast<double>(tables);
}

void BM_Map16GiB_4K(benchmark::State& state) { MapUnmap16G(state, kPageSize4K); }
void BM_Map16GiB_2M(benchmark::State& state) { MapUnmap16G(state, kPageSize4K | kPageSize2M); }
void BM_Map16GiB_1G(benchmark::State& state) {
  MapUnmap16G(state, kPageSize4K | kPageSize2M | kPageSize1G);
}
BENCHMARK(BM_Map16GiB_4K)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Map16GiB_2M)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Map16GiB_1G)->Unit(benchmark::kMicrosecond);

// Random translations over 16 GiB of 4K leaves: the leaf tables (32 MiB) do
// not fit in cache, so nearly every walk misses on its last entry.
void BM_ColdWalk4K_16GiB(benchmark::State& state) {
  IoPageTable pt(48, kPageSize4K);
  if (!pt.Map(kIovaBase, HostVa{kOutBase}, kSize16G, kProtRead | kProtWrite).ok()) {
    state.SkipWithError("Map failed");
    return;
  }
  constexpr size_t kAddrs = size_t{1} << 20;
  std::vector<uint64_t> iovas(kAddrs);
  std::mt19937_64 rng(42);
  for (uint64_t& a : iovas) a = kIovaBase + rng() % kSize16G;
  uint64_t refs = 0, sum = 0, walks = 0;
  size_t i = 0;
  for (auto _ : state) {
    const WalkResult r = pt.Translate(iovas[i], kProtRead);
    sum += ToU64(r.translation.output_base);
    refs += r.mem_refs;
    ++walks;
    i = (i + 1) & (kAddrs - 1);
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
  state.counters["refs_per_walk"] = walks ? static_cast<double>(refs) / walks : 0;
}
BENCHMARK(BM_ColdWalk4K_16GiB);

// IOTLB hits cycling over 256 cached 4K pages of one domain.
void BM_IotlbHit(benchmark::State& state) {
  Iotlb tlb(4096);
  constexpr size_t kPages = 256;
  for (uint64_t p = 0; p < kPages; ++p) {
    tlb.Insert(1, kNoPasid,
               Translation{kIovaBase + p * kPageSize4K, HostVa{kOutBase + p * kPageSize4K},
                           kPageSize4K, kProtRead | kProtWrite});
  }
  std::vector<uint64_t> iovas(kPages);
  std::mt19937_64 rng(7);
  for (uint64_t& a : iovas) a = kIovaBase + (rng() % kPages) * kPageSize4K + rng() % kPageSize4K;
  uint64_t sum = 0;
  size_t i = 0;
  for (auto _ : state) {
    const Translation* t = tlb.Lookup(1, kNoPasid, iovas[i], kProtRead);
    sum += ToU64(t->output_base);
    i = (i + 1) & (kPages - 1);
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
  state.counters["hit_rate"] =
      static_cast<double>(tlb.stats().hits) /
      static_cast<double>(tlb.stats().hits + tlb.stats().misses);
}
BENCHMARK(BM_IotlbHit);

}  // namespace
}  // namespace vfiosim::core

BENCHMARK_MAIN();
