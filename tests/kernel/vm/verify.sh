#!/usr/bin/env bash
# verify.sh [--kernel-width 39|48] [--no-cache] [--keep DIR] -- CLIENT.c [CLIENT ARGS...]
# (`./vfiosim verify ...` runs this.)
#
# Runs one VFIO client twice — on real Linux 6.1 in the QEMU VM
# (run_in_vm.sh) and on vfio-sim — and compares the two outputs line by
# line, skipping `#` lines. Prints the first differences field by field and
# a unified diff; exits 0 only on a full match, 1 on a difference, 2 on a
# usage error, 3 when the VM could not run the client.
#
# The client is a C program that prints deterministic text (see
# tests/kernel/clients/client_util.h); it gets `/dev/vfio/1 0000:00:01.0`
# as arguments unless others are given.
#
# vfio-sim side: the in-process fallback. The client is compiled as a shared
# object with tests/kernel/clients/sim_shim.h force-included (its open,
# close, ioctl, pread, pwrite, mmap, munmap, setrlimit and capset go to the
# simulator) and run by //tests/kernel/clients:parity_sim_runner on a
# machine configured like the VM. (`./vfiosim run`, the LD_PRELOAD shim, can
# replace this once it runs unmodified binaries; see README.md there.)
#
# VM side: the kernel, modules and base initramfs are cached (common.sh);
# the kernel's output for an identical client binary and width is cached too
# (--no-cache runs the VM again).
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/common.sh"

width=39 use_cache=1 keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel-width|--width) width="$2"; shift 2 ;;
    --no-cache) use_cache=0; shift ;;
    --keep) keep="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "verify: unknown option '$1'" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -lt 1 ]; then
  echo "usage: ./vfiosim verify [--kernel-width 39|48] [--no-cache] -- CLIENT.c [ARGS...]" >&2; exit 2
fi
client="$1"; shift
client_args=("$@")
[ ${#client_args[@]} -gt 0 ] || client_args=(/dev/vfio/1 0000:00:01.0)
case "$width" in 39|48) ;; *) echo "verify: --kernel-width must be 39 or 48" >&2; exit 2 ;; esac
case "$client" in *.c) ;; *) echo "verify: the client must be a C source file (CLIENT.c)" >&2; exit 2 ;; esac
[ -f "$client" ] || { echo "verify: no such file: $client" >&2; exit 2; }
if [ "${client_args[*]}" != "/dev/vfio/1 0000:00:01.0" ]; then
  vm_log "note: the VM always passes /dev/vfio/<group> <bdf>; custom arguments apply to vfio-sim only"
fi

work=$(mktemp -d /tmp/vfiosim-verify.XXXXXX)
trap 'rm -rf "$work"' EXIT
cflags=(-O2 -Wall -Wextra -D_GNU_SOURCE -I"$REPO_ROOT")

# ---- the real kernel ----
vm_ensure_tools
vm_ensure_kernel
static_bin="$work/static/$(basename "$client" .c)"
mkdir -p "$work/static"
gcc -static "${cflags[@]}" -o "$static_bin" "$client"
key=$( (sha256sum < "$static_bin"; echo "$width"; cat "$VM_KERNEL_DIR/deb" "$VM_DIR/init.sh" \
        "$VM_DIR/run_in_vm.sh") | sha256sum | cut -c1-24)
cached="$VM_CACHE/results/$key.txt"
if [ "$use_cache" = 1 ] && [ -f "$cached" ]; then
  cp "$cached" "$work/kernel.txt"
  vm_log "kernel side: cached run of this client binary (--no-cache to boot the VM again)"
else
  status=0
  "$VM_DIR/run_in_vm.sh" "$static_bin" --width "$width" --out "$work/kernel.txt" || status=$?
  if [ "$status" != 0 ]; then
    [ -n "$keep" ] && mkdir -p "$keep" && cp "$work"/kernel.txt* "$keep/" 2>/dev/null
    echo "verify: the VM did not run the client (status $status)" >&2; exit 3
  fi
  mkdir -p "$VM_CACHE/results"
  cp "$work/kernel.txt" "$cached"
fi

# ---- vfio-sim ----
# $BAZEL: the bazel command (default `bazel`; e.g. with its own --output_base).
bazel_cmd=(${BAZEL:-bazel})
(cd "$REPO_ROOT" && "${bazel_cmd[@]}" build //tests/kernel/clients:parity_sim_runner >"$work/bazel.log" 2>&1) || {
  cat "$work/bazel.log" >&2; echo "verify: cannot build the vfio-sim runner" >&2; exit 1; }
runner="$(cd "$REPO_ROOT" && "${bazel_cmd[@]}" info bazel-bin 2>/dev/null)/tests/kernel/clients/parity_sim_runner"
gcc -shared -fPIC "${cflags[@]}" -include "$REPO_ROOT/tests/kernel/clients/sim_shim.h" \
  -o "$work/client.so" "$client"
sim_status=0
"$runner" --width "$width" "$work/client.so" "${client_args[@]}" >"$work/sim.txt" 2>"$work/sim.err" || sim_status=$?

[ -n "$keep" ] && { mkdir -p "$keep"; cp "$work/kernel.txt" "$work/sim.txt" "$keep/"; }

# ---- compare ----
grep -v '^#' "$work/kernel.txt" > "$work/kernel.calls" || true
grep -v '^#' "$work/sim.txt" > "$work/sim.calls" || true
kernel_rc=$(sed -n 's/^# client-exit rc=\([0-9]*\).*/\1/p' "$work/kernel.txt")
name=$(basename "$client")
nk=$(wc -l < "$work/kernel.calls"); ns=$(wc -l < "$work/sim.calls")
echo "verify $name: Linux $(cat "$VM_KERNEL_DIR/kver") (VT-d ${width}-bit): $nk lines, exit $kernel_rc;" \
     "vfio-sim: $ns lines, exit $sim_status"
[ -s "$work/sim.err" ] && sed 's/^/  vfio-sim stderr: /' "$work/sim.err" | head -5

if cmp -s "$work/kernel.calls" "$work/sim.calls" && [ "$kernel_rc" = "$sim_status" ]; then
  echo "verify $name: full match ($nk lines)"
  exit 0
fi

# First differences, field by field: diff aligns the two call sequences, then
# each changed kernel line is paired with the vfio-sim line in its place.
diff --old-line-format='-%dn %L' --new-line-format='+%dn %L' --unchanged-line-format='' \
    "$work/kernel.calls" "$work/sim.calls" | awk -v max=10 '
  function fields(line, out,    n, i, parts, kv) {
    delete out
    n = split(line, parts, " ")
    out["call"] = parts[1]
    for (i = 2; i <= n; i++) {
      if (split(parts[i], kv, "=") >= 2) out[kv[1]] = substr(parts[i], length(kv[1]) + 2)
      else out["#" i] = parts[i]
    }
  }
  function report(k, s,    a, b, key, d) {
    if (++shown > max) return
    print "  line " kn[k] " (kernel) / " (s == "" ? "-" : sn[s]) " (vfio-sim):"
    print "    linux:    " kl[k]
    print "    vfio-sim: " (s == "" ? "<missing>" : sl[s])
    if (s == "") return
    fields(kl[k], a); fields(sl[s], b); d = ""
    for (key in a) if (!(key in b) || a[key] != b[key]) d = d sprintf(" %s: %s -> %s;", key, a[key], (key in b) ? b[key] : "<none>")
    for (key in b) if (!(key in a)) d = d sprintf(" %s: <none> -> %s;", key, b[key])
    print "    differs:" d
  }
  function flush(    i) {
    for (i = 1; i <= nk || i <= ns; i++) {
      if (i <= nk) report(i, i <= ns ? i : "")
      else if (++shown <= max) { print "  line " sn[i] " (vfio-sim only):"; print "    vfio-sim: " sl[i] }
    }
    nk = ns = 0
  }
  /^-/ { if (ns > 0) flush(); line = substr($0, 2); sp = index(line, " ");
         kn[++nk] = substr(line, 1, sp - 1); kl[nk] = substr(line, sp + 1); next }
  /^\+/ { line = substr($0, 2); sp = index(line, " ");
          sn[++ns] = substr(line, 1, sp - 1); sl[ns] = substr(line, sp + 1); next }
  END { flush(); if (shown > max) print "  ... " (shown - max) " more differing lines" }
' > "$work/report.txt" || true  # diff exits 1 on a difference
nk_diff=$(diff "$work/kernel.calls" "$work/sim.calls" | grep -c '^<' || true)
ns_diff=$(diff "$work/kernel.calls" "$work/sim.calls" | grep -c '^>' || true)
echo "verify $name: MISMATCH ($nk_diff kernel lines not matched, $ns_diff vfio-sim lines not matched);" \
     "first differences (line numbers count call lines):"
cat "$work/report.txt"
if [ "$kernel_rc" != "$sim_status" ]; then
  echo "  exit status: linux $kernel_rc, vfio-sim $sim_status"
fi
echo "--- unified diff (linux -> vfio-sim) ---"
diff -u --label "linux-6.1/$name" --label "vfio-sim/$name" "$work/kernel.calls" "$work/sim.calls" | head -200 || true
exit 1
