// World: one simulated machine for the fail-nth sweeps and the limit and
// isolation tests, with the uAPI calls they need as one-liners.
//
// Every call helper returns 0 or the errno of the call (never -1), so a
// scenario step is a plain `int(World&)` and a row of a table can say which
// errno it expects. Helpers that take `container` default to the fixture's
// own container (-1). The vSVA helpers speak seed 001 (rfc-vsva-2020
// profile): SetUpNesting() makes container() a nesting container on group 1
// with the guest's RAM mapped at stage 2 and a guest first-level table that
// maps kGva, so a bound PASID can DMA. ArmedScope arms core::FailNth.
//
// Thread safety: single-threaded test bodies only.
#ifndef VFIOSIM_TESTS_FAIL_NTH_WORLD_H_
#define VFIOSIM_TESTS_FAIL_NTH_WORLD_H_

#include <linux/vfio.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "api/test_channel.h"
#include "core/fault_injection.h"
#include "core/first_level_table.h"
#include "tests/util/vfio_fixture.h"

namespace vfiosim::testing {

inline constexpr uint32_t kRw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
inline constexpr uint64_t k4K = 0x1000, k2M = 0x200000, k1G = 0x40000000, k16M = 0x1000000;
// A 1 GiB-aligned client address for kTrust machines (never touched).
inline constexpr uint64_t kTrustVa = 0x100000000000;
inline constexpr int kSecondGroup = 3;               // the dma-test device, own group
inline constexpr uint64_t kGuestRamIova = 0x40000000;  // stage-2 IOVA of the guest's RAM
inline constexpr size_t kGuestRamSize = 64 * k4K;
inline constexpr uint64_t kGuestDataOffset = 32 * k4K;  // the page kGva maps to, filled with 'G'
inline constexpr uint64_t kGva = 0x00007f1234560000;

// No step of any scenario makes more fallible calls than this.
inline constexpr uint64_t kMaxSweep = 512;

// Arms core::FailNth for one scope, so an early return or a failed ASSERT
// never leaves it armed for the next test.
class ArmedScope {
 public:
  ArmedScope(uint64_t n, core::FailSite site) { core::FailNth::Arm(n, site); }
  ~ArmedScope() { core::FailNth::Disarm(); }
  ArmedScope(const ArmedScope&) = delete;
  ArmedScope& operator=(const ArmedScope&) = delete;
};

class World : public VfioFixture {
 public:
  World(const api::Profile* profile, core::MachineConfig machine)
      : VfioFixture(profile, std::move(machine)), channel_(sim()) {}
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  static int Errno(long r) { return r < 0 ? static_cast<int>(-r) : 0; }
  int Call(int fd, unsigned long request, void* arg) {
    return Errno(sim().IoctlErrno(fd, request, reinterpret_cast<uintptr_t>(arg)));
  }
  int CallValue(int fd, unsigned long request, uintptr_t arg) { return Errno(sim().IoctlErrno(fd, request, arg)); }

  // ---- type1
  int MapE(uint64_t iova, uint64_t size, uint64_t vaddr, uint32_t flags = kRw, int container = -1);
  int UnmapE(uint64_t iova, uint64_t size, uint32_t flags = 0, int container = -1);
  int UnmapWithBitmapE(uint64_t iova, uint64_t size);
  int DirtyE(uint32_t flags, uint64_t iova = 0, uint64_t size = 0);
  int SetIommuE(long type, int container = -1) {
    return CallValue(Fd(container), VFIO_SET_IOMMU, static_cast<uintptr_t>(type));
  }
  // GET_INFO; *dma_avail receives the DMA_AVAIL capability when present.
  int GetInfoE(uint32_t* dma_avail = nullptr, int container = -1);

  // ---- groups
  // Open container + group 1, then (optionally) SET_CONTAINER; no SET_IOMMU.
  void OpenBoth(bool attach);
  int SetContainerE(int group, int container = -1);
  int UnsetContainerE(int group) { return CallValue(group, VFIO_GROUP_UNSET_CONTAINER, 0); }
  void OpenSecondGroup();
  // A new container with `group` attached and SET_IOMMU(type); -1 on failure.
  int NewContainer(int group, long type, int* group_fd);

  // Page-aligned client memory owned by the world.
  uint64_t Buffer(size_t size);

  // ---- seed 001 vSVA
  void SetUpNesting();
  // Maps guest RAM at stage 2 of `container` and builds a guest table there.
  void MapGuestRam(int container);
  int PasidAllocE(uint32_t* pasid, int container = -1, uint32_t min = 1, uint32_t max = 1000);
  int PasidFreeE(uint32_t pasid, int container = -1);
  int BindE(uint32_t flags, uint32_t pasid, int container = -1);
  int InvalidateAllE(int container = -1);
  void AllocOnly();
  // Allocates and binds pasid(); a DMA through it fills the nested IOTLB.
  void AllocAndBind();

  // ---- device (edu, group 1)
  void OpenDevice();
  // SET_IRQS with one eventfd (or DATA_NONE when efd < 0) for `index`.
  int SetIrqsE(uint32_t index, uint32_t action, int efd);
  int device() const { return device_; }
  // A non-blocking eventfd owned by the world (closed with it).
  int NewEventfd();

  api::TestChannel& channel() { return channel_; }
  int second_group() const { return second_group_; }
  uint32_t pasid() const { return pasid_; }
  uint64_t guest_root_gpa() const { return guest_->root_gpa(); }

 private:
  int Fd(int container) const { return container < 0 ? container_ : container; }

  api::TestChannel channel_;
  std::vector<std::unique_ptr<DmaBuffer>> buffers_;
  std::vector<__u64> bitmap_ = std::vector<__u64>(1024);
  std::optional<core::GuestPageTableBuilder> guest_;
  int second_group_ = -1;
  int device_ = -1;
  std::vector<int> eventfds_;
  uint32_t pasid_ = 0;
};

}  // namespace vfiosim::testing

#endif  // VFIOSIM_TESTS_FAIL_NTH_WORLD_H_
