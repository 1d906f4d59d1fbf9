#!/usr/bin/env bash
# Runs every benchmark binary of //bench with the filter of the benchmarks the
# `vfiosim bench` table and plots read, for the shortest time Google Benchmark
# allows (one short run each), then `bench_report --check`: every benchmark
# ran without error, and every row of the table found its figures and
# counters. No time or speed is asserted.
#
# Left out: the 1Mi-sized instances (live sets of 1M mappings / allocations).
# Built unoptimized, their set-up alone (1M ioctls, the IOVA allocator's
# steady state, 200 fixed linear scans of 1M ranges) takes minutes on two
# cores; they run the same code and counters as the 64K/1K instances that
# are checked here, and `vfiosim bench --quick` runs them optimized.
set -euo pipefail

except='1048576|_1M'

root="${TEST_SRCDIR:?run under bazel test}/${TEST_WORKSPACE:-vfiosim}"
out="${TEST_TMPDIR:-$(mktemp -d)}"
report="$root/bench/report/bench_report"
filter=$("$report" --filter-required --except "$except")

jsons=()
for b in page_table_bench nested_bench translate_bench bulk_map_bench dma_port_bench device_bench \
         iova_allocator_bench type1_bench; do
  t0=$SECONDS
  if ! "$root/bench/$b" "--benchmark_filter=$filter" --benchmark_min_time=0.001 \
      --benchmark_out="$out/$b.json" --benchmark_out_format=json >"$out/$b.log" 2>&1; then
    echo "FAILED: $b exited with an error:"
    cat "$out/$b.log"
    exit 1
  fi
  echo "$b: $((SECONDS - t0)) s"
  jsons+=("$out/$b.json")
done
"$report" --check --except "$except" "${jsons[@]}"
