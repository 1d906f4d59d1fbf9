// Type1 MAP_DMA + UNMAP_DMA throughput and bookkeeping memory (issue 3 speed
// goals), vfio-sim side by side with the naive baseline of
// bench/naive_baseline.h in the same binary.
//
// Map+unmap pair benchmarks (items = pairs; counters: live, time_per_pair):
//   BM_Ioctl/*  VfioSim::Ioctl with vfio_iommu_type1_dma_map/_unmap on a v2
//               container (open, SET_CONTAINER, SET_IOMMU as a client does),
//   BM_Core/*   core::Type1Iommu::Map/Unmap directly (no fd lookup, no struct
//               copy-in, no container lock): the difference is the api layer,
//   BM_Naive/*  NaiveIommu (std::map + per-page std::unordered_map).
// Each runs the same workloads. `live` 4K mappings are made before timing; each
// iteration maps one more 4K page and unmaps it again, so the state is the
// same at every iteration:
//   seq_1K       live IOVAs consecutive; the extra page is the next one,
//   random_N     live IOVAs drawn (fixed-seed PRNG, pre-generated) from 4*N
//                page slots; the extra pages cycle through up to 64Ki other
//                pre-drawn free slots, so every lookup lands somewhere new.
// IOVAs are placed so that the extra page always falls into a leaf table that
// live mappings keep allocated: page-table allocation is measured by
// bench/page_table_bench.cc, not here. _verify/_trust is the machine's
// vaddr_policy: kVerify runs the pinning stand-in (one msync per map).
//
// Memory benchmarks (BM_Memory_*/N, one iteration): N 4K mappings 4K apart,
// counters bytes_per_mapping (heap bytes of bookkeeping, from mallinfo2) and
// pt_bytes_per_mapping (translation structure: IO page-table pages for
// vfio-sim, the per-page hash table for the baseline).
//
// Set-up of a big live set takes long (1M ioctls), and Google Benchmark calls
// a benchmark function several times while it picks the iteration count, so
// the last-built fixture (live set + backend) is cached and reused while the
// same benchmark runs; before each run the live set is back to its initial state.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "api/vfio_sim.h"
#include "bench/naive_baseline.h"
#include "core/behavior.h"
#include "core/machine_config.h"
#include "core/type1_iommu.h"
#include "core/types.h"

namespace vfiosim::bench {
namespace {

using core::VaddrPolicy;

constexpr uint64_t kPage = 4096;
constexpr size_t kPagesPerLeafTable = 512;
// 4 GiB: above the x86 interrupt window (a reserved region) and 1 GiB aligned.
constexpr uint64_t kIovaBase = uint64_t{1} << 32;
// Sequential live sets start this many pages into a leaf table, so that the
// extra page after a 1Ki live set shares a leaf table with live pages.
constexpr uint64_t kSeqFirstPage = 256;
constexpr size_t kMaxProbes = 65536;
constexpr core::GroupId kGroup = 1;  // the default machine's edu device group

// ---------------------------------------------------------------- workloads

enum class Pattern { kSequential, kRandom };

struct Slot {
  uint64_t iova;
  uint64_t vaddr;
};

struct Workload {
  std::vector<Slot> live;    // mapped before timing
  std::vector<Slot> probes;  // mapped + unmapped by the timed loop, cycled
};

// All mappings point into one 2 MiB anonymous buffer (several IOVAs may map the
// same host page, as VFIO allows), so kVerify's msync finds real memory.
uint64_t HostBufferBase() {
  static const uint64_t base = [] {
    void* p = mmap(nullptr, kPagesPerLeafTable * kPage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? uint64_t{0} : reinterpret_cast<uint64_t>(p);
  }();
  return base;
}

Slot SlotAt(uint64_t page) {
  return Slot{kIovaBase + page * kPage, HostBufferBase() + (page % kPagesPerLeafTable) * kPage};
}

Workload MakeWorkload(Pattern pattern, size_t live) {
  Workload w;
  w.live.reserve(live);
  if (pattern == Pattern::kSequential) {
    for (size_t i = 0; i < live; ++i) w.live.push_back(SlotAt(kSeqFirstPage + i));
    w.probes.push_back(SlotAt(kSeqFirstPage + live));
    return w;
  }
  // Distinct random slots among 4*live pages: ~128 live pages per leaf table,
  // so no probe ever needs a new table. Live pages are mapped in draw order.
  const size_t slots = 4 * live;
  const size_t probes = std::min(live, kMaxProbes);
  std::vector<uint8_t> taken(slots, 0);
  std::mt19937_64 rng(0x7e5eed00 + live);
  std::uniform_int_distribution<uint64_t> pick(0, slots - 1);
  auto draw = [&] {
    for (;;) {
      uint64_t page = pick(rng);
      if (!taken[page]) {
        taken[page] = 1;
        return page;
      }
    }
  };
  for (size_t i = 0; i < live; ++i) w.live.push_back(SlotAt(draw()));
  w.probes.reserve(probes);
  for (size_t i = 0; i < probes; ++i) w.probes.push_back(SlotAt(draw()));
  return w;
}

uint32_t EntryLimitFor(size_t live) {
  // The default (65535) fits 1Ki; bigger sets raise it as a user would (2x).
  return live < 65535 ? 65535 : static_cast<uint32_t>(2 * live);
}

// ---------------------------------------------------------------- backends

// The uAPI path: what a VFIO client does, through the in-process facade.
class IoctlBackend {
 public:
  IoctlBackend(VaddrPolicy policy, uint32_t entry_limit) {
    api::VfioSimOptions options;
    options.machine.dma_entry_limit = entry_limit;
    options.machine.vaddr_policy = policy;
    sim_ = std::make_unique<api::VfioSim>(options);
    container_ = sim_->Open("/dev/vfio/vfio", O_RDWR);
    int group = sim_->Open(("/dev/vfio/" + std::to_string(kGroup)).c_str(), O_RDWR);
    ok_ = container_ >= 0 && group >= 0 &&
          sim_->Ioctl(group, VFIO_GROUP_SET_CONTAINER, &container_) == 0 &&
          sim_->Ioctl(container_, VFIO_SET_IOMMU, static_cast<uintptr_t>(VFIO_TYPE1v2_IOMMU)) == 0;
  }
  bool ok() const { return ok_; }

  bool Map(const Slot& s) {
    vfio_iommu_type1_dma_map map{};
    map.argsz = sizeof(map);
    map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
    map.vaddr = s.vaddr;
    map.iova = s.iova;
    map.size = kPage;
    return sim_->Ioctl(container_, VFIO_IOMMU_MAP_DMA, &map) == 0;
  }
  bool Unmap(const Slot& s) {
    vfio_iommu_type1_dma_unmap unmap{};
    unmap.argsz = sizeof(unmap);
    unmap.iova = s.iova;
    unmap.size = kPage;
    return sim_->Ioctl(container_, VFIO_IOMMU_UNMAP_DMA, &unmap) == 0 && unmap.size == kPage;
  }

 private:
  std::unique_ptr<api::VfioSim> sim_;
  int container_ = -1;
  bool ok_ = false;
};

// The kernel model alone: one Type1Iommu with the default machine's group attached.
class CoreBackend {
 public:
  CoreBackend(VaddrPolicy policy, uint32_t entry_limit)
      : machine_(MakeMachine(policy, entry_limit)),
        iommu_(/*v2=*/true, /*nesting=*/false, /*domain_id=*/1, machine_, core::KernelBehavior{},
               &memlock_) {
    ok_ = iommu_.AttachGroup(kGroup, machine_.DefaultReservedRegions()).ok();
  }
  bool ok() const { return ok_; }

  bool Map(const Slot& s) {
    core::MapRequest req;
    req.read = true;
    req.write = true;
    req.vaddr = s.vaddr;
    req.iova = s.iova;
    req.size = kPage;
    return iommu_.Map(req).ok();
  }
  bool Unmap(const Slot& s) {
    core::UnmapRequest req;
    req.iova = s.iova;
    req.size = kPage;
    core::Result<uint64_t> r = iommu_.Unmap(req);
    return r.ok() && *r == kPage;
  }
  size_t mapping_count() const { return iommu_.space().mapping_count(); }
  size_t table_bytes() const { return iommu_.page_table().table_bytes(); }

 private:
  static core::MachineConfig MakeMachine(VaddrPolicy policy, uint32_t entry_limit) {
    core::MachineConfig m;
    m.dma_entry_limit = entry_limit;
    m.vaddr_policy = policy;
    return m;
  }

  core::MachineConfig machine_;
  core::MemlockAccount memlock_;
  core::Type1Iommu iommu_;
  bool ok_ = false;
};

// The yardstick, configured like the default machine (aperture 2^48 minus the
// interrupt window).
class NaiveBackend {
 public:
  NaiveBackend(VaddrPolicy /*no pinning stand-in*/, uint32_t entry_limit)
      : naive_(entry_limit, kPage,
               {core::IovaRange{0, 0xFEDFFFFF}, core::IovaRange{0xFEF00000, (uint64_t{1} << 48) - 1}}) {}
  bool ok() const { return true; }

  bool Map(const Slot& s) {
    return naive_.Map(s.iova, kPage, s.vaddr, core::kProtRead | core::kProtWrite).ok();
  }
  bool Unmap(const Slot& s) {
    core::Result<uint64_t> r = naive_.Unmap(s.iova, kPage);
    return r.ok() && *r == kPage;
  }
  size_t mapping_count() const { return naive_.mapping_count(); }

 private:
  NaiveIommu naive_;
};

// ---------------------------------------------------------------- fixture cache

template <typename B>
struct Fixture {
  Workload workload;
  std::unique_ptr<B> backend;
};

// The one cached fixture, whatever its backend type (the key names the type),
// so that only one big live set is in memory at a time.
struct FixtureCache {
  std::string key;
  std::shared_ptr<void> fixture;
};

FixtureCache& Cache() {
  static FixtureCache* cache = new FixtureCache;  // lives until exit, like the benchmarks
  return *cache;
}

// Returns the fixture for `key`, building it (after dropping the previous
// one) when the key changed. nullptr with *error set when the set-up failed.
template <typename B>
Fixture<B>* GetFixture(const std::string& key, Pattern pattern, size_t live, VaddrPolicy policy,
                       std::string* error) {
  FixtureCache& cache = Cache();
  if (cache.key == key && cache.fixture) return static_cast<Fixture<B>*>(cache.fixture.get());
  cache.fixture.reset();
  cache.key.clear();
  if (HostBufferBase() == 0) {
    *error = "mmap of the host buffer failed";
    return nullptr;
  }
  auto f = std::make_shared<Fixture<B>>();
  f->workload = MakeWorkload(pattern, live);
  f->backend = std::make_unique<B>(policy, EntryLimitFor(live));
  if (!f->backend->ok()) {
    *error = "container set-up failed";
    return nullptr;
  }
  for (const Slot& s : f->workload.live) {
    if (!f->backend->Map(s)) {
      *error = "pre-mapping the live set failed";
      return nullptr;
    }
  }
  cache.fixture = f;
  cache.key = key;
  return f.get();
}

std::string PolicyName(VaddrPolicy policy) {
  return policy == VaddrPolicy::kVerify ? "verify" : "trust";
}

template <typename B>
void MapUnmapPairs(benchmark::State& state, const char* backend_name, Pattern pattern, size_t live,
                   VaddrPolicy policy) {
  const std::string key = std::string(backend_name) + "/" +
                          (pattern == Pattern::kSequential ? "seq/" : "random/") +
                          std::to_string(live) + "/" + PolicyName(policy);
  std::string error;
  Fixture<B>* f = GetFixture<B>(key, pattern, live, policy, &error);
  if (f == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  B& backend = *f->backend;
  const std::vector<Slot>& probes = f->workload.probes;
  size_t next = 0;
  for (auto _ : state) {
    const Slot& s = probes[next];
    if (++next == probes.size()) next = 0;
    if (!backend.Map(s) || !backend.Unmap(s)) {
      state.SkipWithError("map/unmap pair failed");
      break;
    }
  }
  if constexpr (!std::is_same_v<B, IoctlBackend>) {
    if (backend.mapping_count() != live) state.SkipWithError("live set changed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["live"] = static_cast<double>(live);
  // An inverted rate: seconds per pair (printed with an SI prefix, e.g. 50ns).
  state.counters["time_per_pair"] = benchmark::Counter(
      static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Ioctl(benchmark::State& state, Pattern pattern, size_t live, VaddrPolicy policy) {
  MapUnmapPairs<IoctlBackend>(state, "ioctl", pattern, live, policy);
}
void BM_Core(benchmark::State& state, Pattern pattern, size_t live, VaddrPolicy policy) {
  MapUnmapPairs<CoreBackend>(state, "core", pattern, live, policy);
}
void BM_Naive(benchmark::State& state, Pattern pattern, size_t live) {
  MapUnmapPairs<NaiveBackend>(state, "naive", pattern, live, VaddrPolicy::kTrust);
}

constexpr Pattern kSeq = Pattern::kSequential;
constexpr Pattern kRand = Pattern::kRandom;
constexpr VaddrPolicy kVerify = VaddrPolicy::kVerify;
constexpr VaddrPolicy kTrust = VaddrPolicy::kTrust;
constexpr size_t k1K = 1024;
constexpr size_t k64K = 65536;
constexpr size_t k1M = 1048576;

BENCHMARK_CAPTURE(BM_Ioctl, seq_1K_verify, kSeq, k1K, kVerify);
BENCHMARK_CAPTURE(BM_Ioctl, seq_1K_trust, kSeq, k1K, kTrust);
BENCHMARK_CAPTURE(BM_Core, seq_1K_verify, kSeq, k1K, kVerify);
BENCHMARK_CAPTURE(BM_Core, seq_1K_trust, kSeq, k1K, kTrust);
BENCHMARK_CAPTURE(BM_Naive, seq_1K, kSeq, k1K);

// Random at 1Ki: the small-set reference for the 1M scaling goal.
BENCHMARK_CAPTURE(BM_Ioctl, random_1K_verify, kRand, k1K, kVerify);
BENCHMARK_CAPTURE(BM_Ioctl, random_1K_trust, kRand, k1K, kTrust);
BENCHMARK_CAPTURE(BM_Core, random_1K_verify, kRand, k1K, kVerify);
BENCHMARK_CAPTURE(BM_Core, random_1K_trust, kRand, k1K, kTrust);
BENCHMARK_CAPTURE(BM_Naive, random_1K, kRand, k1K);

BENCHMARK_CAPTURE(BM_Ioctl, random_64K_verify, kRand, k64K, kVerify);
BENCHMARK_CAPTURE(BM_Ioctl, random_64K_trust, kRand, k64K, kTrust);
BENCHMARK_CAPTURE(BM_Core, random_64K_verify, kRand, k64K, kVerify);
BENCHMARK_CAPTURE(BM_Core, random_64K_trust, kRand, k64K, kTrust);
BENCHMARK_CAPTURE(BM_Naive, random_64K, kRand, k64K);

BENCHMARK_CAPTURE(BM_Ioctl, random_1M_verify, kRand, k1M, kVerify);
BENCHMARK_CAPTURE(BM_Ioctl, random_1M_trust, kRand, k1M, kTrust);
BENCHMARK_CAPTURE(BM_Core, random_1M_verify, kRand, k1M, kVerify);
BENCHMARK_CAPTURE(BM_Core, random_1M_trust, kRand, k1M, kTrust);
BENCHMARK_CAPTURE(BM_Naive, random_1M, kRand, k1M);

// ---------------------------------------------------------------- memory

// Heap bytes in use (small chunks plus mmap-served big blocks), all arenas.
double HeapBytes() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<double>(mi.uordblks + mi.hblkhd);
}

// vfio-sim's type1 (trust policy; the ioctl layer keeps nothing per mapping).
void BM_Memory_VfioSim(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    CoreBackend backend(kTrust, static_cast<uint32_t>(n + 1));
    if (!backend.ok()) {
      state.SkipWithError("attach failed");
      break;
    }
    const double heap0 = HeapBytes();
    const double pt0 = static_cast<double>(backend.table_bytes());
    for (size_t i = 0; i < n; ++i) {
      if (!backend.Map(SlotAt(i))) {
        state.SkipWithError("map failed");
        break;
      }
    }
    state.counters["bytes_per_mapping"] = (HeapBytes() - heap0) / static_cast<double>(n);
    state.counters["pt_bytes_per_mapping"] =
        (static_cast<double>(backend.table_bytes()) - pt0) / static_cast<double>(n);
  }
  state.counters["live"] = static_cast<double>(n);
}

// The baseline: the std::map share is total minus an identical standalone
// per-page table (same type, same keys, same insertion order).
void BM_Memory_Naive(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    double total = 0;
    {
      NaiveBackend backend(kTrust, static_cast<uint32_t>(n + 1));
      const double heap0 = HeapBytes();
      for (size_t i = 0; i < n; ++i) {
        if (!backend.Map(SlotAt(i))) {
          state.SkipWithError("map failed");
          break;
        }
      }
      total = HeapBytes() - heap0;
    }
    const double heap0 = HeapBytes();
    NaiveIommu::PageTable pages;
    for (size_t i = 0; i < n; ++i) pages.emplace(SlotAt(i).iova, SlotAt(i).vaddr);
    const double pt = HeapBytes() - heap0;
    benchmark::DoNotOptimize(pages);
    state.counters["bytes_per_mapping"] = (total - pt) / static_cast<double>(n);
    state.counters["pt_bytes_per_mapping"] = pt / static_cast<double>(n);
  }
  state.counters["live"] = static_cast<double>(n);
}

BENCHMARK(BM_Memory_VfioSim)->Arg(k64K)->Arg(k1M)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Memory_Naive)->Arg(k64K)->Arg(k1M)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vfiosim::bench
