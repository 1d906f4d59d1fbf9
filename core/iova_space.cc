#include "core/iova_space.h"

#include "core/fault_injection.h"

namespace vfiosim::core {
namespace {
constexpr size_t kChunk = 1024;
}

IovaSpace::~IovaSpace() { Clear(); }

DmaMapping* IovaSpace::FirstOverlap(const IovaRange& range) {
  auto it = tree_.upper_bound(range.start);  // first mapping starting after range.start
  if (it != tree_.begin()) {
    auto prev = std::prev(it);
    if (prev->last() >= range.start) return &*prev;
  }
  if (it != tree_.end() && it->iova <= range.last) return &*it;
  return nullptr;
}

DmaMapping* IovaSpace::Find(uint64_t iova) { return FirstOverlap(IovaRange{iova, iova}); }

DmaMapping* IovaSpace::Next(DmaMapping* m) {
  auto it = std::next(tree_.iterator_to(*m));
  return it == tree_.end() ? nullptr : &*it;
}

DmaMapping* IovaSpace::First() { return tree_.empty() ? nullptr : &*tree_.begin(); }

DmaMapping* IovaSpace::LastStartingAtOrBefore(uint64_t iova) {
  auto it = tree_.upper_bound(iova);
  return it == tree_.begin() ? nullptr : &*std::prev(it);
}

Result<DmaMapping*> IovaSpace::InsertIfFree(const DmaMapping& proto) {
  const uint64_t last = proto.iova + proto.size - 1;
  auto next = tree_.upper_bound(proto.iova);  // first mapping starting after proto.iova
  if (next != tree_.end() && next->iova <= last) return Error(EEXIST);
  if (next != tree_.begin() && std::prev(next)->last() >= proto.iova) return Error(EEXIST);
  if (ShouldFail(FailSite::kMappingAlloc)) return Error(ENOMEM);
  DmaMapping* m = AllocateRecord();
  m->iova = proto.iova;
  m->size = proto.size;
  m->vaddr = proto.vaddr;
  m->prot = proto.prot;
  m->vaddr_invalid = proto.vaddr_invalid;
  m->msi_reserved = proto.msi_reserved;
  tree_.insert_before(next, *m);
  return m;
}

void IovaSpace::Erase(DmaMapping* m) {
  tree_.erase(tree_.iterator_to(*m));
  FreeRecord(m);
}

void IovaSpace::Clear() {
  tree_.clear_and_dispose([this](DmaMapping* m) { FreeRecord(m); });
}

DmaMapping* IovaSpace::AllocateRecord() {
  if (free_.empty()) {
    chunks_.push_back(std::make_unique<DmaMapping[]>(kChunk));
    DmaMapping* base = chunks_.back().get();
    free_.reserve(free_.size() + kChunk);
    for (size_t i = kChunk; i-- > 0;) free_.push_back(&base[i]);
  }
  DmaMapping* m = free_.back();
  free_.pop_back();
  return m;
}

void IovaSpace::FreeRecord(DmaMapping* m) {
  m->dirty_bitmap.reset();
  free_.push_back(m);
}

bool IovaSpace::InIovaList(const IovaRange& range) const {
  auto it = iova_list_.find(range.start);
  return it != iova_list_.end() && boost::icl::last(*it) >= range.last;
}

std::vector<IovaRange> IovaSpace::IovaRanges() const {
  std::vector<IovaRange> out;
  for (const auto& interval : iova_list_) {
    out.push_back({boost::icl::first(interval), boost::icl::last(interval)});
  }
  return out;
}

}  // namespace vfiosim::core
