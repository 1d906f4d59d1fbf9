// Concurrency stress test (issue 9): 8 threads issue ioctls and device DMA
// on one simulated machine for a bounded number of iterations, then the
// model must be consistent and every count must add up.
//
// Layout (rfc-vsva-2020 profile, so one machine has both plain type1v2
// containers and a nesting container):
//   container S  (group 1, type1v2): threads 0-1 map/unmap in disjoint
//                windows, threads 3-4 race in one overlapping window (GET_INFO
//                and DIRTY_PAGES queries in between), thread 5 runs device DMA.
//   container P  (group 4, type1v2): thread 2 maps/unmaps in its own window.
//   container N  (group 3, nesting): thread 6 allocates, binds, DMAs through,
//                unbinds and frees PASIDs while it churns stage 2.
//   group 5:     thread 7 attaches it to S and detaches it again, and builds
//                and tears down whole containers around it.
// Every thread checks each result against what the operation may answer
// (e.g. EEXIST for a racing MAP in the shared window, never anything else)
// and counts what succeeded. At the end CheckKernelInvariants must be empty,
// the disjoint windows must hold exactly what their threads think they hold,
// the overlapping window must hold mapped - unmapped bytes, and the PASID
// allocator must hold allocated - freed PASIDs.
//
// The interleaving is not deterministic (that is the point); each thread's
// own choices are (fixed seeds). Run under --config=tsan to check the lock
// order documented in core/kernel.h and the absence of data races.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/vfio.h>

#include <atomic>
#include <iostream>
#include <latch>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include "api/test_channel.h"
#include "api/uapi/iommu_vsva_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"
#include "core/first_level_table.h"
#include "core/invariants.h"
#include "tests/util/vfio_fixture.h"

namespace vfiosim::testing {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::IsEmpty;

constexpr uint32_t kRw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
constexpr uint64_t k4K = 0x1000;
constexpr int kIterations = 2000;  // per thread: ~0.1 s normal, ~4 s under TSan on 2 cores
constexpr int kSlots = 16;         // disjoint windows: slot i at base + i * kSlotSpan
constexpr uint64_t kSlotSpan = 0x10000;
constexpr uint64_t kOverlapBase = 0x80000000, kOverlapSize = 0x100000;
constexpr uint64_t kPinnedIova = 0x1000;  // mapped before the threads start, never unmapped
constexpr size_t kBufferSize = 1 << 20;   // client memory behind every mapping
constexpr core::GroupId kSharedGroup = 1, kNestGroup = 3, kOtherGroup = 4, kChurnGroup = 5;
constexpr uint64_t kGuestRamIova = 0x40000000;
constexpr size_t kGuestRamSize = 64 * k4K;
constexpr uint64_t kGva = 0x00007f1234560000;

uint64_t WindowBase(int thread) { return 0x10000000ull * (thread + 1); }

class StressTest : public ::testing::Test, public VfioFixture {
 protected:
  StressTest() : VfioFixture(api::FindProfile("rfc-vsva-2020")), buffer_(kBufferSize), ram_(kGuestRamSize),
                 channel_(sim()) {}

  long IoctlE(int fd, unsigned long request, const void* arg) {
    return sim().IoctlErrno(fd, request, reinterpret_cast<uintptr_t>(arg));
  }
  // MAP of [iova, iova+size) backed by the shared buffer; 0 or -errno.
  long MapAt(int container, uint64_t iova, uint64_t size, uint64_t offset) {
    vfio_iommu_type1_dma_map map{};
    map.argsz = sizeof(map);
    map.flags = kRw;
    map.vaddr = buffer_.va(offset);
    map.iova = iova;
    map.size = size;
    return IoctlE(container, VFIO_IOMMU_MAP_DMA, &map);
  }
  // UNMAP; *unmapped receives the written-back size.
  long UnmapAt(int container, uint64_t iova, uint64_t size, uint64_t* unmapped) {
    vfio_iommu_type1_dma_unmap unmap{};
    unmap.argsz = sizeof(unmap);
    unmap.iova = iova;
    unmap.size = size;
    long r = IoctlE(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
    *unmapped = r == 0 ? unmap.size : 0;
    return r;
  }
  long Dirty(int container, uint32_t flags, uint64_t iova, uint64_t size, std::vector<__u64>* bitmap) {
    alignas(8) uint8_t arg[sizeof(vfio_iommu_type1_dirty_bitmap) + sizeof(vfio_iommu_type1_dirty_bitmap_get)] = {};
    vfio_iommu_type1_dirty_bitmap dirty{};
    dirty.argsz = sizeof(arg);
    dirty.flags = flags;
    vfio_iommu_type1_dirty_bitmap_get get{};
    get.iova = iova;
    get.size = size;
    get.bitmap.pgsize = k4K;
    get.bitmap.size = bitmap->size() * sizeof(__u64);
    get.bitmap.data = bitmap->data();
    std::memcpy(arg, &dirty, sizeof(dirty));
    std::memcpy(arg + sizeof(dirty), &get, sizeof(get));
    return IoctlE(container, VFIO_IOMMU_DIRTY_PAGES, arg);
  }
  long PasidRequest(uint32_t flags, uint32_t pasid_or_min, uint32_t max, uint32_t* result) {
    vfio_iommu_type1_pasid_request req{};
    req.argsz = sizeof(req);
    req.flags = flags;
    if (flags == VFIO_IOMMU_PASID_ALLOC) {
      req.alloc_pasid.min = pasid_or_min;
      req.alloc_pasid.max = max;
    } else {
      req.free_pasid = pasid_or_min;
    }
    long r = IoctlE(nest_container_, VFIO_IOMMU_PASID_REQUEST, &req);
    if (r == 0 && result != nullptr) *result = req.alloc_pasid.result;
    return r;
  }
  long Bind(uint32_t flags, uint32_t pasid) {
    alignas(8) uint8_t arg[sizeof(vfio_iommu_type1_bind) + sizeof(iommu_gpasid_bind_data)] = {};
    const vfio_iommu_type1_bind bind{sizeof(arg), flags};
    iommu_gpasid_bind_data data{};
    data.version = IOMMU_UAPI_VERSION;
    data.format = IOMMU_PASID_FORMAT_INTEL_VTD;
    data.gpgd = guest_root_gpa_;
    data.hpasid = pasid;
    data.addr_width = 48;
    std::memcpy(arg, &bind, sizeof(bind));
    std::memcpy(arg + sizeof(bind), &data, sizeof(data));
    return IoctlE(nest_container_, VFIO_IOMMU_BIND, arg);
  }
  long InvalidateAll() {
    vfio_iommu_type1_cache_invalidate inv{};
    inv.argsz = sizeof(inv);
    inv.cache_info.version = IOMMU_UAPI_VERSION;
    inv.cache_info.cache = IOMMU_CACHE_INV_TYPE_IOTLB | IOMMU_CACHE_INV_TYPE_PASID;
    inv.cache_info.granularity = IOMMU_INV_GRANU_DOMAIN;
    return IoctlE(nest_container_, VFIO_IOMMU_CACHE_INVALIDATE, &inv);
  }
  int NewType1Container(core::GroupId group, int* group_fd, long type = VFIO_TYPE1v2_IOMMU) {
    int c = OpenContainer();
    *group_fd = OpenGroup(static_cast<int>(group));
    EXPECT_GE(c, 0);
    EXPECT_GE(*group_fd, 0);
    EXPECT_OK(SetContainer(*group_fd, c));
    EXPECT_OK(sim().Ioctl(c, VFIO_SET_IOMMU, static_cast<uintptr_t>(type)));
    return c;
  }

  void SetUp() override {
    SetUpVfio(VFIO_TYPE1v2_IOMMU);  // container S on group 1
    ASSERT_EQ(MapAt(container(), kPinnedIova, k4K, 0), 0);
    other_container_ = NewType1Container(kOtherGroup, &other_group_);
    nest_container_ = NewType1Container(kNestGroup, &nest_group_, VFIO_TYPE1_NESTING_IOMMU);
    churn_group_ = OpenGroup(kChurnGroup);
    ASSERT_GE(churn_group_, 0);
    ASSERT_FALSE(HasFailure());
    // Guest RAM at stage 2 of N, with a first-level table mapping kGva.
    vfio_iommu_type1_dma_map map{sizeof(map), kRw, ram_.va(), kGuestRamIova, kGuestRamSize};
    ASSERT_EQ(IoctlE(nest_container_, VFIO_IOMMU_MAP_DMA, &map), 0);
    auto builder = core::GuestPageTableBuilder::Create(std::span<uint8_t>(ram_.data(), kGuestRamSize),
                                                       kGuestRamIova, 4);
    ASSERT_TRUE(builder.ok());
    ASSERT_TRUE(builder->Map(kGva, kGuestRamIova + 32 * k4K, k4K, core::kProtRead | core::kProtWrite, true).ok());
    guest_root_gpa_ = builder->root_gpa();
    std::memset(ram_.data() + 32 * k4K, 'G', k4K);
    // A PASID bound for the whole run: thread 5 DMAs through it while thread
    // 6 churns other PASIDs, invalidations and stage 2 of the same domain.
    ASSERT_EQ(PasidRequest(VFIO_IOMMU_PASID_ALLOC, 1, 1000, &steady_pasid_), 0);
    ASSERT_EQ(Bind(VFIO_IOMMU_BIND_GUEST_PGTBL, steady_pasid_), 0);
  }

  // Every worker starts at the gate and yields now and then, so that on a
  // machine with fewer cores than threads the operations still interleave
  // finely instead of each thread running its whole loop in one time slice.
  void Pace(int i) {
    if (i == 0) start_.arrive_and_wait();
    if (i % 8 == 7) std::this_thread::yield();
  }

  // Threads 0-2: map/unmap whole entries in a private window of `container`.
  void DisjointWorker(int thread, int container) {
    std::mt19937_64 rng(thread);
    std::map<uint64_t, uint64_t>& live = disjoint_live_[thread];
    for (int i = 0; i < kIterations; ++i) {
      Pace(i);
      const uint64_t iova = WindowBase(thread) + (rng() % kSlots) * kSlotSpan;
      auto it = live.find(iova);
      if (it == live.end()) {
        const uint64_t size = (1 + rng() % 16) * k4K;
        EXPECT_EQ(MapAt(container, iova, size, (rng() % 16) * k4K), 0) << "thread " << thread;
        live[iova] = size;
      } else {
        uint64_t unmapped = 0;
        EXPECT_EQ(UnmapAt(container, iova, it->second, &unmapped), 0) << "thread " << thread;
        EXPECT_EQ(unmapped, it->second);
        live.erase(it);
      }
    }
  }

  // Threads 3-4: racing maps and unmaps in one window; only the answers a
  // race can explain are accepted. Thread 3 also polls GET_INFO, thread 4
  // runs dirty tracking over the window.
  void OverlapWorker(int thread) {
    std::mt19937_64 rng(thread);
    std::vector<__u64> bitmap(kOverlapSize / k4K / 64);
    for (int i = 0; i < kIterations; ++i) {
      Pace(i);
      const uint64_t iova = kOverlapBase + (rng() % (kOverlapSize / k4K - 8)) * k4K;
      const uint64_t size = (1 + rng() % 8) * k4K;
      switch (rng() % 4) {
        case 0:
        case 1: {
          long r = MapAt(container(), iova, size, 0);
          EXPECT_THAT(r, AnyOf(Eq(0), Eq(-EEXIST)));
          if (r == 0) overlap_mapped_.fetch_add(size);
          break;
        }
        case 2: {
          uint64_t unmapped = 0;
          // v2: a range that cuts an entry is EINVAL; anything else succeeds.
          long r = UnmapAt(container(), iova, size, &unmapped);
          EXPECT_THAT(r, AnyOf(Eq(0), Eq(-EINVAL)));
          overlap_unmapped_.fetch_add(unmapped);
          break;
        }
        default:
          if (thread == 3) {
            alignas(8) uint8_t buf[256] = {};
            reinterpret_cast<vfio_iommu_type1_info*>(buf)->argsz = sizeof(buf);
            EXPECT_EQ(IoctlE(container(), VFIO_IOMMU_GET_INFO, buf), 0);
          } else {
            EXPECT_EQ(Dirty(container(), VFIO_IOMMU_DIRTY_PAGES_FLAG_START, 0, 0, &bitmap), 0);
            EXPECT_EQ(Dirty(container(), VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, kOverlapBase, kOverlapSize,
                            &bitmap),
                      0);
            EXPECT_EQ(Dirty(container(), VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 0, 0, &bitmap), 0);
          }
          break;
      }
    }
  }

  // Thread 5: device DMA. The pinned page always works and keeps its data,
  // so does the steadily bound PASID on N; DMA into the other windows may
  // fault, into the queue, never crash.
  void DmaWorker() {
    std::mt19937_64 rng(5);
    for (int i = 0; i < kIterations; ++i) {
      Pace(i);
      uint8_t out[64], in[64] = {};
      std::memset(out, static_cast<int>(i), sizeof(out));
      EXPECT_TRUE(channel_.DmaWrite(kSharedGroup, kPinnedIova + 128, out, sizeof(out)).ok);
      EXPECT_TRUE(channel_.DmaRead(kSharedGroup, kPinnedIova + 128, in, sizeof(in)).ok);
      EXPECT_EQ(std::memcmp(in, out, sizeof(in)), 0);
      const uint64_t racy = rng() % 2 ? WindowBase(0) + (rng() % kSlots) * kSlotSpan
                                      : kOverlapBase + (rng() % (kOverlapSize / k4K)) * k4K;
      sim::DmaResult r = channel_.DmaRead(kSharedGroup, racy, in, sizeof(in));
      if (r.ok) {
        dma_ok_.fetch_add(1);
      } else {
        EXPECT_EQ(r.fault.reason, core::FaultReason::kPteFetch);
        dma_faults_.fetch_add(1);
      }
      // Group 4's device reaches only container P.
      r = channel_.DmaRead(kOtherGroup, kPinnedIova, in, sizeof(in));
      EXPECT_FALSE(r.ok) << "group 4 reached container S's pinned page";
      if (!r.ok) dma_faults_.fetch_add(1);
      uint8_t byte = 0;
      r = channel_.DmaRead(kNestGroup, kGva, &byte, 1, steady_pasid_);
      EXPECT_TRUE(r.ok) << core::FaultReasonName(r.fault.reason);
      EXPECT_EQ(byte, 'G');
      if (i % 64 == 0) (void)channel_.Port(kSharedGroup).faults().Drain();
    }
  }

  // Thread 6: PASID life cycle on N, with stage-2 churn under the bindings.
  void PasidWorker() {
    std::mt19937_64 rng(6);
    std::vector<uint32_t> held;
    for (int i = 0; i < kIterations; ++i) {
      Pace(i);
      uint32_t pasid = 0;
      ASSERT_EQ(PasidRequest(VFIO_IOMMU_PASID_ALLOC, 1, 1000, &pasid), 0);
      pasid_allocs_.fetch_add(1);
      EXPECT_EQ(Bind(VFIO_IOMMU_BIND_GUEST_PGTBL, pasid), 0);
      uint8_t byte = 0;
      sim::DmaResult r = channel_.DmaRead(kNestGroup, kGva, &byte, 1, pasid);
      EXPECT_TRUE(r.ok) << core::FaultReasonName(r.fault.reason);
      EXPECT_EQ(byte, 'G');
      EXPECT_EQ(InvalidateAll(), 0);
      // A stage-2 mapping appears and goes under the live binding.
      vfio_iommu_type1_dma_map map{sizeof(map), kRw, buffer_.va(0), 0x100000, k4K};
      EXPECT_EQ(IoctlE(nest_container_, VFIO_IOMMU_MAP_DMA, &map), 0);
      uint64_t unmapped = 0;
      EXPECT_EQ(UnmapAt(nest_container_, 0x100000, k4K, &unmapped), 0);
      switch (rng() % 3) {
        case 0:  // unbind, then free
          EXPECT_EQ(Bind(VFIO_IOMMU_UNBIND_GUEST_PGTBL, pasid), 0);
          EXPECT_EQ(PasidRequest(VFIO_IOMMU_PASID_FREE, pasid, 0, nullptr), 0);
          pasid_frees_.fetch_add(1);
          break;
        case 1:  // free while bound: the binding goes with it
          EXPECT_EQ(PasidRequest(VFIO_IOMMU_PASID_FREE, pasid, 0, nullptr), 0);
          pasid_frees_.fetch_add(1);
          break;
        default:  // keep a few, unbound
          EXPECT_EQ(Bind(VFIO_IOMMU_UNBIND_GUEST_PGTBL, pasid), 0);
          held.push_back(pasid);
          if (held.size() > 8) {
            EXPECT_EQ(PasidRequest(VFIO_IOMMU_PASID_FREE, held.front(), 0, nullptr), 0);
            pasid_frees_.fetch_add(1);
            held.erase(held.begin());
          }
          break;
      }
    }
  }

  // Thread 7: group 5 joins S and leaves again; every eighth round it gets a
  // whole container of its own, with a mapping, torn down by closing fds.
  void ChurnWorker() {
    for (int i = 0; i < kIterations; ++i) {
      Pace(i);
      if (i % 8 == 7) {
        int c = OpenContainer();
        ASSERT_GE(c, 0);
        EXPECT_OK(SetContainer(churn_group_, c));
        EXPECT_OK(sim().Ioctl(c, VFIO_SET_IOMMU, static_cast<uintptr_t>(VFIO_TYPE1v2_IOMMU)));
        EXPECT_EQ(MapAt(c, kOverlapBase, 4 * k4K, 0), 0);  // same IOVA as S's window: other domain
        EXPECT_OK(sim().Close(c));  // the group still holds the container
        EXPECT_OK(sim().Ioctl(churn_group_, VFIO_GROUP_UNSET_CONTAINER));  // releases it
      } else {
        EXPECT_OK(SetContainer(churn_group_, container()));
        EXPECT_OK(sim().Ioctl(churn_group_, VFIO_GROUP_UNSET_CONTAINER));
      }
      churns_.fetch_add(1);
    }
  }

  // Sum of the sizes of `container_fd`'s group's mappings in [base, base+size).
  std::map<uint64_t, uint64_t> Mappings(core::GroupId group, uint64_t base, uint64_t size) {
    std::map<uint64_t, uint64_t> out;
    auto c = sim().kernel().GroupContainer(group);
    if (!c) return out;
    (void)c->WithIommu([&](core::Type1Iommu& t) {
      t.space().ForEach([&](const core::DmaMapping& m) {
        if (m.iova >= base && m.iova < base + size) out[m.iova] = m.size;
      });
      return core::Status::Ok();
    });
    return out;
  }

  DmaBuffer buffer_;
  DmaBuffer ram_;
  api::TestChannel channel_;
  int other_container_ = -1, other_group_ = -1;
  int nest_container_ = -1, nest_group_ = -1;
  int churn_group_ = -1;
  uint64_t guest_root_gpa_ = 0;
  uint32_t steady_pasid_ = 0;
  std::map<uint64_t, uint64_t> disjoint_live_[3];
  std::atomic<uint64_t> overlap_mapped_{0}, overlap_unmapped_{0};
  std::atomic<uint64_t> dma_ok_{0}, dma_faults_{0};
  std::atomic<uint64_t> pasid_allocs_{0}, pasid_frees_{0};
  std::atomic<uint64_t> churns_{0};
  std::latch start_{8};
};

TEST_F(StressTest, EightThreadsLeaveAConsistentModel) {
  const size_t pasids_before = sim().kernel().pasids().allocated_count();
  std::vector<std::thread> threads;
  threads.emplace_back([&] { DisjointWorker(0, container()); });
  threads.emplace_back([&] { DisjointWorker(1, container()); });
  threads.emplace_back([&] { DisjointWorker(2, other_container_); });
  threads.emplace_back([&] { OverlapWorker(3); });
  threads.emplace_back([&] { OverlapWorker(4); });
  threads.emplace_back([&] { DmaWorker(); });
  threads.emplace_back([&] { PasidWorker(); });
  threads.emplace_back([&] { ChurnWorker(); });
  for (std::thread& t : threads) t.join();

  EXPECT_THAT(core::CheckKernelInvariants(sim().kernel()), IsEmpty());
  // Disjoint windows hold exactly what their threads mapped and did not unmap.
  EXPECT_EQ(Mappings(kSharedGroup, WindowBase(0), kSlots * kSlotSpan), disjoint_live_[0]);
  EXPECT_EQ(Mappings(kSharedGroup, WindowBase(1), kSlots * kSlotSpan), disjoint_live_[1]);
  EXPECT_EQ(Mappings(kOtherGroup, WindowBase(2), kSlots * kSlotSpan), disjoint_live_[2]);
  // The overlapping window: every successful MAP minus every unmapped byte.
  uint64_t live_overlap = 0;
  for (const auto& [iova, size] : Mappings(kSharedGroup, kOverlapBase, kOverlapSize)) live_overlap += size;
  EXPECT_EQ(overlap_mapped_.load() - overlap_unmapped_.load(), live_overlap);
  // Locked memory is every live mapping of every container, counted once.
  uint64_t live = live_overlap + k4K + kGuestRamSize;
  for (const auto& m : disjoint_live_) {
    for (const auto& [iova, size] : m) live += size;
  }
  EXPECT_EQ(sim().kernel().memlock().locked.load(), live);
  // PASIDs: allocated minus freed are still held, all by this process.
  EXPECT_EQ(sim().kernel().pasids().allocated_count(),
            pasids_before + pasid_allocs_.load() - pasid_frees_.load());
  EXPECT_EQ(sim().kernel().pasids().CountOwnedBy(sim().process()),
            pasids_before + pasid_allocs_.load() - pasid_frees_.load());
  // Only the steady PASID is still bound, and every binding names a PASID its
  // process owns (container lock, then the allocator's: the documented order).
  size_t bound = 0;
  (void)sim().kernel().GroupContainer(kNestGroup)->WithIommu([&](core::Type1Iommu& t) {
    t.nested()->ForEachBinding([&](core::Pasid pasid, const core::GuestBinding&) {
      EXPECT_TRUE(sim().kernel().pasids().IsOwnedBy(pasid, sim().process())) << pasid;
      ++bound;
    });
    return core::Status::Ok();
  });
  EXPECT_EQ(bound, 1u);
  // Group 5 ended detached; S still has group 1 only.
  EXPECT_EQ(sim().kernel().GroupContainer(kChurnGroup), nullptr);
  EXPECT_EQ(sim().kernel().ContainerUsers(kSharedGroup), 1u);
  EXPECT_EQ(churns_.load(), static_cast<uint64_t>(kIterations));
  EXPECT_EQ(dma_ok_.load() + dma_faults_.load(), 2u * kIterations);
  std::cout << "[stress] overlap mapped " << overlap_mapped_.load() << " unmapped " << overlap_unmapped_.load()
            << " live " << live_overlap << "; dma ok " << dma_ok_.load() << " faults " << dma_faults_.load()
            << "; pasids " << pasid_allocs_.load() << "/" << pasid_frees_.load() << "; disjoint live "
            << disjoint_live_[0].size() << "/" << disjoint_live_[1].size() << "/" << disjoint_live_[2].size()
            << std::endl;
  EXPECT_GT(overlap_mapped_.load(), 0u);
  EXPECT_GT(overlap_unmapped_.load(), 0u);
}

}  // namespace
}  // namespace vfiosim::testing
