#include "bench/naive_baseline.h"

#include <iterator>
#include <utility>

namespace vfiosim::bench {

using core::Error;
using core::IovaRange;
using core::Status;

NaiveIommu::NaiveIommu(uint32_t dma_entry_limit, uint64_t page_size,
                       std::vector<IovaRange> iova_list)
    : page_size_(page_size), iova_list_(std::move(iova_list)), dma_avail_(dma_entry_limit) {}

NaiveIommu::MappingMap::iterator NaiveIommu::FirstOverlap(uint64_t start, uint64_t last) {
  auto it = mappings_.upper_bound(start);  // first entry starting after `start`
  if (it != mappings_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second.size - 1 >= start) return prev;
  }
  if (it != mappings_.end() && it->first <= last) return it;
  return mappings_.end();
}

bool NaiveIommu::InIovaList(uint64_t start, uint64_t last) const {
  // The list is short (aperture minus a couple of holes): a linear scan is
  // what a straightforward emulator writes.
  for (const IovaRange& r : iova_list_) {
    if (r.Contains(IovaRange{start, last})) return true;
  }
  return false;
}

Status NaiveIommu::Map(uint64_t iova, uint64_t size, uint64_t vaddr, uint8_t prot) {
  // Same order as Type1Iommu with the classic (pre-6.18) behaviour: prot,
  // alignment, overflow; then overlap, entry limit, IOVA list.
  if (prot == 0) return Error(EINVAL);
  const uint64_t mask = page_size_ - 1;
  if (size == 0 || (size & mask) || (iova & mask) || (vaddr & mask)) return Error(EINVAL);
  std::optional<IovaRange> range = IovaRange::FromStartSize(iova, size);
  uint64_t vlast = 0;
  if (!range.has_value() || __builtin_add_overflow(vaddr, size - 1, &vlast)) return Error(EINVAL);
  if (FirstOverlap(range->start, range->last) != mappings_.end()) return Error(EEXIST);
  if (dma_avail_ == 0) return Error(ENOSPC);
  if (!InIovaList(range->start, range->last)) return Error(EINVAL);

  mappings_.emplace(iova, Entry{size, vaddr, prot});
  for (uint64_t off = 0; off < size; off += page_size_) pages_.emplace(iova + off, vaddr + off);
  locked_bytes_ += size;
  --dma_avail_;
  return Status::Ok();
}

core::Result<uint64_t> NaiveIommu::Unmap(uint64_t iova, uint64_t size) {
  const uint64_t mask = page_size_ - 1;
  if ((iova & mask) || size == 0 || (size & mask)) return Error(EINVAL);
  std::optional<IovaRange> range = IovaRange::FromStartSize(iova, size);
  if (!range.has_value()) return Error(EINVAL);
  // v2: refuse to cut an entry at either end.
  auto head = FirstOverlap(range->start, range->start);
  if (head != mappings_.end() && head->first != range->start) return Error(EINVAL);
  auto tail = FirstOverlap(range->last, range->last);
  if (tail != mappings_.end() && tail->first + tail->second.size - 1 != range->last) {
    return Error(EINVAL);
  }

  uint64_t unmapped = 0;
  auto it = FirstOverlap(range->start, range->last);
  while (it != mappings_.end() && it->first <= range->last) {
    const uint64_t start = it->first;
    const uint64_t bytes = it->second.size;
    for (uint64_t off = 0; off < bytes; off += page_size_) pages_.erase(start + off);
    locked_bytes_ -= bytes;
    ++dma_avail_;
    unmapped += bytes;
    it = mappings_.erase(it);
  }
  return unmapped;
}

std::optional<uint64_t> NaiveIommu::Translate(uint64_t iova) const {
  auto it = pages_.find(iova & ~(page_size_ - 1));
  if (it == pages_.end()) return std::nullopt;
  return it->second + (iova & (page_size_ - 1));
}

}  // namespace vfiosim::bench
