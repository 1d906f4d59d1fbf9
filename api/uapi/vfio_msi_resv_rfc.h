/*
 * RFC uAPI: MSI_RESV capability and reserved-MSI-IOVA map flag (seed 000).
 *
 * What it models: the 2016 linux/vfio.h update by Eric Auger, "msi_resv
 * reporting and MSI IOVA window registration" (QEMU linux-headers sync for
 * the never-merged "KVM PCIe/MSI passthrough on ARM/ARM64" v14 series). On
 * platforms whose MSI doorbells sit behind the IOMMU, VFIO_IOMMU_GET_INFO
 * reports a MSI_RESV capability with the size and alignment of an IOVA
 * window the user must provide; the user then registers such a window with
 * VFIO_IOMMU_MAP_DMA and VFIO_DMA_MAP_FLAG_RESERVED_MSI_IOVA (vaddr ignored).
 * Once registered the window cannot be unmapped; it lives until the container
 * is closed.
 *
 * Only what <linux/vfio.h> (Linux 6.1) lacks is defined here. The seed's
 * other changes are already upstream with the same layout and are NOT
 * redefined: VFIO_IOMMU_INFO_CAPS (1 << 1), vfio_iommu_type1_info.cap_offset
 * at 16 (the seed's explicit `__u32 __resv` at 20 is implicit tail padding
 * upstream; sizeof is 24 either way, pinned below).
 *
 * Profile conflicts (why vfio-sim has uAPI profiles): upstream reused both
 * numbers defined here.
 *   - cap id 1 is VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE upstream (5.4+), and
 *     RESV_IOVA_RANGE in the competing 2016 RFC (vfio_resv_iova_rfc.h);
 *   - map flag bit 2 is VFIO_DMA_MAP_FLAG_VADDR upstream (5.12+).
 * A simulated machine therefore exposes this header's meaning only under the
 * profile that emulates seed 000. Spec section 8 notes the kernel patch
 * spelled the flag MSI_RESERVED_IOVA; the seed (normative here) spells it
 * RESERVED_MSI_IOVA.
 *
 * Layout: x86-64 / LP64, every field naturally aligned; pinned with literal
 * numbers below. C and C++ compatible. Thread safety: declarations only.
 */
#ifndef VFIOSIM_API_UAPI_VFIO_MSI_RESV_RFC_H_
#define VFIOSIM_API_UAPI_VFIO_MSI_RESV_RFC_H_

#include <linux/types.h>
#include <linux/vfio.h>

#include "api/uapi/uapi_assert.h"

/* GET_INFO capability id (collides with upstream IOVA_RANGE: see above). */
#define VFIO_IOMMU_TYPE1_INFO_CAP_MSI_RESV 1

/*
 * Reports that MSI doorbells need a user-provided IOVA window of @size bytes
 * aligned to @alignment bytes. The seed fixes no header.version (every
 * upstream type1 capability starts at version 1).
 */
struct vfio_iommu_type1_info_cap_msi_resv {
  struct vfio_info_cap_header header;
  __u64 size;      /* requested IOVA aperture size in bytes */
  __u64 alignment; /* requested byte alignment of the window */
};

/*
 * MAP_DMA flag: register [iova, iova + size) as the MSI IOVA window; vaddr is
 * ignored and no memory is pinned. Same bit as upstream's
 * VFIO_DMA_MAP_FLAG_VADDR.
 */
#define VFIO_DMA_MAP_FLAG_RESERVED_MSI_IOVA (1 << 2)

VFIOSIM_UAPI_PIN_VALUE(VFIO_IOMMU_TYPE1_INFO_CAP_MSI_RESV, 1);
VFIOSIM_UAPI_PIN_VALUE(VFIO_DMA_MAP_FLAG_RESERVED_MSI_IOVA, 4);

VFIOSIM_UAPI_PIN_SIZE(struct vfio_iommu_type1_info_cap_msi_resv, 24, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_info_cap_msi_resv, header, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_info_cap_msi_resv, size, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_info_cap_msi_resv, alignment,
                        16);

/*
 * The seed's vfio_iommu_type1_info is served by the system struct; pin that
 * the two agree (argsz 0, flags 4, iova_pgsizes 8, cap_offset 16, __resv 20).
 */
VFIOSIM_UAPI_PIN_VALUE(VFIO_IOMMU_INFO_CAPS, 2);
VFIOSIM_UAPI_PIN_SIZE(struct vfio_iommu_type1_info, 24, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_info, argsz, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_info, flags, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_info, iova_pgsizes, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_info, cap_offset, 16);

#endif /* VFIOSIM_API_UAPI_VFIO_MSI_RESV_RFC_H_ */
