#!/usr/bin/env bash
# `./vfiosim bench`: builds the benchmark suite optimized, runs it, prints the
# one table of bench_report (issue 8).
#
#   ./vfiosim bench [--filter REGEX] [--json FILE] [--plot DIR] [--quick] [--markdown]
#
#   --filter REGEX  passed to every binary as --benchmark_filter (rows whose
#                   benchmarks are filtered out show "missing": exit status 1)
#   --json FILE     keep every binary's output merged into one JSON file
#   --plot DIR      write pair_cost.png and translation.png (gnuplot) into DIR
#   --quick         only the benchmarks the table and plots read, with
#                   --benchmark_min_time=0.01: every row, in about a minute
#   --markdown      print the table as Markdown (for the README)
#
# Figures are CPU time. Each binary's console output goes to a log beside its
# JSON (kept with --json, in FILE.logs/); the table is printed at the end.
#
# For developers sharing a machine: VFIOSIM_BAZEL_STARTUP (startup options,
# e.g. "--output_base=/tmp/mine") and VFIOSIM_BAZEL_FLAGS (extra build flags,
# e.g. "--symlink_prefix=/") are passed to every bazel call.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."

BINARIES=(page_table_bench nested_bench translate_bench bulk_map_bench dma_port_bench device_bench
          iova_allocator_bench type1_bench)

filter="" json="" plot="" quick=0 markdown=0
while [ $# -gt 0 ]; do
  case "$1" in
    --filter) filter="${2:?--filter needs a regex}"; shift 2 ;;
    --json) json="${2:?--json needs a file}"; shift 2 ;;
    --plot) plot="${2:?--plot needs a directory}"; shift 2 ;;
    --quick) quick=1; shift ;;
    --markdown) markdown=1; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "vfiosim bench: unknown option '$1'" >&2; exit 2 ;;
  esac
done

echo "vfiosim bench: building //bench:all and //bench/report:bench_report (-c opt --config=bench)"
build_log=$(mktemp)
# shellcheck disable=SC2086  # word splitting of the option lists is intended
if ! bazel ${VFIOSIM_BAZEL_STARTUP:-} build --config=bench ${VFIOSIM_BAZEL_FLAGS:-} \
    //bench:all //bench/report:bench_report >"$build_log" 2>&1; then
  cat "$build_log" >&2
  rm -f "$build_log"
  exit 2
fi
rm -f "$build_log"
# shellcheck disable=SC2086
bin=$(bazel ${VFIOSIM_BAZEL_STARTUP:-} info --config=bench ${VFIOSIM_BAZEL_FLAGS:-} bazel-bin 2>/dev/null)
report="$bin/bench/report/bench_report"

args=()
if [ -n "$filter" ]; then
  args+=("--benchmark_filter=$filter")
elif [ "$quick" -eq 1 ]; then
  args+=("--benchmark_filter=$("$report" --filter-required)")
fi
[ "$quick" -eq 1 ] && args+=("--benchmark_min_time=0.01")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
logs="$work"
if [ -n "$json" ]; then
  logs="${json}.logs"
  mkdir -p "$logs"
fi

outputs=()
start=$SECONDS
for b in "${BINARIES[@]}"; do
  t0=$SECONDS
  printf '  %-22s' "$b"
  status=0
  "$bin/bench/$b" "${args[@]}" --benchmark_out="$work/$b.json" --benchmark_out_format=json \
      >"$logs/$b.log" 2>&1 || status=$?
  # A binary none of whose benchmarks matches the filter writes no results.
  if [ -s "$work/$b.json" ] && grep -q '"name"' "$work/$b.json"; then
    outputs+=("$work/$b.json")
    note=""
    [ "$status" -ne 0 ] && note=" (exit status $status, see $logs/$b.log)"
    echo "$((SECONDS - t0)) s${note}"
  else
    echo "no results (exit status $status)"
  fi
done
echo "  suite: $((SECONDS - start)) s wall; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

if [ "${#outputs[@]}" -eq 0 ]; then
  echo "vfiosim bench: no benchmark ran" >&2
  exit 1
fi
report_args=()
[ -n "$json" ] && report_args+=(--json-out "$json")
[ -n "$plot" ] && report_args+=(--plot "$plot")
[ "$markdown" -eq 1 ] && report_args+=(--markdown)
status=0
"$report" "${report_args[@]}" "${outputs[@]}" || status=$?
[ -n "$json" ] && echo "merged JSON: $json (binary logs in $logs/)"
exit "$status"
