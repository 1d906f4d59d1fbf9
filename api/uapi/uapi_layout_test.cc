// Pins the Linux uAPI numbers and layouts vfio-sim relies on to literals.
//
// The RFC mirrors in this directory pin their own structs and constants with
// static asserts (compile time, in C and C++); this test covers what comes from the system <linux/vfio.h> and
// <linux/iommu.h> (Debian bookworm, Linux 6.1 uAPI) plus the ioctl numbers of
// every header, so that a different build host (newer linux-libc-dev, another
// ABI) shows up as a named, failing row instead of a silent misbehaviour.
// Expected values: spec/type1-semantics.md sections 1 and 2, the seeds, and
// upstream include/uapi/linux/vfio.h for the 6.6 cdev ioctls.
#include <linux/iommu.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "api/uapi/iommu_vsva_rfc.h"
#include "api/uapi/vfio_later.h"
#include "api/uapi/vfio_msi_resv_rfc.h"
#include "api/uapi/vfio_resv_iova_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"
#include "gtest/gtest.h"

namespace vfiosim::api {
namespace {

// One named value and the literal it must equal.
struct Pin {
  const char* name;
  uint64_t actual;
  uint64_t expected;
};

#define PIN(expr, literal) \
  Pin { #expr, static_cast<uint64_t>(expr), static_cast<uint64_t>(literal) }

// offsetof(type, field) + sizeof(field): the kernel's offsetofend, i.e. the
// minsz of an ioctl whose last mandatory field is `field`.
#define OFFSETOFEND(type, field) \
  (offsetof(type, field) + sizeof(static_cast<type*>(nullptr)->field))

void ExpectPins(const std::vector<Pin>& pins) {
  for (const Pin& pin : pins) {
    EXPECT_EQ(pin.actual, pin.expected)
        << pin.name << " = 0x" << std::hex << pin.actual << ", expected 0x"
        << pin.expected;
  }
}

// ---------------------------------------------------------------------------
// (1) ioctl numbers
// ---------------------------------------------------------------------------

enum class Fd { kContainer, kGroup, kDevice };

struct IoctlRow {
  const char* name;
  unsigned long actual;  // NOLINT(runtime/int): ioctl request type
  unsigned long expected;  // NOLINT(runtime/int)
  Fd fd;
};

#define IOCTL_ROW(cmd, literal, fd) IoctlRow{#cmd, cmd, literal, Fd::fd}

// Every ioctl vfio-sim dispatches, on the fd type that owns it.
const std::vector<IoctlRow>& AllIoctls() {
  static const std::vector<IoctlRow> rows = {
      // Container fd (/dev/vfio/vfio), type1 backend.
      IOCTL_ROW(VFIO_GET_API_VERSION, 0x3B64, kContainer),
      IOCTL_ROW(VFIO_CHECK_EXTENSION, 0x3B65, kContainer),
      IOCTL_ROW(VFIO_SET_IOMMU, 0x3B66, kContainer),
      IOCTL_ROW(VFIO_IOMMU_GET_INFO, 0x3B70, kContainer),
      IOCTL_ROW(VFIO_IOMMU_MAP_DMA, 0x3B71, kContainer),
      IOCTL_ROW(VFIO_IOMMU_UNMAP_DMA, 0x3B72, kContainer),
      IOCTL_ROW(VFIO_IOMMU_ENABLE, 0x3B73, kContainer),
      IOCTL_ROW(VFIO_IOMMU_DISABLE, 0x3B74, kContainer),
      IOCTL_ROW(VFIO_IOMMU_DIRTY_PAGES, 0x3B75, kContainer),
      // Container fd, seed 001 (rfc-vsva-2020 profile).
      IOCTL_ROW(VFIO_IOMMU_PASID_REQUEST, 0x3B7A, kContainer),
      IOCTL_ROW(VFIO_IOMMU_BIND, 0x3B7B, kContainer),
      IOCTL_ROW(VFIO_IOMMU_CACHE_INVALIDATE, 0x3B7C, kContainer),
      // Group fd (/dev/vfio/$N).
      IOCTL_ROW(VFIO_GROUP_GET_STATUS, 0x3B67, kGroup),
      IOCTL_ROW(VFIO_GROUP_SET_CONTAINER, 0x3B68, kGroup),
      IOCTL_ROW(VFIO_GROUP_UNSET_CONTAINER, 0x3B69, kGroup),
      IOCTL_ROW(VFIO_GROUP_GET_DEVICE_FD, 0x3B6A, kGroup),
      // Device fd.
      IOCTL_ROW(VFIO_DEVICE_GET_INFO, 0x3B6B, kDevice),
      IOCTL_ROW(VFIO_DEVICE_GET_REGION_INFO, 0x3B6C, kDevice),
      IOCTL_ROW(VFIO_DEVICE_GET_IRQ_INFO, 0x3B6D, kDevice),
      IOCTL_ROW(VFIO_DEVICE_SET_IRQS, 0x3B6E, kDevice),
      IOCTL_ROW(VFIO_DEVICE_RESET, 0x3B6F, kDevice),
      IOCTL_ROW(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, 0x3B70, kDevice),
      IOCTL_ROW(VFIO_DEVICE_PCI_HOT_RESET, 0x3B71, kDevice),
      IOCTL_ROW(VFIO_DEVICE_QUERY_GFX_PLANE, 0x3B72, kDevice),
      IOCTL_ROW(VFIO_DEVICE_GET_GFX_DMABUF, 0x3B73, kDevice),
      IOCTL_ROW(VFIO_DEVICE_IOEVENTFD, 0x3B74, kDevice),
      IOCTL_ROW(VFIO_DEVICE_FEATURE, 0x3B75, kDevice),
      // Device fd, 6.6+ cdev path (vfio_later.h on a 6.1 host).
      IOCTL_ROW(VFIO_DEVICE_BIND_IOMMUFD, 0x3B76, kDevice),
      IOCTL_ROW(VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0x3B77, kDevice),
      IOCTL_ROW(VFIO_DEVICE_DETACH_IOMMUFD_PT, 0x3B78, kDevice),
  };
  return rows;
}

TEST(UapiIoctlTest, EveryNumberEqualsItsLiteral) {
  for (const IoctlRow& row : AllIoctls()) {
    EXPECT_EQ(row.actual, row.expected)
        << row.name << " = 0x" << std::hex << row.actual;
  }
}

// VFIO encodes no size or direction in its numbers (plain _IO), which is why
// argsz exists. The seed's doc comments say _IOWR/_IOW; its #defines, which
// are what clients compile, use _IO. A mirror that followed the comments
// would change the number, so check the encoding field by field.
TEST(UapiIoctlTest, EveryNumberIsPlainIoOfTypeSemicolon) {
  for (const IoctlRow& row : AllIoctls()) {
    EXPECT_EQ(_IOC_TYPE(row.actual), static_cast<unsigned>(';')) << row.name;
    EXPECT_EQ(_IOC_DIR(row.actual), static_cast<unsigned>(_IOC_NONE))
        << row.name;
    EXPECT_EQ(_IOC_SIZE(row.actual), 0u) << row.name;
    EXPECT_EQ(_IOC_NR(row.actual), row.expected & 0xFF) << row.name;
  }
  EXPECT_EQ(VFIO_TYPE, ';');
  EXPECT_EQ(VFIO_BASE, 100);
}

// Dispatch is per fd type: numbers may repeat across fd types (0x3B70 is
// IOMMU_GET_INFO on a container and GET_PCI_HOT_RESET_INFO on a device) but
// never within one, including the RFC additions.
TEST(UapiIoctlTest, NumbersAreUniqueWithinEachFdType) {
  for (Fd fd : {Fd::kContainer, Fd::kGroup, Fd::kDevice}) {
    std::set<unsigned long> seen;  // NOLINT(runtime/int)
    for (const IoctlRow& row : AllIoctls()) {
      if (row.fd != fd) continue;
      EXPECT_TRUE(seen.insert(row.actual).second)
          << row.name << " repeats 0x" << std::hex << row.actual;
    }
  }
}

// ---------------------------------------------------------------------------
// (2) layouts of the system structs (x86-64), spec section 2
// ---------------------------------------------------------------------------

// sizeof and alignof of every system struct vfio-sim reads or writes.
TEST(UapiLayoutTest, SystemStructSizes) {
  ExpectPins({
      PIN(sizeof(struct vfio_info_cap_header), 8),
      PIN(sizeof(struct vfio_group_status), 8),
      PIN(sizeof(struct vfio_iommu_type1_info), 24),
      PIN(alignof(struct vfio_iommu_type1_info), 8),
      PIN(sizeof(struct vfio_iova_range), 16),
      PIN(sizeof(struct vfio_iommu_type1_info_cap_iova_range), 16),
      PIN(sizeof(struct vfio_iommu_type1_info_cap_migration), 32),
      // No tail padding: the kernel appends the next cap at +12, unaligned.
      PIN(sizeof(struct vfio_iommu_type1_info_dma_avail), 12),
      PIN(alignof(struct vfio_iommu_type1_info_dma_avail), 4),
      PIN(sizeof(struct vfio_iommu_type1_dma_map), 32),
      PIN(sizeof(struct vfio_iommu_type1_dma_unmap), 24),
      PIN(sizeof(struct vfio_bitmap), 24),
      PIN(sizeof(struct vfio_iommu_type1_dirty_bitmap), 8),
      PIN(sizeof(struct vfio_iommu_type1_dirty_bitmap_get), 40),
      // 20 in the 6.1 header. Upstream later appended `__u32 pad` (commit
      // a881b496941f "vfio: align capability structures"), making it 24 as
      // spec section 2 says; every field offset below is the same in both.
      PIN(sizeof(struct vfio_device_info), 20),
      PIN(sizeof(struct vfio_region_info), 32),
      PIN(sizeof(struct vfio_region_sparse_mmap_area), 16),
      PIN(sizeof(struct vfio_region_info_cap_sparse_mmap), 16),
      PIN(sizeof(struct vfio_region_info_cap_type), 16),
      PIN(sizeof(struct vfio_irq_info), 16),
      PIN(sizeof(struct vfio_irq_set), 20),
      PIN(sizeof(struct vfio_pci_dependent_device), 8),
      PIN(sizeof(struct vfio_pci_hot_reset_info), 12),
      PIN(sizeof(struct vfio_pci_hot_reset), 12),
      PIN(sizeof(struct vfio_device_feature), 8),
      PIN(sizeof(struct vfio_device_bind_iommufd), 16),
      PIN(sizeof(struct vfio_device_attach_iommufd_pt), 12),
      PIN(sizeof(struct vfio_device_detach_iommufd_pt), 8),
      PIN(sizeof(struct iommu_fault), 64),
      PIN(sizeof(struct iommu_page_response), 24),
  });
}

TEST(UapiLayoutTest, SystemStructOffsets) {
  ExpectPins({
      PIN(offsetof(struct vfio_info_cap_header, id), 0),
      PIN(offsetof(struct vfio_info_cap_header, version), 2),
      PIN(offsetof(struct vfio_info_cap_header, next), 4),

      PIN(offsetof(struct vfio_group_status, argsz), 0),
      PIN(offsetof(struct vfio_group_status, flags), 4),

      PIN(offsetof(struct vfio_iommu_type1_info, argsz), 0),
      PIN(offsetof(struct vfio_iommu_type1_info, flags), 4),
      PIN(offsetof(struct vfio_iommu_type1_info, iova_pgsizes), 8),
      PIN(offsetof(struct vfio_iommu_type1_info, cap_offset), 16),

      PIN(offsetof(struct vfio_iova_range, start), 0),
      PIN(offsetof(struct vfio_iova_range, end), 8),
      PIN(offsetof(struct vfio_iommu_type1_info_cap_iova_range, header), 0),
      PIN(offsetof(struct vfio_iommu_type1_info_cap_iova_range, nr_iovas), 8),
      PIN(offsetof(struct vfio_iommu_type1_info_cap_iova_range, reserved), 12),
      PIN(offsetof(struct vfio_iommu_type1_info_cap_iova_range, iova_ranges),
          16),

      PIN(offsetof(struct vfio_iommu_type1_info_cap_migration, header), 0),
      PIN(offsetof(struct vfio_iommu_type1_info_cap_migration, flags), 8),
      PIN(offsetof(struct vfio_iommu_type1_info_cap_migration, pgsize_bitmap),
          16),
      PIN(offsetof(struct vfio_iommu_type1_info_cap_migration,
                   max_dirty_bitmap_size),
          24),

      PIN(offsetof(struct vfio_iommu_type1_info_dma_avail, header), 0),
      PIN(offsetof(struct vfio_iommu_type1_info_dma_avail, avail), 8),

      PIN(offsetof(struct vfio_iommu_type1_dma_map, argsz), 0),
      PIN(offsetof(struct vfio_iommu_type1_dma_map, flags), 4),
      PIN(offsetof(struct vfio_iommu_type1_dma_map, vaddr), 8),
      PIN(offsetof(struct vfio_iommu_type1_dma_map, iova), 16),
      PIN(offsetof(struct vfio_iommu_type1_dma_map, size), 24),

      PIN(offsetof(struct vfio_iommu_type1_dma_unmap, argsz), 0),
      PIN(offsetof(struct vfio_iommu_type1_dma_unmap, flags), 4),
      PIN(offsetof(struct vfio_iommu_type1_dma_unmap, iova), 8),
      PIN(offsetof(struct vfio_iommu_type1_dma_unmap, size), 16),
      PIN(offsetof(struct vfio_iommu_type1_dma_unmap, data), 24),

      PIN(offsetof(struct vfio_bitmap, pgsize), 0),
      PIN(offsetof(struct vfio_bitmap, size), 8),
      PIN(offsetof(struct vfio_bitmap, data), 16),

      PIN(offsetof(struct vfio_iommu_type1_dirty_bitmap, argsz), 0),
      PIN(offsetof(struct vfio_iommu_type1_dirty_bitmap, flags), 4),
      PIN(offsetof(struct vfio_iommu_type1_dirty_bitmap, data), 8),
      PIN(offsetof(struct vfio_iommu_type1_dirty_bitmap_get, iova), 0),
      PIN(offsetof(struct vfio_iommu_type1_dirty_bitmap_get, size), 8),
      PIN(offsetof(struct vfio_iommu_type1_dirty_bitmap_get, bitmap), 16),

      PIN(offsetof(struct vfio_device_info, argsz), 0),
      PIN(offsetof(struct vfio_device_info, flags), 4),
      PIN(offsetof(struct vfio_device_info, num_regions), 8),
      PIN(offsetof(struct vfio_device_info, num_irqs), 12),
      PIN(offsetof(struct vfio_device_info, cap_offset), 16),

      PIN(offsetof(struct vfio_region_info, argsz), 0),
      PIN(offsetof(struct vfio_region_info, flags), 4),
      PIN(offsetof(struct vfio_region_info, index), 8),
      PIN(offsetof(struct vfio_region_info, cap_offset), 12),
      PIN(offsetof(struct vfio_region_info, size), 16),
      PIN(offsetof(struct vfio_region_info, offset), 24),

      PIN(offsetof(struct vfio_region_sparse_mmap_area, offset), 0),
      PIN(offsetof(struct vfio_region_sparse_mmap_area, size), 8),
      PIN(offsetof(struct vfio_region_info_cap_sparse_mmap, header), 0),
      PIN(offsetof(struct vfio_region_info_cap_sparse_mmap, nr_areas), 8),
      PIN(offsetof(struct vfio_region_info_cap_sparse_mmap, reserved), 12),
      PIN(offsetof(struct vfio_region_info_cap_sparse_mmap, areas), 16),
      PIN(offsetof(struct vfio_region_info_cap_type, header), 0),
      PIN(offsetof(struct vfio_region_info_cap_type, type), 8),
      PIN(offsetof(struct vfio_region_info_cap_type, subtype), 12),

      PIN(offsetof(struct vfio_irq_info, argsz), 0),
      PIN(offsetof(struct vfio_irq_info, flags), 4),
      PIN(offsetof(struct vfio_irq_info, index), 8),
      PIN(offsetof(struct vfio_irq_info, count), 12),

      PIN(offsetof(struct vfio_irq_set, argsz), 0),
      PIN(offsetof(struct vfio_irq_set, flags), 4),
      PIN(offsetof(struct vfio_irq_set, index), 8),
      PIN(offsetof(struct vfio_irq_set, start), 12),
      PIN(offsetof(struct vfio_irq_set, count), 16),
      PIN(offsetof(struct vfio_irq_set, data), 20),

      PIN(offsetof(struct vfio_pci_dependent_device, group_id), 0),
      PIN(offsetof(struct vfio_pci_dependent_device, segment), 4),
      PIN(offsetof(struct vfio_pci_dependent_device, bus), 6),
      PIN(offsetof(struct vfio_pci_dependent_device, devfn), 7),
      PIN(offsetof(struct vfio_pci_hot_reset_info, count), 8),
      PIN(offsetof(struct vfio_pci_hot_reset_info, devices), 12),
      PIN(offsetof(struct vfio_pci_hot_reset, count), 8),
      PIN(offsetof(struct vfio_pci_hot_reset, group_fds), 12),

      PIN(offsetof(struct vfio_device_feature, argsz), 0),
      PIN(offsetof(struct vfio_device_feature, flags), 4),
      PIN(offsetof(struct vfio_device_feature, data), 8),

      // 6.1's page response has argsz first, unlike seed 001's (which is
      // mirrored as iommu_page_response_rfc).
      PIN(offsetof(struct iommu_page_response, argsz), 0),
      PIN(offsetof(struct iommu_page_response, version), 4),
      PIN(offsetof(struct iommu_page_response, code), 20),
  });
}

// minsz = offsetofend(last mandatory field), spec section 2: the byte count
// the kernel copies in and below which argsz is EINVAL.
TEST(UapiLayoutTest, MinszOfEachArgszIoctl) {
  ExpectPins({
      PIN(OFFSETOFEND(struct vfio_group_status, flags), 8),
      PIN(OFFSETOFEND(struct vfio_iommu_type1_info, iova_pgsizes), 16),
      PIN(OFFSETOFEND(struct vfio_iommu_type1_dma_map, size), 32),
      PIN(OFFSETOFEND(struct vfio_iommu_type1_dma_unmap, size), 24),
      PIN(OFFSETOFEND(struct vfio_iommu_type1_dirty_bitmap, flags), 8),
      PIN(OFFSETOFEND(struct vfio_device_info, num_irqs), 16),
      // The whole 6.1 struct ends here; later kernels add 4 bytes of pad.
      PIN(OFFSETOFEND(struct vfio_device_info, cap_offset), 20),
      PIN(OFFSETOFEND(struct vfio_region_info, offset), 32),
      PIN(OFFSETOFEND(struct vfio_irq_info, count), 16),
      PIN(OFFSETOFEND(struct vfio_irq_set, count), 20),
      PIN(OFFSETOFEND(struct vfio_pci_hot_reset_info, count), 12),
      PIN(OFFSETOFEND(struct vfio_pci_hot_reset, count), 12),
      PIN(OFFSETOFEND(struct vfio_device_feature, flags), 8),
      PIN(OFFSETOFEND(struct vfio_device_bind_iommufd, out_devid), 16),
      PIN(OFFSETOFEND(struct vfio_device_attach_iommufd_pt, pt_id), 12),
      PIN(OFFSETOFEND(struct vfio_device_detach_iommufd_pt, flags), 8),
      // Seed 001: the fixed part of each RFC argument.
      PIN(OFFSETOFEND(struct vfio_iommu_type1_pasid_request, flags), 8),
      PIN(OFFSETOFEND(struct vfio_iommu_type1_bind, flags), 8),
      PIN(OFFSETOFEND(struct vfio_iommu_type1_cache_invalidate, cache_info),
          56),
  });
}

// ---------------------------------------------------------------------------
// (3) CHECK_EXTENSION values and flag bits
// ---------------------------------------------------------------------------

TEST(UapiConstantsTest, ApiVersionAndExtensions) {
  ExpectPins({
      PIN(VFIO_API_VERSION, 0),
      PIN(VFIO_TYPE1_IOMMU, 1),
      PIN(VFIO_SPAPR_TCE_IOMMU, 2),
      PIN(VFIO_TYPE1v2_IOMMU, 3),
      PIN(VFIO_DMA_CC_IOMMU, 4),
      PIN(VFIO_EEH, 5),
      PIN(VFIO_TYPE1_NESTING_IOMMU, 6),
      PIN(VFIO_SPAPR_TCE_v2_IOMMU, 7),
      PIN(VFIO_NOIOMMU_IOMMU, 8),
      PIN(VFIO_UNMAP_ALL, 9),
      PIN(VFIO_UPDATE_VADDR, 10),
      // Seed 001's extension (9) and UAPI version are pinned in
      // vfio_vsva_rfc.h / iommu_vsva_rfc.h; the version query is a function.
      PIN(iommu_get_uapi_version(), 1),
  });
}

TEST(UapiConstantsTest, ContainerAndGroupFlags) {
  ExpectPins({
      PIN(VFIO_GROUP_FLAGS_VIABLE, 1),
      PIN(VFIO_GROUP_FLAGS_CONTAINER_SET, 2),
      PIN(VFIO_IOMMU_INFO_PGSIZES, 1),
      PIN(VFIO_IOMMU_INFO_CAPS, 2),
      PIN(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1),
      PIN(VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 2),
      PIN(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 3),
      PIN(VFIO_DMA_MAP_FLAG_READ, 1),
      PIN(VFIO_DMA_MAP_FLAG_WRITE, 2),
      PIN(VFIO_DMA_MAP_FLAG_VADDR, 4),
      PIN(VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 1),
      PIN(VFIO_DMA_UNMAP_FLAG_ALL, 2),
      PIN(VFIO_DMA_UNMAP_FLAG_VADDR, 4),
      PIN(VFIO_IOMMU_DIRTY_PAGES_FLAG_START, 1),
      PIN(VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 2),
      PIN(VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, 4),
  });
}

TEST(UapiConstantsTest, DeviceFlagsAndIndexes) {
  ExpectPins({
      PIN(VFIO_DEVICE_FLAGS_RESET, 0x1),
      PIN(VFIO_DEVICE_FLAGS_PCI, 0x2),
      PIN(VFIO_DEVICE_FLAGS_PLATFORM, 0x4),
      PIN(VFIO_DEVICE_FLAGS_AMBA, 0x8),
      PIN(VFIO_DEVICE_FLAGS_CCW, 0x10),
      PIN(VFIO_DEVICE_FLAGS_AP, 0x20),
      PIN(VFIO_DEVICE_FLAGS_FSL_MC, 0x40),
      PIN(VFIO_DEVICE_FLAGS_CAPS, 0x80),
      PIN(VFIO_REGION_INFO_FLAG_READ, 1),
      PIN(VFIO_REGION_INFO_FLAG_WRITE, 2),
      PIN(VFIO_REGION_INFO_FLAG_MMAP, 4),
      PIN(VFIO_REGION_INFO_FLAG_CAPS, 8),
      PIN(VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1),
      PIN(VFIO_REGION_INFO_CAP_TYPE, 2),
      PIN(VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 3),
      PIN(VFIO_IRQ_INFO_EVENTFD, 1),
      PIN(VFIO_IRQ_INFO_MASKABLE, 2),
      PIN(VFIO_IRQ_INFO_AUTOMASKED, 4),
      PIN(VFIO_IRQ_INFO_NORESIZE, 8),
      PIN(VFIO_IRQ_SET_DATA_NONE, 0x1),
      PIN(VFIO_IRQ_SET_DATA_BOOL, 0x2),
      PIN(VFIO_IRQ_SET_DATA_EVENTFD, 0x4),
      PIN(VFIO_IRQ_SET_ACTION_MASK, 0x8),
      PIN(VFIO_IRQ_SET_ACTION_UNMASK, 0x10),
      PIN(VFIO_IRQ_SET_ACTION_TRIGGER, 0x20),
      PIN(VFIO_IRQ_SET_DATA_TYPE_MASK, 0x7),
      PIN(VFIO_IRQ_SET_ACTION_TYPE_MASK, 0x38),
      PIN(VFIO_DEVICE_FEATURE_MASK, 0xFFFF),
      PIN(VFIO_DEVICE_FEATURE_GET, 0x10000),
      PIN(VFIO_DEVICE_FEATURE_SET, 0x20000),
      PIN(VFIO_DEVICE_FEATURE_PROBE, 0x40000),
      PIN(VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, 0),
      PIN(VFIO_DEVICE_FEATURE_MIGRATION, 1),
      PIN(VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, 2),
      PIN(VFIO_PCI_BAR0_REGION_INDEX, 0),
      PIN(VFIO_PCI_BAR5_REGION_INDEX, 5),
      PIN(VFIO_PCI_ROM_REGION_INDEX, 6),
      PIN(VFIO_PCI_CONFIG_REGION_INDEX, 7),
      PIN(VFIO_PCI_VGA_REGION_INDEX, 8),
      PIN(VFIO_PCI_NUM_REGIONS, 9),
      PIN(VFIO_PCI_INTX_IRQ_INDEX, 0),
      PIN(VFIO_PCI_MSI_IRQ_INDEX, 1),
      PIN(VFIO_PCI_MSIX_IRQ_INDEX, 2),
      PIN(VFIO_PCI_ERR_IRQ_INDEX, 3),
      PIN(VFIO_PCI_REQ_IRQ_INDEX, 4),
      PIN(VFIO_PCI_NUM_IRQS, 5),
  });
}

// The RFC numbers were later reused upstream with other meanings. These
// equalities are why one simulated machine cannot speak both: a uAPI profile
// picks one meaning per number. If one of them ever stops holding, the
// profile tables built on them need revisiting.
TEST(UapiConstantsTest, RfcNumbersCollideWithUpstream) {
  EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_CAP_MSI_RESV,
            VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
  EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_CAP_RESV_IOVA_RANGE,
            VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
  EXPECT_EQ(VFIO_DMA_MAP_FLAG_RESERVED_MSI_IOVA, VFIO_DMA_MAP_FLAG_VADDR);
  EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_CAP_NESTING,
            VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
  EXPECT_EQ(VFIO_NESTING_IOMMU_UAPI, VFIO_UNMAP_ALL);
}

}  // namespace
}  // namespace vfiosim::api
