// Alloc+free throughput of IovaAllocator (augmented AVL, O(log n) hole
// search) against LinearScanIovaAllocator (std::map walked top-down), with
// 64Ki and 1Mi live allocations in a fragmented, steady-state address space.
//
// Workload. Both allocators must be measured on the same, realistic state:
//   1. Pre-fill: 1.5 N allocations of mixed small sizes (1..16 granules,
//      mostly 1-2), then free a random third of them: N live, holes everywhere.
//   2. Warm-up churn (N ops of "free a random live one, allocate a new one"):
//      top-down first fit consumes the high holes first, so only after a
//      warm-up does the layout reach its steady state (holes pushed to the
//      bottom, new frees scattered uniformly). Measuring right after step 1
//      would flatter the linear scan, which finds a hole near the top at once.
//   3. Snapshot the live ranges and rebuild each allocator under test from it
//      (replaying Alloc(len, start + len - 1) in ascending order lands every
//      range exactly where it was, in O(log n) per range even for the scan).
// Steps 1-2 run once per N, with IovaAllocator (the linear scan would need
// O(N^2)); the two allocators then start from identical states and see the
// same operation sequence, so they return the same addresses.
//
// Benchmarks (items = alloc+free pairs):
//   BM_Churn:        free a random live allocation, allocate a random size.
//                    Random frees touch cold nodes: includes cache misses.
//   BM_AllocThenFree: allocate a random size and free it again (LIFO); the
//                    state never changes, isolating the hole search.
// The linear scan at 1Mi is O(N) per op, so its iterations are capped.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "core/iova_allocator.h"
#include "core/linear_scan_iova_allocator.h"

namespace vfiosim::core {
namespace {

constexpr uint64_t kGranule = 4096;
constexpr IovaRange kSpace{0, (uint64_t{1} << 48) - 1};

// Mixed small sizes in granules, weighted towards single pages like a DMA
// streaming workload: 50% 1, 20% 2, 10% 3, 10% 4, 7% 8, 3% 16.
uint64_t RandomSize(uint64_t r) {
  const uint64_t p = r % 100;
  uint64_t granules = 16;
  if (p < 50) {
    granules = 1;
  } else if (p < 70) {
    granules = 2;
  } else if (p < 80) {
    granules = 3;
  } else if (p < 90) {
    granules = 4;
  } else if (p < 97) {
    granules = 8;
  }
  return granules * kGranule;
}

// xorshift64*: cheap enough not to distort the measurement.
uint64_t NextRandom(uint64_t& s) {
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545F4914F6CDD1Dull;
}

template <typename Allocator>
Allocator MakeEmpty() {
  auto a = Allocator::Create(kSpace, kGranule);
  if (!a.ok()) std::abort();
  return std::move(a).value();
}

// Steps 1 and 2 of the workload; returns the live ranges in address order.
const std::vector<IovaRange>& SteadyState(size_t n) {
  static std::map<size_t, std::vector<IovaRange>> cache;
  auto it = cache.find(n);
  if (it != cache.end()) return it->second;

  IovaAllocator a = MakeEmpty<IovaAllocator>();
  std::mt19937_64 rng(n);
  std::vector<uint64_t> live;
  live.reserve(n + n / 2);
  for (size_t i = 0; i < n + n / 2; ++i) {
    auto r = a.Alloc(RandomSize(rng()));
    if (!r.ok()) std::abort();
    live.push_back(r->start);
  }
  std::shuffle(live.begin(), live.end(), rng);
  while (live.size() > n) {
    if (!a.Free(live.back()).ok()) std::abort();
    live.pop_back();
  }
  for (size_t i = 0; i < n; ++i) {
    const size_t idx = rng() % live.size();
    if (!a.Free(live[idx]).ok()) std::abort();
    auto r = a.Alloc(RandomSize(rng()));
    if (!r.ok()) std::abort();
    live[idx] = r->start;
  }
  std::vector<IovaRange> ranges;
  ranges.reserve(n);
  a.ForEach([&](const IovaRange& r) { ranges.push_back(r); });
  return cache.emplace(n, std::move(ranges)).first->second;
}

// An allocator rebuilt from the steady state, kept across benchmark runs of
// the same size (churn keeps it in steady state).
template <typename Allocator>
struct LiveSet {
  Allocator alloc = MakeEmpty<Allocator>();
  std::vector<uint64_t> starts;
  uint64_t rng = 0x9E3779B97F4A7C15ull;
};

template <typename Allocator>
LiveSet<Allocator>& GetLiveSet(size_t n) {
  static std::map<size_t, std::unique_ptr<LiveSet<Allocator>>> cache;
  auto& slot = cache[n];
  if (!slot) {
    slot = std::make_unique<LiveSet<Allocator>>();
    for (const IovaRange& r : SteadyState(n)) {
      // The highest aligned slot ending at r.last is r itself: it is free,
      // aligned, and nothing above the limit counts.
      auto got = slot->alloc.Alloc(r.size(), r.last);
      if (!got.ok() || !(*got == r)) std::abort();
      slot->starts.push_back(r.start);
    }
  }
  return *slot;
}

template <typename Allocator>
void BM_Churn(benchmark::State& state) {
  LiveSet<Allocator>& live = GetLiveSet<Allocator>(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    const size_t idx = NextRandom(live.rng) % live.starts.size();
    if (!live.alloc.Free(live.starts[idx]).ok()) {
      state.SkipWithError("free failed");
      break;
    }
    auto r = live.alloc.Alloc(RandomSize(NextRandom(live.rng)));
    if (!r.ok()) {
      state.SkipWithError("alloc failed");
      break;
    }
    live.starts[idx] = r->start;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["live"] = static_cast<double>(live.alloc.allocated_count());
}

template <typename Allocator>
void BM_AllocThenFree(benchmark::State& state) {
  LiveSet<Allocator>& live = GetLiveSet<Allocator>(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto r = live.alloc.Alloc(RandomSize(NextRandom(live.rng)));
    if (!r.ok() || !live.alloc.Free(r->start).ok()) {
      state.SkipWithError("alloc/free failed");
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["live"] = static_cast<double>(live.alloc.allocated_count());
}

constexpr int64_t k64K = int64_t{1} << 16;
constexpr int64_t k1M = int64_t{1} << 20;

BENCHMARK_TEMPLATE(BM_Churn, IovaAllocator)->Arg(k64K)->Arg(k1M);
BENCHMARK_TEMPLATE(BM_Churn, LinearScanIovaAllocator)->Arg(k64K)->Iterations(2000);
BENCHMARK_TEMPLATE(BM_Churn, LinearScanIovaAllocator)->Arg(k1M)->Iterations(200);
BENCHMARK_TEMPLATE(BM_AllocThenFree, IovaAllocator)->Arg(k64K)->Arg(k1M);
BENCHMARK_TEMPLATE(BM_AllocThenFree, LinearScanIovaAllocator)->Arg(k64K)->Iterations(2000);
BENCHMARK_TEMPLATE(BM_AllocThenFree, LinearScanIovaAllocator)->Arg(k1M)->Iterations(200);

}  // namespace
}  // namespace vfiosim::core

BENCHMARK_MAIN();
