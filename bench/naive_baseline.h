// NaiveIommu: the type1 MAP_DMA / UNMAP_DMA bookkeeping the way a
// straightforward emulator writes it, as the yardstick for bench/type1_bench.
//
// What it models: the same decisions as core::Type1Iommu::Map/Unmap for plain
// v2 4K-page requests (argument checks, overlap check with EEXIST, the
// dma_entry_limit with ENOSPC, the valid-IOVA-list check, v2 refusal to bisect
// an entry, memlock accounting), but with the obvious data structures:
//  - a std::map<iova, Entry> of mappings (one heap node per mapping), and
//  - a std::unordered_map<page iova, host address> per-page table, filled page
//    by page on map and erased page by page on unmap, standing in for the IO
//    page table (one heap node per mapped page).
// It deliberately has no IOTLB, no dirty tracking, no VADDR update and no
// fault injection: only what the benchmarked map+unmap pair needs.
//
// Invariant: mappings never overlap; page_table() holds exactly the pages of
// the mappings. Errors are returned as core::Status with the kernel's errno
// and leave the object unchanged, except that std containers may throw
// std::bad_alloc (acceptable in a benchmark yardstick, as for
// core/linear_scan_iova_allocator.h).
//
// Thread safety: none.
#ifndef VFIOSIM_BENCH_NAIVE_BASELINE_H_
#define VFIOSIM_BENCH_NAIVE_BASELINE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/range.h"
#include "core/status.h"

namespace vfiosim::bench {

class NaiveIommu {
 public:
  struct Entry {
    uint64_t size = 0;   // bytes
    uint64_t vaddr = 0;  // host address of the first byte
    uint8_t prot = 0;    // core::kProtRead | core::kProtWrite
  };
  using MappingMap = std::map<uint64_t, Entry>;
  using PageTable = std::unordered_map<uint64_t, uint64_t>;

  // `iova_list`: the valid IOVA ranges (aperture minus reserved regions), as
  // Type1Iommu keeps them after the first group attach.
  NaiveIommu(uint32_t dma_entry_limit, uint64_t page_size, std::vector<core::IovaRange> iova_list);

  // MAP_DMA: EINVAL (no prot, size 0, misaligned, outside the IOVA list,
  // overflow), EEXIST (overlap), ENOSPC (dma_entry_limit reached).
  core::Status Map(uint64_t iova, uint64_t size, uint64_t vaddr, uint8_t prot);
  // UNMAP_DMA (v2, no flags): EINVAL when misaligned, size 0, overflowing or
  // bisecting an entry. Returns the bytes unmapped (0 if nothing was there).
  core::Result<uint64_t> Unmap(uint64_t iova, uint64_t size);
  // The per-page table's answer for a device access, as a device model would ask.
  std::optional<uint64_t> Translate(uint64_t iova) const;

  size_t mapping_count() const { return mappings_.size(); }
  uint32_t dma_avail() const { return dma_avail_; }
  uint64_t locked_bytes() const { return locked_bytes_; }
  const PageTable& page_table() const { return pages_; }

 private:
  // Lowest-addressed mapping overlapping [start, last], or end().
  MappingMap::iterator FirstOverlap(uint64_t start, uint64_t last);
  bool InIovaList(uint64_t start, uint64_t last) const;

  const uint64_t page_size_;
  const std::vector<core::IovaRange> iova_list_;
  uint32_t dma_avail_;
  uint64_t locked_bytes_ = 0;
  MappingMap mappings_;
  PageTable pages_;
};

}  // namespace vfiosim::bench

#endif  // VFIOSIM_BENCH_NAIVE_BASELINE_H_
