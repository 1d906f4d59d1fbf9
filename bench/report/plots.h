// Plots of `vfiosim bench --plot DIR`: gnuplot data files and scripts, and
// the PNGs gnuplot renders from them (Debian gnuplot-nox, pngcairo).
//
//   pair_cost.png    CPU time per 4 KiB MAP+UNMAP pair (random IOVAs) versus
//                    live mappings (1K, 64K, 1M; log x, log y): vfio-sim
//                    through the ioctl, through the core API, and the naive
//                    baseline.
//   translation.png  CPU time per translation by path: IOTLB hit, walks with
//                    1G / 2M / 4K leaves (2 / 3 / 4 references), nested
//                    IOTLB hit, hot and cold nested 2D walks (log y), each
//                    bar labelled with its references per walk.
//
// The .dat and .gp files stay in DIR so that a plot can be restyled and
// re-rendered by hand (`cd DIR && gnuplot pair_cost.gp`). A point whose
// benchmark did not run is written as NaN and left out of the plot.
//
// Thread safety: none (writes files, runs a child process).
#ifndef VFIOSIM_BENCH_REPORT_PLOTS_H_
#define VFIOSIM_BENCH_REPORT_PLOTS_H_

#include <optional>
#include <string>
#include <vector>

#include "bench/report/bench_results.h"

namespace vfiosim::bench::report {

// The benchmarks the plots read.
std::vector<std::string> PlotBenchmarks();

// The data file contents (exposed for tests).
std::string PairCostData(const BenchResults& results);
std::string TranslationData(const BenchResults& results);

// Writes the data files and scripts into `dir` (created if needed) and, when
// `render`, runs gnuplot on each script. Returns an error message, or
// nullopt. `written` receives the paths of the PNGs rendered.
std::optional<std::string> WritePlots(const BenchResults& results, const std::string& dir, bool render,
                                      std::vector<std::string>* written);

}  // namespace vfiosim::bench::report

#endif  // VFIOSIM_BENCH_REPORT_PLOTS_H_
