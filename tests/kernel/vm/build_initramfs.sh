#!/usr/bin/env bash
# build_initramfs.sh --client STATIC_BINARY --out FILE
#
# Writes the VM's initramfs: a cached base archive (busybox-static, the vfio
# modules with their dependencies, /init from init.sh) followed by a small
# archive holding /client. The kernel unpacks concatenated newc archives in
# order, so the base is built once per kernel and init.sh and reused for
# every client. Installs what is missing (see common.sh).
set -euo pipefail
source "$(dirname "$(readlink -f "$0")")/common.sh"

client="" out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --client) client="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "build_initramfs.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ -n "$client" ] && [ -n "$out" ] || { echo "usage: build_initramfs.sh --client BIN --out FILE" >&2; exit 2; }

vm_ensure_tools
vm_ensure_kernel

# newc archive of directory $1 into file $2, owned by root, sorted for
# reproducibility.
make_cpio() {
  (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | /bin/busybox cpio -o -H newc -R 0:0 2>/dev/null) > "$2"
}

init_sum=$( (cat "$VM_DIR/init.sh"; cat "$VM_KERNEL_DIR/modules/modules.order") | sha256sum | cut -c1-16)
base="$VM_KERNEL_DIR/base-$init_sum.cpio"
if [ ! -f "$base" ]; then
  stage=$(mktemp -d /tmp/vfiosim-vm-base.XXXXXX)
  mkdir -p "$stage"/{bin,dev,proc,sys,tmp,modules}
  cp /bin/busybox "$stage/bin/busybox"
  cp "$VM_DIR/init.sh" "$stage/init"
  chmod 0755 "$stage/init" "$stage/bin/busybox"
  cp "$VM_KERNEL_DIR"/modules/* "$stage/modules/"
  # The kernel opens /dev/console for init before devtmpfs is mounted.
  if [ "$(id -u)" -eq 0 ]; then mknod -m 0600 "$stage/dev/console" c 5 1; fi
  make_cpio "$stage" "$base.tmp"
  mv "$base.tmp" "$base"
  rm -rf "$stage"
fi

stage=$(mktemp -d /tmp/vfiosim-vm-client.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp "$client" "$stage/client"
chmod 0755 "$stage/client"
make_cpio "$stage" "$stage.cpio"
cat "$base" "$stage.cpio" > "$out"
rm -f "$stage.cpio"
