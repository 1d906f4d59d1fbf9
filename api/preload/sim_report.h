// What a running simulator holds, for the preload shim's exit summary and the
// C API: live DMA mappings (per container, reached through the groups attached
// to it), allocated PASIDs, recorded faults and open fds.
//
// Thread safety: each call takes the kernel's and the containers' locks for
// the time of one snapshot; the result is a copy.
#ifndef VFIOSIM_API_PRELOAD_SIM_REPORT_H_
#define VFIOSIM_API_PRELOAD_SIM_REPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "core/types.h"

namespace vfiosim::api {
class VfioSim;
class TestChannel;
}  // namespace vfiosim::api

namespace vfiosim::api::preload {

struct MappingInfo {
  uint32_t container_id = 0;
  uint64_t iova = 0;
  uint64_t size = 0;
  uint64_t vaddr = 0;
  uint8_t prot = 0;  // core::kProtRead | core::kProtWrite
  bool vaddr_invalid = false;
};

// Every mapping of every container that has an IOMMU, in (container, iova) order.
std::vector<MappingInfo> LiveMappings(VfioSim& sim);
// The mappings of the container `group` is attached to (empty without one).
std::vector<MappingInfo> GroupMappings(VfioSim& sim, core::GroupId group);

struct OpenFd {
  int fd = -1;
  std::string what;  // "container 1", "group 1", "device 0000:00:01.0"
};
std::vector<OpenFd> OpenSimFds(VfioSim& sim);

// Faults ever recorded: the DMA ports of `channel` (test-channel DMA) and of
// every device model (its own DMA), whether or not they were read since.
uint64_t FaultsRecorded(VfioSim& sim, TestChannel& channel);

// The multi-line exit summary, each line prefixed with `prefix`.
std::string SummaryText(VfioSim& sim, TestChannel& channel, const std::string& prefix);

}  // namespace vfiosim::api::preload

#endif  // VFIOSIM_API_PRELOAD_SIM_REPORT_H_
