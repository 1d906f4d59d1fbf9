// Builders for seed 001's request structs, shared by the vSVA tests:
// vfio_iommu_type1_bind is a header followed by its iommu_gpasid_bind_data
// payload, and the invalidation request has one layout per granularity.
#ifndef VFIOSIM_TESTS_UTIL_VSVA_REQUESTS_H_
#define VFIOSIM_TESTS_UTIL_VSVA_REQUESTS_H_

#include <linux/vfio.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "api/uapi/iommu_vsva_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"

namespace vfiosim::testing {

// A valid VT-d bind payload for `hpasid` with guest tables at `gpgd`.
inline iommu_gpasid_bind_data BindData(uint64_t hpasid, uint64_t gpgd, uint32_t addr_width = 48) {
  iommu_gpasid_bind_data data{};
  data.version = IOMMU_UAPI_VERSION;
  data.format = IOMMU_PASID_FORMAT_INTEL_VTD;
  data.gpgd = gpgd;
  data.hpasid = hpasid;
  data.addr_width = addr_width;
  return data;
}

// The bytes of a VFIO_IOMMU_BIND argument: {argsz, flags} then the payload.
using BindRequest = std::array<uint8_t, 128>;
inline BindRequest MakeBind(uint32_t flags, const iommu_gpasid_bind_data& data,
                            uint32_t argsz = sizeof(vfio_iommu_type1_bind) + sizeof(iommu_gpasid_bind_data)) {
  alignas(8) BindRequest arg{};
  vfio_iommu_type1_bind header{};
  header.argsz = argsz;
  header.flags = flags;
  std::memcpy(arg.data(), &header, sizeof(header));
  std::memcpy(arg.data() + sizeof(header), &data, sizeof(data));
  return arg;
}

// The flag that names a PASID at `granularity` (none for DOMAIN).
inline uint32_t PasidFlagFor(uint8_t granularity) {
  if (granularity == IOMMU_INV_GRANU_ADDR) return IOMMU_INV_ADDR_FLAGS_PASID;
  if (granularity == IOMMU_INV_GRANU_PASID) return IOMMU_INV_PASID_FLAGS_PASID;
  return 0;
}

// A VFIO_IOMMU_CACHE_INVALIDATE request; `id_flags` are the PASID (or ADDR)
// granularity's flags, the range is granule * granules bytes from addr.
inline vfio_iommu_type1_cache_invalidate MakeInvalidation(uint8_t cache, uint8_t granularity, uint32_t id_flags,
                                                         uint64_t pasid, uint64_t addr = 0, uint64_t granule = 0,
                                                         uint64_t granules = 0) {
  vfio_iommu_type1_cache_invalidate inv{};
  inv.argsz = sizeof(inv);
  inv.cache_info.version = IOMMU_UAPI_VERSION;
  inv.cache_info.cache = cache;
  inv.cache_info.granularity = granularity;
  if (granularity == IOMMU_INV_GRANU_PASID) {
    inv.cache_info.pasid_info.flags = id_flags;
    inv.cache_info.pasid_info.pasid = pasid;
  } else if (granularity == IOMMU_INV_GRANU_ADDR) {
    inv.cache_info.addr_info.flags = id_flags;
    inv.cache_info.addr_info.pasid = pasid;
    inv.cache_info.addr_info.addr = addr;
    inv.cache_info.addr_info.granule_size = granule;
    inv.cache_info.addr_info.nb_granules = granules;
  }
  return inv;
}

}  // namespace vfiosim::testing

#endif  // VFIOSIM_TESTS_UTIL_VSVA_REQUESTS_H_
