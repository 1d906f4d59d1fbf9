// The capabilities VFIO_DEVICE_GET_REGION_INFO can chain after struct
// vfio_region_info (seed 002 introduced the chain, v4.6; MSIX_MAPPABLE came
// with v4.16):
//   - SPARSE_MMAP (id 1, version 1): the mmappable areas of a region. vfio-pci
//     v4.6..v4.15 listed the areas of the MSI-X BAR around the page-aligned
//     table (the table pages could not be mapped).
//   - TYPE (id 2, version 1): type/subtype of a device-specific region
//     (index >= 9).
//   - MSIX_MAPPABLE (id 3, version 1, header only): since v4.16 the MSI-X
//     BAR is mappable as a whole; the cap tells userspace it may map the
//     table pages too. This is what linux-6.1 reports, so every vfio-sim
//     profile uses it; the sparse form is kept for a pre-4.16 answer and
//     pinned by tests.
// Thread safety: pure functions.
#ifndef VFIOSIM_API_REGION_CAPS_H_
#define VFIOSIM_API_REGION_CAPS_H_

#include <linux/vfio.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "api/cap_chain.h"

namespace vfiosim::api {

inline void AddMsixMappableCap(CapChain* caps) {
  vfio_info_cap_header header{};
  header.id = VFIO_REGION_INFO_CAP_MSIX_MAPPABLE;
  header.version = 1;
  caps->Add(header);
}

inline void AddRegionTypeCap(CapChain* caps, uint32_t type, uint32_t subtype) {
  vfio_region_info_cap_type cap{};
  cap.header.id = VFIO_REGION_INFO_CAP_TYPE;
  cap.header.version = 1;
  cap.type = type;
  cap.subtype = subtype;
  caps->Add(cap);
}

// The areas of a BAR of `bar_size` bytes outside the pages holding the MSI-X
// table [table_offset, table_offset + table_bytes): up to two, empty ones
// left out, as v4.6..v4.15 reported them.
inline std::vector<vfio_region_sparse_mmap_area> MsixSparseAreas(uint64_t bar_size, uint64_t table_offset,
                                                                 uint64_t table_bytes, uint64_t page_size) {
  std::vector<vfio_region_sparse_mmap_area> areas;
  const uint64_t table_start = table_offset & ~(page_size - 1);
  const uint64_t table_end = (table_offset + table_bytes + page_size - 1) & ~(page_size - 1);
  if (table_start > 0) areas.push_back({0, table_start});
  if (table_end < bar_size) areas.push_back({table_end, bar_size - table_end});
  return areas;
}

inline void AddSparseMmapCap(CapChain* caps, const std::vector<vfio_region_sparse_mmap_area>& areas) {
  vfio_region_info_cap_sparse_mmap head{};
  head.header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
  head.header.version = 1;
  head.nr_areas = static_cast<uint32_t>(areas.size());
  std::vector<uint8_t> bytes(sizeof(head) + areas.size() * sizeof(vfio_region_sparse_mmap_area));
  std::memcpy(bytes.data(), &head, sizeof(head));
  if (!areas.empty()) {
    std::memcpy(bytes.data() + sizeof(head), areas.data(), areas.size() * sizeof(areas[0]));
  }
  caps->AddBytes(bytes.data(), bytes.size());
}

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_REGION_CAPS_H_
