// NestedDomain: the first stage of a two-stage (nesting) type1 container.
//
// Guest page tables are bound per PASID (seed 001 VFIO_IOMMU_BIND); a DMA
// tagged with a bound PASID walks the guest's x86-64 first-level table,
// whose root and table pointers are guest-physical addresses translated
// through the container's second stage (the MAP_DMA mappings), and the final
// guest-physical address goes through stage 2 as well. Like VT-d in caching
// mode, results are cached (PASID-entry cache, IOTLB tagged by PASID) until
// the guest's CACHE_INVALIDATE; bind/unbind and stage-2 changes flush on
// their own.
//
// Thread safety: none; the owning container's mutex guards every call.
#ifndef VFIOSIM_CORE_NESTED_DOMAIN_H_
#define VFIOSIM_CORE_NESTED_DOMAIN_H_

#include <cstdint>
#include <map>
#include <unordered_map>

#include "core/fault.h"
#include "core/iotlb.h"
#include "core/page_table.h"
#include "core/status.h"
#include "core/types.h"

namespace vfiosim::core {

// What a bind installs in the (host-owned) PASID entry.
struct GuestBinding {
  uint64_t gpgd = 0;        // guest-physical root of the first-level table
  int addr_width = 48;      // 48 (4 levels) or 57 (5 levels)
  uint64_t gpasid = 0;      // guest's PASID, when gpasid_valid
  bool gpasid_valid = false;
  uint64_t vendor_flags = 0;  // IOMMU_SVA_VTD_GPASID_* bits
};

enum class InvalidateGranularity { kDomain = 0, kPasid = 1, kAddr = 2 };

// A decoded, validated iommu_cache_invalidate_info.
struct CacheInvalidation {
  bool iotlb = false;
  bool dev_iotlb = false;
  bool pasid_cache = false;
  InvalidateGranularity granularity = InvalidateGranularity::kDomain;
  bool pasid_valid = false;
  Pasid pasid = 0;
  uint64_t addr = 0;
  uint64_t size = 0;  // granule_size * nb_granules (ADDR granularity)
  bool leaf = false;
};

// A translated DMA access, or the fault a device would see.
struct DmaTranslation {
  bool ok = false;
  Translation translation;  // input page base, host output, leaf size, prot
  FaultRecord fault;
  uint32_t mem_refs = 0;    // memory references of the walk (0 on a cache hit)
};

struct NestedStats {
  uint64_t pasid_cache_hits = 0;
  uint64_t pasid_cache_misses = 0;
};

class NestedDomain {
 public:
  explicit NestedDomain(uint32_t domain_id) : domain_id_(domain_id) {}

  // EBUSY when `pasid` is already bound in this domain.
  Status Bind(Pasid pasid, const GuestBinding& binding, Iotlb& iotlb);
  // EINVAL when `pasid` is not bound. Flushes the PASID's cached state.
  Status Unbind(Pasid pasid, Iotlb& iotlb);
  bool IsBound(Pasid pasid) const { return bindings_.count(pasid) != 0; }
  size_t bound_count() const { return bindings_.size(); }
  void Invalidate(const CacheInvalidation& inv, Iotlb& iotlb);
  // Stage-2 changed: cached nested results may depend on it (a guest table or
  // a final page); drop them all.
  void Stage2Changed(Iotlb& iotlb);

  // The 2D walk for a DMA with `pasid` at guest virtual address `iova`.
  DmaTranslation Translate(Pasid pasid, uint64_t iova, uint8_t access, const IoPageTable& stage2,
                           Iotlb& iotlb);

  const NestedStats& stats() const { return stats_; }
  template <typename F>
  void ForEachBinding(F f) const {
    for (const auto& [pasid, b] : bindings_) f(pasid, b);
  }

 private:
  const uint32_t domain_id_;
  std::map<Pasid, GuestBinding> bindings_;
  std::unordered_map<Pasid, GuestBinding> pasid_cache_;
  NestedStats stats_;
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_NESTED_DOMAIN_H_
