// Translation through the type1 path (issues 4 and 5 speed goals): what a
// device's DMA costs to translate in a real container, by path.
//
// Every benchmark builds an api::VfioSim container and translates with
// core::Type1Iommu::Translate / TranslateDma inside one hold of the
// container lock (Container::WithIommu), so the figures are the core's
// translation cost; BM_Translate_IotlbHitChannel adds what one request pays
// to reach the IOMMU (kernel group lookup + container lock per call), as the
// real DMA port does. Items = translations; refs_per_walk = memory
// references per translation (0 on an IOTLB hit), from the walk's own count.
//
//   BM_Translate_IotlbHit         256 warm 4K pages, random IOVAs; goal >= 300 M/s.
//   BM_Translate_IotlbHitChannel  the same through api::TestChannel::Translate.
//   BM_Translate_ColdWalk/<leaf>  IOTLB disabled (iotlb_entries = 0), 16 GiB
//                                 mapped with 4K, 2M or 1G leaves, random
//                                 IOVAs over all of it (the 32 MiB of 4K leaf
//                                 tables do not fit in cache); goal for 4K:
//                                 >= 20 M/s, refs 4 / 3 / 2.
//   BM_Translate_NestedHot        two-stage walk (seed 001 profile, guest
//                                 4-level table bound to a PASID, stage 2 in
//                                 4K leaves, IOTLB disabled) over 64 guest
//                                 pages whose tables stay in CPU cache: the
//                                 full 2D walk every time; goal >= 25 M/s,
//                                 refs <= 24.
//   BM_Translate_NestedCold       the same over 1Mi random guest pages (8 MiB
//                                 of guest leaf tables).
//   BM_Translate_NestedIotlbHit   nested with the IOTLB on and warm.
#include <benchmark/benchmark.h>
#include <linux/vfio.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "api/test_channel.h"
#include "api/uapi/iommu_vsva_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"
#include "bench/vfio_bench_util.h"
#include "core/container.h"
#include "core/first_level_table.h"
#include "core/kernel.h"
#include "core/type1_iommu.h"

namespace vfiosim::bench {
namespace {

constexpr int kGroup = 1;
constexpr uint64_t kIova = uint64_t{16} << 30;
constexpr uint64_t kVaddr = uint64_t{0x7f} << 40;
constexpr uint64_t k16GiB = 16 * kGiB;
constexpr size_t kRandomAddrs = size_t{1} << 20;  // power of two: index wraps with a mask

// Runs `loop(iommu)` under the container lock of `group`; false when the
// group has no container with an IOMMU.
template <typename F>
bool WithIommu(SimContainer& c, F loop) {
  std::shared_ptr<core::Container> container = c.sim().kernel().GroupContainer(c.group());
  if (!container) return false;
  core::Status s = container->WithIommu([&](core::Type1Iommu& iommu) -> core::Status {
    loop(iommu);
    return core::Status::Ok();
  });
  return s.ok();
}

void ReportWalks(benchmark::State& state, uint64_t refs, uint64_t faults) {
  state.SetItemsProcessed(state.iterations());
  state.counters["refs_per_walk"] = benchmark::Counter(static_cast<double>(refs),
                                                       benchmark::Counter::kAvgIterations);
  if (faults != 0) state.SkipWithError("translation faulted");
}

// ---------------------------------------------------------------- stage 2

// `pages` random IOVAs, each a page of [kIova, kIova + span) plus an offset.
std::vector<uint64_t> RandomIovas(size_t count, uint64_t span, uint64_t seed) {
  std::vector<uint64_t> v(count);
  std::mt19937_64 rng(seed);
  for (uint64_t& a : v) a = kIova + rng() % span;
  return v;
}

void BM_Translate_IotlbHit(benchmark::State& state) {
  constexpr uint64_t kPages = 256;  // well inside the default 4096-entry IOTLB
  SimContainer c(TrustMachine(), kGroup);
  if (!c.ok() || c.Map(kIova, kPages * 4 * kKiB, kVaddr + 4 * kKiB) != 0) {
    state.SkipWithError("set-up failed");
    return;
  }
  const std::vector<uint64_t> iovas = RandomIovas(4096, kPages * 4 * kKiB, 7);
  uint64_t refs = 0, faults = 0, sum = 0;
  double hit_rate = 0;
  const bool ran = WithIommu(c, [&](core::Type1Iommu& iommu) {
    for (uint64_t a : iovas) (void)iommu.Translate(a, core::kProtRead);  // warm
    iommu.iotlb().ResetStats();
    size_t i = 0;
    for (auto _ : state) {
      const core::WalkResult r = iommu.Translate(iovas[i], core::kProtRead);
      sum += core::ToU64(r.translation.output_base);
      refs += r.mem_refs;
      faults += !r.ok;
      i = (i + 1) & (iovas.size() - 1);
    }
    const core::IotlbStats& s = iommu.iotlb().stats();
    hit_rate = s.hits + s.misses ? static_cast<double>(s.hits) / static_cast<double>(s.hits + s.misses) : 0;
  });
  benchmark::DoNotOptimize(sum);
  if (!ran) state.SkipWithError("no IOMMU");
  ReportWalks(state, refs, faults);
  state.counters["hit_rate"] = hit_rate;
}
BENCHMARK(BM_Translate_IotlbHit);

void BM_Translate_IotlbHitChannel(benchmark::State& state) {
  constexpr uint64_t kPages = 256;
  SimContainer c(TrustMachine(), kGroup);
  if (!c.ok() || c.Map(kIova, kPages * 4 * kKiB, kVaddr + 4 * kKiB) != 0) {
    state.SkipWithError("set-up failed");
    return;
  }
  api::TestChannel channel(c.sim());
  const std::vector<uint64_t> iovas = RandomIovas(4096, kPages * 4 * kKiB, 7);
  for (uint64_t a : iovas) (void)channel.Translate(kGroup, a, core::kProtRead);  // warm
  uint64_t refs = 0, faults = 0, sum = 0;
  size_t i = 0;
  for (auto _ : state) {
    const std::optional<core::DmaTranslation> t = channel.Translate(kGroup, iovas[i], core::kProtRead);
    faults += !t || !t->ok;
    if (t) {
      sum += core::ToU64(t->translation.output_base);
      refs += t->mem_refs;
    }
    i = (i + 1) & (iovas.size() - 1);
  }
  benchmark::DoNotOptimize(sum);
  ReportWalks(state, refs, faults);
}
BENCHMARK(BM_Translate_IotlbHitChannel);

void BM_Translate_ColdWalk(benchmark::State& state) {
  const uint64_t leaf = static_cast<uint64_t>(state.range(0));
  core::MachineConfig m = TrustMachine();
  m.iotlb_entries = 0;  // every translation walks
  SimContainer c(m, kGroup);
  // vaddr misaligned by `leaf` against the IOVA: no leaf larger than `leaf` fits.
  const uint64_t vaddr = leaf == kGiB ? kVaddr : kVaddr + leaf;
  if (!c.ok() || c.Map(kIova, k16GiB, vaddr) != 0) {
    state.SkipWithError("set-up failed");
    return;
  }
  const std::vector<uint64_t> iovas = RandomIovas(kRandomAddrs, k16GiB, 42);
  uint64_t refs = 0, faults = 0, sum = 0;
  const bool ran = WithIommu(c, [&](core::Type1Iommu& iommu) {
    size_t i = 0;
    for (auto _ : state) {
      const core::WalkResult r = iommu.Translate(iovas[i], core::kProtRead);
      sum += core::ToU64(r.translation.output_base);
      refs += r.mem_refs;
      faults += !r.ok || r.translation.leaf_size != leaf;
      i = (i + 1) & (kRandomAddrs - 1);
    }
  });
  benchmark::DoNotOptimize(sum);
  if (!ran) state.SkipWithError("no IOMMU");
  ReportWalks(state, refs, faults);
  state.counters["leaf_size"] = static_cast<double>(leaf);
}
BENCHMARK(BM_Translate_ColdWalk)->ArgName("leaf")->Arg(4 * kKiB)->Arg(2 * kMiB)->Arg(kGiB);

// ---------------------------------------------------------------- nested

constexpr uint64_t kGuestRamGpa = 0x40000000;    // stage-2 IOVA of the guest RAM buffer
constexpr uint64_t kGva = 0x00007f0000000000;    // guest virtual base of the mapped pages
constexpr uint64_t kDataPages = 256;             // GVA page i -> data page i % kDataPages

// A nesting container (profile rfc-vsva-2020) whose guest RAM buffer holds a
// 4-level first-level table mapping `pages` consecutive 4K guest pages,
// bound to a PASID. Stage 2 maps the buffer with 4K leaves.
class NestedSetup {
 public:
  NestedSetup(size_t pages, size_t iotlb_entries)
      : c_(Machine(iotlb_entries), kGroup, VFIO_TYPE1_NESTING_IOMMU, "rfc-vsva-2020"),
        table_bytes_(TableBytes(pages)),
        ram_(table_bytes_ + kDataPages * 4 * kKiB) {
    error_ = Build(pages);
  }

  const char* error() const { return error_; }
  SimContainer& container() { return c_; }
  uint32_t pasid() const { return pasid_; }

 private:
  static core::MachineConfig Machine(size_t iotlb_entries) {
    core::MachineConfig m = sim::DefaultMachineConfig();
    m.pgsize_bitmap = 0x1000;  // stage 2 in 4K leaves: 4 references per stage-2 walk
    m.iotlb_entries = iotlb_entries;
    return m;
  }
  // Leaf tables plus upper levels plus slack, rounded to 2 MiB.
  static size_t TableBytes(size_t pages) {
    const size_t leaf_tables = (pages + 511) / 512;
    const size_t tables = leaf_tables + leaf_tables / 512 + 8;
    return ((tables * 4 * kKiB) + 2 * kMiB - 1) & ~(2 * kMiB - 1);
  }

  const char* Build(size_t pages) {
    if (!c_.ok()) return "nesting container set-up failed";
    if (ram_.data() == nullptr) return "mmap failed";
    if (c_.Map(kGuestRamGpa, ram_.size(), ram_.va()) != 0) return "stage-2 MAP_DMA failed";
    auto builder = core::GuestPageTableBuilder::Create(std::span<uint8_t>(ram_.data(), table_bytes_),
                                                       kGuestRamGpa, 4);
    if (!builder.ok()) return "guest table builder failed";
    const uint64_t data_gpa = kGuestRamGpa + table_bytes_;
    for (size_t i = 0; i < pages; ++i) {
      const uint64_t gpa = data_gpa + (i % kDataPages) * 4 * kKiB;
      if (!builder->Map(kGva + i * 4 * kKiB, gpa, core::kFlPage4K, core::kProtRead | core::kProtWrite, true)
               .ok()) {
        return "guest table map failed";
      }
    }
    vfio_iommu_type1_pasid_request req{};
    req.argsz = sizeof(req);
    req.flags = VFIO_IOMMU_PASID_ALLOC;
    req.alloc_pasid.min = 1;
    req.alloc_pasid.max = 1000;
    if (c_.sim().Ioctl(c_.container(), VFIO_IOMMU_PASID_REQUEST, &req) != 0) return "PASID alloc failed";
    pasid_ = req.alloc_pasid.result;

    // vfio_iommu_type1_bind is {argsz, flags, data[]}: header then payload.
    alignas(8) uint8_t arg[sizeof(vfio_iommu_type1_bind) + sizeof(iommu_gpasid_bind_data)] = {};
    vfio_iommu_type1_bind header{};
    header.argsz = sizeof(arg);
    header.flags = VFIO_IOMMU_BIND_GUEST_PGTBL;
    iommu_gpasid_bind_data data{};
    data.version = IOMMU_UAPI_VERSION;
    data.format = IOMMU_PASID_FORMAT_INTEL_VTD;
    data.gpgd = builder->root_gpa();
    data.hpasid = pasid_;
    data.addr_width = 48;
    std::memcpy(arg, &header, sizeof(header));
    std::memcpy(arg + sizeof(header), &data, sizeof(data));
    if (c_.sim().Ioctl(c_.container(), VFIO_IOMMU_BIND, arg) != 0) return "BIND failed";
    return nullptr;
  }

  SimContainer c_;
  size_t table_bytes_;
  AnonBuffer ram_;
  uint32_t pasid_ = 0;
  const char* error_ = nullptr;
};

// Translates `gvas` round-robin with the PASID under the container lock.
void NestedLoop(benchmark::State& state, NestedSetup& setup, const std::vector<uint64_t>& gvas) {
  if (setup.error() != nullptr) {
    state.SkipWithError(setup.error());
    return;
  }
  uint64_t refs = 0, faults = 0, sum = 0;
  const core::Pasid pasid = setup.pasid();
  const size_t mask = gvas.size() - 1;
  const bool ran = WithIommu(setup.container(), [&](core::Type1Iommu& iommu) {
    size_t i = 0;
    for (auto _ : state) {
      const core::DmaTranslation t = iommu.TranslateDma(pasid, gvas[i], core::kProtRead);
      sum += core::ToU64(t.translation.output_base);
      refs += t.mem_refs;
      faults += !t.ok;
      i = (i + 1) & mask;
    }
  });
  benchmark::DoNotOptimize(sum);
  if (!ran) state.SkipWithError("no IOMMU");
  ReportWalks(state, refs, faults);
}

std::vector<uint64_t> RandomGvas(size_t count, size_t pages, uint64_t seed) {
  std::vector<uint64_t> v(count);
  std::mt19937_64 rng(seed);
  for (uint64_t& a : v) a = kGva + (rng() % pages) * 4 * kKiB + rng() % (4 * kKiB);
  return v;
}

void BM_Translate_NestedHot(benchmark::State& state) {
  constexpr size_t kPages = 64;
  NestedSetup setup(kPages, /*iotlb_entries=*/0);
  NestedLoop(state, setup, RandomGvas(4096, kPages, 11));
}
BENCHMARK(BM_Translate_NestedHot);

void BM_Translate_NestedCold(benchmark::State& state) {
  constexpr size_t kPages = size_t{1} << 20;
  NestedSetup setup(kPages, /*iotlb_entries=*/0);
  NestedLoop(state, setup, RandomGvas(kRandomAddrs, kPages, 13));
}
BENCHMARK(BM_Translate_NestedCold);

void BM_Translate_NestedIotlbHit(benchmark::State& state) {
  constexpr size_t kPages = 64;
  NestedSetup setup(kPages, /*iotlb_entries=*/4096);
  std::vector<uint64_t> gvas = RandomGvas(4096, kPages, 17);
  if (setup.error() == nullptr) {
    (void)WithIommu(setup.container(), [&](core::Type1Iommu& iommu) {
      for (uint64_t a : gvas) (void)iommu.TranslateDma(setup.pasid(), a, core::kProtRead);
    });
  }
  NestedLoop(state, setup, gvas);
}
BENCHMARK(BM_Translate_NestedIotlbHit);

}  // namespace
}  // namespace vfiosim::bench

BENCHMARK_MAIN();
