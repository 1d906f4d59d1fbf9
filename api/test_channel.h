// TestChannel: the test-only command channel (not Linux uAPI), in the spirit
// of the iommufd selftest's IOMMU_TEST_CMD. It exposes what the uAPI hides:
// DMA requests as a device of a group would issue them, translations, the
// IO page-table entry chain of an IOVA, table memory, IOTLB counters and the
// per-group fault queue.
//
// Thread safety: as VfioSim.
#ifndef VFIOSIM_API_TEST_CHANNEL_H_
#define VFIOSIM_API_TEST_CHANNEL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "api/vfio_sim.h"
#include "core/fault.h"
#include "core/iotlb.h"
#include "core/nested_domain.h"
#include "core/page_table.h"
#include "sim/iommu_dma_port.h"

namespace vfiosim::api {

struct TableStats {
  size_t table_count = 0;
  size_t table_bytes = 0;
};

class TestChannel {
 public:
  explicit TestChannel(VfioSim& sim) : sim_(sim) {}

  // DMA by a device of `group` (through its container's IOMMU).
  sim::DmaResult DmaRead(core::GroupId group, uint64_t iova, void* dst, size_t len,
                         core::Pasid pasid = core::kNoPasid);
  sim::DmaResult DmaWrite(core::GroupId group, uint64_t iova, const void* src, size_t len,
                          core::Pasid pasid = core::kNoPasid);
  // The DMA port (and its fault queue) of `group`: the port of the group's
  // first device, shared with that device's own DMA.
  sim::IommuDmaPort& Port(core::GroupId group);

  // Translation as the device would see it; ENODEV-like failure (nullopt)
  // when the group has no container with an IOMMU.
  std::optional<core::DmaTranslation> Translate(core::GroupId group, uint64_t iova, uint8_t access,
                                                core::Pasid pasid = core::kNoPasid);
  std::vector<core::PteInfo> PteChain(core::GroupId group, uint64_t iova);
  std::optional<TableStats> Tables(core::GroupId group);
  std::optional<core::IotlbStats> Iotlb(core::GroupId group);
  void ResetIotlbStats(core::GroupId group);

 private:
  template <typename F>
  auto WithIommu(core::GroupId group, F f) -> std::optional<decltype(f(std::declval<core::Type1Iommu&>()))>;

  VfioSim& sim_;
  std::mutex mu_;
  std::map<core::GroupId, std::unique_ptr<sim::IommuDmaPort>> ports_;
};

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_TEST_CHANNEL_H_
