#include "bench/report/check.h"

#include <regex>

namespace vfiosim::bench::report {
namespace {

std::optional<std::regex> Compile(const std::string& except) {
  if (except.empty()) return std::regex("$^");  // matches no name
  try {
    return std::regex(except);
  } catch (const std::regex_error&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<std::vector<std::string>> WithoutExcepted(const std::vector<std::string>& names,
                                                        const std::string& except) {
  std::optional<std::regex> re = Compile(except);
  if (!re) return std::nullopt;
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (except.empty() || !std::regex_search(n, *re)) out.push_back(n);
  }
  return out;
}

std::optional<CheckOutcome> Check(const BenchResults& results, const std::vector<RowSpec>& specs,
                                  const std::vector<std::string>& required, const std::string& except) {
  std::optional<std::regex> re = Compile(except);
  if (!re) return std::nullopt;
  auto excepted = [&](const std::string& name) { return !except.empty() && std::regex_search(name, *re); };
  CheckOutcome out;
  for (const auto& [name, run] : results.runs()) {
    if (run.error) {
      out.failures.push_back(name + ": failed: " + run.error_message);
    } else if (run.iterations <= 0) {
      out.failures.push_back(name + ": no iterations");
    }
  }
  for (const std::string& name : required) {
    if (!excepted(name) && results.Find(name) == nullptr) out.failures.push_back(name + ": did not run");
  }
  for (const Row& r : EvaluateRows(specs, results)) {
    if (r.verdict == Verdict::kMissing && !r.absent.empty() && excepted(r.absent)) {
      ++out.rows_left_out;
      continue;
    }
    ++out.rows_checked;
    if (r.verdict == Verdict::kMissing) out.failures.push_back("row '" + r.figure + "': " + r.why);
  }
  out.ok = out.failures.empty();
  return out;
}

}  // namespace vfiosim::bench::report
