// DmaMapping: one successful MAP_DMA, exactly as the kernel's struct vfio_dma.
//
// Entries are never merged or split: DMA_AVAIL counts them and v2 unmap
// refuses to bisect them. The record embeds its own tree hook (no separate
// node allocation) and is 56 bytes; records come from a free-list pool.
#ifndef VFIOSIM_CORE_DMA_MAPPING_H_
#define VFIOSIM_CORE_DMA_MAPPING_H_

#include <boost/intrusive/set.hpp>
#include <cstdint>
#include <memory>

#include "core/range.h"
#include "core/types.h"

namespace vfiosim::core {

using MappingHook = boost::intrusive::set_base_hook<boost::intrusive::optimize_size<true>,
                                                     boost::intrusive::link_mode<boost::intrusive::normal_link>>;

struct DmaMapping : public MappingHook {
  // The entry's dirty bitmap while tracking is on (vfio_dma->bitmap): created
  // on first use, owned, freed with the entry or when tracking stops.
  std::unique_ptr<uint64_t[]> dirty_bitmap;
  uint64_t iova = 0;
  uint64_t size = 0;  // bytes, a multiple of the minimum page size, never 0
  HostVa vaddr{};
  uint8_t prot = 0;           // kProtRead | kProtWrite
  bool vaddr_invalid = false; // after UNMAP with VFIO_DMA_UNMAP_FLAG_VADDR
  bool msi_reserved = false;  // seed 000: a registered MSI window (no backing, not unmappable)

  uint64_t last() const { return iova + size - 1; }
  IovaRange range() const { return {iova, last()}; }
};

struct DmaMappingByIova {
  using type = uint64_t;
  type operator()(const DmaMapping& m) const { return m.iova; }
};

using DmaMappingTree =
    boost::intrusive::set<DmaMapping, boost::intrusive::key_of_value<DmaMappingByIova>,
                          boost::intrusive::constant_time_size<true>>;

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_DMA_MAPPING_H_
