#include "api/trace/ioctl_decoder.h"

#include <linux/vfio.h>

#include <cstddef>
#include <cstring>
#include <string_view>
#include <utility>

#include "api/trace/syscall_format.h"
#include "api/uapi/vfio_msi_resv_rfc.h"
#include "api/uapi/vfio_resv_iova_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"

namespace vfiosim::api::trace {
namespace {

// Longest list printed inside a struct (iova ranges, eventfds, areas) before "...".
constexpr size_t kMaxListItems = 16;
constexpr FlagName kNestingCaps[] = {{VFIO_IOMMU_PASID_REQS, "VFIO_IOMMU_PASID_REQS"}};

// Longest capability chain walked (a loop in a hostile buffer must end).
constexpr size_t kMaxCaps = 32;

class Reader {
 public:
  explicit Reader(const std::vector<uint8_t>& bytes) : p_(bytes.data()), n_(bytes.size()) {}
  template <typename T>
  bool Get(size_t off, T* out) const {
    if (off > n_ || n_ - off < sizeof(T)) return false;
    std::memcpy(out, p_ + off, sizeof(T));
    return true;
  }
  size_t size() const { return n_; }

 private:
  const uint8_t* p_;
  size_t n_;
};

using FieldList = std::vector<std::pair<std::string, std::string>>;

// Field appenders: each adds nothing (and returns false) when the bytes end
// before the field, so a short argsz shows exactly the fields that were passed.
bool Dec32(const Reader& r, size_t off, const char* name, FieldList* f) {
  uint32_t v;
  if (!r.Get(off, &v)) return false;
  f->emplace_back(name, std::to_string(v));
  return true;
}
bool Hex32(const Reader& r, size_t off, const char* name, FieldList* f) {
  uint32_t v;
  if (!r.Get(off, &v)) return false;
  f->emplace_back(name, Hex(v));
  return true;
}
bool Hex64(const Reader& r, size_t off, const char* name, FieldList* f) {
  uint64_t v;
  if (!r.Get(off, &v)) return false;
  f->emplace_back(name, Hex(v));
  return true;
}
bool Flags32(const Reader& r, size_t off, const char* name, std::span<const FlagName> names, FieldList* f) {
  uint32_t v;
  if (!r.Get(off, &v)) return false;
  f->emplace_back(name, FlagsToString(v, names));
  return true;
}

std::string Braces(const FieldList& fields) {
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ", ";
    out += fields[i].first + "=" + fields[i].second;
  }
  return out + "}";
}

void Header(const vfio_info_cap_header& h, std::string id_name, FieldList* f) {
  f->emplace_back("id", std::move(id_name));
  f->emplace_back("version", std::to_string(h.version));
  f->emplace_back("next", Hex(h.next));
}

// Walks a capability chain starting at `off`; `body` adds the fields of one cap.
template <typename NameFn, typename BodyFn>
std::string WalkCaps(const Reader& r, uint32_t off, NameFn name, BodyFn body) {
  std::string out = "[";
  for (size_t n = 0; off != 0; ++n) {
    vfio_info_cap_header h;
    if (n == kMaxCaps || !r.Get(off, &h)) {
      out += n ? ", ..." : "...";
      break;
    }
    FieldList f;
    Header(h, name(h.id), &f);
    body(h.id, off, &f);
    if (n) out += ", ";
    out += Braces(f);
    // The kernel lays caps out in increasing order; anything else is a loop.
    if (h.next != 0 && h.next <= off) {
      out += ", ...";
      break;
    }
    off = h.next;
  }
  return out + "]";
}

std::string IommuCaps(const Reader& r, uint32_t off, const DecodeOptions& o) {
  return WalkCaps(
      r, off, [&](uint16_t id) { return IommuCapName(id, o); },
      [&](uint16_t id, size_t at, FieldList* f) {
        if (id == 1 && o.cap1_msi_resv) {
          Hex64(r, at + offsetof(vfio_iommu_type1_info_cap_msi_resv, size), "size", f);
          Hex64(r, at + offsetof(vfio_iommu_type1_info_cap_msi_resv, alignment), "alignment", f);
        } else if (id == 1 && o.cap1_resv_iova) {
          Hex64(r, at + offsetof(vfio_iommu_type1_info_cap_resv_iova_range, start), "start", f);
          Hex64(r, at + offsetof(vfio_iommu_type1_info_cap_resv_iova_range, end), "end", f);
        } else if (id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
          uint32_t nr = 0;
          if (!r.Get(at + offsetof(vfio_iommu_type1_info_cap_iova_range, nr_iovas), &nr)) return;
          f->emplace_back("nr_iovas", std::to_string(nr));
          std::string list = "[";
          size_t base = at + offsetof(vfio_iommu_type1_info_cap_iova_range, iova_ranges);
          for (uint32_t i = 0; i < nr; ++i) {
            vfio_iova_range range;
            if (i == kMaxListItems || !r.Get(base + i * sizeof(range), &range)) {
              list += i ? ", ..." : "...";
              break;
            }
            if (i) list += ", ";
            list += "{start=" + Hex(range.start) + ", end=" + Hex(range.end) + "}";
          }
          f->emplace_back("iova_ranges", list + "]");
        } else if (id == 2 && o.cap2_nesting) {
          Flags32(r, at + offsetof(vfio_iommu_type1_info_cap_nesting, nesting_capabilities),
                  "nesting_capabilities", kNestingCaps, f);
          Dec32(r, at + offsetof(vfio_iommu_type1_info_cap_nesting, stage1_format), "stage1_format", f);
        } else if (id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION) {
          Hex32(r, at + offsetof(vfio_iommu_type1_info_cap_migration, flags), "flags", f);
          Hex64(r, at + offsetof(vfio_iommu_type1_info_cap_migration, pgsize_bitmap), "pgsize_bitmap", f);
          Hex64(r, at + offsetof(vfio_iommu_type1_info_cap_migration, max_dirty_bitmap_size),
                "max_dirty_bitmap_size", f);
        } else if (id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
          Dec32(r, at + offsetof(vfio_iommu_type1_info_dma_avail, avail), "avail", f);
        }
      });
}

std::string RegionCaps(const Reader& r, uint32_t off) {
  return WalkCaps(r, off, RegionCapName, [&](uint16_t id, size_t at, FieldList* f) {
    if (id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
      uint32_t nr = 0;
      if (!r.Get(at + offsetof(vfio_region_info_cap_sparse_mmap, nr_areas), &nr)) return;
      f->emplace_back("nr_areas", std::to_string(nr));
      std::string list = "[";
      size_t base = at + offsetof(vfio_region_info_cap_sparse_mmap, areas);
      for (uint32_t i = 0; i < nr; ++i) {
        vfio_region_sparse_mmap_area area;
        if (i == kMaxListItems || !r.Get(base + i * sizeof(area), &area)) {
          list += i ? ", ..." : "...";
          break;
        }
        if (i) list += ", ";
        list += "{offset=" + Hex(area.offset) + ", size=" + Hex(area.size) + "}";
      }
      f->emplace_back("areas", list + "]");
    } else if (id == VFIO_REGION_INFO_CAP_TYPE) {
      Dec32(r, at + offsetof(vfio_region_info_cap_type, type), "type", f);
      Dec32(r, at + offsetof(vfio_region_info_cap_type, subtype), "subtype", f);
    }
  });
}

std::string DeviceCaps(const Reader& r, uint32_t off) {
  return WalkCaps(
      r, off, [](uint16_t id) { return std::to_string(id); }, [](uint16_t, size_t, FieldList*) {});
}

// ---- one decoder per struct: fills `f` for the entry or the exit view ----

void GroupStatus(const Reader& r, bool exit, const DecodeOptions&, FieldList* f) {
  Dec32(r, 0, "argsz", f);
  if (exit) Flags32(r, offsetof(vfio_group_status, flags), "flags", GroupStatusFlags(), f);
}

void IommuInfo(const Reader& r, bool exit, const DecodeOptions& o, FieldList* f) {
  Dec32(r, 0, "argsz", f);
  if (!exit) return;
  if (!Flags32(r, offsetof(vfio_iommu_type1_info, flags), "flags", IommuInfoFlags(), f)) return;
  if (!Hex64(r, offsetof(vfio_iommu_type1_info, iova_pgsizes), "iova_pgsizes", f)) return;
  uint32_t cap_offset = 0;
  if (!r.Get(offsetof(vfio_iommu_type1_info, cap_offset), &cap_offset)) return;
  f->emplace_back("cap_offset", Hex(cap_offset));
  if (cap_offset != 0) f->emplace_back("caps", IommuCaps(r, cap_offset, o));
}

void Bitmap(const Reader& r, size_t at, FieldList* f) {
  vfio_bitmap b;
  if (!r.Get(at, &b)) return;
  f->emplace_back("bitmap", "{pgsize=" + Hex(b.pgsize) + ", size=" + Hex(b.size) +
                                ", data=" + Hex(reinterpret_cast<uintptr_t>(b.data)) + "}");
}

void MapDma(const Reader& r, bool, const DecodeOptions& o, FieldList* f) {
  Dec32(r, 0, "argsz", f) &&
      Flags32(r, offsetof(vfio_iommu_type1_dma_map, flags), "flags", MapDmaFlags(o), f) &&
      Hex64(r, offsetof(vfio_iommu_type1_dma_map, vaddr), "vaddr", f) &&
      Hex64(r, offsetof(vfio_iommu_type1_dma_map, iova), "iova", f) &&
      Hex64(r, offsetof(vfio_iommu_type1_dma_map, size), "size", f);
}

void UnmapDma(const Reader& r, bool, const DecodeOptions&, FieldList* f) {
  uint32_t flags = 0;
  bool ok = Dec32(r, 0, "argsz", f) &&
            Flags32(r, offsetof(vfio_iommu_type1_dma_unmap, flags), "flags", UnmapDmaFlags(), f) &&
            Hex64(r, offsetof(vfio_iommu_type1_dma_unmap, iova), "iova", f) &&
            Hex64(r, offsetof(vfio_iommu_type1_dma_unmap, size), "size", f);
  r.Get(offsetof(vfio_iommu_type1_dma_unmap, flags), &flags);
  if (ok && (flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP)) {
    Bitmap(r, sizeof(vfio_iommu_type1_dma_unmap), f);
  }
}

void DirtyPages(const Reader& r, bool, const DecodeOptions&, FieldList* f) {
  uint32_t flags = 0;
  bool ok = Dec32(r, 0, "argsz", f) &&
            Flags32(r, offsetof(vfio_iommu_type1_dirty_bitmap, flags), "flags", DirtyPagesFlags(), f);
  r.Get(offsetof(vfio_iommu_type1_dirty_bitmap, flags), &flags);
  if (ok && (flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP)) {
    const size_t at = sizeof(vfio_iommu_type1_dirty_bitmap);
    Hex64(r, at + offsetof(vfio_iommu_type1_dirty_bitmap_get, iova), "iova", f) &&
        Hex64(r, at + offsetof(vfio_iommu_type1_dirty_bitmap_get, size), "size", f);
    Bitmap(r, at + offsetof(vfio_iommu_type1_dirty_bitmap_get, bitmap), f);
  }
}

void DeviceInfo(const Reader& r, bool exit, const DecodeOptions&, FieldList* f) {
  Dec32(r, 0, "argsz", f);
  if (!exit) return;
  bool ok = Flags32(r, offsetof(vfio_device_info, flags), "flags", DeviceInfoFlags(), f) &&
            Dec32(r, offsetof(vfio_device_info, num_regions), "num_regions", f) &&
            Dec32(r, offsetof(vfio_device_info, num_irqs), "num_irqs", f);
  uint32_t flags = 0, cap_offset = 0;
  r.Get(offsetof(vfio_device_info, flags), &flags);
  // cap_offset means something only when the kernel set the CAPS flag.
  if (ok && (flags & VFIO_DEVICE_FLAGS_CAPS) && r.Get(offsetof(vfio_device_info, cap_offset), &cap_offset)) {
    f->emplace_back("cap_offset", Hex(cap_offset));
    if (cap_offset != 0) f->emplace_back("caps", DeviceCaps(r, cap_offset));
  }
}

void RegionInfo(const Reader& r, bool exit, const DecodeOptions&, FieldList* f) {
  Dec32(r, 0, "argsz", f);
  uint32_t index = 0;
  if (!exit) {
    if (r.Get(offsetof(vfio_region_info, index), &index)) f->emplace_back("index", RegionIndexName(index));
    return;
  }
  if (!Flags32(r, offsetof(vfio_region_info, flags), "flags", RegionInfoFlags(), f)) return;
  if (!r.Get(offsetof(vfio_region_info, index), &index)) return;
  f->emplace_back("index", RegionIndexName(index));
  uint32_t cap_offset = 0;
  if (!r.Get(offsetof(vfio_region_info, cap_offset), &cap_offset)) return;
  f->emplace_back("cap_offset", Hex(cap_offset));
  Hex64(r, offsetof(vfio_region_info, size), "size", f) &&
      Hex64(r, offsetof(vfio_region_info, offset), "offset", f);
  if (cap_offset != 0) f->emplace_back("caps", RegionCaps(r, cap_offset));
}

void IrqInfo(const Reader& r, bool exit, const DecodeOptions&, FieldList* f) {
  Dec32(r, 0, "argsz", f);
  uint32_t index = 0;
  if (exit && !Flags32(r, offsetof(vfio_irq_info, flags), "flags", IrqInfoFlags(), f)) return;
  if (!r.Get(offsetof(vfio_irq_info, index), &index)) return;
  f->emplace_back("index", IrqIndexName(index));
  if (exit) Dec32(r, offsetof(vfio_irq_info, count), "count", f);
}

void SetIrqs(const Reader& r, bool, const DecodeOptions&, FieldList* f) {
  uint32_t flags = 0, index = 0, count = 0;
  if (!Dec32(r, 0, "argsz", f) ||
      !Flags32(r, offsetof(vfio_irq_set, flags), "flags", IrqSetFlags(), f)) {
    return;
  }
  r.Get(offsetof(vfio_irq_set, flags), &flags);
  if (!r.Get(offsetof(vfio_irq_set, index), &index)) return;
  f->emplace_back("index", IrqIndexName(index));
  if (!Dec32(r, offsetof(vfio_irq_set, start), "start", f)) return;
  if (!r.Get(offsetof(vfio_irq_set, count), &count)) return;
  f->emplace_back("count", std::to_string(count));
  const size_t base = offsetof(vfio_irq_set, data);
  const bool fds = flags & VFIO_IRQ_SET_DATA_EVENTFD;
  if (!fds && !(flags & VFIO_IRQ_SET_DATA_BOOL)) return;
  std::string list = "[";
  for (uint32_t i = 0; i < count; ++i) {
    int32_t fd = 0;
    uint8_t b = 0;
    bool got = fds ? r.Get(base + i * sizeof(fd), &fd) : r.Get(base + i, &b);
    if (i == kMaxListItems || !got) {
      list += i ? ", ..." : "...";
      break;
    }
    if (i) list += ", ";
    list += std::to_string(fds ? fd : b);
  }
  f->emplace_back("data", list + "]");
}

void PasidRequest(const Reader& r, bool exit, const DecodeOptions&, FieldList* f) {
  uint32_t flags = 0;
  if (!Dec32(r, 0, "argsz", f) ||
      !Flags32(r, offsetof(vfio_iommu_type1_pasid_request, flags), "flags", PasidRequestFlags(), f)) {
    return;
  }
  r.Get(offsetof(vfio_iommu_type1_pasid_request, flags), &flags);
  const size_t u = offsetof(vfio_iommu_type1_pasid_request, alloc_pasid);
  if (flags & VFIO_IOMMU_PASID_ALLOC) {
    Hex32(r, u, "min", f) && Hex32(r, u + 4, "max", f) && exit && Hex32(r, u + 8, "result", f);
  } else if (flags & VFIO_IOMMU_PASID_FREE) {
    Hex32(r, u, "free_pasid", f);
  }
}

void BindFlagsOnly(const Reader& r, bool, const DecodeOptions&, FieldList* f) {
  Dec32(r, 0, "argsz", f) && Flags32(r, 4, "flags", BindFlags(), f);
}

void Generic(const Reader& r, bool, const DecodeOptions&, FieldList* f) {
  Dec32(r, 0, "argsz", f) && Hex32(r, 4, "flags", f);
}

using DecodeFn = void (*)(const Reader&, bool exit, const DecodeOptions&, FieldList*);

struct StructIoctl {
  std::string_view name;
  size_t fixed_size;  // bytes of the fixed part, with any trailing struct
  DecodeFn decode;
  bool writes_back;   // the kernel copies results into the struct
};

constexpr StructIoctl kStructs[] = {
    {"VFIO_GROUP_GET_STATUS", sizeof(vfio_group_status), GroupStatus, true},
    {"VFIO_IOMMU_GET_INFO", sizeof(vfio_iommu_type1_info), IommuInfo, true},
    {"VFIO_IOMMU_MAP_DMA", sizeof(vfio_iommu_type1_dma_map), MapDma, false},
    {"VFIO_IOMMU_UNMAP_DMA", sizeof(vfio_iommu_type1_dma_unmap) + sizeof(vfio_bitmap), UnmapDma, true},
    {"VFIO_IOMMU_DIRTY_PAGES",
     sizeof(vfio_iommu_type1_dirty_bitmap) + sizeof(vfio_iommu_type1_dirty_bitmap_get), DirtyPages, false},
    {"VFIO_DEVICE_GET_INFO", sizeof(vfio_device_info), DeviceInfo, true},
    {"VFIO_DEVICE_GET_REGION_INFO", sizeof(vfio_region_info), RegionInfo, true},
    {"VFIO_DEVICE_GET_IRQ_INFO", sizeof(vfio_irq_info), IrqInfo, true},
    {"VFIO_DEVICE_SET_IRQS", sizeof(vfio_irq_set), SetIrqs, false},
    {"VFIO_IOMMU_PASID_REQUEST", sizeof(vfio_iommu_type1_pasid_request), PasidRequest, true},
    {"VFIO_IOMMU_BIND", sizeof(vfio_iommu_type1_bind), BindFlagsOnly, false},
    {"VFIO_IOMMU_CACHE_INVALIDATE", sizeof(vfio_iommu_type1_cache_invalidate), Generic, false},
    {"VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", sizeof(vfio_pci_hot_reset_info), Generic, true},
    {"VFIO_DEVICE_PCI_HOT_RESET", sizeof(vfio_pci_hot_reset), Generic, false},
    {"VFIO_DEVICE_QUERY_GFX_PLANE", sizeof(vfio_device_gfx_plane_info), Generic, true},
    {"VFIO_DEVICE_IOEVENTFD", sizeof(vfio_device_ioeventfd), Generic, false},
    {"VFIO_DEVICE_FEATURE", sizeof(vfio_device_feature), Generic, true},
};

const StructIoctl* FindStruct(FdKind kind, unsigned long request, const DecodeOptions& opts) {
  std::string name = IoctlName(kind, request, opts);
  for (const StructIoctl& s : kStructs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string Pointer(uintptr_t arg) { return arg == 0 ? "NULL" : Hex(arg); }

// Exit view with "old => new" for every field the call changed.
std::string Merge(const FieldList& before, const FieldList& after) {
  FieldList shown;
  for (const auto& [name, value] : after) {
    std::string v = value;
    for (const auto& [bname, bvalue] : before) {
      if (bname == name && bvalue != value) v = bvalue + " => " + value;
    }
    shown.emplace_back(name, std::move(v));
  }
  return Braces(shown);
}

}  // namespace

ArgShape ShapeOf(FdKind kind, unsigned long request, const DecodeOptions& opts) {
  switch (request) {
    case VFIO_GET_API_VERSION:
    case VFIO_GROUP_UNSET_CONTAINER:
    case VFIO_DEVICE_RESET:
      return ArgShape::kNone;
    case VFIO_CHECK_EXTENSION:
    case VFIO_SET_IOMMU:
      return ArgShape::kValue;
    case VFIO_GROUP_SET_CONTAINER:
      return ArgShape::kIntPointer;
    case VFIO_GROUP_GET_DEVICE_FD:
      return ArgShape::kString;
    default:
      break;
  }
  std::string name = IoctlName(kind, request, opts);
  if (name == "VFIO_IOMMU_ENABLE" || name == "VFIO_IOMMU_DISABLE") return ArgShape::kNone;
  if (FindStruct(kind, request, opts) != nullptr) return ArgShape::kArgszStruct;
  return ArgShape::kOpaque;
}

size_t WantedBytes(FdKind kind, unsigned long request, uint32_t argsz, const DecodeOptions& opts) {
  const StructIoctl* s = FindStruct(kind, request, opts);
  size_t fixed = s ? s->fixed_size : sizeof(uint32_t) * 2;
  size_t want = argsz > fixed ? argsz : fixed;
  return want > kMaxArgBytes ? kMaxArgBytes : want;
}

std::string FormatIoctlArg(const IoctlCall& call, const DecodeOptions& opts) {
  switch (ShapeOf(call.kind, call.request, opts)) {
    case ArgShape::kNone:
      return {};
    case ArgShape::kValue:
      return ExtensionName(call.arg, opts);
    case ArgShape::kOpaque:
      return Hex(call.arg);
    case ArgShape::kIntPointer: {
      int32_t v;
      if (!call.entry.ok || !Reader(call.entry.bytes).Get(0, &v)) return Pointer(call.arg);
      return "[" + std::to_string(v) + "]";
    }
    case ArgShape::kString: {
      if (!call.entry.ok) return Pointer(call.arg);
      const auto& b = call.entry.bytes;
      const bool terminated = std::memchr(b.data(), '\0', b.size()) != nullptr;
      std::string s = QuoteData(b.data(), terminated ? strnlen(reinterpret_cast<const char*>(b.data()), b.size())
                                                     : b.size(),
                                kMaxArgBytes);
      return terminated ? s : s + "...";
    }
    case ArgShape::kArgszStruct:
      break;
  }
  const StructIoctl* s = FindStruct(call.kind, call.request, opts);
  if (!call.entry.ok || call.entry.bytes.size() < sizeof(uint32_t)) return Pointer(call.arg);
  FieldList before;
  s->decode(Reader(call.entry.bytes), /*exit=*/false, opts, &before);
  if (call.ret < 0 || !s->writes_back || !call.exit.ok) return Braces(before);
  FieldList after;
  s->decode(Reader(call.exit.bytes), /*exit=*/true, opts, &after);
  return Merge(before, after);
}

std::string FormatIoctl(const IoctlCall& call, const DecodeOptions& opts) {
  std::string arg = FormatIoctlArg(call, opts);
  std::string out = "ioctl(" + std::to_string(call.fd) + ", " + IoctlName(call.kind, call.request, opts);
  if (!arg.empty()) out += ", " + arg;
  return out + ") " + FormatReturn(call.ret, call.err);
}

}  // namespace vfiosim::api::trace
