#include "core/invariants.h"

#include <cstdio>
#include <set>
#include <string>

namespace vfiosim::core {
namespace {

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

void CheckTranslates(const Type1Iommu& iommu, const DmaMapping& m, uint64_t iova,
                     std::vector<std::string>* out) {
  WalkResult walk = iommu.page_table().Translate(iova, m.prot);
  if (!walk.ok) {
    out->push_back("mapping at " + Hex(m.iova) + ": iova " + Hex(iova) + " does not translate (" +
                   FaultReasonName(walk.fault) + ")");
    return;
  }
  uint64_t want = ToU64(m.vaddr) + (iova - m.iova);
  if (ToU64(walk.translation.Output(iova)) != want) {
    out->push_back("iova " + Hex(iova) + " translates to " + Hex(ToU64(walk.translation.Output(iova))) +
                   ", mapping says " + Hex(want));
  }
  if ((walk.translation.prot & m.prot) != m.prot) {
    out->push_back("iova " + Hex(iova) + " lost permissions");
  }
}

}  // namespace

std::vector<std::string> CheckType1Invariants(const Type1Iommu& iommu, uint32_t dma_entry_limit) {
  std::vector<std::string> out;
  const IovaSpace& space = iommu.space();
  const uint64_t page = iommu.min_page();
  uint64_t prev_last = 0;
  bool first = true;
  uint32_t invalid = 0;
  size_t count = 0;
  space.ForEach([&](const DmaMapping& m) {
    ++count;
    if (m.size == 0 || (m.size & (page - 1)) || (m.iova & (page - 1))) {
      out.push_back("mapping at " + Hex(m.iova) + " is empty or unaligned");
      return;
    }
    if (!first && m.iova <= prev_last) out.push_back("mapping at " + Hex(m.iova) + " overlaps its predecessor");
    first = false;
    prev_last = m.last();
    if (!space.InIovaList(m.range())) out.push_back("mapping at " + Hex(m.iova) + " is outside the IOVA list");
    if (m.vaddr_invalid) ++invalid;
    if (m.msi_reserved) {
      if (iommu.page_table().Translate(m.iova, kProtRead).ok) {
        out.push_back("reserved MSI window at " + Hex(m.iova) + " is mapped in the IO page table");
      }
      return;
    }
    CheckTranslates(iommu, m, m.iova, &out);
    CheckTranslates(iommu, m, m.iova + (m.size / page / 2) * page, &out);
    CheckTranslates(iommu, m, m.last() & ~(page - 1), &out);
  });
  if (count + iommu.dma_avail() != dma_entry_limit) {
    out.push_back("dma_avail " + std::to_string(iommu.dma_avail()) + " + " + std::to_string(count) +
                  " live entries != limit " + std::to_string(dma_entry_limit));
  }
  if (invalid != iommu.vaddr_invalid_count()) out.push_back("vaddr_invalid_count disagrees with the entries");
  if (count == 0 && iommu.page_table().table_count() != 1) {
    out.push_back("no mappings but " + std::to_string(iommu.page_table().table_count()) + " page tables");
  }
  // Unmapped neighbours of every mapping must not translate (no stray leaf).
  space.ForEach([&](const DmaMapping& m) {
    for (uint64_t probe : {m.iova - page, m.iova + m.size}) {
      if (m.iova == 0 && probe == m.iova - page) continue;
      if (space.Find(probe) != nullptr) continue;
      if (iommu.page_table().Translate(probe, kProtRead).ok) {
        out.push_back("unmapped iova " + Hex(probe) + " translates");
      }
    }
  });
  iommu.iotlb().ForEach([&](uint32_t domain, Pasid pasid, const Translation& t) {
    if (domain != iommu.domain_id()) out.push_back("IOTLB entry of a foreign domain");
    if (pasid != kNoPasid) return;  // nested entries may be stale until the guest invalidates
    WalkResult walk = iommu.page_table().Translate(t.iova_base, t.prot);
    if (!walk.ok || walk.translation.output_base != t.output_base || walk.translation.leaf_size != t.leaf_size) {
      out.push_back("stale IOTLB entry for iova " + Hex(t.iova_base));
    }
  });
  return out;
}

std::vector<std::string> CheckKernelInvariants(Kernel& kernel) {
  std::vector<std::string> out;
  std::set<Container*> containers;
  for (GroupId id : kernel.GroupIds()) {
    std::shared_ptr<Container> c = kernel.GroupContainer(id);
    uint32_t users = kernel.ContainerUsers(id);
    if (c && users == 0) out.push_back("group " + std::to_string(id) + " attached with no users");
    if (!c && users != 0) out.push_back("group " + std::to_string(id) + " has users but no container");
    if (c) containers.insert(c.get());
  }
  uint64_t locked = 0;
  for (Container* c : containers) {
    MutexLock lock(c->mu());
    if (Type1Iommu* iommu = c->iommu()) {
      for (std::string& v : CheckType1Invariants(*iommu, kernel.machine().dma_entry_limit)) {
        out.push_back("container " + std::to_string(c->id()) + ": " + v);
      }
      iommu->space().ForEach([&](const DmaMapping& m) {
        if (!m.msi_reserved) locked += m.size;
      });
    }
  }
  if (locked != kernel.memlock().locked.load()) {
    out.push_back("locked memory " + std::to_string(kernel.memlock().locked.load()) + " != mapped bytes " +
                  std::to_string(locked));
  }
  return out;
}

}  // namespace vfiosim::core
