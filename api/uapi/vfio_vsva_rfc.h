/*
 * RFC uAPI: the linux/vfio.h vSVA additions of seed 001 (RFC v3.1, 2020).
 *
 * What it models: the VFIO half of "[RFC v3.1 02/22] header file update
 * VFIO/IOMMU vSVA APIs" (Liu Yi L, 2020-02-22): a nesting (two-stage) type1
 * container reports a NESTING capability, lets userspace allocate and free
 * system-wide PASIDs (VFIO_IOMMU_PASID_REQUEST), bind a guest first-level
 * page table to a PASID (VFIO_IOMMU_BIND, payload struct
 * iommu_gpasid_bind_data) and propagate guest IOTLB/PASID-cache invalidations
 * (VFIO_IOMMU_CACHE_INVALIDATE, payload struct iommu_cache_invalidate_info).
 * The payload structs are in iommu_vsva_rfc.h.
 *
 * Seed, not later revisions: later versions moved PASID_REQUEST to
 * VFIO_BASE + 18 (returning the PASID as the ioctl result), folded BIND and
 * CACHE_INVALIDATE into one NESTING_OP, and renumbered the NESTING cap
 * (spec section 10). The rfc-vsva-2020 profile follows this seed: +22/+23/+24,
 * the PASID written back to alloc_pasid.result, free_pasid one PASID, cap id 2.
 * The seed's doc comments say _IOWR/_IOW but its #defines use _IO (no size or
 * direction bits), like every VFIO ioctl; the #defines are what is mirrored.
 *
 * Profile conflicts with upstream (why vfio-sim has uAPI profiles):
 *   - VFIO_NESTING_IOMMU_UAPI (9) is the same CHECK_EXTENSION number as
 *     upstream VFIO_UNMAP_ALL (5.12+);
 *   - cap id 2 (NESTING) is upstream VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION.
 * VFIO_TYPE1_NESTING_IOMMU (6) is upstream's own (until 6.13 renamed it
 * __VFIO_RESERVED_TYPE1_NESTING_IOMMU); it is defined here only when the
 * system header no longer has it.
 *
 * Layout: x86-64 / LP64; pinned with literal numbers below. C (C11 anonymous
 * unions) and C++ compatible. Thread safety: declarations only.
 */
#ifndef VFIOSIM_API_UAPI_VFIO_VSVA_RFC_H_
#define VFIOSIM_API_UAPI_VFIO_VSVA_RFC_H_

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/vfio.h>

#include "api/uapi/iommu_vsva_rfc.h"
#include "api/uapi/uapi_assert.h"

/* ---- Extensions (VFIO_CHECK_EXTENSION / VFIO_SET_IOMMU arguments) ---- */

#ifndef VFIO_TYPE1_NESTING_IOMMU
#define VFIO_TYPE1_NESTING_IOMMU 6 /* implies v2 */
#endif

/*
 * Two-stage IOMMUs give userspace stage 1; users of VFIO_TYPE1_NESTING_IOMMU
 * check this extension to know the IOMMU UAPI (iommu_vsva_rfc.h) is spoken.
 */
#define VFIO_NESTING_IOMMU_UAPI 9

/* ---- GET_INFO capability ---- */

#define VFIO_IOMMU_TYPE1_INFO_CAP_NESTING 2

struct vfio_iommu_type1_info_cap_nesting {
  struct vfio_info_cap_header header;
#define VFIO_IOMMU_PASID_REQS (1 << 0) /* VFIO_IOMMU_PASID_REQUEST works */
  __u32 nesting_capabilities;
  __u32 stage1_format; /* IOMMU_PASID_FORMAT_* of the stage-1 tables */
};

/* ---- VFIO_IOMMU_PASID_REQUEST ---- */

/*
 * ALLOC: allocate a system-wide PASID in [alloc_pasid.min, alloc_pasid.max],
 * written back to alloc_pasid.result. FREE: free the single PASID
 * free_pasid. Exactly one of the two flags.
 */
struct vfio_iommu_type1_pasid_request {
  __u32 argsz;
#define VFIO_IOMMU_PASID_ALLOC (1 << 0)
#define VFIO_IOMMU_PASID_FREE (1 << 1)
  __u32 flags;
  union {
    struct {
      __u32 min;
      __u32 max;
      __u32 result;
    } alloc_pasid;
    __u32 free_pasid;
  };
};

#define VFIO_PASID_REQUEST_MASK (VFIO_IOMMU_PASID_ALLOC | VFIO_IOMMU_PASID_FREE)

#define VFIO_IOMMU_PASID_REQUEST _IO(VFIO_TYPE, VFIO_BASE + 22)

/* ---- VFIO_IOMMU_BIND ---- */

/*
 * BIND_GUEST_PGTBL: data[] holds a struct iommu_gpasid_bind_data and binds a
 * guest stage-1 table (MAP/UNMAP_DMA keep managing stage 2). UNBIND undoes it.
 */
struct vfio_iommu_type1_bind {
  __u32 argsz;
  __u32 flags;
#define VFIO_IOMMU_BIND_GUEST_PGTBL (1 << 0)
#define VFIO_IOMMU_UNBIND_GUEST_PGTBL (1 << 1)
  __u8 data[];
};

#define VFIO_IOMMU_BIND_MASK \
  (VFIO_IOMMU_BIND_GUEST_PGTBL | VFIO_IOMMU_UNBIND_GUEST_PGTBL)

#define VFIO_IOMMU_BIND _IO(VFIO_TYPE, VFIO_BASE + 23)

/* ---- VFIO_IOMMU_CACHE_INVALIDATE ---- */

/* Propagates one guest invalidation; cache_info.version is checked first. */
struct vfio_iommu_type1_cache_invalidate {
  __u32 argsz;
  __u32 flags;
  struct iommu_cache_invalidate_info cache_info;
};

#define VFIO_IOMMU_CACHE_INVALIDATE _IO(VFIO_TYPE, VFIO_BASE + 24)

/* ---- Pins ---- */

VFIOSIM_UAPI_PIN_VALUE(VFIO_TYPE1_NESTING_IOMMU, 6);
VFIOSIM_UAPI_PIN_VALUE(VFIO_NESTING_IOMMU_UAPI, 9);
VFIOSIM_UAPI_PIN_VALUE(VFIO_IOMMU_TYPE1_INFO_CAP_NESTING, 2);
VFIOSIM_UAPI_PIN_VALUE(VFIO_IOMMU_PASID_REQS, 1);
VFIOSIM_UAPI_PIN_VALUE(VFIO_IOMMU_PASID_ALLOC, 1);
VFIOSIM_UAPI_PIN_VALUE(VFIO_IOMMU_PASID_FREE, 2);
VFIOSIM_UAPI_PIN_VALUE(VFIO_PASID_REQUEST_MASK, 3);
VFIOSIM_UAPI_PIN_VALUE(VFIO_IOMMU_BIND_GUEST_PGTBL, 1);
VFIOSIM_UAPI_PIN_VALUE(VFIO_IOMMU_UNBIND_GUEST_PGTBL, 2);
VFIOSIM_UAPI_PIN_VALUE(VFIO_IOMMU_BIND_MASK, 3);
VFIOSIM_UAPI_PIN_VALUE(VFIO_IOMMU_PASID_REQUEST, 0x3B7A);
VFIOSIM_UAPI_PIN_VALUE(VFIO_IOMMU_BIND, 0x3B7B);
VFIOSIM_UAPI_PIN_VALUE(VFIO_IOMMU_CACHE_INVALIDATE, 0x3B7C);

VFIOSIM_UAPI_PIN_SIZE(struct vfio_iommu_type1_info_cap_nesting, 16, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_info_cap_nesting, header, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_info_cap_nesting,
                        nesting_capabilities, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_info_cap_nesting,
                        stage1_format, 12);

VFIOSIM_UAPI_PIN_SIZE(struct vfio_iommu_type1_pasid_request, 20, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_pasid_request, argsz, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_pasid_request, flags, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_pasid_request, alloc_pasid, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_pasid_request,
                        alloc_pasid.min, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_pasid_request,
                        alloc_pasid.max, 12);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_pasid_request,
                        alloc_pasid.result, 16);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_pasid_request, free_pasid, 8);

VFIOSIM_UAPI_PIN_SIZE(struct vfio_iommu_type1_bind, 8, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_bind, argsz, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_bind, flags, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_bind, data, 8);

VFIOSIM_UAPI_PIN_SIZE(struct vfio_iommu_type1_cache_invalidate, 56, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_cache_invalidate, argsz, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_cache_invalidate, flags, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_iommu_type1_cache_invalidate, cache_info,
                        8);

#endif /* VFIOSIM_API_UAPI_VFIO_VSVA_RFC_H_ */
