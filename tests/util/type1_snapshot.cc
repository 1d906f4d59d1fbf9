#include "tests/util/type1_snapshot.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "core/container.h"
#include "core/kernel.h"
#include "core/type1_iommu.h"

namespace vfiosim::testing {
namespace {

constexpr uint64_t kPageMask = ~uint64_t{0xFFF};

std::string Hex(uint64_t v) {
  std::ostringstream os;
  os << "0x" << std::hex << v;
  return os.str();
}

std::string Describe(const MappingState& m) {
  std::ostringstream os;
  os << "{iova " << Hex(m.iova) << " size " << Hex(m.size) << " vaddr " << Hex(m.vaddr)
     << " prot " << int{m.prot} << (m.vaddr_invalid ? " vaddr_invalid" : "")
     << (m.msi_reserved ? " msi_reserved" : "") << "}";
  return os.str();
}

std::string Describe(const TranslationSample& t) {
  std::ostringstream os;
  os << Hex(t.iova) << " -> ";
  if (t.ok) {
    os << Hex(t.output) << " leaf " << Hex(t.leaf_size) << " prot " << int{t.prot};
  } else {
    os << "fault " << t.fault;
  }
  return os.str();
}

std::string Describe(const core::IovaRange& r) { return "[" + Hex(r.start) + ", " + Hex(r.last) + "]"; }

template <typename T>
std::string DescribeList(const std::vector<T>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + Describe(v[i]);
  return out + "}";
}

// Lists the elements present in only one of two vectors (order-insensitive;
// both are short and already sorted by the snapshot).
template <typename T>
void DiffLists(const char* name, const std::vector<T>& a, const std::vector<T>& b,
               std::ostream& os) {
  if (a == b) return;
  os << "  " << name << ":\n";
  for (const T& x : a) {
    if (std::find(b.begin(), b.end(), x) == b.end()) os << "    - " << Describe(x) << "\n";
  }
  for (const T& x : b) {
    if (std::find(a.begin(), a.end(), x) == a.end()) os << "    + " << Describe(x) << "\n";
  }
}

template <typename T>
void DiffScalar(const char* name, const T& a, const T& b, std::ostream& os) {
  if (a == b) return;
  os << "  " << name << ": " << +a << " -> " << +b << "\n";
}

}  // namespace

const std::vector<uint64_t>& DefaultProbeIovas() {
  static const std::vector<uint64_t> probes = {
      0x0,        0x1000,       0xff000,        0x100000,     0x101000,    0x10f000,
      0x110000,   0x200000,     0x300000,       0x400000,     0x401000,    0x500000,
      0x600000,   0x700000,     0x8000000,      0x80ff000,    0x10000000,  0xa0000000,
      0xfedff000, 0xfee00000,   0xfeeff000,     0xfef00000,   0x100000000, 0x7ffffff000,
      0xfffffffff000, 0xfffffffffffff000,
  };
  return probes;
}

Type1Snapshot TakeType1Snapshot(api::VfioSim& sim, core::GroupId group,
                                const std::vector<uint64_t>& extra_iovas) {
  Type1Snapshot s;
  s.memlock_locked = sim.kernel().memlock().locked.load();
  std::shared_ptr<core::Container> container = sim.kernel().GroupContainer(group);
  if (container == nullptr) return s;
  s.has_container = true;
  core::Status st = container->WithIommu([&](core::Type1Iommu& t) {
    s.has_iommu = true;
    s.v2 = t.v2();
    s.group_count = t.group_count();
    s.dma_avail = t.dma_avail();
    s.dirty_tracking = t.dirty_tracking();
    s.vaddr_invalid_count = t.vaddr_invalid_count();
    s.iova_ranges = t.space().IovaRanges();
    s.page_table_count = t.page_table().table_count();
    s.iotlb_size = t.iotlb().size();

    std::vector<uint64_t> iovas = DefaultProbeIovas();
    iovas.insert(iovas.end(), extra_iovas.begin(), extra_iovas.end());
    t.space().ForEach([&](const core::DmaMapping& m) {
      s.mappings.push_back(MappingState{m.iova, m.size, core::ToU64(m.vaddr), m.prot,
                                        m.vaddr_invalid, m.msi_reserved});
      iovas.push_back(m.iova);
      iovas.push_back(m.last() & kPageMask);
    });
    std::sort(iovas.begin(), iovas.end());
    iovas.erase(std::unique(iovas.begin(), iovas.end()), iovas.end());
    for (uint64_t iova : iovas) {
      core::WalkResult w = t.page_table().Translate(iova, /*access=*/0);
      TranslationSample sample;
      sample.iova = iova;
      sample.ok = w.ok;
      if (w.ok) {
        sample.output = core::ToU64(w.translation.Output(iova));
        sample.leaf_size = w.translation.leaf_size;
        sample.prot = w.translation.prot;
      } else {
        sample.fault = static_cast<int>(w.fault);
      }
      s.translations.push_back(sample);
    }
    return core::Status::Ok();
  });
  (void)st;  // EINVAL just means "no instance", already recorded as has_iommu = false
  return s;
}

std::string DiffType1Snapshots(const Type1Snapshot& a, const Type1Snapshot& b) {
  std::ostringstream os;
  DiffScalar("has_container", a.has_container, b.has_container, os);
  DiffScalar("has_iommu", a.has_iommu, b.has_iommu, os);
  DiffScalar("v2", a.v2, b.v2, os);
  DiffScalar("group_count", a.group_count, b.group_count, os);
  DiffLists("mappings", a.mappings, b.mappings, os);
  DiffScalar("dma_avail", a.dma_avail, b.dma_avail, os);
  DiffScalar("dirty_tracking", a.dirty_tracking, b.dirty_tracking, os);
  DiffScalar("vaddr_invalid_count", a.vaddr_invalid_count, b.vaddr_invalid_count, os);
  DiffLists("iova_ranges", a.iova_ranges, b.iova_ranges, os);
  DiffScalar("page_table_count", a.page_table_count, b.page_table_count, os);
  DiffLists("translations", a.translations, b.translations, os);
  DiffScalar("iotlb_size", a.iotlb_size, b.iotlb_size, os);
  DiffScalar("memlock_locked", a.memlock_locked, b.memlock_locked, os);
  return os.str();
}

void PrintTo(const MappingState& m, std::ostream* os) { *os << Describe(m); }

void PrintTo(const Type1Snapshot& s, std::ostream* os) {
  *os << "Type1Snapshot{";
  if (!s.has_container) {
    *os << "no container";
  } else if (!s.has_iommu) {
    *os << "no iommu";
  } else {
    *os << (s.v2 ? "v2" : "v1") << " groups " << s.group_count << " mappings "
        << DescribeList(s.mappings) << " dma_avail " << s.dma_avail << " dirty "
        << s.dirty_tracking << " vaddr_invalid " << s.vaddr_invalid_count << " iova_ranges "
        << DescribeList(s.iova_ranges) << " tables " << s.page_table_count << " iotlb "
        << s.iotlb_size;
  }
  *os << " memlock " << Hex(s.memlock_locked) << "}";
}

}  // namespace vfiosim::testing
