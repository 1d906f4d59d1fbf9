// IovaSpace: the DMA mappings of one container and its IOVA list.
//
// Mappings: an intrusive ordered tree keyed by IOVA start (O(log n) first-
// overlap lookup, no per-page bookkeeping), records from a free-list pool.
// IOVA list: the valid IOVA ranges (aperture minus reserved regions), a
// Boost.ICL interval set of closed intervals; ICL never owns mappings.
//
// Invariant: mappings never overlap. Not thread-safe: the owning container's
// mutex guards it.
#ifndef VFIOSIM_CORE_IOVA_SPACE_H_
#define VFIOSIM_CORE_IOVA_SPACE_H_

#include <boost/icl/closed_interval.hpp>
#include <boost/icl/interval_set.hpp>
#include <cstddef>
#include <memory>
#include <vector>

#include "core/dma_mapping.h"
#include "core/range.h"
#include "core/status.h"

namespace vfiosim::core {

using IovaInterval = boost::icl::closed_interval<uint64_t, std::less>;
using IovaSet = boost::icl::interval_set<uint64_t, std::less, IovaInterval>;

class IovaSpace {
 public:
  IovaSpace() = default;
  ~IovaSpace();
  IovaSpace(const IovaSpace&) = delete;
  IovaSpace& operator=(const IovaSpace&) = delete;

  // ---- mappings ----
  // Lowest-addressed mapping overlapping `range`, or nullptr.
  DmaMapping* FirstOverlap(const IovaRange& range);
  const DmaMapping* FirstOverlap(const IovaRange& range) const {
    return const_cast<IovaSpace*>(this)->FirstOverlap(range);
  }
  // Mapping containing `iova`, or nullptr.
  DmaMapping* Find(uint64_t iova);
  const DmaMapping* Find(uint64_t iova) const { return const_cast<IovaSpace*>(this)->Find(iova); }
  // The mapping after `m` in address order, or nullptr.
  DmaMapping* Next(DmaMapping* m);
  DmaMapping* First();
  // The mapping with the greatest start <= `iova`, or nullptr.
  DmaMapping* LastStartingAtOrBefore(uint64_t iova);
  // Overlap check and insertion in one tree walk: EEXIST when `proto`
  // overlaps a mapping, ENOMEM via fail-nth, else the inserted record.
  Result<DmaMapping*> InsertIfFree(const DmaMapping& proto);
  void Erase(DmaMapping* m);
  void Clear();
  size_t mapping_count() const { return tree_.size(); }
  template <typename F>
  void ForEach(F f) const {
    for (const DmaMapping& m : tree_) f(m);
  }
  template <typename F>
  void ForEachMutable(F f) {
    for (DmaMapping& m : tree_) f(m);
  }
  // Bytes of bookkeeping per live mapping (record + pool slot), for reports.
  static constexpr size_t kBytesPerMapping = sizeof(DmaMapping);

  // ---- IOVA list ----
  void SetIovaList(IovaSet list) { iova_list_ = std::move(list); }
  const IovaSet& iova_list() const { return iova_list_; }
  // True when `range` lies inside one range of the IOVA list.
  bool InIovaList(const IovaRange& range) const;
  std::vector<IovaRange> IovaRanges() const;

 private:
  DmaMapping* AllocateRecord();
  void FreeRecord(DmaMapping* m);

  DmaMappingTree tree_;
  std::vector<std::unique_ptr<DmaMapping[]>> chunks_;
  std::vector<DmaMapping*> free_;
  IovaSet iova_list_;
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_IOVA_SPACE_H_
