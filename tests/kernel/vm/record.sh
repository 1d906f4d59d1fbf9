#!/usr/bin/env bash
# record.sh [--update] [--width 39|48] [CLIENT_NAME...]
#
# The manual, real-kernel half of the parity suite. Runs every parity client
# (default: all of tests/kernel/clients/PARITY_CLIENTS below) in the Linux 6.1
# VM for both VT-d widths and compares what the kernel printed with the
# recordings in tests/kernel/expected/<client>.aw<width>.txt, ignoring `#`
# lines (VM header, kernel log). Fails, with a diff, when the kernel's
# answers changed (a different kernel package, QEMU, or a client edited
# without re-recording).
#
# --update writes the recordings instead (after a client changed); review
# the diff before committing it.
#
# About 6-8 s of wall time per run here (TCG), so about a minute for all.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/common.sh"

PARITY_CLIENTS=(state_info map_unmap dirty_limits device_edu)
update=0 widths=(39 48) clients=()
while [ $# -gt 0 ]; do
  case "$1" in
    --update) update=1; shift ;;
    --width) widths=("$2"); shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "record.sh: unknown option '$1'" >&2; exit 2 ;;
    *) clients+=("$1"); shift ;;
  esac
done
[ ${#clients[@]} -gt 0 ] || clients=("${PARITY_CLIENTS[@]}")

expected_dir="$REPO_ROOT/tests/kernel/expected"
scratch=$(mktemp -d /tmp/vfiosim-record.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
changed=0 total=0 start=$(date +%s)
for client in "${clients[@]}"; do
  for w in "${widths[@]}"; do
    total=$((total + 1))
    out="$scratch/$client.aw$w.txt"
    status=0
    "$VM_DIR/run_in_vm.sh" "$REPO_ROOT/tests/kernel/clients/$client.c" --width "$w" --out "$out" || status=$?
    if [ "$status" = 3 ]; then
      # Keep what the failed boot left for a look, then try once more.
      mkdir -p "$REPO_ROOT/out/vm/failed"
      cp "$out" "$out.console" "$REPO_ROOT/out/vm/failed/" 2>/dev/null || true
      vm_log "$client aw$w: VM run failed (kept in out/vm/failed/); retrying once"
      "$VM_DIR/run_in_vm.sh" "$REPO_ROOT/tests/kernel/clients/$client.c" --width "$w" --out "$out" || true
    fi
    if ! grep -q '^# client-exit rc=0 ' "$out" 2>/dev/null; then
      vm_log "$client aw$w: the client did not exit with 0: $(grep '^# client-exit' "$out" || echo 'no exit line')"
      changed=1
      continue
    fi
    want="$expected_dir/$client.aw$w.txt"
    if [ "$update" = 1 ]; then
      cp "$out" "$want"
      vm_log "recorded $want"
    elif [ ! -f "$want" ]; then
      vm_log "$client aw$w: no recording ($want); run with --update"
      changed=1
    elif ! diff -u --label "recorded/$client.aw$w.txt" --label "kernel-now/$client.aw$w.txt" \
        <(grep -v '^#' "$want") <(grep -v '^#' "$out"); then
      vm_log "$client aw$w: the kernel's answers differ from the recording"
      changed=1
    fi
  done
done
vm_log "$total VM runs in $(( $(date +%s) - start ))s"
if [ "$update" = 0 ] && [ "$changed" = 0 ]; then
  echo "record: ${total} passed, 0 failed"
elif [ "$update" = 0 ]; then
  echo "record: the kernel's answers changed (see above)"
fi
exit "$changed"
