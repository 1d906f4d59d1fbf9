// BenchResults: the runs of one or more Google Benchmark JSON outputs
// (`--benchmark_format=json` / `--benchmark_out=FILE`), merged and indexed
// by benchmark name, for the `vfiosim bench` table and plots.
//
// What a run keeps: its CPU time per iteration in nanoseconds (whatever
// time_unit the file used), its iteration count, its error state, and every
// numeric field of the entry as a counter (items_per_second,
// bytes_per_second and the user counters sit side by side in the JSON).
// When a name appears several times (repetitions, or two files), a "median"
// aggregate wins, else the last iteration run.
//
// Invariant: Find(name) returns the run named exactly `name` (Google
// Benchmark's "name" field, e.g. "BM_Churn<IovaAllocator>/65536"), or
// nullptr. Loading never throws: a bad file is an error string.
//
// Thread safety: none (load, then read).
#ifndef VFIOSIM_BENCH_REPORT_BENCH_RESULTS_H_
#define VFIOSIM_BENCH_REPORT_BENCH_RESULTS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vfiosim::bench::report {

struct BenchRun {
  std::string name;
  double cpu_ns = 0;   // CPU time per iteration
  double real_ns = 0;  // wall time per iteration (not used for figures)
  double iterations = 0;
  bool error = false;
  std::string error_message;
  std::map<std::string, double> counters;  // every numeric field by key
};

class BenchResults {
 public:
  // Adds the benchmarks of one JSON document; `source` names it in errors.
  // Returns an error message, or nullopt on success.
  std::optional<std::string> AddJson(const nlohmann::json& doc, const std::string& source);
  // Reads and adds a file. A missing or unparsable file is an error.
  std::optional<std::string> AddFile(const std::string& path);

  const BenchRun* Find(const std::string& name) const;
  size_t size() const { return runs_.size(); }
  const std::map<std::string, BenchRun>& runs() const { return runs_; }

  // One JSON document holding every benchmark entry added (in input order)
  // and the context of the first input, plus the list of inputs.
  nlohmann::json Merged() const;

 private:
  std::map<std::string, BenchRun> runs_;
  std::map<std::string, bool> from_median_;  // the run kept came from a median aggregate
  nlohmann::json context_;
  nlohmann::json entries_ = nlohmann::json::array();
  std::vector<std::string> sources_;
};

// Nanoseconds in one `unit` of Google Benchmark's time_unit ("ns", "us",
// "ms", "s"); nullopt for anything else.
std::optional<double> NsPerUnit(const std::string& unit);

}  // namespace vfiosim::bench::report

#endif  // VFIOSIM_BENCH_REPORT_BENCH_RESULTS_H_
