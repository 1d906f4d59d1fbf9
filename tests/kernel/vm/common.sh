# shellcheck shell=bash
# Shared by the VM scripts (sourced, not run): where the cache lives, and the
# idempotent set-up of what a real-kernel run needs.
#
# What is installed, once:
#   - Debian packages qemu-system-x86 (7.2 on bookworm) and busybox-static,
#     with apt-get (root) or sudo apt-get.
#   - One Debian kernel package, linux-image-6.1.0-56-cloud-amd64 by default
#     (the kernel the recorded transcripts and expectations come from),
#     fetched with `apt-get download` and unpacked with `dpkg-deb -x` into a
#     scratch directory. Nothing goes to /boot or /lib/modules: only the
#     kernel image and the vfio modules (with their dependencies) are kept in
#     the cache.
#
# Environment:
#   VFIOSIM_VM_CACHE       cache directory (default ~/.cache/vfiosim/vm)
#   VFIOSIM_VM_KERNEL_PKG  kernel package (default linux-image-6.1.0-56-cloud-amd64);
#                          when Debian no longer carries it, the current
#                          linux-image-cloud-amd64 kernel is used, with a note.

VM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$VM_DIR/../../.." && pwd)"
VM_CACHE="${VFIOSIM_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vfiosim/vm}"
VM_KERNEL_PKG_DEFAULT="linux-image-6.1.0-56-cloud-amd64"
# The modules the VM loads; their `depends=` are resolved from the .ko files.
VM_ROOT_MODULES=(vfio_iommu_type1 vfio_pci)

vm_log() { echo "vfiosim-vm: $*" >&2; }

vm_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# qemu-system-x86 and busybox-static, installed only when missing.
vm_ensure_tools() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
  # (grep without -q: an early exit would SIGPIPE busybox and fail the pipe)
  [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -x cpio >/dev/null || missing+=(busybox-static)
  command -v dpkg-deb >/dev/null 2>&1 || missing+=(dpkg)
  command -v gcc >/dev/null 2>&1 || missing+=(gcc)
  command -v readelf >/dev/null 2>&1 || missing+=(binutils)
  [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)
  [ ${#missing[@]} -eq 0 ] && return 0
  vm_log "installing ${missing[*]} (one-time set-up for real-kernel runs)"
  export DEBIAN_FRONTEND=noninteractive
  vm_as_root apt-get update -qq >/dev/null
  vm_as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Prints the module's `depends=` list (comma-separated names) from a .ko or .ko.xz.
vm_module_depends() {
  local ko="$1"
  case "$ko" in
    *.xz) xz -dc "$ko" ;;
    *.zst) zstd -dc "$ko" ;;
    *) cat "$ko" ;;
  esac | tr '\0' '\n' | grep -a '^depends=' | head -1 | cut -d= -f2
}

# Module names treat '-' and '_' alike (the kernel does).
vm_norm() { echo "${1//-/_}"; }

# Copies the root modules and everything they depend on from the unpacked
# package $1 (its lib/modules/<kver>) into $2, decompressed, and writes
# $2/modules.order with the load order (dependencies first). Uses
# modules.dep when the package ships one, else each module's depends= field
# (Debian's package has no modules.dep: depmod runs at install time).
vm_collect_modules() {
  local moddir="$1" dest="$2"
  declare -A path_of=() deps_of=() done_=()
  local f name
  while IFS= read -r f; do
    name=$(basename "$f"); name=${name%%.ko*}
    path_of[$(vm_norm "$name")]="$f"
  done < <(find "$moddir" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst')
  if [ -f "$moddir/modules.dep" ]; then
    local line target deps d
    while IFS= read -r line; do
      target=${line%%:*}; deps=${line#*:}
      name=$(basename "$target"); name=$(vm_norm "${name%%.ko*}")
      local list=""
      for d in $deps; do d=$(basename "$d"); list+="${list:+,}${d%%.ko*}"; done
      deps_of[$name]="$list"
    done < "$moddir/modules.dep"
  fi
  local order=()
  visit() {
    local m; m=$(vm_norm "$1")
    [ -n "${done_[$m]:-}" ] && return 0
    done_[$m]=1
    local ko="${path_of[$m]:-}"
    if [ -z "$ko" ]; then vm_log "module $m not found in the kernel package"; return 1; fi
    local deps="${deps_of[$m]-$(vm_module_depends "$ko")}" d
    for d in ${deps//,/ }; do visit "$d" || return 1; done
    order+=("$m")
  }
  local root
  for root in "${VM_ROOT_MODULES[@]}"; do visit "$root" || return 1; done
  mkdir -p "$dest"
  : > "$dest/modules.order"
  local m ko
  for m in "${order[@]}"; do
    ko="${path_of[$m]}"
    case "$ko" in
      *.xz) xz -dc "$ko" > "$dest/$m.ko" ;;
      *.zst) zstd -dc "$ko" > "$dest/$m.ko" ;;
      *) cp "$ko" "$dest/$m.ko" ;;
    esac
    echo "$m.ko" >> "$dest/modules.order"
  done
}

# Downloads and unpacks the kernel package once; sets VM_KERNEL_DIR (holding
# vmlinuz, kver, pkg and modules/).
vm_ensure_kernel() {
  local pkg="${VFIOSIM_VM_KERNEL_PKG:-$VM_KERNEL_PKG_DEFAULT}"
  VM_KERNEL_DIR="$VM_CACHE/kernel/$pkg"
  if [ -f "$VM_KERNEL_DIR/complete" ]; then return 0; fi
  local scratch
  scratch=$(mktemp -d /tmp/vfiosim-vm-kernel.XXXXXX)
  # apt's sandbox user must be able to write the download directory.
  chmod 0777 "$scratch"
  vm_log "downloading $pkg (apt-get download; unpacked into $VM_CACHE, not installed)"
  if ! (cd "$scratch" && apt-get download "$pkg" >/dev/null 2>&1); then
    vm_as_root apt-get update -qq >/dev/null 2>&1 || true
    if ! (cd "$scratch" && apt-get download "$pkg" >/dev/null 2>&1); then
      local current
      current=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
      if [ -z "$current" ] || ! (cd "$scratch" && apt-get download "$current" >/dev/null 2>&1); then
        vm_log "cannot download $pkg nor the current cloud kernel"
        rm -rf "$scratch"; return 1
      fi
      vm_log "NOTE: $pkg is gone from the archive; using $current (answers may differ from the recordings)"
      pkg="$current"
      VM_KERNEL_DIR="$VM_CACHE/kernel/$pkg"
      if [ -f "$VM_KERNEL_DIR/complete" ]; then rm -rf "$scratch"; return 0; fi
    fi
  fi
  dpkg-deb -x "$scratch"/*.deb "$scratch/x"
  local kver
  kver=$(ls "$scratch/x/lib/modules" | head -1)
  rm -rf "$VM_KERNEL_DIR"
  mkdir -p "$VM_KERNEL_DIR"
  cp "$scratch/x/boot/vmlinuz-$kver" "$VM_KERNEL_DIR/vmlinuz"
  vm_collect_modules "$scratch/x/lib/modules/$kver" "$VM_KERNEL_DIR/modules" || { rm -rf "$scratch"; return 1; }
  echo "$kver" > "$VM_KERNEL_DIR/kver"
  echo "$pkg" > "$VM_KERNEL_DIR/pkg"
  (cd "$scratch" && ls *.deb) > "$VM_KERNEL_DIR/deb"
  rm -rf "$scratch"
  touch "$VM_KERNEL_DIR/complete"
}
