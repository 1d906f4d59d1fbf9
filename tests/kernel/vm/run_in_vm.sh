#!/usr/bin/env bash
# run_in_vm.sh CLIENT.c|STATIC_BINARY [--width 39|48] --out FILE [--timeout SECONDS]
#
# Runs one parity client on a real Linux kernel: Debian's 6.1 cloud kernel in
# QEMU (TCG: KVM guests die with emulation failures on this kind of machine)
# on a q35 machine with an emulated Intel VT-d (intremap, caching mode, the
# given address width) and QEMU's edu device at 0000:00:01.0, bound to
# vfio-pci. The client gets `/dev/vfio/<group> <bdf>` as arguments; its
# stdout arrives on the VM's second serial port and is written to FILE,
# after one `# vm ...` header line. The kernel console goes to FILE.console.
#
# A C source is compiled statically (gcc -static -O2, -I<repo root>). The
# kernel, its modules and the base initramfs are cached (see common.sh).
# QEMU is always stopped on exit, also on timeout (default 120 s) or signal.
#
# Exit status: 0 when the client ran to its end in the VM (its own exit
# status is in FILE as `# client-exit rc=N`), 1 on a set-up failure, 3 when
# the VM timed out or never ran the client.
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/common.sh"

client="" width=39 out="" timeout_s=120
while [ $# -gt 0 ]; do
  case "$1" in
    --width) width="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run_in_vm.sh: unknown option '$1'" >&2; exit 2 ;;
    *) client="$1"; shift ;;
  esac
done
if [ -z "$client" ] || [ -z "$out" ]; then
  echo "usage: run_in_vm.sh CLIENT.c|BINARY [--width 39|48] --out FILE [--timeout S]" >&2; exit 2
fi
case "$width" in 39|48) ;; *) echo "run_in_vm.sh: --width must be 39 or 48" >&2; exit 2 ;; esac
[ -f "$client" ] || { echo "run_in_vm.sh: no such file: $client" >&2; exit 2; }

vm_ensure_tools
vm_ensure_kernel

work=$(mktemp -d /tmp/vfiosim-vm-run.XXXXXX)
qemu_pid=""
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    sleep 0.5
    kill -9 "$qemu_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(head -c 4 "$client" | od -An -c | tr -d ' ')" = '177ELF' ]; then
  if readelf -l "$client" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    echo "run_in_vm.sh: $client is dynamically linked; the VM has no libc: link it with -static" >&2; exit 1
  fi
  cp "$client" "$work/client"
else
  gcc -static -O2 -Wall -Wextra -D_GNU_SOURCE -I"$REPO_ROOT" -o "$work/client" "$client" || exit 1
fi
"$VM_DIR/build_initramfs.sh" --client "$work/client" --out "$work/initrd"

iommu="intel-iommu,intremap=on,caching-mode=on"
[ "$width" = 48 ] && iommu="$iommu,aw-bits=48"
# The reference VM's command line plus no_timer_check: on a loaded host the
# TCG guest's boot-time check that the timer interrupt arrives through the
# interrupt-remapped IO-APIC can run out of time, and the kernel then panics
# ("timer doesn't work through Interrupt-remapped IO-APIC"). Skipping the
# check changes nothing VFIO does.
cmdline="console=ttyS0,115200 intel_iommu=on quiet panic=-1 no_timer_check"
qemu_version=$(qemu-system-x86_64 --version | head -1)

start=$(date +%s.%N)
# -nodefaults: no VGA or NIC, so edu is alone at 00:01.0 (group 1, as in the
# recorded transcripts). intel-iommu must come before the PCI devices.
qemu-system-x86_64 -M q35 -accel tcg -m 1G -smp 1 -nodefaults -no-reboot \
  -display none -monitor none \
  -kernel "$VM_KERNEL_DIR/vmlinuz" -initrd "$work/initrd" -append "$cmdline" \
  -device "$iommu" -device edu,addr=01.0 \
  -serial "file:$work/console.log" -serial "file:$work/client.log" \
  </dev/null >"$work/qemu.log" 2>&1 &
qemu_pid=$!
deadline=$(( $(date +%s) + timeout_s ))
timed_out=0
while kill -0 "$qemu_pid" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then timed_out=1; break; fi
  sleep 0.2
done
if [ "$timed_out" = 1 ]; then
  kill "$qemu_pid" 2>/dev/null || true
fi
wait "$qemu_pid" 2>/dev/null || true  # (a QEMU abort is reported below)
qemu_pid=""
end=$(date +%s.%N)
wall=$(echo "$end $start" | awk '{printf "%.2f", $1 - $2}')

{
  echo "# vm kernel=$(cat "$VM_KERNEL_DIR/kver") pkg=$(cat "$VM_KERNEL_DIR/deb") accel=tcg iommu=$iommu pcidev=edu qemu=\"$qemu_version\" wall_s=$wall"
  tr -d '\r' < "$work/client.log"
} > "$out"
# A line cut short by the power-off still ends with a newline.
[ -z "$(tail -c 1 "$out")" ] || echo >> "$out"
tr -d '\r' < "$work/console.log" > "$out.console"
cat "$work/qemu.log" >> "$out.console"

if [ "$timed_out" = 1 ]; then
  vm_log "timed out after ${timeout_s}s; kernel console in $out.console"
  exit 3
fi
if ! grep -q '^# client-exit ' "$out"; then
  # QEMU's own complaint (e.g. edu's "DMA range ... out of bounds" abort) or a kernel panic.
  why=$(grep -m1 -E '^qemu|Kernel panic' "$work/qemu.log" "$work/console.log" 2>/dev/null | cut -d: -f2- || true)
  [ -n "$why" ] && vm_log "${why}"
  vm_log "the VM did not run the client to its end; kernel console in $out.console"
  exit 3
fi
vm_log "$(basename "$client") width=$width: $(grep -cv '^#' "$out") lines, VM wall ${wall}s -> $out"
