// Benchmarks for the nested-translation building blocks of core/:
//  - PASID alloc+free pairs (goal: >= 10 M pairs/s uncontended), on an empty
//    space and on a crowded one (the lowest free PASID sits behind ~500k used
//    ones, which a linear scan would feel);
//  - a hot first-level walk through an identity Stage2Reader (refs_per_walk
//    counter = entry reads per walk).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "core/first_level_table.h"
#include "core/pasid_allocator.h"

namespace vfiosim::core {
namespace {

constexpr Pasid kMaxPasid = (1u << 20) - 1;

void BM_PasidAllocFree(benchmark::State& state) {
  PasidAllocator alloc;
  for (auto _ : state) {
    Result<Pasid> p = alloc.Alloc(1, 1, kMaxPasid);
    benchmark::DoNotOptimize(p);
    if (!alloc.Free(1, *p).ok()) state.SkipWithError("free failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PasidAllocFree);

void BM_PasidAllocFreeCrowded(benchmark::State& state) {
  const uint32_t used = static_cast<uint32_t>(state.range(0));
  PasidAllocator alloc(20, kMaxPasid);
  for (uint32_t i = 0; i < used; ++i) {
    if (!alloc.Alloc(2, 1, kMaxPasid).ok()) state.SkipWithError("fill failed");
  }
  for (auto _ : state) {
    Result<Pasid> p = alloc.Alloc(1, 1, kMaxPasid);
    benchmark::DoNotOptimize(p);
    if (!alloc.Free(1, *p).ok()) state.SkipWithError("free failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PasidAllocFreeCrowded)->Arg(1000)->Arg(500000)->Arg(kMaxPasid - 1);

// Stage 2 is the identity over a buffer: the cheapest possible reader, so the
// benchmark measures the walker itself.
class IdentityReader : public Stage2Reader {
 public:
  explicit IdentityReader(const std::vector<uint8_t>& mem) : mem_(mem) {}
  bool ReadEntry(uint64_t gpa, uint64_t* value, uint32_t*, FaultReason*) override {
    __builtin_memcpy(value, mem_.data() + gpa, sizeof(*value));
    return true;
  }

 private:
  const std::vector<uint8_t>& mem_;
};

void BM_FirstLevelWalk4K(benchmark::State& state) {
  const int levels = static_cast<int>(state.range(0));
  std::vector<uint8_t> mem(64 * 4096);
  Result<GuestPageTableBuilder> b = GuestPageTableBuilder::Create(mem, 0, levels);
  const uint64_t gva = 0x7F12'3456'7000;
  if (!b.ok() || !b->Map(gva, 0x1'0000'0000, kFlPage4K, kProtRead | kProtWrite, true).ok()) {
    state.SkipWithError("table setup failed");
    return;
  }
  IdentityReader reader(mem);
  uint64_t refs = 0;
  for (auto _ : state) {
    FirstLevelResult r = WalkFirstLevel(b->root_gpa(), b->addr_width(), gva + 0x10,
                                        kProtWrite, reader);
    benchmark::DoNotOptimize(r);
    refs += r.mem_refs;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["refs_per_walk"] =
      benchmark::Counter(static_cast<double>(refs), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_FirstLevelWalk4K)->Arg(4)->Arg(5);

}  // namespace
}  // namespace vfiosim::core

BENCHMARK_MAIN();
