#include "tests/fail_nth/world.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <span>

#include "api/uapi/iommu_vsva_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"

namespace vfiosim::testing {

World::~World() {
  for (int fd : eventfds_) close(fd);
}

int World::NewEventfd() {
  eventfds_.push_back(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  return eventfds_.back();
}

int World::MapE(uint64_t iova, uint64_t size, uint64_t vaddr, uint32_t flags, int container) {
  vfio_iommu_type1_dma_map map{sizeof(map), flags, vaddr, iova, size};
  return Call(Fd(container), VFIO_IOMMU_MAP_DMA, &map);
}

int World::UnmapE(uint64_t iova, uint64_t size, uint32_t flags, int container) {
  vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = sizeof(unmap);
  unmap.flags = flags;
  unmap.iova = iova;
  unmap.size = size;
  return Call(Fd(container), VFIO_IOMMU_UNMAP_DMA, &unmap);
}

// The uAPI structs end in flexible arrays: header and payload go in bytes.
int World::UnmapWithBitmapE(uint64_t iova, uint64_t size) {
  alignas(8) uint8_t arg[sizeof(vfio_iommu_type1_dma_unmap) + sizeof(vfio_bitmap)] = {};
  vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = sizeof(arg);
  unmap.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
  unmap.iova = iova;
  unmap.size = size;
  const vfio_bitmap bitmap{k4K, bitmap_.size() * sizeof(__u64), bitmap_.data()};
  std::memcpy(arg, &unmap, sizeof(unmap));
  std::memcpy(arg + sizeof(unmap), &bitmap, sizeof(bitmap));
  return Call(container_, VFIO_IOMMU_UNMAP_DMA, arg);
}

int World::DirtyE(uint32_t flags, uint64_t iova, uint64_t size) {
  alignas(8) uint8_t arg[sizeof(vfio_iommu_type1_dirty_bitmap) + sizeof(vfio_iommu_type1_dirty_bitmap_get)] = {};
  vfio_iommu_type1_dirty_bitmap dirty{};
  dirty.argsz = sizeof(arg);
  dirty.flags = flags;
  vfio_iommu_type1_dirty_bitmap_get get{};
  get.iova = iova;
  get.size = size;
  get.bitmap.pgsize = k4K;
  get.bitmap.size = bitmap_.size() * sizeof(__u64);
  get.bitmap.data = bitmap_.data();
  std::memcpy(arg, &dirty, sizeof(dirty));
  std::memcpy(arg + sizeof(dirty), &get, sizeof(get));
  return Call(container_, VFIO_IOMMU_DIRTY_PAGES, arg);
}

int World::GetInfoE(uint32_t* dma_avail, int container) {
  alignas(8) uint8_t buf[512] = {};
  auto* info = reinterpret_cast<vfio_iommu_type1_info*>(buf);
  info->argsz = sizeof(buf);
  int err = Call(Fd(container), VFIO_IOMMU_GET_INFO, info);
  if (err != 0 || dma_avail == nullptr) return err;
  // Walk the capability chain for DMA_AVAIL.
  for (uint32_t off = info->cap_offset; off != 0 && off + sizeof(vfio_info_cap_header) <= sizeof(buf);) {
    vfio_info_cap_header header;
    std::memcpy(&header, buf + off, sizeof(header));
    if (header.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
      vfio_iommu_type1_info_dma_avail cap;
      std::memcpy(&cap, buf + off, sizeof(cap));
      *dma_avail = cap.avail;
    }
    off = header.next;
  }
  return 0;
}

void World::OpenBoth(bool attach) {
  container_ = OpenContainer();
  ASSERT_GE(container_, 0);
  group_ = OpenGroup();
  ASSERT_GE(group_, 0);
  if (attach) ASSERT_OK(SetContainer(group_, container_));
}

int World::SetContainerE(int group, int container) {
  int fd = Fd(container);
  return Call(group, VFIO_GROUP_SET_CONTAINER, &fd);
}

void World::OpenSecondGroup() {
  second_group_ = OpenGroup(kSecondGroup);
  ASSERT_GE(second_group_, 0);
}

int World::NewContainer(int group, long type, int* group_fd) {
  const int c = OpenContainer();
  *group_fd = OpenGroup(group);
  if (c < 0 || *group_fd < 0 || SetContainerE(*group_fd, c) != 0 || SetIommuE(type, c) != 0) return -1;
  return c;
}

uint64_t World::Buffer(size_t size) {
  buffers_.push_back(std::make_unique<DmaBuffer>(size));
  return buffers_.back()->va();
}

void World::SetUpNesting() {
  SetUpVfio(VFIO_TYPE1_NESTING_IOMMU);
  if (::testing::Test::HasFatalFailure()) return;
  MapGuestRam(container_);
}

void World::MapGuestRam(int container) {
  const uint64_t ram = Buffer(kGuestRamSize);
  ASSERT_EQ(MapE(kGuestRamIova, kGuestRamSize, ram, kRw, container), 0);
  auto* bytes = reinterpret_cast<uint8_t*>(ram);
  auto builder = core::GuestPageTableBuilder::Create(std::span<uint8_t>(bytes, kGuestRamSize), kGuestRamIova, 4);
  ASSERT_TRUE(builder.ok());
  guest_.emplace(std::move(*builder));
  ASSERT_TRUE(guest_->Map(kGva, kGuestRamIova + kGuestDataOffset, k4K, core::kProtRead | core::kProtWrite, true).ok());
  std::memset(bytes + kGuestDataOffset, 'G', k4K);
}

int World::PasidAllocE(uint32_t* pasid, int container, uint32_t min, uint32_t max) {
  vfio_iommu_type1_pasid_request req{};
  req.argsz = sizeof(req);
  req.flags = VFIO_IOMMU_PASID_ALLOC;
  req.alloc_pasid.min = min;
  req.alloc_pasid.max = max;
  req.alloc_pasid.result = 0xdeadbeef;
  int err = Call(Fd(container), VFIO_IOMMU_PASID_REQUEST, &req);
  // A failed call must not write the result back.
  if (err != 0 && req.alloc_pasid.result != 0xdeadbeef) return EBADMSG;
  if (err == 0) *pasid = req.alloc_pasid.result;
  return err;
}

int World::PasidFreeE(uint32_t pasid, int container) {
  vfio_iommu_type1_pasid_request req{};
  req.argsz = sizeof(req);
  req.flags = VFIO_IOMMU_PASID_FREE;
  req.free_pasid = pasid;
  return Call(Fd(container), VFIO_IOMMU_PASID_REQUEST, &req);
}

int World::BindE(uint32_t flags, uint32_t pasid, int container) {
  alignas(8) uint8_t arg[sizeof(vfio_iommu_type1_bind) + sizeof(iommu_gpasid_bind_data)] = {};
  const vfio_iommu_type1_bind bind{sizeof(arg), flags};
  iommu_gpasid_bind_data data{};
  data.version = IOMMU_UAPI_VERSION;
  data.format = IOMMU_PASID_FORMAT_INTEL_VTD;
  data.gpgd = guest_.has_value() ? guest_->root_gpa() : kGuestRamIova;
  data.hpasid = pasid;
  data.addr_width = 48;
  std::memcpy(arg, &bind, sizeof(bind));
  std::memcpy(arg + sizeof(bind), &data, sizeof(data));
  return Call(Fd(container), VFIO_IOMMU_BIND, arg);
}

int World::InvalidateAllE(int container) {
  vfio_iommu_type1_cache_invalidate inv{};
  inv.argsz = sizeof(inv);
  inv.cache_info.version = IOMMU_UAPI_VERSION;
  inv.cache_info.cache = IOMMU_CACHE_INV_TYPE_IOTLB | IOMMU_CACHE_INV_TYPE_PASID;
  inv.cache_info.granularity = IOMMU_INV_GRANU_DOMAIN;
  return Call(Fd(container), VFIO_IOMMU_CACHE_INVALIDATE, &inv);
}

void World::OpenDevice() {
  char name[] = "0000:00:01.0";
  device_ = sim().Ioctl(group_, VFIO_GROUP_GET_DEVICE_FD, name);
  ASSERT_GE(device_, 0);
}

int World::SetIrqsE(uint32_t index, uint32_t action, int efd) {
  alignas(8) uint8_t arg[sizeof(vfio_irq_set) + sizeof(int32_t)] = {};
  vfio_irq_set set{};
  set.argsz = efd < 0 ? sizeof(set) : sizeof(arg);
  set.flags = (efd < 0 ? VFIO_IRQ_SET_DATA_NONE : VFIO_IRQ_SET_DATA_EVENTFD) | action;
  set.index = index;
  set.start = 0;
  set.count = 1;
  std::memcpy(arg, &set, sizeof(set));
  std::memcpy(arg + sizeof(set), &efd, sizeof(efd));
  return Call(device_, VFIO_DEVICE_SET_IRQS, arg);
}

void World::AllocOnly() { ASSERT_EQ(PasidAllocE(&pasid_), 0); }

void World::AllocAndBind() {
  ASSERT_EQ(PasidAllocE(&pasid_), 0);
  ASSERT_EQ(BindE(VFIO_IOMMU_BIND_GUEST_PGTBL, pasid_), 0);
  uint8_t byte = 0;
  ASSERT_TRUE(channel_.DmaRead(kEduGroup, kGva, &byte, 1, pasid_).ok);
  ASSERT_EQ(byte, 'G');
}

}  // namespace vfiosim::testing
