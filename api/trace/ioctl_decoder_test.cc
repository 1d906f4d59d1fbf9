// Table-driven: struct bytes as a client would pass them -> the trace line.
#include "api/trace/ioctl_decoder.h"

#include <gtest/gtest.h>
#include <linux/vfio.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "api/uapi/vfio_vsva_rfc.h"

namespace vfiosim::api::trace {
namespace {

using Bytes = std::vector<uint8_t>;

template <typename T>
Bytes Of(const T& v) {
  Bytes b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}
Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes Prefix(Bytes b, size_t n) {
  b.resize(n);
  return b;
}
ArgBytes Arg(Bytes b) { return ArgBytes{true, std::move(b)}; }

constexpr uint32_t kRw = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
constexpr uintptr_t kPtr = 0x7ffd1000;

// The GET_INFO reply of the default machine: migration, dma_avail, iova_range.
Bytes InfoWithCaps(uint32_t argsz) {
  vfio_iommu_type1_info info{argsz, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, 0x40201000, 24};
  vfio_iommu_type1_info_cap_migration mig{};
  mig.header = {VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 1, 56};
  mig.pgsize_bitmap = 0x1000;
  mig.max_dirty_bitmap_size = 0x10000000;
  vfio_iommu_type1_info_dma_avail avail{};
  avail.header = {VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1, 68};
  avail.avail = 65535;
  vfio_iommu_type1_info_cap_iova_range range{};
  range.header = {VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, 0};
  range.nr_iovas = 2;
  vfio_iova_range r0{0, 0xfedfffff}, r1{0xfef00000, 0xffffffffffff};
  Bytes avail_bytes = Prefix(Of(avail), 12);  // the kernel packs caps unaligned (12 bytes)
  return Cat({Of(info), Of(mig), avail_bytes, Prefix(Of(range), 16), Of(r0), Of(r1)});
}

struct Case {
  const char* name;
  IoctlCall call;
  DecodeOptions opts;
  std::string want;
};

IoctlCall Call(int fd, FdKind kind, unsigned long req, uintptr_t arg, Bytes entry, Bytes exit, long ret,
               int err = 0) {
  IoctlCall c;
  c.fd = fd;
  c.kind = kind;
  c.request = req;
  c.arg = arg;
  if (!entry.empty()) c.entry = Arg(std::move(entry));
  if (!exit.empty()) c.exit = Arg(std::move(exit));
  c.ret = ret;
  c.err = err;
  return c;
}

DecodeOptions Vsva() {
  DecodeOptions o;
  o.pasid_request_ioctl = VFIO_IOMMU_PASID_REQUEST;
  o.bind_ioctl = VFIO_IOMMU_BIND;
  o.cache_invalidate_ioctl = VFIO_IOMMU_CACHE_INVALIDATE;
  o.cap2_nesting = true;
  o.ext9_nesting_uapi = true;
  return o;
}

std::vector<Case> Cases() {
  constexpr auto C = FdKind::kContainer;
  constexpr auto G = FdKind::kGroup;
  constexpr auto D = FdKind::kDevice;
  vfio_iommu_type1_dma_map map{32, kRw, 0x7f2a00000000, 0x100000, 0x200000};
  vfio_iommu_type1_dma_map map_bad_flags{32, kRw | 0x8, 0x7f2a00000000, 0x100000, 0x1000};
  vfio_iommu_type1_dma_unmap unmap_in{24, 0, 0x400000, 0x2000};
  vfio_iommu_type1_dma_unmap unmap_out{24, 0, 0x400000, 0x1000};
  vfio_iommu_type1_dma_unmap unmap_bitmap{48, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0x700000, 0x1000};
  vfio_bitmap bitmap{0x1000, 32, reinterpret_cast<__u64*>(0x7ffd2000)};
  vfio_iommu_type1_info info_short_in{24, 0xa5a5a5a5, 0xa5a5a5a5a5a5a5a5, 0xa5a5a5a5};
  vfio_iommu_type1_info info_in_116{116, 0, 0, 0};
  vfio_iommu_type1_info info_short_out{116, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, 0x40201000, 0};
  vfio_group_status status_in{8, 0xa5a5a5a5};
  vfio_group_status status_out{8, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET};
  vfio_device_info dev_in{20, 0, 0, 0, 0};
  vfio_device_info dev_out{20, VFIO_DEVICE_FLAGS_PCI, 9, 5, 0};
  vfio_irq_info irq_in{16, 0, VFIO_PCI_MSI_IRQ_INDEX, 0};
  vfio_irq_info irq_out{16, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE, VFIO_PCI_MSI_IRQ_INDEX, 1};
  vfio_irq_set irq_set{24, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_PCI_MSI_IRQ_INDEX, 0, 1};
  int32_t eventfd = 9;
  vfio_region_info region_in{32, 0, VFIO_PCI_BAR0_REGION_INDEX, 0, 0, 0};
  vfio_region_info region_out{80, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
                                      VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS,
                              VFIO_PCI_BAR0_REGION_INDEX, 32, 0x100000, 0};
  vfio_region_info_cap_sparse_mmap sparse{};
  sparse.header = {VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1, 0};
  sparse.nr_areas = 2;
  vfio_region_sparse_mmap_area a0{0, 0x1000}, a1{0x3000, 0xfd000};
  vfio_iommu_type1_dirty_bitmap dirty{48, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP};
  vfio_iommu_type1_dirty_bitmap_get get{0x600000, 0x10000, {0x1000, 8, reinterpret_cast<__u64*>(0x7ffd3000)}};
  vfio_iommu_type1_pasid_request pasid_in{};
  pasid_in.argsz = sizeof(pasid_in);
  pasid_in.flags = VFIO_IOMMU_PASID_ALLOC;
  pasid_in.alloc_pasid.min = 1;
  pasid_in.alloc_pasid.max = 0xfffff;
  vfio_iommu_type1_pasid_request pasid_out = pasid_in;
  pasid_out.alloc_pasid.result = 0x20;
  int32_t container_fd = 3;
  const char name[] = "0000:00:01.0";
  Bytes name_bytes(name, name + sizeof(name));

  // A chain whose second cap points back at the first (hostile or corrupt buffer).
  Bytes loop = InfoWithCaps(116);
  vfio_info_cap_header back{VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1, 24};
  std::memcpy(loop.data() + 56, &back, sizeof(back));
  // cap_offset beyond the copied bytes.
  vfio_iommu_type1_info info_far{24, VFIO_IOMMU_INFO_CAPS, 0x1000, 0x200};

  return {
      {"map_ok", Call(5, C, VFIO_IOMMU_MAP_DMA, kPtr, Of(map), Of(map), 0), {},
       "ioctl(5, VFIO_IOMMU_MAP_DMA, {argsz=32, flags=VFIO_DMA_MAP_FLAG_READ|VFIO_DMA_MAP_FLAG_WRITE, "
       "vaddr=0x7f2a00000000, iova=0x100000, size=0x200000}) = 0"},
      {"map_eexist", Call(5, C, VFIO_IOMMU_MAP_DMA, kPtr, Of(map), Of(map), -1, EEXIST), {},
       "ioctl(5, VFIO_IOMMU_MAP_DMA, {argsz=32, flags=VFIO_DMA_MAP_FLAG_READ|VFIO_DMA_MAP_FLAG_WRITE, "
       "vaddr=0x7f2a00000000, iova=0x100000, size=0x200000}) = -1 EEXIST (File exists)"},
      {"map_unknown_flag", Call(5, C, VFIO_IOMMU_MAP_DMA, kPtr, Of(map_bad_flags), {}, -1, EINVAL), {},
       "ioctl(5, VFIO_IOMMU_MAP_DMA, {argsz=32, flags=VFIO_DMA_MAP_FLAG_READ|VFIO_DMA_MAP_FLAG_WRITE|0x8, "
       "vaddr=0x7f2a00000000, iova=0x100000, size=0x1000}) = -1 EINVAL (Invalid argument)"},
      {"map_short_bytes", Call(5, C, VFIO_IOMMU_MAP_DMA, kPtr, Prefix(Of(map), 12), {}, -1, EFAULT), {},
       "ioctl(5, VFIO_IOMMU_MAP_DMA, {argsz=32, flags=VFIO_DMA_MAP_FLAG_READ|VFIO_DMA_MAP_FLAG_WRITE}) = "
       "-1 EFAULT (Bad address)"},
      {"map_seed000_bit2",
       Call(5, C, VFIO_IOMMU_MAP_DMA, kPtr,
            Of(vfio_iommu_type1_dma_map{32, VFIO_DMA_MAP_FLAG_READ | 4, 0, 0x8000000, 0x100000}), {}, 0),
       DecodeOptions{.map_bit2_msi = true},
       "ioctl(5, VFIO_IOMMU_MAP_DMA, {argsz=32, flags=VFIO_DMA_MAP_FLAG_READ|"
       "VFIO_DMA_MAP_FLAG_RESERVED_MSI_IOVA, vaddr=0, iova=0x8000000, size=0x100000}) = 0"},
      {"map_null_pointer", Call(5, C, VFIO_IOMMU_MAP_DMA, 0, {}, {}, -1, EFAULT), {},
       "ioctl(5, VFIO_IOMMU_MAP_DMA, NULL) = -1 EFAULT (Bad address)"},
      {"map_unreadable_pointer", Call(5, C, VFIO_IOMMU_MAP_DMA, 0xffff888000000000, {}, {}, -1, EFAULT), {},
       "ioctl(5, VFIO_IOMMU_MAP_DMA, 0xffff888000000000) = -1 EFAULT (Bad address)"},
      {"info_argsz_growth", Call(5, C, VFIO_IOMMU_GET_INFO, kPtr, Of(info_short_in), Of(info_short_out), 0), {},
       "ioctl(5, VFIO_IOMMU_GET_INFO, {argsz=24 => 116, flags=VFIO_IOMMU_INFO_PGSIZES|VFIO_IOMMU_INFO_CAPS, "
       "iova_pgsizes=0x40201000, cap_offset=0}) = 0"},
      {"info_cap_chain", Call(5, C, VFIO_IOMMU_GET_INFO, kPtr, Prefix(Of(info_in_116), 4), InfoWithCaps(116), 0),
       {},
       "ioctl(5, VFIO_IOMMU_GET_INFO, {argsz=116, flags=VFIO_IOMMU_INFO_PGSIZES|VFIO_IOMMU_INFO_CAPS, "
       "iova_pgsizes=0x40201000, cap_offset=0x18, caps=[{id=VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, version=1, "
       "next=0x38, flags=0, pgsize_bitmap=0x1000, max_dirty_bitmap_size=0x10000000}, "
       "{id=VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version=1, next=0x44, avail=65535}, "
       "{id=VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, version=1, next=0, nr_iovas=2, "
       "iova_ranges=[{start=0, end=0xfedfffff}, {start=0xfef00000, end=0xffffffffffff}]}]}) = 0"},
      {"info_cap_loop", Call(5, C, VFIO_IOMMU_GET_INFO, kPtr, Prefix(Of(info_in_116), 4), loop, 0), {},
       "ioctl(5, VFIO_IOMMU_GET_INFO, {argsz=116, flags=VFIO_IOMMU_INFO_PGSIZES|VFIO_IOMMU_INFO_CAPS, "
       "iova_pgsizes=0x40201000, cap_offset=0x18, caps=[{id=VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, version=1, "
       "next=0x38, flags=0, pgsize_bitmap=0x1000, max_dirty_bitmap_size=0x10000000}, "
       "{id=VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, version=1, next=0x18, avail=65535}, ...]}) = 0"},
      {"info_cap_outside_bytes", Call(5, C, VFIO_IOMMU_GET_INFO, kPtr, Prefix(Of(info_far), 4), Of(info_far), 0),
       {},
       "ioctl(5, VFIO_IOMMU_GET_INFO, {argsz=24, flags=VFIO_IOMMU_INFO_CAPS, iova_pgsizes=0x1000, "
       "cap_offset=0x200, caps=[...]}) = 0"},
      {"info_seed001_nesting_cap",
       Call(5, C, VFIO_IOMMU_GET_INFO, kPtr, Prefix(Of(info_short_in), 4),
            Cat({Of(vfio_iommu_type1_info{40, VFIO_IOMMU_INFO_CAPS, 0x1000, 24}),
                 Of(vfio_iommu_type1_info_cap_nesting{{2, 1}, VFIO_IOMMU_PASID_REQS, 1})}),
            0),
       Vsva(),
       "ioctl(5, VFIO_IOMMU_GET_INFO, {argsz=24 => 40, flags=VFIO_IOMMU_INFO_CAPS, iova_pgsizes=0x1000, "
       "cap_offset=0x18, caps=[{id=VFIO_IOMMU_TYPE1_INFO_CAP_NESTING, version=1, next=0, "
       "nesting_capabilities=VFIO_IOMMU_PASID_REQS, stage1_format=1}]}) = 0"},
      {"status_ok", Call(4, G, VFIO_GROUP_GET_STATUS, kPtr, Of(status_in), Of(status_out), 0), {},
       "ioctl(4, VFIO_GROUP_GET_STATUS, {argsz=8, flags=VFIO_GROUP_FLAGS_VIABLE|"
       "VFIO_GROUP_FLAGS_CONTAINER_SET}) = 0"},
      {"status_argsz_small",
       Call(4, G, VFIO_GROUP_GET_STATUS, kPtr, Of(vfio_group_status{4, 0xa5a5a5a5}), {}, -1, EINVAL), {},
       "ioctl(4, VFIO_GROUP_GET_STATUS, {argsz=4}) = -1 EINVAL (Invalid argument)"},
      {"set_container", Call(4, G, VFIO_GROUP_SET_CONTAINER, kPtr, Of(container_fd), {}, 0), {},
       "ioctl(4, VFIO_GROUP_SET_CONTAINER, [3]) = 0"},
      {"set_container_badfd", Call(4, G, VFIO_GROUP_SET_CONTAINER, kPtr, Of(int32_t{9999}), {}, -1, EBADF), {},
       "ioctl(4, VFIO_GROUP_SET_CONTAINER, [9999]) = -1 EBADF (Bad file descriptor)"},
      {"unset_container", Call(4, G, VFIO_GROUP_UNSET_CONTAINER, 0, {}, {}, -1, EBUSY), {},
       "ioctl(4, VFIO_GROUP_UNSET_CONTAINER) = -1 EBUSY (Device or resource busy)"},
      {"get_device_fd", Call(4, G, VFIO_GROUP_GET_DEVICE_FD, kPtr, name_bytes, {}, 7), {},
       "ioctl(4, VFIO_GROUP_GET_DEVICE_FD, \"0000:00:01.0\") = 7"},
      {"get_device_fd_unterminated", Call(4, G, VFIO_GROUP_GET_DEVICE_FD, kPtr, Bytes{'a', 'b'}, {}, -1, EFAULT),
       {}, "ioctl(4, VFIO_GROUP_GET_DEVICE_FD, \"ab\"...) = -1 EFAULT (Bad address)"},
      {"api_version", Call(3, C, VFIO_GET_API_VERSION, 0, {}, {}, 0), {},
       "ioctl(3, VFIO_GET_API_VERSION) = 0"},
      {"check_extension", Call(3, C, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU, {}, {}, 1), {},
       "ioctl(3, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) = 1"},
      {"check_extension_9_upstream", Call(3, C, VFIO_CHECK_EXTENSION, 9, {}, {}, 1), {},
       "ioctl(3, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL) = 1"},
      {"check_extension_9_seed001", Call(3, C, VFIO_CHECK_EXTENSION, 9, {}, {}, 1), Vsva(),
       "ioctl(3, VFIO_CHECK_EXTENSION, VFIO_NESTING_IOMMU_UAPI) = 1"},
      {"set_iommu_bad", Call(3, C, VFIO_SET_IOMMU, 99, {}, {}, -1, ENODEV), {},
       "ioctl(3, VFIO_SET_IOMMU, 99) = -1 ENODEV (No such device)"},
      {"unknown_vfio", Call(3, C, _IO(VFIO_TYPE, VFIO_BASE + 40), 0, {}, {}, -1, EINVAL), {},
       "ioctl(3, _IO(VFIO_TYPE, VFIO_BASE + 40), 0) = -1 EINVAL (Invalid argument)"},
      {"unknown_other", Call(3, C, 0x5401, 0x1234, {}, {}, -1, ENOTTY), {},
       "ioctl(3, 0x5401, 0x1234) = -1 ENOTTY (Inappropriate ioctl for device)"},
      {"unmap_written_back", Call(5, C, VFIO_IOMMU_UNMAP_DMA, kPtr, Of(unmap_in), Of(unmap_out), 0), {},
       "ioctl(5, VFIO_IOMMU_UNMAP_DMA, {argsz=24, flags=0, iova=0x400000, size=0x2000 => 0x1000}) = 0"},
      {"unmap_bitmap",
       Call(5, C, VFIO_IOMMU_UNMAP_DMA, kPtr, Cat({Of(unmap_bitmap), Of(bitmap)}),
            Cat({Of(unmap_bitmap), Of(bitmap)}), 0),
       {},
       "ioctl(5, VFIO_IOMMU_UNMAP_DMA, {argsz=48, flags=VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, iova=0x700000, "
       "size=0x1000, bitmap={pgsize=0x1000, size=0x20, data=0x7ffd2000}}) = 0"},
      {"dirty_get_bitmap", Call(5, C, VFIO_IOMMU_DIRTY_PAGES, kPtr, Cat({Of(dirty), Of(get)}), {}, 0), {},
       "ioctl(5, VFIO_IOMMU_DIRTY_PAGES, {argsz=48, flags=VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, "
       "iova=0x600000, size=0x10000, bitmap={pgsize=0x1000, size=0x8, data=0x7ffd3000}}) = 0"},
      {"device_info", Call(6, D, VFIO_DEVICE_GET_INFO, kPtr, Of(dev_in), Of(dev_out), 0), {},
       "ioctl(6, VFIO_DEVICE_GET_INFO, {argsz=20, flags=VFIO_DEVICE_FLAGS_PCI, num_regions=9, num_irqs=5}) = 0"},
      {"device_hot_reset_info_same_number",
       Call(6, D, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, kPtr, Of(vfio_pci_hot_reset_info{16, 0, 0}), {}, -1,
            ENOTTY),
       {},
       "ioctl(6, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, {argsz=16, flags=0}) = -1 ENOTTY (Inappropriate ioctl "
       "for device)"},
      {"irq_info", Call(6, D, VFIO_DEVICE_GET_IRQ_INFO, kPtr, Of(irq_in), Of(irq_out), 0), {},
       "ioctl(6, VFIO_DEVICE_GET_IRQ_INFO, {argsz=16, flags=VFIO_IRQ_INFO_EVENTFD|VFIO_IRQ_INFO_NORESIZE, "
       "index=VFIO_PCI_MSI_IRQ_INDEX, count=1}) = 0"},
      {"set_irqs_eventfd", Call(6, D, VFIO_DEVICE_SET_IRQS, kPtr, Cat({Of(irq_set), Of(eventfd)}), {}, 0), {},
       "ioctl(6, VFIO_DEVICE_SET_IRQS, {argsz=24, flags=VFIO_IRQ_SET_DATA_EVENTFD|VFIO_IRQ_SET_ACTION_TRIGGER, "
       "index=VFIO_PCI_MSI_IRQ_INDEX, start=0, count=1, data=[9]}) = 0"},
      {"region_info_sparse",
       Call(6, D, VFIO_DEVICE_GET_REGION_INFO, kPtr, Of(region_in),
            Cat({Of(region_out), Prefix(Of(sparse), 16), Of(a0), Of(a1)}), 0),
       {},
       "ioctl(6, VFIO_DEVICE_GET_REGION_INFO, {argsz=32 => 80, flags=VFIO_REGION_INFO_FLAG_READ|"
       "VFIO_REGION_INFO_FLAG_WRITE|VFIO_REGION_INFO_FLAG_MMAP|VFIO_REGION_INFO_FLAG_CAPS, "
       "index=VFIO_PCI_BAR0_REGION_INDEX, cap_offset=0x20, size=0x100000, offset=0, "
       "caps=[{id=VFIO_REGION_INFO_CAP_SPARSE_MMAP, version=1, next=0, nr_areas=2, "
       "areas=[{offset=0, size=0x1000}, {offset=0x3000, size=0xfd000}]}]}) = 0"},
      {"pasid_alloc_seed001", Call(5, C, VFIO_IOMMU_PASID_REQUEST, kPtr, Of(pasid_in), Of(pasid_out), 0), Vsva(),
       "ioctl(5, VFIO_IOMMU_PASID_REQUEST, {argsz=20, flags=VFIO_IOMMU_PASID_ALLOC, min=0x1, max=0xfffff, "
       "result=0x20}) = 0"},
      {"pasid_number_upstream", Call(5, C, VFIO_IOMMU_PASID_REQUEST, kPtr, Of(pasid_in), {}, -1, ENOTTY), {},
       "ioctl(5, _IO(VFIO_TYPE, VFIO_BASE + 22), 0x7ffd1000) = -1 ENOTTY (Inappropriate ioctl for device)"},
  };
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class IoctlDecoderTest : public ::testing::TestWithParam<Case> {};

TEST_P(IoctlDecoderTest, FormatsLine) {
  const Case& c = GetParam();
  EXPECT_EQ(FormatIoctl(c.call, c.opts), c.want);
}

INSTANTIATE_TEST_SUITE_P(Table, IoctlDecoderTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(IoctlDecoderShapeTest, ShapesAndSnapshotSizes) {
  DecodeOptions o;
  EXPECT_EQ(ShapeOf(FdKind::kContainer, VFIO_GET_API_VERSION, o), ArgShape::kNone);
  EXPECT_EQ(ShapeOf(FdKind::kContainer, VFIO_IOMMU_ENABLE, o), ArgShape::kNone);
  EXPECT_EQ(ShapeOf(FdKind::kContainer, VFIO_SET_IOMMU, o), ArgShape::kValue);
  EXPECT_EQ(ShapeOf(FdKind::kGroup, VFIO_GROUP_SET_CONTAINER, o), ArgShape::kIntPointer);
  EXPECT_EQ(ShapeOf(FdKind::kGroup, VFIO_GROUP_GET_DEVICE_FD, o), ArgShape::kString);
  EXPECT_EQ(ShapeOf(FdKind::kContainer, VFIO_IOMMU_MAP_DMA, o), ArgShape::kArgszStruct);
  // Same number, different fd kinds.
  EXPECT_EQ(ShapeOf(FdKind::kDevice, VFIO_IOMMU_DISABLE, o), ArgShape::kArgszStruct);  // IOEVENTFD
  EXPECT_EQ(ShapeOf(FdKind::kContainer, VFIO_IOMMU_PASID_REQUEST, o), ArgShape::kOpaque);
  EXPECT_EQ(ShapeOf(FdKind::kContainer, VFIO_IOMMU_PASID_REQUEST, Vsva()), ArgShape::kArgszStruct);

  // The fixed part is always copied, argsz beyond it too, never more than the cap.
  EXPECT_EQ(WantedBytes(FdKind::kContainer, VFIO_IOMMU_MAP_DMA, 0, o), sizeof(vfio_iommu_type1_dma_map));
  EXPECT_EQ(WantedBytes(FdKind::kContainer, VFIO_IOMMU_UNMAP_DMA, 24, o),
            sizeof(vfio_iommu_type1_dma_unmap) + sizeof(vfio_bitmap));
  EXPECT_EQ(WantedBytes(FdKind::kContainer, VFIO_IOMMU_GET_INFO, 116, o), 116u);
  EXPECT_EQ(WantedBytes(FdKind::kContainer, VFIO_IOMMU_GET_INFO, 1u << 30, o), kMaxArgBytes);
}

TEST(IoctlNamesTest, NamesDependOnKindAndProfile) {
  DecodeOptions o;
  EXPECT_EQ(IoctlName(FdKind::kContainer, VFIO_IOMMU_GET_INFO, o), "VFIO_IOMMU_GET_INFO");
  EXPECT_EQ(IoctlName(FdKind::kDevice, VFIO_IOMMU_GET_INFO, o), "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO");
  EXPECT_EQ(IoctlName(FdKind::kUnknown, VFIO_IOMMU_GET_INFO, o), "VFIO_IOMMU_GET_INFO");
  EXPECT_EQ(IommuCapName(1, o), "VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE");
  EXPECT_EQ(IommuCapName(1, DecodeOptions{.cap1_msi_resv = true}), "VFIO_IOMMU_TYPE1_INFO_CAP_MSI_RESV");
  EXPECT_EQ(IommuCapName(1, DecodeOptions{.cap1_resv_iova = true}),
            "VFIO_IOMMU_TYPE1_INFO_CAP_RESV_IOVA_RANGE");
  EXPECT_EQ(IommuCapName(2, Vsva()), "VFIO_IOMMU_TYPE1_INFO_CAP_NESTING");
  EXPECT_EQ(IommuCapName(7, o), "7");
  EXPECT_EQ(RegionIndexName(VFIO_PCI_CONFIG_REGION_INDEX), "VFIO_PCI_CONFIG_REGION_INDEX");
  EXPECT_EQ(RegionIndexName(12), "12");
  EXPECT_EQ(IrqIndexName(VFIO_PCI_REQ_IRQ_INDEX), "VFIO_PCI_REQ_IRQ_INDEX");
  EXPECT_EQ(FlagsToString(0, GroupStatusFlags()), "0");
  EXPECT_EQ(FlagsToString(0x80000001, GroupStatusFlags()), "VFIO_GROUP_FLAGS_VIABLE|0x80000000");
}

}  // namespace
}  // namespace vfiosim::api::trace
