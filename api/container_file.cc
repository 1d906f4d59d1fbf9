#include "api/container_file.h"

#include <linux/vfio.h>

#include <bit>
#include <cstring>

#include "api/cap_chain.h"
#include "api/fd_table.h"
#include "api/uapi/vfio_msi_resv_rfc.h"
#include "api/uapi/vfio_resv_iova_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"
#include "api/user_struct.h"
#include "core/kernel.h"

namespace vfiosim::api {
namespace {

using core::Error;
using core::Result;
using core::Status;

constexpr size_t kInfoMinsz = VFIOSIM_OFFSETOFEND(vfio_iommu_type1_info, iova_pgsizes);
constexpr size_t kMapMinsz = VFIOSIM_OFFSETOFEND(vfio_iommu_type1_dma_map, size);
constexpr size_t kUnmapMinsz = VFIOSIM_OFFSETOFEND(vfio_iommu_type1_dma_unmap, size);
constexpr size_t kDirtyMinsz = VFIOSIM_OFFSETOFEND(vfio_iommu_type1_dirty_bitmap, flags);
constexpr size_t kBitmapArgsz = sizeof(vfio_iommu_type1_dma_unmap) + sizeof(vfio_bitmap);
constexpr size_t kGetBitmapArgsz =
    sizeof(vfio_iommu_type1_dirty_bitmap) + sizeof(vfio_iommu_type1_dirty_bitmap_get);

Result<long> FromStatus(Status s) {
  if (!s.ok()) return s;
  return 0L;
}

vfio_info_cap_header Header(uint16_t id) { return vfio_info_cap_header{id, 1, 0}; }

// The capability chain of VFIO_IOMMU_GET_INFO for this profile, in kernel order.
CapChain BuildIommuCaps(const Profile& profile, const core::Type1Info& info, bool nesting) {
  CapChain caps;
  if (profile.cap_nesting && nesting) {
    vfio_iommu_type1_info_cap_nesting cap{};
    cap.header = Header(VFIO_IOMMU_TYPE1_INFO_CAP_NESTING);
    cap.nesting_capabilities = profile.behavior.vsva ? VFIO_IOMMU_PASID_REQS : 0;
    cap.stage1_format = IOMMU_PASID_FORMAT_INTEL_VTD;
    caps.Add(cap);
  }
  if (profile.cap_migration) {
    vfio_iommu_type1_info_cap_migration cap{};
    cap.header = Header(VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
    cap.flags = 0;
    cap.pgsize_bitmap = info.min_page;
    cap.max_dirty_bitmap_size = info.max_dirty_bitmap_size;
    caps.Add(cap);
  }
  if (profile.cap_dma_avail) {
    vfio_iommu_type1_info_dma_avail cap{};
    cap.header = Header(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
    cap.avail = info.dma_avail;
    caps.Add(cap);
  }
  if (profile.cap_iova_range && !info.iova_ranges.empty()) {
    std::vector<uint8_t> buf(sizeof(vfio_iommu_type1_info_cap_iova_range) +
                             info.iova_ranges.size() * sizeof(vfio_iova_range));
    vfio_iommu_type1_info_cap_iova_range head{};
    head.header = Header(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
    head.nr_iovas = static_cast<uint32_t>(info.iova_ranges.size());
    std::memcpy(buf.data(), &head, sizeof(head));
    for (size_t i = 0; i < info.iova_ranges.size(); ++i) {
      vfio_iova_range r{info.iova_ranges[i].start, info.iova_ranges[i].last};
      std::memcpy(buf.data() + sizeof(head) + i * sizeof(r), &r, sizeof(r));
    }
    caps.AddBytes(buf.data(), buf.size());
  }
  if (profile.cap_msi_resv) {
    // Seed 000: only platforms whose doorbells sit behind the IOMMU (a
    // software-managed MSI window, i.e. ARM) ask the user for a window.
    for (const core::ReservedRegion& r : info.reserved_regions) {
      if (r.type != core::ReservedType::kSwMsi) continue;
      vfio_iommu_type1_info_cap_msi_resv cap{};
      cap.header = Header(VFIO_IOMMU_TYPE1_INFO_CAP_MSI_RESV);
      cap.size = r.range.size();
      cap.alignment = r.range.size();
      caps.Add(cap);
      break;
    }
  }
  if (profile.cap_resv_iova_range) {
    // Seed 003: one capability per reserved range (reconstructed from the cover letter).
    for (const core::ReservedRegion& r : info.reserved_regions) {
      if (r.type == core::ReservedType::kDirectRelaxable) continue;
      vfio_iommu_type1_info_cap_resv_iova_range cap{};
      cap.header = Header(VFIO_IOMMU_TYPE1_INFO_CAP_RESV_IOVA_RANGE);
      cap.start = r.range.start;
      cap.end = r.range.last;
      caps.Add(cap);
    }
  }
  return caps;
}

}  // namespace

Result<long> ContainerFile::Ioctl(unsigned long cmd, uintptr_t arg) {
  core::Kernel& kernel = *ctx_.kernel;
  switch (cmd) {
    case VFIO_GET_API_VERSION:
      return static_cast<long>(VFIO_API_VERSION);
    case VFIO_CHECK_EXTENSION:
      return kernel.CheckExtension(*container_, static_cast<long>(arg));
    case VFIO_SET_IOMMU:
      return FromStatus(kernel.SetIommu(*container_, static_cast<long>(arg), ctx_.owner->load()));
    default:
      break;
  }
  // Everything else goes to the IOMMU driver; without one the container says EINVAL.
  if (!container_->HasIommu()) return Error(EINVAL);
  const Profile& p = *ctx_.profile;
  switch (cmd) {
    case VFIO_IOMMU_GET_INFO: return GetInfo(arg);
    case VFIO_IOMMU_MAP_DMA: return MapDma(arg);
    case VFIO_IOMMU_UNMAP_DMA: return UnmapDma(arg);
    default: break;
  }
  if (cmd == VFIO_IOMMU_DIRTY_PAGES && p.behavior.has_dirty_tracking) return DirtyPages(arg);
  if (p.pasid_request_ioctl != 0 && cmd == p.pasid_request_ioctl) return PasidRequest(arg);
  if (p.bind_ioctl != 0 && cmd == p.bind_ioctl) return Bind(arg);
  if (p.cache_invalidate_ioctl != 0 && cmd == p.cache_invalidate_ioctl) return CacheInvalidate(arg);
  return Error(ENOTTY);
}

Result<long> ContainerFile::GetInfo(uintptr_t arg) {
  vfio_iommu_type1_info info;
  VFIOSIM_RETURN_IF_ERROR(CopyInMinsz(&info, arg, kInfoMinsz));
  if (info.argsz < kInfoMinsz) return Error(EINVAL);
  const size_t write_back = std::min<size_t>(info.argsz, sizeof(info));
  core::Type1Info data;
  bool nesting = false;
  VFIOSIM_RETURN_IF_ERROR(container_->WithIommu([&](core::Type1Iommu& iommu) {
    data = iommu.Info();
    nesting = iommu.nesting();
    return Status::Ok();
  }));
  info.flags = VFIO_IOMMU_INFO_PGSIZES;
  info.iova_pgsizes = data.pgsize_bitmap;
  info.cap_offset = 0;
  CapChain caps = BuildIommuCaps(*ctx_.profile, data, nesting);
  if (!caps.empty()) {
    info.flags |= VFIO_IOMMU_INFO_CAPS;
    if (info.argsz < sizeof(info) + caps.size()) {
      info.argsz = static_cast<uint32_t>(sizeof(info) + caps.size());
    } else {
      caps.Shift(sizeof(info));
      VFIOSIM_RETURN_IF_ERROR(CopyOut(arg, caps.data(), caps.size(), sizeof(info)));
      info.cap_offset = sizeof(info);
    }
  }
  VFIOSIM_RETURN_IF_ERROR(CopyOut(arg, &info, write_back));
  return 0L;
}

Result<long> ContainerFile::MapDma(uintptr_t arg) {
  vfio_iommu_type1_dma_map map;
  VFIOSIM_RETURN_IF_ERROR(CopyInMinsz(&map, arg, kMapMinsz));
  const Profile& p = *ctx_.profile;
  if (map.argsz < kMapMinsz || (map.flags & ~p.map_flags_mask)) return Error(EINVAL);
  core::MapRequest req;
  req.read = map.flags & VFIO_DMA_MAP_FLAG_READ;
  req.write = map.flags & VFIO_DMA_MAP_FLAG_WRITE;
  // Bit 2 is VADDR upstream and RESERVED_MSI_IOVA in seed 000.
  const bool bit2 = map.flags & VFIO_DMA_MAP_FLAG_VADDR;
  req.update_vaddr = bit2 && !p.behavior.msi_reserved_map_flag;
  req.msi_reserved = bit2 && p.behavior.msi_reserved_map_flag;
  req.vaddr = map.vaddr;
  req.iova = map.iova;
  req.size = map.size;
  return FromStatus(container_->WithIommu([&](core::Type1Iommu& iommu) { return iommu.Map(req); }));
}

Result<long> ContainerFile::UnmapDma(uintptr_t arg) {
  vfio_iommu_type1_dma_unmap unmap;
  VFIOSIM_RETURN_IF_ERROR(CopyInMinsz(&unmap, arg, kUnmapMinsz));
  const Profile& p = *ctx_.profile;
  if (unmap.argsz < kUnmapMinsz || (unmap.flags & ~p.unmap_flags_mask)) return Error(EINVAL);
  const bool dirty = unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
  if (dirty && (unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR))) {
    return Error(EINVAL);
  }
  core::UnmapRequest req;
  req.iova = unmap.iova;
  req.size = unmap.size;
  req.all = unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL;
  req.invalidate_vaddr = unmap.flags & VFIO_DMA_UNMAP_FLAG_VADDR;
  if (dirty) {
    if (unmap.argsz < kBitmapArgsz) return Error(EINVAL);
    vfio_bitmap bitmap;
    VFIOSIM_RETURN_IF_ERROR(
        core::CopyFromUser(&bitmap, static_cast<uint8_t*>(UserPtr(arg)) + sizeof(unmap), sizeof(bitmap)));
    if (!core::UserRangeOk(reinterpret_cast<uint64_t>(bitmap.data), bitmap.size)) return Error(EINVAL);
    const int pgshift = bitmap.pgsize == 0 ? 64 : std::countr_zero(bitmap.pgsize);
    VFIOSIM_RETURN_IF_ERROR(
        core::VerifyBitmapSize(pgshift >= 64 ? 0 : unmap.size >> pgshift, bitmap.size));
    req.bitmap = core::UserBitmap{bitmap.pgsize, bitmap.size, reinterpret_cast<uint64_t>(bitmap.data)};
  }
  Result<uint64_t> unmapped =
      container_->WithIommu([&](core::Type1Iommu& iommu) { return iommu.Unmap(req); });
  if (!unmapped.ok()) return unmapped.status();
  // The size goes back to the user only on success.
  unmap.size = *unmapped;
  VFIOSIM_RETURN_IF_ERROR(CopyOut(arg, &unmap, kUnmapMinsz));
  return 0L;
}

Result<long> ContainerFile::DirtyPages(uintptr_t arg) {
  // A v1 container refuses before looking at the argument.
  bool v2 = false;
  VFIOSIM_RETURN_IF_ERROR(container_->WithIommu([&](core::Type1Iommu& iommu) {
    v2 = iommu.v2();
    return Status::Ok();
  }));
  if (!v2) return Error(EACCES);
  vfio_iommu_type1_dirty_bitmap dirty;
  VFIOSIM_RETURN_IF_ERROR(CopyInMinsz(&dirty, arg, kDirtyMinsz));
  constexpr uint32_t kMask = VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
                             VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
  if (dirty.argsz < kDirtyMinsz || (dirty.flags & ~kMask)) return Error(EINVAL);
  if (std::popcount(dirty.flags) != 1) return Error(EINVAL);
  if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
    return FromStatus(container_->WithIommu([](core::Type1Iommu& iommu) { return iommu.DirtyStart(); }));
  }
  if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
    return FromStatus(container_->WithIommu([](core::Type1Iommu& iommu) { return iommu.DirtyStop(); }));
  }
  if (dirty.argsz < kGetBitmapArgsz) return Error(EINVAL);
  vfio_iommu_type1_dirty_bitmap_get range;
  VFIOSIM_RETURN_IF_ERROR(core::CopyFromUser(
      &range, static_cast<uint8_t*>(UserPtr(arg)) + sizeof(dirty), sizeof(range)));
  const core::KernelBehavior& b = ctx_.profile->behavior;
  if (b.overflow_checked_first) {
    if (range.size == 0) return Error(EINVAL);
    if (!core::IovaRange::FromStartSize(range.iova, range.size)) return Error(b.overflow_errno);
  } else {
    uint64_t end = 0;  // classic: a range reaching 2^64 exactly is refused too
    if (__builtin_add_overflow(range.iova, range.size, &end)) return Error(EINVAL);
  }
  core::DirtyBitmapRequest req;
  req.iova = range.iova;
  req.size = range.size;
  req.bitmap = core::UserBitmap{range.bitmap.pgsize, range.bitmap.size,
                                reinterpret_cast<uint64_t>(range.bitmap.data)};
  return FromStatus(
      container_->WithIommu([&](core::Type1Iommu& iommu) { return iommu.DirtyGetBitmap(req); }));
}

}  // namespace vfiosim::api
