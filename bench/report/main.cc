// bench_report: reads Google Benchmark JSON outputs of the vfio-sim suite and
// prints the one table of `vfiosim bench` (figure | vfio-sim | baseline |
// ratio | goal | kernel figure (source) | pass/short), optionally writes the
// merged JSON and the gnuplot plots.
//
//   bench_report [--markdown] [--json-out FILE] [--plot DIR] FILE.json...
//   bench_report --list-required | --filter-required  [--except REGEX]
//   bench_report --check [--except REGEX] FILE.json...
//       (smoke test: every benchmark ran, none failed, every counter present;
//        --except leaves out the benchmarks whose names match REGEX, e.g. the
//        1M-sized instances a fastbuild smoke run cannot afford)
//
// Exit status: 0 when every row has its figures; 1 when a row is "missing"
// (its benchmark did not run or failed) or, with --check, any benchmark
// failed; 2 on bad usage or unreadable input. Pass/short never changes the
// status: goals are reported, not enforced.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/report/bench_results.h"
#include "bench/report/check.h"
#include "bench/report/plots.h"
#include "bench/report/rows.h"
#include "bench/report/table.h"

namespace vfiosim::bench::report {
namespace {

std::string Context(const nlohmann::json& merged) {
  const nlohmann::json& c = merged["context"];
  std::string out = "machine: ";
  out += c.value("host_name", std::string("?"));
  if (c.contains("num_cpus")) out += fmt::format(", {} CPUs", c["num_cpus"].get<int>());
  if (c.contains("mhz_per_cpu")) out += fmt::format(" @ {} MHz", c["mhz_per_cpu"].get<double>());
  if (c.contains("load_avg") && c["load_avg"].is_array() && c["load_avg"].size() == 3) {
    out += fmt::format(", load average {:.2f} {:.2f} {:.2f} (at the start of the first binary)",
                       c["load_avg"][0].get<double>(), c["load_avg"][1].get<double>(),
                       c["load_avg"][2].get<double>());
  }
  if (c.contains("library_build_type")) {
    // Debian's libbenchmark reports "debug"; the code measured is built -c opt.
    out += ", Google Benchmark library reports a " + c["library_build_type"].get<std::string>() + " build";
  }
  return out;
}

int Run(int argc, char** argv) {
  CLI::App app{"vfio-sim benchmark report: one table from Google Benchmark JSON outputs"};
  std::vector<std::string> inputs;
  std::string json_out, plot_dir, except;
  bool markdown = false, list = false, filter = false, check = false, no_render = false;
  app.add_option("inputs", inputs, "Google Benchmark JSON files (--benchmark_out)");
  app.add_option("--json-out", json_out, "write every input merged into one JSON file");
  app.add_option("--plot", plot_dir, "write gnuplot data, scripts and PNGs into this directory");
  app.add_flag("--no-render", no_render, "with --plot: write data and scripts only, do not run gnuplot");
  app.add_flag("--markdown", markdown, "print the table as Markdown (for the README)");
  app.add_flag("--list-required", list, "print the benchmarks the table and plots read, one a line");
  app.add_flag("--filter-required", filter, "print a --benchmark_filter regex matching exactly those");
  app.add_flag("--check", check, "smoke check: fail if any benchmark failed or any figure is missing");
  app.add_option("--except", except,
                 "with --list-required, --filter-required, --check: leave out benchmarks matching this regex");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  std::optional<std::vector<std::string>> required =
      WithoutExcepted(RequiredBenchmarks(TableSpecs(), PlotBenchmarks()), except);
  if (!required) {
    fmt::print(stderr, "bench_report: --except: bad regex '{}'\n", except);
    return 2;
  }
  if (list) {
    for (const std::string& n : *required) fmt::print("{}\n", n);
    return 0;
  }
  if (filter) {
    fmt::print("{}\n", FilterFor(*required));
    return 0;
  }
  if (inputs.empty()) {
    fmt::print(stderr, "bench_report: no input files (see --help)\n");
    return 2;
  }

  BenchResults results;
  for (const std::string& path : inputs) {
    if (auto error = results.AddFile(path)) {
      fmt::print(stderr, "bench_report: {}\n", *error);
      return 2;
    }
  }
  const nlohmann::json merged = results.Merged();
  if (!json_out.empty()) {
    std::ofstream out(json_out);
    out << merged.dump(2) << "\n";
    out.close();
    if (!out) {
      fmt::print(stderr, "bench_report: {}: cannot be written\n", json_out);
      return 2;
    }
  }

  const std::vector<Row> rows = EvaluateRows(TableSpecs(), results);
  int status = 0;
  for (const Row& r : rows) {
    if (r.verdict == Verdict::kMissing) status = 1;
  }

  if (check) {
    const std::optional<CheckOutcome> outcome =
        Check(results, TableSpecs(), RequiredBenchmarks(TableSpecs(), PlotBenchmarks()), except);
    for (const std::string& f : outcome->failures) fmt::print("FAILED {}\n", f);
    fmt::print("bench_report --check: {} benchmarks ran; {} rows checked, {} left out by --except: {}\n",
               results.size(), outcome->rows_checked, outcome->rows_left_out,
               outcome->ok ? "every benchmark ran and produced its counters" : "FAILED");
    return outcome->ok ? 0 : 1;
  }

  fmt::print("{}\n", Context(merged));
  fmt::print("{}", markdown ? RenderMarkdown(rows) : RenderText(rows));
  const std::vector<std::string> notes = SplitNotes(results);
  if (!notes.empty()) fmt::print("\ncost splits (CPU time):\n");
  for (const std::string& n : notes) fmt::print("  {}\n", n);
  fmt::print(
      "\nFigures are CPU time (rates per CPU second). ratio = times better than the baseline "
      "(naive std::map + per-page hash map for type1, linear scan for the IOVA allocator).\n"
      "trust/verify: the machine's vaddr policy (verify checks the client's memory like pinning would; "
      "the baseline does not).\n");

  if (!plot_dir.empty()) {
    std::vector<std::string> pngs;
    if (auto error = WritePlots(results, plot_dir, !no_render, &pngs)) {
      fmt::print(stderr, "bench_report: {}\n", *error);
      return 2;
    }
    for (const std::string& p : pngs) fmt::print("plot: {}\n", p);
    if (no_render) fmt::print("plot data and scripts: {}\n", plot_dir);
  }
  return status;
}

}  // namespace
}  // namespace vfiosim::bench::report

int main(int argc, char** argv) { return vfiosim::bench::report::Run(argc, argv); }
