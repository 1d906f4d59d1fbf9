#include "sim/iommu_dma_port.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/fault_injection.h"
#include "core/user_memory.h"

namespace vfiosim::sim {
namespace {

struct Chunk {
  uint64_t host;
  size_t len;
};

core::FaultRecord Blocked(uint64_t iova, core::Pasid pasid, uint8_t perm) {
  core::FaultRecord f;
  f.reason = core::FaultReason::kPteFetch;  // no domain attached: nothing translates
  f.addr_valid = true;
  f.addr = iova & ~uint64_t{0xFFF};
  f.pasid_valid = pasid != core::kNoPasid;
  f.pasid = pasid == core::kNoPasid ? 0 : pasid;
  f.perm = perm;
  return f;
}

}  // namespace

DmaResult IommuDmaPort::Read(uint64_t iova, void* dst, size_t len, core::Pasid pasid) {
  stats_.reads.fetch_add(1, std::memory_order_relaxed);
  return Access(iova, dst, len, pasid, /*write=*/false);
}

DmaResult IommuDmaPort::Write(uint64_t iova, const void* src, size_t len, core::Pasid pasid) {
  stats_.writes.fetch_add(1, std::memory_order_relaxed);
  return Access(iova, const_cast<void*>(src), len, pasid, /*write=*/true);
}

DmaResult IommuDmaPort::Record(const core::FaultRecord& fault) {
  stats_.faults.fetch_add(1, std::memory_order_relaxed);
  faults_.Push(fault);
  int fd = fault_eventfd_.load();
  if (fd >= 0) {
    uint64_t one = 1;
    if (core::ShouldFail(core::FailSite::kEventfdSignal) || write(fd, &one, sizeof(one)) != sizeof(one)) {
      stats_.signal_failures.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return DmaResult::Fault(fault);
}

std::shared_ptr<core::Container> IommuDmaPort::Container() {
  const uint64_t generation = kernel_->attach_generation();
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (generation != cached_generation_) {
    cached_ = kernel_->GroupContainer(group_);
    cached_generation_ = generation;
  }
  return cached_;
}

DmaResult IommuDmaPort::Access(uint64_t iova, void* buf, size_t len, core::Pasid pasid, bool write) {
  if (len == 0) return DmaResult::Ok();
  const uint8_t perm = write ? core::kProtWrite : core::kProtRead;
  std::shared_ptr<core::Container> container = Container();
  if (!container) return Record(Blocked(iova, pasid, perm));

  core::FaultRecord fault;
  bool faulted = false;
  {
    core::MutexLock lock(container->mu());
    core::Type1Iommu* iommu = container->iommu();
    if (iommu == nullptr) {
      fault = Blocked(iova, pasid, perm);
      faulted = true;
    } else {
      // Translate everything first: a fault must leave memory untouched.
      // Leaves whose outputs are contiguous merge into one copy.
      std::vector<Chunk> chunks;
      uint64_t cur = iova;
      size_t left = len;
      while (left > 0) {
        core::DmaTranslation t = iommu->TranslateDma(pasid, cur, perm);
        if (!t.ok) {
          fault = t.fault;
          faulted = true;
          break;
        }
        const uint64_t in_leaf = t.translation.iova_base + t.translation.leaf_size - cur;
        const size_t step = static_cast<size_t>(std::min<uint64_t>(left, in_leaf));
        const uint64_t host = core::ToU64(t.translation.Output(cur));
        if (!chunks.empty() && chunks.back().host + chunks.back().len == host) {
          chunks.back().len += step;
        } else {
          chunks.push_back({host, step});
        }
        cur += step;
        left -= step;
      }
      if (!faulted) {
        auto* bytes = static_cast<uint8_t*>(buf);
        for (const Chunk& chunk : chunks) {
          void* client = reinterpret_cast<void*>(chunk.host);
          core::Status copied = write ? core::CopyToUser(client, bytes, chunk.len)
                                      : core::CopyFromUser(bytes, client, chunk.len);
          if (!copied.ok()) {
            // The client unmapped memory it had given to MAP_DMA: the kernel
            // would still reach the pinned pages; the simulator reports it.
            fault = Blocked(iova, pasid, perm);
            fault.reason = core::FaultReason::kUnknown;
            faulted = true;
            break;
          }
          bytes += chunk.len;
        }
      }
    }
  }
  if (faulted) return Record(fault);
  stats_.bytes.fetch_add(len, std::memory_order_relaxed);
  return DmaResult::Ok();
}

}  // namespace vfiosim::sim

namespace vfiosim::sim {

core::Result<std::vector<uint64_t>> IommuDmaPort::AllocMsiDoorbells(uint32_t count) {
  std::shared_ptr<core::Container> container = Container();
  if (!container) return std::vector<uint64_t>{};
  core::MutexLock lock(container->mu());
  core::Type1Iommu* iommu = container->iommu();
  if (iommu == nullptr) return std::vector<uint64_t>{};
  return iommu->AllocMsiDoorbells(count);
}

void IommuDmaPort::FreeMsiDoorbells(const std::vector<uint64_t>& doorbells) {
  if (doorbells.empty()) return;
  std::shared_ptr<core::Container> container = Container();
  if (!container) return;
  core::MutexLock lock(container->mu());
  if (core::Type1Iommu* iommu = container->iommu()) iommu->FreeMsiDoorbells(doorbells);
}

}  // namespace vfiosim::sim
