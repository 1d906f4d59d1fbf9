#include "api/profile.h"

#include <linux/vfio.h>

#include <array>

#include "api/uapi/vfio_msi_resv_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"

namespace vfiosim::api {
namespace {

constexpr uint32_t kMapRw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
constexpr uint32_t kUnmapAll6x = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_ALL |
                                 VFIO_DMA_UNMAP_FLAG_VADDR;

core::KernelBehavior Linux61() {
  core::KernelBehavior b;
  b.overflow_errno = EINVAL;
  b.non_container_fd_errno = EINVAL;  // EBADFD arrived in 6.2
  return b;
}

core::KernelBehavior Linux618() {
  core::KernelBehavior b;
  b.overflow_errno = EOVERFLOW;
  b.overflow_checked_first = true;
  b.top_of_space_fixed = true;
  b.advertises_nesting_type = false;  // type 6 gone in 6.13
  b.non_container_fd_errno = EBADFD;
  return b;
}

// The 2016 RFCs sat on a ~4.9 kernel: no VADDR, no UNMAP_ALL, no dirty tracking.
core::KernelBehavior Linux2016() {
  core::KernelBehavior b = Linux61();
  b.has_vaddr = false;
  b.has_unmap_all = false;
  b.has_dirty_tracking = false;
  return b;
}

const std::array<Profile, 6>& Table() {
  static const std::array<Profile, 6> table = [] {
    std::array<Profile, 6> t{};
    t[0] = Profile{
        .name = "linux-6.1",
        .summary = "Upstream Linux 6.1 (Debian bookworm): IOVA_RANGE/MIGRATION/DMA_AVAIL caps, "
                   "VADDR and ALL flags, classic EINVAL on overflow",
        .behavior = Linux61(),
        .map_flags_mask = kMapRw | VFIO_DMA_MAP_FLAG_VADDR,
        .unmap_flags_mask = kUnmapAll6x,
        .cap_migration = true,
        .cap_dma_avail = true,
        .cap_iova_range = true,
    };
    t[1] = t[0];
    t[1].name = "linux-6.18";
    t[1].summary = "Linux 6.18: EOVERFLOW for address overflow (checked first), maps up to "
                   "2^64-1, type 6 (nesting) gone, EBADFD for a non-container fd";
    t[1].behavior = Linux618();
    t[2] = Profile{
        .name = "rfc-msi-resv-2016",
        .summary = "Seed 000 (Auger 2016): MSI_RESV cap at id 1, RESERVED_MSI_IOVA map flag at "
                   "bit 2, no VADDR/ALL/dirty tracking",
        .behavior = Linux2016(),
        .map_flags_mask = kMapRw | VFIO_DMA_MAP_FLAG_RESERVED_MSI_IOVA,
        .unmap_flags_mask = 0,
        .cap_msi_resv = true,
    };
    t[2].behavior.msi_reserved_map_flag = true;
    t[3] = Profile{
        .name = "rfc-resv-iova-2016",
        .summary = "Seed 003 (2016 RFC): one RESV_IOVA_RANGE cap per reserved range at id 1, "
                   "no VADDR/ALL/dirty tracking",
        .behavior = Linux2016(),
        .map_flags_mask = kMapRw,
        .unmap_flags_mask = 0,
        .cap_resv_iova_range = true,
    };
    t[4] = t[0];
    t[4].name = "rfc-vsva-2020";
    t[4].summary = "Seed 001 (vSVA RFC v3.1): linux-6.1 plus TYPE1_NESTING containers, NESTING cap "
                   "at id 2 (no MIGRATION), PASID_REQUEST/BIND/CACHE_INVALIDATE at +22/+23/+24";
    t[4].behavior.vsva = true;
    t[4].cap_migration = false;
    t[4].cap_nesting = true;
    t[4].pasid_request_ioctl = VFIO_IOMMU_PASID_REQUEST;
    t[4].bind_ioctl = VFIO_IOMMU_BIND;
    t[4].cache_invalidate_ioctl = VFIO_IOMMU_CACHE_INVALIDATE;
    t[5] = t[4];
    t[5].name = "rfc-vsva-2020-strict";
    t[5].summary = "rfc-vsva-2020 with CACHE_INVALIDATE returning the iommu core's EINVAL for malformed "
                   "data (the RFC's vfio layer swallowed it and returned 0)";
    t[5].behavior.cache_invalidate_swallows_errors = false;
    return t;
  }();
  return table;
}

}  // namespace

std::span<const Profile> AllProfiles() { return Table(); }
const Profile& DefaultProfile() { return Table()[0]; }

const Profile* FindProfile(std::string_view name) {
  for (const Profile& p : Table()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace vfiosim::api
