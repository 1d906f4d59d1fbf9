/*
 * RFC uAPI: RESV_IOVA_RANGE capability, one per reserved IOVA range (seed 003).
 *
 * What it models: the 2016 RFC cover letter "reserved IOVA regions" by Eric
 * Auger (series on v4.9-rc3, patch "vfio/type1: Introduce RESV_IOVA_RANGE
 * capability"), the alternative to seed 000 in which the HOST chooses where
 * MSI doorbells go and VFIO_IOMMU_GET_INFO reports every reserved IOVA range
 * (x86: the MSI window 0xFEE00000..0xFEEFFFFF, written "FEE0_0000h -
 * FEF0_000h" in the letter; ARM SMMU: an MSI window at 0x8000000, 1 MiB)
 * so that userspace can avoid them. "Each reserved IOVA range is put in a
 * separate capability" of the chain.
 *
 * RECONSTRUCTED, not mirrored: the seed is a cover letter without the patch
 * body, so neither the capability id, the struct name nor its fields are
 * public. This header fixes them for vfio-sim as follows:
 *   - id 1 (the series introduced the type1 GET_INFO capability chain and
 *     this was its first capability; the id collides with seed 000's
 *     MSI_RESV and with upstream IOVA_RANGE, so it is meaningful only under
 *     the profile that emulates seed 003);
 *   - one capability per range, carrying the range's inclusive start and
 *     inclusive end as __u64, the same convention as upstream's later
 *     struct vfio_iova_range {start, end} (end inclusive);
 *   - header.version 1.
 * The order of the capabilities in the chain is not fixed by the seed.
 *
 * Layout: x86-64 / LP64; pinned with literal numbers below. C and C++
 * compatible. Thread safety: declarations only.
 */
#ifndef VFIOSIM_API_UAPI_VFIO_RESV_IOVA_RFC_H_
#define VFIOSIM_API_UAPI_VFIO_RESV_IOVA_RFC_H_

#include <linux/types.h>
#include <linux/vfio.h>

#include "api/uapi/uapi_assert.h"

/* GET_INFO capability id, reconstructed (see above). */
#define VFIO_IOMMU_TYPE1_INFO_CAP_RESV_IOVA_RANGE 1

/* One reserved IOVA range [start, end], both inclusive. */
struct vfio_iommu_type1_info_cap_resv_iova_range {
  struct vfio_info_cap_header header;
  __u64 start; /* first reserved IOVA */
  __u64 end;   /* last reserved IOVA (inclusive) */
};

VFIOSIM_UAPI_PIN_VALUE(VFIO_IOMMU_TYPE1_INFO_CAP_RESV_IOVA_RANGE, 1);

VFIOSIM_UAPI_PIN_SIZE(struct vfio_iommu_type1_info_cap_resv_iova_range, 24, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_info_cap_resv_iova_range,
                        header, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_info_cap_resv_iova_range,
                        start, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_info_cap_resv_iova_range, end,
                        16);

#endif /* VFIOSIM_API_UAPI_VFIO_RESV_IOVA_RFC_H_ */
