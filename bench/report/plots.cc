#include "bench/report/plots.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace vfiosim::bench::report {
namespace {

struct LivePoint {
  const char* live;  // name suffix in type1_bench
  double count;
};
constexpr LivePoint kLive[] = {{"1K", 1024}, {"64K", 65536}, {"1M", 1048576}};

struct PathBar {
  const char* label;
  const char* bench;
};
constexpr PathBar kPaths[] = {
    {"IOTLB hit", "BM_Translate_IotlbHit"},
    {"1G leaf walk", "BM_Translate_ColdWalk/leaf:1073741824"},
    {"2M leaf walk", "BM_Translate_ColdWalk/leaf:2097152"},
    {"4K leaf walk", "BM_Translate_ColdWalk/leaf:4096"},
    {"nested IOTLB hit", "BM_Translate_NestedIotlbHit"},
    {"nested hot walk", "BM_Translate_NestedHot"},
    {"nested cold walk", "BM_Translate_NestedCold"},
};

std::string CpuOrNaN(const BenchResults& results, const std::string& bench) {
  const BenchRun* run = results.Find(bench);
  if (run == nullptr || run->error) return "NaN";
  return fmt::format("{:.3f}", run->cpu_ns);
}

std::optional<std::string> WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) return path.string() + ": cannot be written";
  return std::nullopt;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

constexpr const char* kTerminal =
    "set terminal pngcairo size 960,600 enhanced font 'DejaVu Sans,11'\n"
    "set datafile missing 'NaN'\n"
    "set grid ytics mytics xtics\n";

constexpr const char* kPairScript = R"(# CPU time per 4 KiB MAP+UNMAP pair vs live mappings (vfiosim bench).
set output 'pair_cost.png'
set title 'MAP\_DMA + UNMAP\_DMA of 4 KiB at random IOVAs: CPU time per pair'
set xlabel 'live mappings (log)'
set ylabel 'ns per pair (log)'
set logscale xy
set xrange [600:1800000]
set xtics ('1K' 1024, '64K' 65536, '1M' 1048576)
set key top left box opaque
plot 'pair_cost.dat' using 1:2 with linespoints lw 2 pt 7 ps 1.3 lc rgb '#8e24aa' title 'vfio-sim, ioctl (trust)', \
     '' using 1:3 with linespoints lw 2 pt 5 ps 1.3 lc rgb '#00897b' title 'vfio-sim, core API', \
     '' using 1:4 with linespoints lw 2 pt 9 ps 1.5 lc rgb '#1e88e5' title 'naive baseline (std::map + per-page hash)', \
     '' using 1:2:(sprintf('%.0f', $2)) with labels offset 3.2,0 tc rgb '#8e24aa' notitle, \
     '' using 1:4:(sprintf('%.0f', $4)) with labels offset -3.2,0 tc rgb '#1e88e5' notitle
)";

constexpr const char* kTranslationScript = R"(# CPU time per translation by path (vfiosim bench).
set output 'translation.png'
set title 'Translation cost by path (type1 container, CPU time; label: memory references per walk)'
set ylabel 'ns per translation (log)'
set logscale y
set yrange [0.5:*]
set style fill solid 0.6 border -1
set boxwidth 0.6
set xtics rotate by -25 nomirror
set bmargin 6
set rmargin 9
set key off
plot 'translation.dat' using 0:2:xtic(1) with boxes lc rgb '#4a7ab5', \
     '' using 0:2:(sprintf('%.1f ns, %s refs', $2, strcol(3))) with labels offset 0,0.8
)";

}  // namespace

std::vector<std::string> PlotBenchmarks() {
  std::vector<std::string> names;
  for (const LivePoint& p : kLive) {
    names.push_back(fmt::format("BM_Ioctl/random_{}_trust", p.live));
    names.push_back(fmt::format("BM_Core/random_{}_trust", p.live));
    names.push_back(fmt::format("BM_Naive/random_{}", p.live));
  }
  for (const PathBar& b : kPaths) names.push_back(b.bench);
  return names;
}

std::string PairCostData(const BenchResults& results) {
  std::string out = "# live  ioctl_ns  core_ns  naive_ns  (CPU time per map+unmap pair)\n";
  for (const LivePoint& p : kLive) {
    out += fmt::format("{:.0f} {} {} {}\n", p.count, CpuOrNaN(results, fmt::format("BM_Ioctl/random_{}_trust", p.live)),
                       CpuOrNaN(results, fmt::format("BM_Core/random_{}_trust", p.live)),
                       CpuOrNaN(results, fmt::format("BM_Naive/random_{}", p.live)));
  }
  return out;
}

std::string TranslationData(const BenchResults& results) {
  std::string out = "# path  ns_per_translation  refs_per_walk\n";
  for (const PathBar& b : kPaths) {
    const BenchRun* run = results.Find(b.bench);
    std::string refs = "?";
    if (run != nullptr) {
      auto it = run->counters.find("refs_per_walk");
      if (it != run->counters.end()) refs = fmt::format("{:.0f}", it->second);
    }
    out += fmt::format("\"{}\" {} \"{}\"\n", b.label, CpuOrNaN(results, b.bench), refs);
  }
  return out;
}

std::optional<std::string> WritePlots(const BenchResults& results, const std::string& dir, bool render,
                                      std::vector<std::string>* written) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return dir + ": " + ec.message();
  const std::filesystem::path d(dir);
  struct Plot {
    const char* name;
    std::string data;
    const char* script;
  } plots[] = {{"pair_cost", PairCostData(results), kPairScript},
               {"translation", TranslationData(results), kTranslationScript}};
  for (const Plot& p : plots) {
    if (auto e = WriteFile(d / (std::string(p.name) + ".dat"), p.data)) return e;
    if (auto e = WriteFile(d / (std::string(p.name) + ".gp"), std::string(kTerminal) + p.script)) return e;
  }
  if (!render) return std::nullopt;
  for (const Plot& p : plots) {
    const std::string cmd = fmt::format("cd {} && gnuplot {}.gp", ShellQuote(dir), p.name);
    const int status = std::system(cmd.c_str());
    if (status != 0) return fmt::format("gnuplot failed on {}/{}.gp (status {})", dir, p.name, status);
    written->push_back((d / (std::string(p.name) + ".png")).string());
  }
  return std::nullopt;
}

}  // namespace vfiosim::bench::report
