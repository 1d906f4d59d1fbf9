#include "core/nested_domain.h"

#include <algorithm>

#include "core/first_level_table.h"
#include "core/user_memory.h"

namespace vfiosim::core {
namespace {

constexpr Pasid kPasidLimit = Pasid{1} << kPasidSpaceBits;

// Stage 2 for the first-level walker: gpa -> client address through the
// MAP_DMA mappings, then a fault-safe 8-byte read of client memory.
class Stage2Fetch : public Stage2Reader {
 public:
  explicit Stage2Fetch(const IoPageTable& stage2) : stage2_(stage2) {}
  bool ReadEntry(uint64_t gpa, uint64_t* value, uint32_t* mem_refs, FaultReason* reason) override {
    WalkResult walk = stage2_.Translate(gpa, kProtRead);
    *mem_refs += walk.mem_refs;
    if (!walk.ok) {
      *reason = walk.fault;
      return false;
    }
    if (!CopyFromUser(value, reinterpret_cast<const void*>(ToU64(walk.translation.Output(gpa))),
                      sizeof(*value))
             .ok()) {
      *reason = FaultReason::kWalkEabt;
      return false;
    }
    return true;
  }

 private:
  const IoPageTable& stage2_;
};

DmaTranslation Fault(FaultReason reason, Pasid pasid, uint64_t iova, uint8_t access, uint32_t refs,
                     uint64_t fetch_addr = 0, bool fetch_valid = false) {
  DmaTranslation t;
  t.ok = false;
  t.mem_refs = refs;
  t.fault.reason = reason;
  t.fault.pasid_valid = true;
  t.fault.pasid = pasid;
  t.fault.addr_valid = true;
  t.fault.addr = iova & ~uint64_t{0xFFF};
  t.fault.perm = access;
  t.fault.fetch_addr_valid = fetch_valid;
  t.fault.fetch_addr = fetch_addr;
  return t;
}

}  // namespace

Status NestedDomain::Bind(Pasid pasid, const GuestBinding& binding, Iotlb& iotlb) {
  if (bindings_.count(pasid) != 0) return Error(EBUSY);
  bindings_[pasid] = binding;
  // Writing a PASID entry is followed by a PASID-cache flush in the host driver.
  pasid_cache_.erase(pasid);
  iotlb.InvalidatePasid(domain_id_, pasid);
  return Status::Ok();
}

Status NestedDomain::Unbind(Pasid pasid, Iotlb& iotlb) {
  if (bindings_.erase(pasid) == 0) return Error(EINVAL);
  pasid_cache_.erase(pasid);
  iotlb.InvalidatePasid(domain_id_, pasid);
  return Status::Ok();
}

void NestedDomain::Invalidate(const CacheInvalidation& inv, Iotlb& iotlb) {
  switch (inv.granularity) {
    case InvalidateGranularity::kDomain:
      if (inv.iotlb) {
        for (const auto& [pasid, b] : bindings_) iotlb.InvalidatePasid(domain_id_, pasid);
      }
      if (inv.pasid_cache) pasid_cache_.clear();
      break;
    case InvalidateGranularity::kPasid:
      if (inv.iotlb) iotlb.InvalidatePasid(domain_id_, inv.pasid);
      if (inv.pasid_cache) pasid_cache_.erase(inv.pasid);
      break;
    case InvalidateGranularity::kAddr:
      if (!inv.iotlb) break;  // a device TLB (ATS) is not modelled
      if (inv.pasid_valid) {
        iotlb.InvalidatePasidRange(domain_id_, inv.pasid, inv.addr, inv.size);
      } else {
        for (const auto& [pasid, b] : bindings_) {
          iotlb.InvalidatePasidRange(domain_id_, pasid, inv.addr, inv.size);
        }
      }
      break;
  }
}

void NestedDomain::Stage2Changed(Iotlb& iotlb) {
  for (const auto& [pasid, b] : bindings_) iotlb.InvalidatePasid(domain_id_, pasid);
}

DmaTranslation NestedDomain::Translate(Pasid pasid, uint64_t iova, uint8_t access,
                                       const IoPageTable& stage2, Iotlb& iotlb) {
  if (pasid >= kPasidLimit) return Fault(FaultReason::kPasidInvalid, pasid, iova, access, 0);
  if (const Translation* hit = iotlb.Lookup(domain_id_, pasid, iova, access)) {
    DmaTranslation t;
    t.ok = true;
    t.translation = *hit;
    return t;
  }
  const GuestBinding* binding = nullptr;
  if (auto cached = pasid_cache_.find(pasid); cached != pasid_cache_.end()) {
    ++stats_.pasid_cache_hits;
    binding = &cached->second;
  } else {
    ++stats_.pasid_cache_misses;
    auto bound = bindings_.find(pasid);
    if (bound == bindings_.end()) return Fault(FaultReason::kBadPasidEntry, pasid, iova, access, 0);
    binding = &pasid_cache_.emplace(pasid, bound->second).first->second;
  }

  Stage2Fetch reader(stage2);
  FirstLevelResult fl = WalkFirstLevel(binding->gpgd, binding->addr_width, iova, access, reader);
  if (!fl.ok) {
    bool fetch = fl.fault == FaultReason::kWalkEabt || fl.fault == FaultReason::kPteFetch;
    return Fault(fl.fault, pasid, iova, access, fl.mem_refs, fl.fetch_addr, fetch);
  }
  const uint64_t gpa = fl.gpa_base + (iova - fl.gva_base);
  WalkResult s2 = stage2.Translate(gpa, access);
  const uint32_t refs = fl.mem_refs + s2.mem_refs;
  if (!s2.ok) return Fault(s2.fault, pasid, iova, access, refs, gpa, true);

  // The cached unit is the smaller of the two leaves, aligned in both spaces.
  const uint64_t leaf = std::min(fl.leaf_size, s2.translation.leaf_size);
  DmaTranslation t;
  t.ok = true;
  t.mem_refs = refs;
  t.translation.iova_base = iova & ~(leaf - 1);
  t.translation.leaf_size = leaf;
  t.translation.prot = static_cast<uint8_t>(fl.prot & s2.translation.prot);
  t.translation.output_base = HostVa{ToU64(s2.translation.Output(gpa)) - (iova - t.translation.iova_base)};
  iotlb.Insert(domain_id_, pasid, t.translation);
  return t;
}

}  // namespace vfiosim::core
