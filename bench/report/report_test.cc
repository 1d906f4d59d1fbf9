// Tests of bench_report's logic on synthetic Google Benchmark JSON: parsing
// and merging, row evaluation (pass / short / info / missing, ratios, goal
// bounds), formatting, the required-benchmark filter and the plot data.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "bench/report/bench_results.h"
#include "bench/report/check.h"
#include "bench/report/plots.h"
#include "bench/report/rows.h"
#include "bench/report/table.h"

namespace vfiosim::bench::report {
namespace {

using nlohmann::json;

json Entry(const std::string& name, double cpu, const std::string& unit = "ns", json extra = json::object()) {
  json e = {{"name", name}, {"run_name", name}, {"run_type", "iteration"}, {"iterations", 100},
            {"real_time", cpu * 2}, {"cpu_time", cpu}, {"time_unit", unit}};
  for (auto& [k, v] : extra.items()) e[k] = v;
  return e;
}

json Doc(std::vector<json> entries) {
  return json{{"context", {{"host_name", "testhost"}, {"num_cpus", 2}}}, {"benchmarks", entries}};
}

TEST(BenchResultsTest, ConvertsTimeUnitsToNanoseconds) {
  BenchResults r;
  ASSERT_FALSE(r.AddJson(Doc({Entry("a", 3, "us"), Entry("b", 2, "ms"), Entry("c", 1, "s"), Entry("d", 7)}), "t"));
  EXPECT_DOUBLE_EQ(r.Find("a")->cpu_ns, 3e3);
  EXPECT_DOUBLE_EQ(r.Find("b")->cpu_ns, 2e6);
  EXPECT_DOUBLE_EQ(r.Find("c")->cpu_ns, 1e9);
  EXPECT_DOUBLE_EQ(r.Find("d")->cpu_ns, 7);
  EXPECT_EQ(r.Find("e"), nullptr);
}

TEST(BenchResultsTest, KeepsCountersAndErrors) {
  BenchResults r;
  json failed = Entry("f", 1);
  failed["error_occurred"] = true;
  failed["error_message"] = "set-up failed";
  ASSERT_FALSE(r.AddJson(Doc({Entry("a", 5, "ns", {{"items_per_second", 2e8}, {"refs_per_walk", 4}}), failed}), "t"));
  EXPECT_DOUBLE_EQ(r.Find("a")->counters.at("items_per_second"), 2e8);
  EXPECT_DOUBLE_EQ(r.Find("a")->counters.at("refs_per_walk"), 4);
  EXPECT_TRUE(r.Find("f")->error);
  EXPECT_EQ(r.Find("f")->error_message, "set-up failed");
}

TEST(BenchResultsTest, MedianAggregateWinsOverRepetitions) {
  json median = Entry("a_median", 50);
  median["run_type"] = "aggregate";
  median["aggregate_name"] = "median";
  median["run_name"] = "a";
  json mean = median;
  mean["name"] = "a_mean";
  mean["aggregate_name"] = "mean";
  mean["cpu_time"] = 99;
  BenchResults r;
  ASSERT_FALSE(r.AddJson(Doc({Entry("a", 10), median, Entry("a", 20), mean}), "t"));
  EXPECT_DOUBLE_EQ(r.Find("a")->cpu_ns, 50);
  EXPECT_EQ(r.Find("a_mean"), nullptr);
}

TEST(BenchResultsTest, RejectsBadDocumentsWithoutChange) {
  BenchResults r;
  EXPECT_TRUE(r.AddJson(json{{"nothing", 1}}, "x").has_value());
  EXPECT_TRUE(r.AddJson(Doc({Entry("ok", 1), json{{"cpu_time", 1}}}), "x").has_value());
  EXPECT_TRUE(r.AddJson(Doc({Entry("ok", 1, "weeks")}), "x").has_value());
  EXPECT_EQ(r.size(), 0u);
  EXPECT_TRUE(r.AddFile("/nonexistent/file.json").has_value());
}

TEST(BenchResultsTest, MergesFilesInOrder) {
  const auto dir = std::filesystem::path(::testing::TempDir());
  {
    std::ofstream(dir / "a.json") << Doc({Entry("x", 1)}).dump();
    std::ofstream(dir / "b.json") << Doc({Entry("y", 2)}).dump();
    std::ofstream(dir / "bad.json") << "{not json";
  }
  BenchResults r;
  ASSERT_FALSE(r.AddFile((dir / "a.json").string()));
  ASSERT_FALSE(r.AddFile((dir / "b.json").string()));
  EXPECT_TRUE(r.AddFile((dir / "bad.json").string()).has_value());
  const json m = r.Merged();
  ASSERT_EQ(m["benchmarks"].size(), 2u);
  EXPECT_EQ(m["benchmarks"][0]["name"], "x");
  EXPECT_EQ(m["benchmarks"][1]["name"], "y");
  EXPECT_EQ(m["context"]["host_name"], "testhost");
  EXPECT_EQ(m["context"]["vfiosim_inputs"].size(), 2u);
}

RowSpec RateRow(Goal goal) {
  RowSpec s;
  s.section = "s";
  s.figure = "pairs";
  s.value = Quantity{Metric{"vfio", "items_per_second"}, std::nullopt, 1};
  s.baseline = Quantity{Metric{"naive", "items_per_second"}, std::nullopt, 1};
  s.unit = Unit::kRate;
  s.better = Better::kHigher;
  s.goal = std::move(goal);
  return s;
}

BenchResults Rates(double vfio, double naive) {
  BenchResults r;
  EXPECT_FALSE(r.AddJson(Doc({Entry("vfio", 1, "ns", {{"items_per_second", vfio}}),
                              Entry("naive", 1, "ns", {{"items_per_second", naive}})}),
                         "t"));
  return r;
}

struct GoalCase {
  double vfio, naive;
  Verdict want;
};

TEST(RowsTest, GoalWithValueAndRatioBounds) {
  const Goal goal{">= 20 M/s and >= 2x", 20e6, std::nullopt, 2.0};
  const GoalCase cases[] = {
      {30e6, 10e6, Verdict::kPass},   // both met
      {30e6, 20e6, Verdict::kShort},  // ratio 1.5
      {19e6, 5e6, Verdict::kShort},   // value short
      {20e6, 10e6, Verdict::kPass},   // both exactly at the bound
  };
  for (const GoalCase& c : cases) {
    const Row row = EvaluateRow(RateRow(goal), Rates(c.vfio, c.naive));
    EXPECT_EQ(row.verdict, c.want) << c.vfio << " vs " << c.naive;
  }
  const Row row = EvaluateRow(RateRow(goal), Rates(30e6, 10e6));
  EXPECT_EQ(row.value, "30.0 M/s");
  EXPECT_EQ(row.baseline, "10.0 M/s");
  EXPECT_EQ(row.ratio, "3.00x");
}

TEST(RowsTest, LowerIsBetterRatioAndAtMost) {
  RowSpec s;
  s.figure = "bytes";
  s.value = Quantity{Metric{"vfio", "bytes_per_mapping"}, std::nullopt, 1};
  s.baseline = Quantity{Metric{"naive", "bytes_per_mapping"}, std::nullopt, 1};
  s.unit = Unit::kBytes;
  s.better = Better::kLower;
  s.goal = Goal{"<= 96 B", std::nullopt, 96.0, std::nullopt};
  BenchResults r;
  ASSERT_FALSE(r.AddJson(Doc({Entry("vfio", 1, "ns", {{"bytes_per_mapping", 64}}),
                              Entry("naive", 1, "ns", {{"bytes_per_mapping", 192}})}),
                         "t"));
  Row row = EvaluateRow(s, r);
  EXPECT_EQ(row.verdict, Verdict::kPass);
  EXPECT_EQ(row.ratio, "3.00x");
  s.goal.at_most = 32.0;
  EXPECT_EQ(EvaluateRow(s, r).verdict, Verdict::kShort);
}

TEST(RowsTest, MissingBenchmarkCounterOrErrorMakesTheRowMissing) {
  const Goal goal{">= 1", 1.0, std::nullopt, std::nullopt};
  BenchResults only_vfio;
  ASSERT_FALSE(only_vfio.AddJson(Doc({Entry("vfio", 1, "ns", {{"items_per_second", 5}})}), "t"));
  Row row = EvaluateRow(RateRow(goal), only_vfio);
  EXPECT_EQ(row.verdict, Verdict::kMissing);
  EXPECT_EQ(row.baseline, "missing");
  EXPECT_NE(row.why.find("naive did not run"), std::string::npos);

  BenchResults no_counter;
  ASSERT_FALSE(no_counter.AddJson(Doc({Entry("vfio", 1), Entry("naive", 1, "ns", {{"items_per_second", 5}})}), "t"));
  row = EvaluateRow(RateRow(goal), no_counter);
  EXPECT_EQ(row.verdict, Verdict::kMissing);
  EXPECT_EQ(row.value, "missing");
  EXPECT_NE(row.why.find("no counter items_per_second"), std::string::npos);

  json failed = Entry("vfio", 1, "ns", {{"items_per_second", 5}});
  failed["error_occurred"] = true;
  failed["error_message"] = "boom";
  BenchResults errored;
  ASSERT_FALSE(errored.AddJson(Doc({failed, Entry("naive", 1, "ns", {{"items_per_second", 5}})}), "t"));
  row = EvaluateRow(RateRow(goal), errored);
  EXPECT_EQ(row.verdict, Verdict::kMissing);
  EXPECT_NE(row.why.find("boom"), std::string::npos);
}

TEST(RowsTest, InfoRowsHaveNoVerdictAndDerivedQuantitiesDivide) {
  RowSpec s;
  s.figure = "1M/1K";
  s.value = Quantity{Metric{"big", "cpu_ns"}, Metric{"small", "cpu_ns"}, 1};
  s.unit = Unit::kFactor;
  BenchResults r;
  ASSERT_FALSE(r.AddJson(Doc({Entry("big", 150), Entry("small", 50), Entry("zero", 0)}), "t"));
  Row row = EvaluateRow(s, r);
  EXPECT_EQ(row.verdict, Verdict::kInfo);
  EXPECT_EQ(row.value, "3.00x");
  EXPECT_EQ(row.goal, "-");
  s.value.den = Metric{"zero", "cpu_ns"};
  EXPECT_EQ(EvaluateRow(s, r).verdict, Verdict::kMissing);
}

TEST(RowsTest, FormatsWithPrefixes) {
  EXPECT_EQ(FormatValue(315.3e6, Unit::kRate), "315 M/s");
  EXPECT_EQ(FormatValue(6.214e9, Unit::kByteRate), "6.21 GB/s");
  EXPECT_EQ(FormatValue(12.34, Unit::kNs), "12.3 ns");
  EXPECT_EQ(FormatValue(4560, Unit::kNs), "4.56 us");
  EXPECT_EQ(FormatValue(18.2e6, Unit::kNs), "18.2 ms");
  EXPECT_EQ(FormatValue(72, Unit::kBytes), "72.0 B");
  EXPECT_EQ(FormatValue(4, Unit::kCount), "4.00");
}

TEST(RowsTest, EveryTableRowIsMissingOnEmptyResultsAndFilterMatchesRequired) {
  const BenchResults empty;
  const std::vector<Row> rows = EvaluateRows(TableSpecs(), empty);
  ASSERT_FALSE(rows.empty());
  for (const Row& r : rows) EXPECT_EQ(r.verdict, Verdict::kMissing) << r.figure;
  EXPECT_NE(Summary(rows).find(std::to_string(rows.size()) + " missing"), std::string::npos);

  const std::vector<std::string> names = RequiredBenchmarks(TableSpecs(), PlotBenchmarks());
  const std::regex filter(FilterFor(names), std::regex::extended);
  for (const std::string& n : names) EXPECT_TRUE(std::regex_match(n, filter)) << n;
  EXPECT_FALSE(std::regex_match(std::string("BM_Ioctl/seq_1K_trustX"), filter));
  EXPECT_FALSE(std::regex_match(std::string("BM_AllocThenFree<IovaAllocator>/65536"), filter));
}

TEST(CheckTest, EveryRequiredBenchmarkMustRunUnlessExcepted) {
  const std::vector<RowSpec> specs = {RateRow(Goal{})};
  const std::vector<std::string> required = {"naive", "vfio", "plot_only"};
  BenchResults all = Rates(3, 1);
  ASSERT_FALSE(all.AddJson(Doc({Entry("plot_only", 1)}), "t"));
  std::optional<CheckOutcome> c = Check(all, specs, required, "");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->ok);
  EXPECT_EQ(c->rows_checked, 1u);

  // plot_only missing: a failure, unless excepted.
  c = Check(Rates(3, 1), specs, required, "");
  EXPECT_FALSE(c->ok);
  ASSERT_EQ(c->failures.size(), 1u);
  EXPECT_EQ(c->failures[0], "plot_only: did not run");
  EXPECT_TRUE(Check(Rates(3, 1), specs, required, "plot").value().ok);

  // The baseline missing: the row is left out only when its absent benchmark is excepted.
  BenchResults no_naive;
  ASSERT_FALSE(no_naive.AddJson(Doc({Entry("vfio", 1, "ns", {{"items_per_second", 5}}), Entry("plot_only", 1)}), "t"));
  EXPECT_FALSE(Check(no_naive, specs, required, "").value().ok);
  c = Check(no_naive, specs, required, "^naive$");
  EXPECT_TRUE(c->ok);
  EXPECT_EQ(c->rows_left_out, 1u);
  EXPECT_EQ(c->rows_checked, 0u);
  EXPECT_FALSE(Check(no_naive, specs, required, "vfio").value().ok) << "the wrong benchmark excepted";
}

TEST(CheckTest, FailedRunsAndMissingCountersFailEvenWhenExcepted) {
  const std::vector<RowSpec> specs = {RateRow(Goal{})};
  json failed = Entry("naive", 1, "ns", {{"items_per_second", 5}});
  failed["error_occurred"] = true;
  failed["error_message"] = "boom";
  BenchResults r;
  ASSERT_FALSE(r.AddJson(Doc({Entry("vfio", 1, "ns", {{"items_per_second", 5}}), failed}), "t"));
  std::optional<CheckOutcome> c = Check(r, specs, {"naive", "vfio"}, "naive");
  EXPECT_FALSE(c->ok);
  EXPECT_EQ(c->failures[0], "naive: failed: boom");

  BenchResults no_counter;
  ASSERT_FALSE(no_counter.AddJson(Doc({Entry("vfio", 1), Entry("naive", 1, "ns", {{"items_per_second", 5}})}), "t"));
  EXPECT_FALSE(Check(no_counter, specs, {"naive", "vfio"}, "vfio").value().ok);
}

TEST(CheckTest, BadRegexIsRejected) {
  EXPECT_FALSE(Check(BenchResults(), {}, {}, "(").has_value());
  EXPECT_FALSE(WithoutExcepted({"a"}, "[").has_value());
  EXPECT_EQ(WithoutExcepted({"BM_Ioctl/random_1M_trust", "BM_Churn<X>/1048576", "BM_Ioctl/random_64K_trust"},
                            "1048576|_1M")
                .value(),
            std::vector<std::string>{"BM_Ioctl/random_64K_trust"});
}

TEST(TableTest, TextAndMarkdownCarryEveryRow) {
  const std::vector<Row> rows = EvaluateRows({RateRow(Goal{">= 1", 1.0, std::nullopt, std::nullopt})}, Rates(3, 1));
  const std::string text = RenderText(rows);
  EXPECT_NE(text.find("pass/short"), std::string::npos);
  EXPECT_NE(text.find("pairs"), std::string::npos);
  EXPECT_NE(text.find("1 pass, 0 short, 0 info, 0 missing"), std::string::npos);
  const std::string md = RenderMarkdown(rows);
  EXPECT_NE(md.find("| pairs | 3.00 /s | 1.00 /s | 3.00x | >= 1 | - | pass |"), std::string::npos) << md;
}

TEST(PlotsTest, DataFilesHoldNaNForMissingPoints) {
  BenchResults r;
  ASSERT_FALSE(r.AddJson(Doc({Entry("BM_Ioctl/random_1K_trust", 40),
                              Entry("BM_Translate_ColdWalk/leaf:4096", 30, "ns", {{"refs_per_walk", 4}})}),
                         "t"));
  const std::string pairs = PairCostData(r);
  EXPECT_NE(pairs.find("1024 40.000 NaN NaN"), std::string::npos) << pairs;
  const std::string tr = TranslationData(r);
  EXPECT_NE(tr.find("\"4K leaf walk\" 30.000 \"4\""), std::string::npos) << tr;
  EXPECT_NE(tr.find("\"IOTLB hit\" NaN \"?\""), std::string::npos) << tr;

  const std::string dir = ::testing::TempDir() + "/plots";
  std::vector<std::string> pngs;
  ASSERT_FALSE(WritePlots(r, dir, /*render=*/false, &pngs));
  EXPECT_TRUE(pngs.empty());
  for (const char* f : {"pair_cost.dat", "pair_cost.gp", "translation.dat", "translation.gp"}) {
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir) / f)) << f;
  }
}

}  // namespace
}  // namespace vfiosim::bench::report
