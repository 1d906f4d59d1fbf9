// DmaPort: the only way a simulated device reaches memory.
//
// A device model never sees a page table (like crosvm's MemoryMapper or QEMU's
// IOMMU test device): it asks the port to read or write `len` bytes at an IOVA,
// optionally tagged with a PASID, and gets either the bytes or a fault record.
// The real port (translation through core/ plus a fault-safe copy into client
// memory) lives above sim/; tests use sim/devices/testing/fake_dma_port.h.
//
// Contract for implementations:
//   - len == 0 succeeds without touching memory.
//   - On failure `fault` describes the first page that could not be accessed
//     (reason, IOVA page address, PASID if the request carried one, perm =
//     kProtRead for Read / kProtWrite for Write).
//   - Read failure: the contents of dst are unspecified. Devices that must not
//     change their own state on a fault read into a bounce buffer first.
//   - Write failure: implementations should translate the whole range before
//     copying, so that a fault leaves memory untouched (the fake port and, we
//     expect, the real port do this). Devices do not rely on it beyond
//     documenting what a client sees.
//   - The port reports (records) the fault itself, e.g. into the IOMMU fault
//     queue; the device only decides what its own registers show.
//
// Thread safety: a port may be used by several devices concurrently; each
// device calls it with its own device lock held (lock order: device -> port),
// so a port must never call back into a device.
#ifndef VFIOSIM_SIM_DMA_PORT_H_
#define VFIOSIM_SIM_DMA_PORT_H_

#include <cstddef>
#include <cstdint>

#include "core/fault.h"
#include "core/types.h"

namespace vfiosim::sim {

struct DmaResult {
  bool ok = true;
  core::FaultRecord fault;  // valid only when !ok

  static DmaResult Ok() { return DmaResult{}; }
  static DmaResult Fault(const core::FaultRecord& record) { return DmaResult{false, record}; }
};

class DmaPort {
 public:
  virtual ~DmaPort() = default;
  virtual DmaResult Read(uint64_t iova, void* dst, size_t len,
                         core::Pasid pasid = core::kNoPasid) = 0;
  virtual DmaResult Write(uint64_t iova, const void* src, size_t len,
                          core::Pasid pasid = core::kNoPasid) = 0;
};

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_DMA_PORT_H_
