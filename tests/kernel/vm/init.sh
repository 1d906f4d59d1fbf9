#!/bin/busybox sh
# /init of the parity VM (busybox sh, PID 1). Loads the vfio modules, binds
# the edu device (1234:11e8) to vfio-pci via driver_override, runs /client
# with its output on the second serial port (/dev/ttyS1, the file the runner
# keeps), logs what the kernel said during the run as `# kmsg:` lines, and
# powers off. Every line it adds to the client's output starts with `#`, so
# comparisons (which skip `#` lines) see the client's lines only.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp
exec </dev/null >/dev/ttyS0 2>&1

OUT=/dev/ttyS1
# Raw: no \n -> \r\n translation, no echo of anything the host might send.
stty -F $OUT raw -echo 2>/dev/null
say() { echo "$@" >$OUT; }
finish() {
  sync
  # Let the UART drain its last bytes before the machine goes away.
  sleep 0.3
  poweroff -f
  sleep 10
}

for m in $(cat /modules/modules.order); do
  insmod /modules/$m || say "# init: insmod $m failed"
done

BDF=
for d in /sys/bus/pci/devices/*; do
  if [ "$(cat $d/vendor)" = 0x1234 ] && [ "$(cat $d/device)" = 0x11e8 ]; then BDF=${d##*/}; break; fi
done
if [ -z "$BDF" ]; then say "# init: no edu device (1234:11e8)"; finish; fi
DEV=/sys/bus/pci/devices/$BDF
echo vfio-pci >$DEV/driver_override
[ -e $DEV/driver ] && echo $BDF >$DEV/driver/unbind
echo $BDF >/sys/bus/pci/drivers_probe
GROUP=$(basename "$(readlink $DEV/iommu_group)")
n=0
while [ ! -e /dev/vfio/$GROUP ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done

members=
for m in /sys/kernel/iommu_groups/$GROUP/devices/*; do members="$members${m##*/},"; done
iommus=
for m in /sys/class/iommu/*; do [ -e "$m" ] && iommus="$iommus${m##*/},"; done
say "# kernel=$(uname -r) build=\"$(uname -v)\" cmdline=\"$(cat /proc/cmdline)\""
say "# device bdf=$BDF driver=$(basename "$(readlink $DEV/driver)") iommu_group=$GROUP group_members=$members group_type=$(cat /sys/kernel/iommu_groups/$GROUP/type 2>/dev/null) iommus=$iommus"
while read -r start end type; do
  say "# resv_region start=$start end=$end type=$type"
done </sys/kernel/iommu_groups/$GROUP/reserved_regions
say "# client-args /dev/vfio/$GROUP $BDF"

dmesg -c >/dev/null
t0=$(cut -d' ' -f1 /proc/uptime)
/client /dev/vfio/$GROUP $BDF >$OUT 2>/tmp/stderr
rc=$?
t1=$(cut -d' ' -f1 /proc/uptime)
sed 's/^/# stderr: /' /tmp/stderr >$OUT
dmesg | sed 's/^\[[^]]*\] *//; s/^/# kmsg: /' >$OUT
say "# client-exit rc=$rc t_start=$t0 t_end=$t1"
finish
