// Fail-nth fault injection for every fallible step in core/.
//
// Each allocation or other step that can fail in the real kernel calls
// ShouldFail(site) first and, when it answers true, fails with the errno the
// kernel would give (ENOMEM for allocations). Tests arm the injector with
// FailNth::Arm(n): the n-th call of ShouldFail (counting every site, or one
// site) answers true, once. Disarmed, ShouldFail costs one relaxed atomic load.
//
// Thread safety: Arm/Disarm are for single-threaded test set-up; ShouldFail may
// be called from any thread.
#ifndef VFIOSIM_CORE_FAULT_INJECTION_H_
#define VFIOSIM_CORE_FAULT_INJECTION_H_

#include <atomic>
#include <cstdint>

namespace vfiosim::core {

enum class FailSite : uint8_t {
  kAny = 0,           // only valid as the Arm() filter
  kMappingAlloc,      // a DMA mapping record
  kPageTableAlloc,    // one IO page-table page
  kPasidAlloc,        // a PASID record
  kFaultQueue,        // a fault-queue entry
  kEventfdSignal,     // eventfd write
  kDirtyBitmapAlloc,  // per-mapping dirty bitmap
  kIovaAlloc,         // an IOVA allocator node
  kObjectAlloc,       // containers, files and other objects
};

class FailNth {
 public:
  // Fail the n-th (1-based) ShouldFail() call matching `site`.
  static void Arm(uint64_t n, FailSite site = FailSite::kAny);
  static void Disarm();
  // True once the armed call has fired.
  static bool Fired();
  // Number of matching ShouldFail() calls seen since the last Arm().
  static uint64_t Calls();

  static inline std::atomic<bool> armed_{false};
};

bool ShouldFailSlow(FailSite site);

inline bool ShouldFail(FailSite site) {
  if (!FailNth::armed_.load(std::memory_order_relaxed)) [[likely]] return false;
  return ShouldFailSlow(site);
}

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_FAULT_INJECTION_H_
