#!/usr/bin/env bash
# Builds the libFuzzer target in the OSS-Fuzz shape: honours $CXX, $CXXFLAGS,
# $LIB_FUZZING_ENGINE and $OUT, so ClusterFuzz can run it unchanged. Locally
# `./vfiosim fuzz` calls it with clang-14, ASan + UBSan and -fsanitize=fuzzer.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
CXX="${CXX:-clang++-14}"
CC="${CC:-clang-14}"
CXXFLAGS="${CXXFLAGS:--g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined}"
LIB_FUZZING_ENGINE="${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}"
OUT="${OUT:-$SRC/out/fuzz}"
mkdir -p "$OUT/obj"
cd "$SRC"
# Objects are reused only while no header changed since the last link (a stale
# object built against an older struct layout is undefined behaviour).
if [ -f "$OUT/vfio_fuzzer" ] && [ -n "$(find core sim api tests/fuzz -name '*.h' -newer "$OUT/vfio_fuzzer" | head -1)" ]; then
  rm -f "$OUT"/obj/*.o
fi

sources=()
for f in core/*.cc sim/*.cc sim/devices/*.cc api/*.cc tests/fuzz/fuzz_ops.cc tests/fuzz/fuzz_target.cc; do
  case "$f" in *_test.cc|api/c_api.cc) continue ;; esac
  sources+=("$f")
done

objs=()
for f in "${sources[@]}"; do
  obj="$OUT/obj/$(echo "$f" | tr '/' '_').o"
  if [ ! -f "$obj" ] || [ "$f" -nt "$obj" ]; then
    # shellcheck disable=SC2086
    $CXX -std=c++20 $CXXFLAGS -I. -c "$f" -o "$obj" &
  fi
  objs+=("$obj")
  # two compiles at a time: the machines have 2 cores
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
done
wait
# shellcheck disable=SC2086
$CXX $CXXFLAGS $LIB_FUZZING_ENGINE "${objs[@]}" -o "$OUT/vfio_fuzzer"
cp tests/fuzz/vfio.dict "$OUT/vfio_fuzzer.dict"
(cd tests/fuzz/corpus && zip -q -j "$OUT/vfio_fuzzer_seed_corpus.zip" ./* 2>/dev/null) || true
echo "built $OUT/vfio_fuzzer"
