#include "api/preload/sysfs_vfio.h"

#include <sys/sysmacros.h>

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <algorithm>

#include "api/vfio_sim.h"
#include "core/kernel.h"
#include "sim/machine.h"
#include "sim/reserved_regions.h"
#include "sim/topology.h"

namespace vfiosim::api::preload {
namespace {

// st_dev of the file systems the nodes pretend to live on.
const dev_t kSysfsDev = makedev(0, 22);
const dev_t kDevtmpfsDev = makedev(0, 5);

// sysfs reports every text attribute as 4096 bytes long, whatever it holds.
constexpr int64_t kAttrSize = 4096;

std::string Printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Printf(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

std::string Modalias(const PciIdentity& id) {
  return Printf("pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", id.vendor, id.device, id.subsystem_vendor,
                id.subsystem_device, (id.class_code >> 16) & 0xff, (id.class_code >> 8) & 0xff,
                id.class_code & 0xff);
}

void Put16(std::string* s, size_t off, uint16_t v) {
  (*s)[off] = static_cast<char>(v & 0xff);
  (*s)[off + 1] = static_cast<char>(v >> 8);
}
void Put32(std::string* s, size_t off, uint32_t v) {
  Put16(s, off, static_cast<uint16_t>(v & 0xffff));
  Put16(s, off + 2, static_cast<uint16_t>(v >> 16));
}

bool StartsWithDir(std::string_view path, std::string_view dir) {
  return path == dir || (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

bool NormalizedMightBeVfio(std::string_view p) {
  return StartsWithDir(p, "/dev/vfio") || StartsWithDir(p, "/sys/bus/pci") ||
         StartsWithDir(p, "/sys/kernel/iommu_groups") || p.substr(0, 16) == "/sys/devices/pci";
}

std::string DomainRoot(std::string_view bdf) {
  // "DDDD:BB:SS.F" -> "/sys/devices/pciDDDD:00"
  std::string domain = bdf.size() >= 4 ? std::string(bdf.substr(0, 4)) : std::string("0000");
  return "/sys/devices/pci" + domain + ":00";
}

void AddDriver(SysfsTree* tree, const std::string& driver) {
  const std::string dir = "/sys/bus/pci/drivers/" + driver;
  if (tree->Resolve(dir, false).kind == Lookup::Kind::kNode) return;
  tree->AddDir(dir);
  for (const char* attr : {"bind", "unbind", "new_id", "remove_id"}) {
    tree->AddFile(dir + "/" + attr, "", 0200, kAttrSize);
  }
}

PciIdentity FromFunction(const sim::PciFunction& fn) {
  PciIdentity id;
  id.vendor = fn.vendor_id;
  id.device = fn.device_id;
  id.subsystem_vendor = fn.subsystem_vendor_id;
  id.subsystem_device = fn.subsystem_id;
  id.class_code = fn.class_code;
  id.revision = fn.revision;
  id.pcie = fn.pcie;
  return id;
}

core::ReservedType ToCore(sim::ReservedRegionType t) {
  switch (t) {
    case sim::ReservedRegionType::kDirect: return core::ReservedType::kDirect;
    case sim::ReservedRegionType::kDirectRelaxable: return core::ReservedType::kDirectRelaxable;
    case sim::ReservedRegionType::kReserved: return core::ReservedType::kReserved;
    case sim::ReservedRegionType::kMsi: return core::ReservedType::kMsi;
    case sim::ReservedRegionType::kSwMsi: return core::ReservedType::kSwMsi;
  }
  return core::ReservedType::kReserved;
}

// Invented host addresses for BARs, each aligned to its size: 32-bit memory
// packed down from 0xfe000000's region, 64-bit memory from 32 GiB, I/O from 0xc000.
class BarAllocator {
 public:
  uint64_t Place(sim::BarType type, uint64_t size) {
    uint64_t* cursor = type == sim::BarType::kMem64 ? &mem64_ : type == sim::BarType::kIo ? &io_ : &mem32_;
    uint64_t at = (*cursor + size - 1) & ~(size - 1);
    *cursor = at + size;
    return at;
  }

 private:
  uint64_t mem32_ = 0xfe000000;
  uint64_t mem64_ = 0x800000000;
  uint64_t io_ = 0xc000;
};

// IORESOURCE_* flags of a BAR as the kernel prints them in `resource`.
uint64_t ResourceFlags(const sim::BarSpec& bar) {
  constexpr uint64_t kIo = 0x100, kMem = 0x200, kPrefetch = 0x2000, kSizeAlign = 0x40000, kMem64 = 0x100000;
  if (bar.type == sim::BarType::kIo) return kIo | kSizeAlign | 0x1;
  uint64_t flags = kMem | kSizeAlign;
  if (bar.prefetchable) flags |= kPrefetch | 0x8;
  if (bar.type == sim::BarType::kMem64) flags |= kMem64 | 0x4;
  return flags;
}

// Identity, config space and BARs of a function that the machine built.
void FromMachineDevice(const sim::MachineDevice& md, BarAllocator* bars, SysfsDevice* dev) {
  PciIdentity& id = dev->id;
  id.vendor = md.vendor;
  id.device = md.device;
  id.subsystem_vendor = md.subsystem_vendor;
  id.subsystem_device = md.subsystem_device;
  id.class_code = md.class_code;
  id.revision = md.revision;
  if (!md.model) return;
  const sim::PciConfigSpace& cfg = md.model->power_on_config();
  id.pcie = md.model->IsExpress();
  id.subsystem_vendor = static_cast<uint16_t>(cfg.Get16(0x2c));
  id.subsystem_device = static_cast<uint16_t>(cfg.Get16(0x2e));
  id.class_code = cfg.Get32(0x08) >> 8;
  id.revision = cfg.Get8(0x08);
  id.interrupt_pin = cfg.Get8(0x3d);
  dev->config.resize(cfg.size());
  for (uint32_t off = 0; off < cfg.size(); ++off) dev->config[off] = static_cast<char>(cfg.Get8(off));
  for (int i = 0; i < 6; ++i) {
    const sim::BarSpec& spec = md.model->Bar(i).spec;
    if (spec.type == sim::BarType::kNone || spec.size == 0) continue;
    id.bars[i] = {bars->Place(spec.type, spec.size), spec.size, ResourceFlags(spec)};
    // Show the invented address in the BAR register too (low flag bits kept).
    uint32_t low = cfg.Get32(0x10 + 4 * i) & (spec.type == sim::BarType::kIo ? 0x3u : 0xfu);
    Put32(&dev->config, 0x10 + 4 * i, static_cast<uint32_t>(id.bars[i].start) | low);
    if (spec.type == sim::BarType::kMem64 && i < 5) {
      Put32(&dev->config, 0x14 + 4 * i, static_cast<uint32_t>(id.bars[i].start >> 32));
    }
  }
}

}  // namespace

std::string ConfigSpace(const PciIdentity& id) {
  std::string cfg(id.pcie ? 4096 : 256, '\0');
  Put16(&cfg, 0x00, id.vendor);
  Put16(&cfg, 0x02, id.device);
  cfg[0x08] = static_cast<char>(id.revision);
  cfg[0x09] = static_cast<char>(id.class_code & 0xff);
  cfg[0x0a] = static_cast<char>((id.class_code >> 8) & 0xff);
  cfg[0x0b] = static_cast<char>((id.class_code >> 16) & 0xff);
  for (int i = 0; i < 6; ++i) {
    if (id.bars[i].size == 0) continue;
    Put32(&cfg, 0x10 + 4 * i, static_cast<uint32_t>(id.bars[i].start & ~uint64_t{0xf}));
  }
  Put16(&cfg, 0x2c, id.subsystem_vendor);
  Put16(&cfg, 0x2e, id.subsystem_device);
  cfg[0x3d] = static_cast<char>(id.interrupt_pin);
  return cfg;
}

std::string ResourceText(const PciIdentity& id) {
  std::string out;
  // Six BARs, the ROM and six SR-IOV resources: PCI_BRIDGE_RESOURCES lines.
  for (int i = 0; i < 13; ++i) {
    uint64_t start = 0, end = 0, flags = 0;
    if (i < 6 && id.bars[i].size != 0) {
      start = id.bars[i].start;
      end = start + id.bars[i].size - 1;
      flags = id.bars[i].flags;
    }
    out += Printf("0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64 "\n", start, end, flags);
  }
  return out;
}

std::string ReservedRegionsText(std::span<const core::ReservedRegion> regions) {
  std::string out;
  for (const core::ReservedRegion& r : regions) {
    out += Printf("0x%016" PRIx64 " 0x%016" PRIx64 " %s\n", r.range.start, r.range.last,
                  core::ReservedTypeName(r.type));
  }
  return out;
}

void BuildVfioLayout(std::span<const SysfsDevice> devices, std::span<const SysfsGroup> groups,
                     SysfsTree* tree) {
  tree->AddRoot("/sys/bus/pci", kSysfsDev);
  tree->AddDir("/sys/bus/pci/devices");
  tree->AddDir("/sys/bus/pci/drivers");
  const std::string drivers = "/sys/bus/pci/drivers/";
  AddDriver(tree, "vfio-pci");
  tree->AddRoot("/sys/kernel/iommu_groups", kSysfsDev);
  tree->AddRoot("/dev/vfio", kDevtmpfsDev);
  tree->AddCharDev("/dev/vfio/vfio", makedev(kVfioMiscMajor, kVfioMiscMinor), 0666);

  unsigned minor = 0;
  for (const SysfsGroup& g : groups) {
    const std::string dir = "/sys/kernel/iommu_groups/" + std::to_string(g.id);
    tree->AddDir(dir);
    tree->AddDir(dir + "/devices");
    tree->AddFile(dir + "/reserved_regions", ReservedRegionsText(g.reserved), 0444, kAttrSize);
    tree->AddFile(dir + "/type", "DMA\n", 0644, kAttrSize);
    if (g.dev_node) {
      tree->AddCharDev("/dev/vfio/" + std::to_string(g.id), makedev(kVfioGroupMajor, minor++), 0600);
    }
  }

  for (const SysfsDevice& d : devices) {
    const std::string root = DomainRoot(d.bdf);
    if (tree->Resolve(root, false).kind != Lookup::Kind::kNode) tree->AddRoot(root, kSysfsDev);
    const std::string rel_root = root.substr(std::strlen("/sys/"));  // "devices/pci0000:00"
    const std::string dir = root + "/" + d.bdf;
    const PciIdentity& id = d.id;
    tree->AddDir(dir);
    tree->AddFile(dir + "/vendor", Printf("0x%04x\n", id.vendor), 0444, kAttrSize);
    tree->AddFile(dir + "/device", Printf("0x%04x\n", id.device), 0444, kAttrSize);
    tree->AddFile(dir + "/subsystem_vendor", Printf("0x%04x\n", id.subsystem_vendor), 0444, kAttrSize);
    tree->AddFile(dir + "/subsystem_device", Printf("0x%04x\n", id.subsystem_device), 0444, kAttrSize);
    tree->AddFile(dir + "/class", Printf("0x%06x\n", id.class_code), 0444, kAttrSize);
    tree->AddFile(dir + "/revision", Printf("0x%02x\n", id.revision), 0444, kAttrSize);
    tree->AddFile(dir + "/numa_node", "-1\n", 0644, kAttrSize);
    tree->AddFile(dir + "/config", d.config.empty() ? ConfigSpace(id) : d.config, 0644);
    tree->AddFile(dir + "/resource", ResourceText(id), 0444, kAttrSize);
    tree->AddFile(dir + "/modalias", Modalias(id) + "\n", 0444, kAttrSize);
    std::string uevent;
    if (!d.driver.empty()) uevent += "DRIVER=" + d.driver + "\n";
    uevent += Printf("PCI_CLASS=%X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\n", id.class_code, id.vendor,
                     id.device, id.subsystem_vendor, id.subsystem_device);
    uevent += "PCI_SLOT_NAME=" + d.bdf + "\nMODALIAS=" + Modalias(id) + "\n";
    tree->AddFile(dir + "/uevent", uevent, 0644, kAttrSize);
    tree->AddSymlink(dir + "/iommu_group", "../../../kernel/iommu_groups/" + std::to_string(d.group));
    tree->AddSymlink(dir + "/subsystem", "../../../bus/pci");
    if (!d.driver.empty()) {
      AddDriver(tree, d.driver);
      tree->AddSymlink(dir + "/driver", "../../../bus/pci/drivers/" + d.driver);
      tree->AddSymlink(drivers + d.driver + "/" + d.bdf, "../../../../" + rel_root + "/" + d.bdf);
    }
    tree->AddSymlink("/sys/bus/pci/devices/" + d.bdf, "../../../" + rel_root + "/" + d.bdf);
    tree->AddSymlink("/sys/kernel/iommu_groups/" + std::to_string(d.group) + "/devices/" + d.bdf,
                     "../../../../" + rel_root + "/" + d.bdf);
  }
}

void BuildVfioLayout(VfioSim& sim, SysfsTree* tree) {
  sim::Machine& machine = sim.machine();
  core::Kernel& kernel = sim.kernel();
  std::vector<SysfsDevice> devices;
  std::vector<SysfsGroup> groups;
  BarAllocator bars;
  const sim::Topology& topology = machine.topology();
  if (!topology.functions().empty()) {
    for (const sim::PciFunction& fn : topology.functions()) {
      SysfsDevice dev;
      dev.bdf = fn.address.ToString();
      dev.group = fn.group;
      dev.driver = fn.driver;
      dev.id = FromFunction(fn);
      if (sim::MachineDevice* md = machine.FindDevice(dev.bdf)) FromMachineDevice(*md, &bars, &dev);
      devices.push_back(std::move(dev));
    }
    std::vector<core::GroupId> with_vfio = kernel.GroupIds();
    for (const sim::IommuGroup& g : topology.groups()) {
      SysfsGroup group;
      group.id = g.id;
      group.dev_node = std::find(with_vfio.begin(), with_vfio.end(), g.id) != with_vfio.end();
      if (group.dev_node) {
        group.reserved = kernel.GroupReservedRegions(g.id);
      } else {
        for (const sim::ReservedRegion& r : sim::GroupReservedRegions(topology, g.id)) {
          group.reserved.push_back({{r.start, r.end}, ToCore(r.type)});
        }
      }
      groups.push_back(std::move(group));
    }
  } else {
    // A machine put together in code (AddPciDevice): the kernel's view.
    for (const core::Device* d : kernel.Devices()) {
      SysfsDevice dev;
      dev.bdf = d->name;
      dev.group = d->group;
      if (d->model_index < machine.device_count()) {
        FromMachineDevice(machine.DeviceAt(d->model_index), &bars, &dev);
        dev.driver = d->vfio_bound ? "vfio-pci" : machine.DeviceAt(d->model_index).driver;
      }
      devices.push_back(std::move(dev));
    }
    for (core::GroupId g : kernel.GroupIds()) groups.push_back(SysfsGroup{g, kernel.GroupReservedRegions(g), true});
  }
  BuildVfioLayout(devices, groups, tree);
}

bool MightBeVfioPath(std::string_view abs_path) {
  if (abs_path.empty() || abs_path[0] != '/') return false;
  // A `..` after a symlink inside the tree can lead anywhere, so the prefix
  // before the first `..` counts as well as the lexical normalization.
  size_t dots = abs_path.find("/..");
  if (dots != std::string_view::npos && NormalizedMightBeVfio(NormalizeLexically(abs_path.substr(0, dots)))) {
    return true;
  }
  return NormalizedMightBeVfio(NormalizeLexically(abs_path));
}

}  // namespace vfiosim::api::preload
