// Test helpers shared by the black-box uAPI suites: a fixture per profile
// that owns a simulated machine, set-up shortcuts and errno matchers.
#ifndef VFIOSIM_TESTS_UTIL_VFIO_FIXTURE_H_
#define VFIOSIM_TESTS_UTIL_VFIO_FIXTURE_H_

#include <fcntl.h>
#include <sys/mman.h>
#include <gtest/gtest.h>
#include <linux/vfio.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "api/profile.h"
#include "api/vfio_sim.h"

namespace vfiosim::testing {

// Expects `expr` (a syscall-style int) to fail with -1 and `err`.
#define EXPECT_ERRNO(expr, err)                                                        \
  do {                                                                                 \
    errno = 0;                                                                         \
    int vfiosim_r_ = (expr);                                                           \
    int vfiosim_e_ = errno;                                                            \
    EXPECT_EQ(vfiosim_r_, -1) << #expr;                                                \
    EXPECT_EQ(vfiosim_e_, (err)) << #expr << ": got " << strerrorname_np(vfiosim_e_)   \
                                 << ", want " << strerrorname_np(err);                 \
  } while (0)

#define EXPECT_OK(expr)                                                                    \
  do {                                                                                     \
    errno = 0;                                                                             \
    int vfiosim_r_ = (expr);                                                               \
    EXPECT_EQ(vfiosim_r_, 0) << #expr << ": errno " << strerrorname_np(errno);             \
  } while (0)

#define ASSERT_OK(expr)                                                                    \
  do {                                                                                     \
    errno = 0;                                                                             \
    int vfiosim_r_ = (expr);                                                               \
    ASSERT_EQ(vfiosim_r_, 0) << #expr << ": errno " << strerrorname_np(errno);             \
  } while (0)

inline constexpr const char* kEduBdf = "0000:00:01.0";
inline constexpr int kEduGroup = 1;

// A simulated machine plus the canonical fds.
class VfioFixture {
 public:
  explicit VfioFixture(const api::Profile* profile = nullptr,
                       core::MachineConfig machine = sim::DefaultMachineConfig()) {
    api::VfioSimOptions options;
    options.profile = profile;
    options.machine = std::move(machine);
    sim_ = std::make_unique<api::VfioSim>(options);
  }

  api::VfioSim& sim() { return *sim_; }

  int OpenContainer() { return sim_->Open("/dev/vfio/vfio", O_RDWR); }
  int OpenGroup(int group = kEduGroup) {
    return sim_->Open(("/dev/vfio/" + std::to_string(group)).c_str(), O_RDWR);
  }
  int SetContainer(int group_fd, int container_fd) {
    return sim_->Ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd);
  }
  // open C, open G, SET_CONTAINER, SET_IOMMU(type): the checklist's "setup".
  void SetUpVfio(long type = VFIO_TYPE1v2_IOMMU) {
    container_ = OpenContainer();
    ASSERT_GE(container_, 0);
    group_ = OpenGroup();
    ASSERT_GE(group_, 0);
    ASSERT_OK(SetContainer(group_, container_));
    ASSERT_OK(sim_->Ioctl(container_, VFIO_SET_IOMMU, static_cast<uintptr_t>(type)));
  }
  uint32_t GroupFlags(int group_fd) {
    vfio_group_status status{};
    status.argsz = sizeof(status);
    EXPECT_OK(sim_->Ioctl(group_fd, VFIO_GROUP_GET_STATUS, &status));
    return status.flags;
  }
  int Map(uint64_t iova, uint64_t size, uint64_t vaddr, uint32_t flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE) {
    vfio_iommu_type1_dma_map map{};
    map.argsz = sizeof(map);
    map.flags = flags;
    map.vaddr = vaddr;
    map.iova = iova;
    map.size = size;
    return sim_->Ioctl(container_, VFIO_IOMMU_MAP_DMA, &map);
  }
  // Returns the ioctl result; *unmapped receives the written-back size.
  int Unmap(uint64_t iova, uint64_t size, uint32_t flags = 0, uint64_t* unmapped = nullptr) {
    vfio_iommu_type1_dma_unmap unmap{};
    unmap.argsz = sizeof(unmap);
    unmap.flags = flags;
    unmap.iova = iova;
    unmap.size = size;
    int r = sim_->Ioctl(container_, VFIO_IOMMU_UNMAP_DMA, &unmap);
    if (unmapped) *unmapped = unmap.size;
    return r;
  }

  int container() const { return container_; }
  int group() const { return group_; }

 protected:
  std::unique_ptr<api::VfioSim> sim_;
  int container_ = -1;
  int group_ = -1;
};

// A page-aligned anonymous buffer for MAP_DMA.
class DmaBuffer {
 public:
  explicit DmaBuffer(size_t size, int prot = PROT_READ | PROT_WRITE);
  ~DmaBuffer();
  uint64_t va(size_t offset = 0) const { return reinterpret_cast<uint64_t>(base_) + offset; }
  uint8_t* data() const { return static_cast<uint8_t*>(base_); }
  size_t size() const { return size_; }

 private:
  void* base_;
  size_t size_;
};

}  // namespace vfiosim::testing

#endif  // VFIOSIM_TESTS_UTIL_VFIO_FIXTURE_H_
