// The rows of the `vfiosim bench` table: every speed goal of issues 3, 4, 5
// and 6, each tied to the benchmark figures that measure it, with the naive
// baseline where one runs in the same suite and the kernel's published
// figure where issue 8 gives one.
//
// A row is declarative (RowSpec): the figure is a Quantity read from one
// benchmark (CPU time per iteration or a counter), optionally divided by a
// second one and scaled; the goal is a bound on the value and/or on the
// ratio to the baseline. Evaluate() turns specs and results into printable
// Row values; a row whose benchmark did not run (or reported an error) is
// kMissing, and any kMissing row makes the report fail.
//
// Units: every value is held in base units (items/s, bytes/s, ns, bytes,
// plain numbers) and printed with an SI prefix by FormatValue.
//
// Thread safety: plain data and pure functions.
#ifndef VFIOSIM_BENCH_REPORT_ROWS_H_
#define VFIOSIM_BENCH_REPORT_ROWS_H_

#include <optional>
#include <string>
#include <vector>

#include "bench/report/bench_results.h"

namespace vfiosim::bench::report {

// A figure of one benchmark: "cpu_ns" (CPU time per iteration) or a counter
// name as it appears in the JSON ("items_per_second", "refs_per_walk", ...).
struct Metric {
  std::string bench;
  std::string field = "cpu_ns";
};

// num / den * scale (den optional).
struct Quantity {
  Metric num;
  std::optional<Metric> den;
  double scale = 1;
};

enum class Unit {
  kRate,       // items/s          "24.1 M/s"
  kByteRate,   // bytes/s          "6.21 GB/s"
  kNs,         // nanoseconds      "12.3 ns", "4.56 us", "18.2 ms"
  kBytes,      // bytes            "72.0 B"
  kCount,      // plain number     "4.00"
  kFactor,     // dimensionless    "1.84x"
};

// Which direction is better: decides how the ratio to the baseline is taken
// (always "times better than the baseline").
enum class Better { kHigher, kLower };

struct Goal {
  std::string text;  // as printed, e.g. ">= 20 M/s, >= 2x"; empty: info row
  std::optional<double> at_least;
  std::optional<double> at_most;
  std::optional<double> ratio_at_least;  // vs the baseline
};

struct RowSpec {
  std::string section;  // printed as a heading when it changes
  std::string figure;
  Quantity value;
  std::optional<Quantity> baseline;
  Unit unit = Unit::kNs;
  Better better = Better::kLower;
  Goal goal;
  std::string kernel;  // kernel figure with its source, or empty
  bool show_ratio = true;  // false where value and baseline are not comparable figures
};

enum class Verdict { kPass, kShort, kInfo, kMissing };

struct Row {
  std::string section;
  std::string figure;
  std::string value;     // formatted, or "missing"
  std::string baseline;  // formatted, "-" when none
  std::string ratio;     // "2.35x" or "-"
  std::string goal;      // "-" for info rows
  std::string kernel;    // "-" when none
  Verdict verdict = Verdict::kInfo;
  std::string why;       // for kMissing: which benchmark, and the error if any
  std::string absent;    // for kMissing: the benchmark that did not run, if that was the cause
  std::optional<double> raw_value;
};

// The rows of the table, in print order.
const std::vector<RowSpec>& TableSpecs();

// Every benchmark name `specs` read, plus `extra` (sorted, unique).
std::vector<std::string> RequiredBenchmarks(const std::vector<RowSpec>& specs,
                                            const std::vector<std::string>& extra = {});
// A Google Benchmark filter regex that matches exactly `names` (anchored,
// regex metacharacters escaped).
std::string FilterFor(const std::vector<std::string>& names);

// Value of a quantity; nullopt when a benchmark is absent or errored, or a
// field is absent, or the divisor is zero. `why` receives the reason and
// `absent` (if given) the name of a benchmark that did not run at all.
std::optional<double> Evaluate(const Quantity& q, const BenchResults& results, std::string* why,
                               std::string* absent = nullptr);

Row EvaluateRow(const RowSpec& spec, const BenchResults& results);
std::vector<Row> EvaluateRows(const std::vector<RowSpec>& specs, const BenchResults& results);

std::string FormatValue(double v, Unit unit);
const char* VerdictName(Verdict v);  // "pass", "short", "info", "missing"

// Free-text lines under the table: the cost splits of the device DMA rows
// (translation vs copy) and of the ring device (device model vs IOMMU path).
std::vector<std::string> SplitNotes(const BenchResults& results);

}  // namespace vfiosim::bench::report

#endif  // VFIOSIM_BENCH_REPORT_ROWS_H_
