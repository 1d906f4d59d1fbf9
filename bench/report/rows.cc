#include "bench/report/rows.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

namespace vfiosim::bench::report {
namespace {

std::optional<double> Read(const Metric& m, const BenchResults& results, std::string* why,
                           std::string* absent) {
  const BenchRun* run = results.Find(m.bench);
  if (run == nullptr) {
    *why = m.bench + " did not run";
    if (absent != nullptr) *absent = m.bench;
    return std::nullopt;
  }
  if (run->error) {
    *why = m.bench + " failed: " + run->error_message;
    return std::nullopt;
  }
  if (m.field == "cpu_ns") return run->cpu_ns;
  auto it = run->counters.find(m.field);
  if (it == run->counters.end()) {
    *why = m.bench + " has no counter " + m.field;
    return std::nullopt;
  }
  return it->second;
}

// "12.3", "123", "1.23": three significant digits.
std::string Sig3(double v) {
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.1f}", v);
  return fmt::format("{:.2f}", v);
}

std::string Scaled(double v, const char* unit) {
  static constexpr struct {
    double factor;
    const char* prefix;
  } kPrefixes[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
  for (const auto& p : kPrefixes) {
    if (std::fabs(v) >= p.factor) return fmt::format("{} {}{}", Sig3(v / p.factor), p.prefix, unit);
  }
  return fmt::format("{} {}", Sig3(v), unit);
}

void AddNames(const Quantity& q, std::set<std::string>* names) {
  names->insert(q.num.bench);
  if (q.den) names->insert(q.den->bench);
}

}  // namespace

std::optional<double> Evaluate(const Quantity& q, const BenchResults& results, std::string* why,
                               std::string* absent) {
  std::optional<double> num = Read(q.num, results, why, absent);
  if (!num) return std::nullopt;
  if (!q.den) return *num * q.scale;
  std::optional<double> den = Read(*q.den, results, why, absent);
  if (!den) return std::nullopt;
  if (*den == 0) {
    *why = q.den->bench + " " + q.den->field + " is 0";
    return std::nullopt;
  }
  return *num / *den * q.scale;
}

std::string FormatValue(double v, Unit unit) {
  switch (unit) {
    case Unit::kRate:
      return Scaled(v, "/s");
    case Unit::kByteRate:
      return Scaled(v, "B/s");
    case Unit::kNs:
      if (std::fabs(v) >= 1e9) return Sig3(v / 1e9) + " s";
      if (std::fabs(v) >= 1e6) return Sig3(v / 1e6) + " ms";
      if (std::fabs(v) >= 1e3) return Sig3(v / 1e3) + " us";
      return Sig3(v) + " ns";
    case Unit::kBytes:
      return Scaled(v, "B");
    case Unit::kCount:
      return fmt::format("{:.2f}", v);
    case Unit::kFactor:
      return fmt::format("{:.2f}x", v);
  }
  return Sig3(v);
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "pass";
    case Verdict::kShort: return "short";
    case Verdict::kInfo: return "info";
    case Verdict::kMissing: return "missing";
  }
  return "?";
}

Row EvaluateRow(const RowSpec& spec, const BenchResults& results) {
  Row row;
  row.section = spec.section;
  row.figure = spec.figure;
  row.goal = spec.goal.text.empty() ? "-" : spec.goal.text;
  row.kernel = spec.kernel.empty() ? "-" : spec.kernel;
  row.baseline = "-";
  row.ratio = "-";

  std::string why, absent;
  std::optional<double> value = Evaluate(spec.value, results, &why, &absent);
  std::optional<double> base;
  if (spec.baseline) {
    std::string base_why, base_absent;
    base = Evaluate(*spec.baseline, results, &base_why, &base_absent);
    if (!base && why.empty()) {
      why = base_why;
      absent = base_absent;
    }
    row.baseline = base ? FormatValue(*base, spec.unit) : "missing";
  }
  if (!value || (spec.baseline && !base)) {
    row.value = value ? FormatValue(*value, spec.unit) : "missing";
    row.verdict = Verdict::kMissing;
    row.why = why;
    row.absent = absent;
    row.raw_value = value;
    return row;
  }
  row.raw_value = value;
  row.value = FormatValue(*value, spec.unit);

  std::optional<double> ratio;
  if (base && spec.show_ratio) {
    const double num = spec.better == Better::kHigher ? *value : *base;
    const double den = spec.better == Better::kHigher ? *base : *value;
    if (den != 0) {
      ratio = num / den;
      row.ratio = fmt::format("{:.2f}x", *ratio);
    }
  }

  if (spec.goal.text.empty()) {
    row.verdict = Verdict::kInfo;
    return row;
  }
  bool pass = true;
  if (spec.goal.at_least && *value < *spec.goal.at_least) pass = false;
  if (spec.goal.at_most && *value > *spec.goal.at_most) pass = false;
  if (spec.goal.ratio_at_least && (!ratio || *ratio < *spec.goal.ratio_at_least)) pass = false;
  row.verdict = pass ? Verdict::kPass : Verdict::kShort;
  return row;
}

std::vector<Row> EvaluateRows(const std::vector<RowSpec>& specs, const BenchResults& results) {
  std::vector<Row> rows;
  rows.reserve(specs.size());
  for (const RowSpec& spec : specs) rows.push_back(EvaluateRow(spec, results));
  return rows;
}

std::vector<std::string> RequiredBenchmarks(const std::vector<RowSpec>& specs,
                                            const std::vector<std::string>& extra) {
  std::set<std::string> names(extra.begin(), extra.end());
  for (const RowSpec& spec : specs) {
    AddNames(spec.value, &names);
    if (spec.baseline) AddNames(*spec.baseline, &names);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

std::string FilterFor(const std::vector<std::string>& names) {
  std::string out = "^(";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += '|';
    for (char ch : names[i]) {
      if (std::string_view(".[]{}()*+?^$|\\").find(ch) != std::string_view::npos) out += '\\';
      out += ch;
    }
  }
  out += ")$";
  return out;
}

std::vector<std::string> SplitNotes(const BenchResults& results) {
  std::vector<std::string> notes;
  std::string why;
  auto cpu = [&](const char* bench) { return Evaluate(Quantity{Metric{bench, "cpu_ns"}, {}, 1}, results, &why); };

  for (const char* dma : {"BM_DmaPort_Write4K", "BM_DmaPort_Read4K"}) {
    const char* copy = std::string_view(dma) == "BM_DmaPort_Write4K" ? "BM_DmaPort_CopyTo4K" : "BM_DmaPort_CopyFrom4K";
    std::optional<double> total = cpu(dma), tr = cpu("BM_DmaPort_Translate4K"), cp = cpu(copy);
    if (!total || !tr || !cp || *total <= 0) continue;
    const double rest = *total - *tr - *cp;
    notes.push_back(fmt::format(
        "{}: {} per 4 KiB = translation {} ({:.0f}%) + guarded copy {} ({:.0f}%) + remainder {} ({:.0f}%: "
        "the port's chunk list and counters, and noise, as the parts are measured apart)",
        dma + 3, FormatValue(*total, Unit::kNs), FormatValue(*tr, Unit::kNs), 100 * *tr / *total,
        FormatValue(*cp, Unit::kNs), 100 * *cp / *total, FormatValue(rest, Unit::kNs), 100 * rest / *total));
  }

  // Ring: cpu time per iteration covers 256 descriptors of 4 DMAs each.
  std::optional<double> real = cpu("BM_RingDevice_RealPort/256/64"), model = cpu("BM_RingDevice/256/64"),
                        tr = cpu("BM_DmaPort_Translate4K");
  if (real && model && tr && *real > 0) {
    const double per_desc = *real / 256, model_desc = *model / 256, tr_desc = 4 * *tr;
    const double rest = per_desc - model_desc - tr_desc;
    notes.push_back(fmt::format(
        "ring 64 B: {} per descriptor = device model with plain copies (identity port) {} ({:.0f}%) + "
        "4 translations {} ({:.0f}%) + remainder {} ({:.0f}%: guarded instead of plain copies, port work)",
        FormatValue(per_desc, Unit::kNs), FormatValue(model_desc, Unit::kNs), 100 * model_desc / per_desc,
        FormatValue(tr_desc, Unit::kNs), 100 * tr_desc / per_desc, FormatValue(rest, Unit::kNs),
        100 * rest / per_desc));
  }
  return notes;
}

}  // namespace vfiosim::bench::report
