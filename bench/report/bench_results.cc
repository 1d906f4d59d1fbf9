#include "bench/report/bench_results.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace vfiosim::bench::report {

std::optional<double> NsPerUnit(const std::string& unit) {
  if (unit == "ns") return 1.0;
  if (unit == "us") return 1e3;
  if (unit == "ms") return 1e6;
  if (unit == "s") return 1e9;
  return std::nullopt;
}

std::optional<std::string> BenchResults::AddJson(const nlohmann::json& doc, const std::string& source) {
  if (!doc.is_object() || !doc.contains("benchmarks") || !doc["benchmarks"].is_array()) {
    return source + ": not a Google Benchmark JSON output (no \"benchmarks\" array)";
  }
  // Parse everything first, so that a bad entry leaves the results unchanged.
  std::vector<std::pair<BenchRun, bool>> parsed;
  for (const nlohmann::json& e : doc["benchmarks"]) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string()) {
      return source + ": a benchmark entry has no name";
    }
    BenchRun run;
    const std::string run_type = e.value("run_type", "iteration");
    const bool median = run_type == "aggregate" && e.value("aggregate_name", "") == "median";
    if (run_type == "aggregate" && !median) continue;  // mean, stddev, cv: not figures
    // Aggregates are named "<run_name>_median"; the figure belongs to the run.
    run.name = median ? e.value("run_name", e["name"].get<std::string>()) : e["name"].get<std::string>();
    run.error = e.value("error_occurred", false);
    run.error_message = e.value("error_message", "");
    const std::optional<double> per_unit = NsPerUnit(e.value("time_unit", "ns"));
    if (!run.error && !per_unit) return source + ": " + run.name + ": unknown time_unit";
    for (const auto& [key, value] : e.items()) {
      if (value.is_number()) run.counters[key] = value.get<double>();
    }
    run.cpu_ns = e.value("cpu_time", 0.0) * per_unit.value_or(1.0);
    run.real_ns = e.value("real_time", 0.0) * per_unit.value_or(1.0);
    run.iterations = e.value("iterations", 0.0);
    parsed.emplace_back(std::move(run), median);
  }
  for (auto& [run, median] : parsed) {
    auto it = from_median_.find(run.name);
    if (it != from_median_.end() && it->second && !median) continue;  // a median already won
    from_median_[run.name] = median;
    runs_[run.name] = std::move(run);
  }
  for (const nlohmann::json& e : doc["benchmarks"]) entries_.push_back(e);
  if (context_.is_null() && doc.contains("context")) context_ = doc["context"];
  // Inputs are often temporary files: keep their names, not their paths.
  sources_.push_back(std::filesystem::path(source).filename().string());
  return std::nullopt;
}

std::optional<std::string> BenchResults::AddFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return path + ": cannot be read";
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return path + ": not valid JSON";
  return AddJson(doc, path);
}

const BenchRun* BenchResults::Find(const std::string& name) const {
  auto it = runs_.find(name);
  return it == runs_.end() ? nullptr : &it->second;
}

nlohmann::json BenchResults::Merged() const {
  nlohmann::json out;
  out["context"] = context_.is_null() ? nlohmann::json::object() : context_;
  out["context"]["vfiosim_inputs"] = sources_;
  out["benchmarks"] = entries_;
  return out;
}

}  // namespace vfiosim::bench::report
