// The smoke check of `bench_report --check` (tests/bench_smoke): did every
// benchmark of the suite run, without error, and give the table every
// figure and counter it reads? Speed is never judged here.
//
// `except` (a std::regex, ECMAScript, searched in the name; empty = none)
// leaves out benchmarks on purpose: they need not have run, and a row that
// is missing only because one of them did not run is not a failure. A
// benchmark that ran and failed is a failure even when it matches.
//
// Thread safety: pure function.
#ifndef VFIOSIM_BENCH_REPORT_CHECK_H_
#define VFIOSIM_BENCH_REPORT_CHECK_H_

#include <optional>
#include <string>
#include <vector>

#include "bench/report/bench_results.h"
#include "bench/report/rows.h"

namespace vfiosim::bench::report {

struct CheckOutcome {
  bool ok = false;
  std::vector<std::string> failures;  // one line each
  size_t rows_checked = 0;
  size_t rows_left_out = 0;
};

// `required`: every benchmark the report reads (RequiredBenchmarks()).
// nullopt when `except` is not a valid regex.
std::optional<CheckOutcome> Check(const BenchResults& results, const std::vector<RowSpec>& specs,
                                  const std::vector<std::string>& required, const std::string& except);

// The names of `names` that `except` does not match (all when it is empty);
// nullopt when `except` is not a valid regex.
std::optional<std::vector<std::string>> WithoutExcepted(const std::vector<std::string>& names,
                                                        const std::string& except);

}  // namespace vfiosim::bench::report

#endif  // VFIOSIM_BENCH_REPORT_CHECK_H_
