// The rows of the `vfiosim bench` table (see rows.h). Goals are quoted from
// issues 3, 4, 5 and 6; kernel figures from issue 8 ("kernel, as given in
// issue 8") and issue 4 (~260 ms for 16 GiB at 4 KiB).
//
// Benchmark names are Google Benchmark's full names: BENCHMARK_CAPTURE gives
// "BM_Ioctl/seq_1K_trust", ArgName "BM_IoctlMap16GiB/leaf:4096", a fixed
// Iterations(n) appends "/iterations:n".
#include <string>
#include <vector>

#include "bench/report/rows.h"

namespace vfiosim::bench::report {
namespace {

constexpr const char* kIssue8 = "kernel, as given in issue 8";

Metric Cpu(std::string bench) { return Metric{std::move(bench), "cpu_ns"}; }
Metric Field(std::string bench, std::string field) { return Metric{std::move(bench), std::move(field)}; }
Quantity Q(Metric m, double scale = 1) { return Quantity{std::move(m), std::nullopt, scale}; }
Quantity Over(Metric num, Metric den) { return Quantity{std::move(num), std::move(den), 1}; }
Quantity Items(std::string bench) { return Q(Field(std::move(bench), "items_per_second")); }
Quantity Bytes(std::string bench) { return Q(Field(std::move(bench), "bytes_per_second")); }

Goal Info() { return Goal{}; }
Goal AtLeast(std::string text, double v) { return Goal{std::move(text), v, std::nullopt, std::nullopt}; }
Goal AtMost(std::string text, double v) { return Goal{std::move(text), std::nullopt, v, std::nullopt}; }
Goal Exactly(std::string text, double v) { return Goal{std::move(text), v - 0.005, v + 0.005, std::nullopt}; }

std::string Kernel(const std::string& figure) { return figure + " (" + kIssue8 + ")"; }

// A map+unmap pair row of bench/type1_bench.cc.
RowSpec Pair(std::string figure, std::string capture, std::string naive_capture, Goal goal,
             std::string kernel = "") {
  RowSpec r;
  r.section = "type1 MAP/UNMAP (issue 3)";
  r.figure = std::move(figure);
  r.value = Items("BM_" + capture);
  r.baseline = Items("BM_Naive/" + naive_capture);
  r.unit = Unit::kRate;
  r.better = Better::kHigher;
  r.goal = std::move(goal);
  r.kernel = std::move(kernel);
  return r;
}

RowSpec Simple(std::string section, std::string figure, Quantity value, Unit unit, Better better, Goal goal,
               std::string kernel = "") {
  RowSpec r;
  r.section = std::move(section);
  r.figure = std::move(figure);
  r.value = std::move(value);
  r.unit = unit;
  r.better = better;
  r.goal = std::move(goal);
  r.kernel = std::move(kernel);
  return r;
}

std::vector<RowSpec> Build() {
  std::vector<RowSpec> rows;
  const std::string iommu_map = Kernel("iommu_map 4 KiB: 53-57 ns");

  // ---- issue 3: map+unmap pairs, scaling, memory
  rows.push_back(Pair("4K map+unmap pair, seq, 1K live (ioctl, trust)", "Ioctl/seq_1K_trust", "seq_1K",
                      Goal{">= 20 M/s and >= 2x", 20e6, std::nullopt, 2.0}, iommu_map));
  rows.push_back(Pair("4K pair, random, 64K live (ioctl, trust)", "Ioctl/random_64K_trust", "random_64K",
                      Goal{">= 4 M/s and >= 2x", 4e6, std::nullopt, 2.0}, iommu_map));
  rows.push_back(Pair("4K pair, random, 1M live (ioctl, trust)", "Ioctl/random_1M_trust", "random_1M", Info()));
  {
    RowSpec r;
    r.section = "type1 MAP/UNMAP (issue 3)";
    r.figure = "pair cost at 1M live / at 1K (random, ioctl)";
    r.value = Over(Cpu("BM_Ioctl/random_1M_trust"), Cpu("BM_Ioctl/random_1K_trust"));
    r.baseline = Over(Cpu("BM_Naive/random_1M"), Cpu("BM_Naive/random_1K"));
    r.unit = Unit::kFactor;
    r.better = Better::kLower;
    r.goal = AtMost("<= 3x", 3.0);
    r.show_ratio = false;
    rows.push_back(r);
  }
  {
    RowSpec r = Simple("type1 MAP/UNMAP (issue 3)", "bookkeeping bytes per mapping (1M live)",
                       Q(Field("BM_Memory_VfioSim/1048576/iterations:1", "bytes_per_mapping")), Unit::kBytes,
                       Better::kLower, AtMost("<= 96 B", 96));
    r.baseline = Q(Field("BM_Memory_Naive/1048576/iterations:1", "bytes_per_mapping"));
    rows.push_back(r);
    r = Simple("type1 MAP/UNMAP (issue 3)", "IO page-table bytes per mapping (1M live, 4K apart)",
               Q(Field("BM_Memory_VfioSim/1048576/iterations:1", "pt_bytes_per_mapping")), Unit::kBytes,
               Better::kLower, Info());
    r.baseline = Q(Field("BM_Memory_Naive/1048576/iterations:1", "pt_bytes_per_mapping"));
    rows.push_back(r);
  }
  rows.push_back(Pair("4K pair, seq, 1K live (core API, no ioctl)", "Core/seq_1K_trust", "seq_1K", Info()));
  rows.push_back(Pair("4K pair, seq, 1K live (ioctl, verify)", "Ioctl/seq_1K_verify", "seq_1K", Info()));
  rows.push_back(Pair("4K pair, random, 64K live (ioctl, verify)", "Ioctl/random_64K_verify", "random_64K", Info()));

  // ---- issue 3: IOVA allocator (time per alloc+free pair)
  const std::string iova = "IOVA allocator (issue 3)";
  const std::string alloc_iova = Kernel("alloc_iova: 0.66 us");
  for (const char* n : {"65536", "1048576"}) {
    const std::string live = std::string(n) == "65536" ? "64K" : "1M";
    RowSpec r = Simple(iova, "IOVA alloc+free, " + live + " live (churn)", Q(Cpu(std::string("BM_Churn<IovaAllocator>/") + n)),
                       Unit::kNs, Better::kLower,
                       Goal{"faster than linear scan", std::nullopt, std::nullopt, 1.0}, alloc_iova);
    r.baseline = Q(Cpu(std::string("BM_Churn<LinearScanIovaAllocator>/") + n + "/iterations:" +
                       (live == "64K" ? "2000" : "200")));
    rows.push_back(r);
  }
  {
    RowSpec r = Simple(iova, "IOVA alloc+free cost at 1M / at 64K",
                       Over(Cpu("BM_Churn<IovaAllocator>/1048576"), Cpu("BM_Churn<IovaAllocator>/65536")),
                       Unit::kFactor, Better::kLower, AtMost("<= 3x", 3.0));
    r.baseline = Over(Cpu("BM_Churn<LinearScanIovaAllocator>/1048576/iterations:200"),
                      Cpu("BM_Churn<LinearScanIovaAllocator>/65536/iterations:2000"));
    r.show_ratio = false;
    rows.push_back(r);
  }

  // ---- issue 4: bulk MAP_DMA of 16 GiB through the ioctl, translation
  const std::string bulk = "bulk MAP_DMA 16 GiB, ioctl (issue 4)";
  const std::string m4k = "BM_IoctlMap16GiB/leaf:4096", m2m = "BM_IoctlMap16GiB/leaf:2097152",
                    m1g = "BM_IoctlMap16GiB/leaf:1073741824";
  rows.push_back(Simple(bulk, "MAP_DMA 16 GiB, 4K leaves", Q(Field(m4k, "map_ns")), Unit::kNs, Better::kLower,
                        AtMost("<= 20 ms", 20e6), "~260 ms (kernel, as given in issue 4)"));
  rows.push_back(Simple(bulk, "  the same per 4 KiB page", Q(Field(m4k, "map_ns_per_page")), Unit::kNs,
                        Better::kLower, Info(), Kernel("type1 bulk 4 KiB map: 60-67 ns/page")));
  rows.push_back(Simple(bulk, "UNMAP_DMA 16 GiB, 4K leaves", Q(Field(m4k, "unmap_ns")), Unit::kNs,
                        Better::kLower, AtMost("<= 20 ms", 20e6)));
  rows.push_back(Simple(bulk, "MAP_DMA 16 GiB, 2M leaves", Q(Field(m2m, "map_ns")), Unit::kNs, Better::kLower,
                        Info()));
  rows.push_back(Simple(bulk, "  the same per 2 MiB leaf", Q(Field(m2m, "map_ns"), 1.0 / 8192), Unit::kNs,
                        Better::kLower, Info(), Kernel("2 MiB map: 3.7 us")));
  rows.push_back(Simple(bulk, "UNMAP_DMA 16 GiB, 2M leaves", Q(Field(m2m, "unmap_ns")), Unit::kNs,
                        Better::kLower, Info()));
  rows.push_back(Simple(bulk, "MAP_DMA 16 GiB, 1G leaves", Q(Field(m1g, "map_ns")), Unit::kNs, Better::kLower,
                        AtMost("<= 10 us", 10e3)));
  rows.push_back(Simple(bulk, "UNMAP_DMA 16 GiB, 1G leaves", Q(Field(m1g, "unmap_ns")), Unit::kNs,
                        Better::kLower, AtMost("<= 10 us", 10e3)));
  rows.push_back(Simple(bulk, "MAP+UNMAP one 2 MiB range, 2M leaf", Q(Cpu("BM_IoctlMapUnmap2MiB/leaf:2097152")),
                        Unit::kNs, Better::kLower, Info(), Kernel("2 MiB map: 3.7 us")));
  rows.push_back(Simple(bulk, "MAP+UNMAP one 2 MiB range, 4K leaves", Q(Cpu("BM_IoctlMapUnmap2MiB/leaf:4096")),
                        Unit::kNs, Better::kLower, Info(), Kernel("2 MiB map: 3.7 us")));

  const std::string tr = "translation, type1 path (issue 4)";
  const std::string w4k = "BM_Translate_ColdWalk/leaf:4096", w2m = "BM_Translate_ColdWalk/leaf:2097152",
                    w1g = "BM_Translate_ColdWalk/leaf:1073741824";
  rows.push_back(Simple(tr, "IOTLB hit (Type1Iommu::Translate)", Items("BM_Translate_IotlbHit"), Unit::kRate,
                        Better::kHigher, AtLeast(">= 300 M/s", 300e6)));
  rows.push_back(Simple(tr, "IOTLB hit via test channel (+ lookup, lock)", Items("BM_Translate_IotlbHitChannel"),
                        Unit::kRate, Better::kHigher, Info()));
  rows.push_back(Simple(tr, "cold walk, 16 GiB at 4K, random, 4 levels", Items(w4k), Unit::kRate,
                        Better::kHigher, AtLeast(">= 20 M/s", 20e6)));
  rows.push_back(Simple(tr, "  refs per walk, 4K leaf", Q(Field(w4k, "refs_per_walk")), Unit::kCount,
                        Better::kLower, Exactly("= 4", 4)));
  rows.push_back(Simple(tr, "cold walk, 16 GiB at 2M", Items(w2m), Unit::kRate, Better::kHigher, Info()));
  rows.push_back(Simple(tr, "  refs per walk, 2M leaf", Q(Field(w2m, "refs_per_walk")), Unit::kCount,
                        Better::kLower, Exactly("= 3", 3)));
  rows.push_back(Simple(tr, "cold walk, 16 GiB at 1G", Items(w1g), Unit::kRate, Better::kHigher, Info()));
  rows.push_back(Simple(tr, "  refs per walk, 1G leaf", Q(Field(w1g, "refs_per_walk")), Unit::kCount,
                        Better::kLower, Exactly("= 2", 2)));
  rows.push_back(Simple(tr, "IOTLB lookup alone (core/iotlb)", Items("BM_IotlbHit"), Unit::kRate,
                        Better::kHigher, Info()));
  rows.push_back(Simple(tr, "cold walk 4K, page table alone", Items("BM_ColdWalk4K_16GiB"), Unit::kRate,
                        Better::kHigher, Info()));

  // ---- issue 5: nested translation, PASIDs
  const std::string nested = "nested translation, PASID (issue 5)";
  rows.push_back(Simple(nested, "hot nested walk, 4+4 levels, no IOTLB", Items("BM_Translate_NestedHot"),
                        Unit::kRate, Better::kHigher, AtLeast(">= 25 M/s", 25e6)));
  rows.push_back(Simple(nested, "  refs per nested walk (stage 2 at 4K)",
                        Q(Field("BM_Translate_NestedHot", "refs_per_walk")), Unit::kCount, Better::kLower,
                        AtMost("<= 24", 24)));
  rows.push_back(Simple(nested, "cold nested walk, 1Mi random guest pages", Items("BM_Translate_NestedCold"),
                        Unit::kRate, Better::kHigher, Info()));
  rows.push_back(Simple(nested, "nested IOTLB hit", Items("BM_Translate_NestedIotlbHit"), Unit::kRate,
                        Better::kHigher, Info()));
  rows.push_back(Simple(nested, "first-level walk alone (identity stage 2)", Items("BM_FirstLevelWalk4K/4"),
                        Unit::kRate, Better::kHigher, Info()));
  rows.push_back(Simple(nested, "PASID alloc+free pair", Items("BM_PasidAllocFree"), Unit::kRate,
                        Better::kHigher, AtLeast(">= 10 M/s", 10e6)));

  // ---- issue 6: device DMA through the real port
  const std::string dev = "device DMA, real IOMMU port (issue 6)";
  rows.push_back(Simple(dev, "4 KiB DMA write, IOTLB warm", Bytes("BM_DmaPort_Write4K"), Unit::kByteRate,
                        Better::kHigher, AtLeast(">= 5 GB/s", 5e9)));
  rows.push_back(Simple(dev, "4 KiB DMA read, IOTLB warm", Bytes("BM_DmaPort_Read4K"), Unit::kByteRate,
                        Better::kHigher, AtLeast(">= 5 GB/s", 5e9)));
  rows.push_back(Simple(dev, "  translation alone (lookup, lock, IOTLB)", Q(Cpu("BM_DmaPort_Translate4K")),
                        Unit::kNs, Better::kLower, Info()));
  rows.push_back(Simple(dev, "  guarded 4 KiB copy alone, to client", Q(Cpu("BM_DmaPort_CopyTo4K")), Unit::kNs,
                        Better::kLower, Info()));
  rows.push_back(Simple(dev, "  guarded 4 KiB copy alone, from client", Q(Cpu("BM_DmaPort_CopyFrom4K")),
                        Unit::kNs, Better::kLower, Info()));
  rows.push_back(Simple(dev, "ring device, 64 B descriptors", Items("BM_RingDevice_RealPort/256/64"),
                        Unit::kRate, Better::kHigher, AtLeast(">= 5 M desc/s", 5e6)));
  rows.push_back(Simple(dev, "  device model alone (identity port)", Items("BM_RingDevice/256/64"), Unit::kRate,
                        Better::kHigher, Info()));
  rows.push_back(Simple(dev, "ring device, 4 KiB descriptors", Bytes("BM_RingDevice_RealPort/256/4096"),
                        Unit::kByteRate, Better::kHigher, Info()));
  return rows;
}

}  // namespace

const std::vector<RowSpec>& TableSpecs() {
  static const std::vector<RowSpec>* specs = new std::vector<RowSpec>(Build());
  return *specs;
}

}  // namespace vfiosim::bench::report
