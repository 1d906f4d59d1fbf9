/*
 * RFC uAPI: the linux/iommu.h vSVA additions of seed 001 (RFC v3.1, 2020).
 *
 * What it models: the IOMMU user API that "[RFC v3.1 02/22] header file update
 * VFIO/IOMMU vSVA APIs" (Liu Yi L, 2020-02-22) imported into QEMU: the UAPI
 * version, first-level cache invalidation (struct iommu_cache_invalidate_info
 * with its granularity table) and guest PASID bind data (struct
 * iommu_gpasid_bind_data with the VT-d vendor part). VFIO carries these as
 * payloads of VFIO_IOMMU_CACHE_INVALIDATE and VFIO_IOMMU_BIND (see
 * vfio_vsva_rfc.h).
 *
 * Seed layout, not the 5.10 one: the seed's structs begin with `version` and
 * have NO argsz (invalidate: padding[2] at 6, union at 8, 48 bytes; bind:
 * padding[12] at 44, vtd at 56, 72 bytes). The kernel later (v5.10,
 * "iommu/uapi: Add argsz for user filled data") prepended argsz and reshuffled
 * both (spec section 10 gives that layout). The seed is normative for the
 * rfc-vsva-2020 profile, so the seed layout is what is pinned here.
 *
 * Relation to the system <linux/iommu.h> (Linux 6.1): it still has the fault
 * half of the seed (IOMMU_FAULT_PERM_*, enum iommu_fault_type, enum
 * iommu_fault_reason, struct iommu_fault_unrecoverable, struct
 * iommu_fault_page_request, struct iommu_fault, enum iommu_page_response_code,
 * IOMMU_PAGE_RESP_PASID_VALID) with the seed's values and layout; those are
 * used from the system header and only pinned here. Everything else is
 * defined here. One name collides with a different layout:
 *   struct iommu_page_response is {argsz, version, flags, pasid, grpid, code}
 *   (24 bytes) in 6.1 but {version, flags, pasid, grpid, code} (20 bytes) in
 *   the seed. The seed's layout is provided as struct iommu_page_response_rfc;
 *   the system struct keeps its name. (No seed VFIO ioctl carries it.)
 *
 * If the system header already has the vSVA half (5.8 to 5.16 uAPI, with
 * argsz), including this file is an error rather than a silent redefinition.
 *
 * Layout: x86-64 / LP64; every struct is pinned with literal numbers below.
 * C and C++ compatible. Thread safety: declarations only.
 */
#ifndef VFIOSIM_API_UAPI_IOMMU_VSVA_RFC_H_
#define VFIOSIM_API_UAPI_IOMMU_VSVA_RFC_H_

#include <linux/iommu.h>
#include <linux/types.h>

#include "api/uapi/uapi_assert.h"

#if defined(IOMMU_UAPI_VERSION) || defined(IOMMU_PASID_FORMAT_INTEL_VTD) || \
    defined(IOMMU_CACHE_INV_TYPE_IOTLB)
#error "system <linux/iommu.h> already defines the vSVA uAPI (5.8-5.16 era, \
with argsz); it conflicts with the seed 001 layout of iommu_vsva_rfc.h"
#endif

/* ---- UAPI version ---- */

/* All seed structs carry `version` first; the only defined value is 1. */
#define IOMMU_UAPI_VERSION 1
static __inline__ int iommu_get_uapi_version(void) {
  return IOMMU_UAPI_VERSION;
}

/* Kinds of user data the IOMMU core accepts (bit positions of the cap mask). */
enum IOMMU_UAPI_DATA_TYPES {
  IOMMU_UAPI_BIND_GPASID,
  IOMMU_UAPI_CACHE_INVAL,
  IOMMU_UAPI_PAGE_RESP,
  NR_IOMMU_UAPI_TYPE,
};

#define IOMMU_UAPI_CAP_MASK                                     \
  ((1 << IOMMU_UAPI_BIND_GPASID) | (1 << IOMMU_UAPI_CACHE_INVAL) | \
   (1 << IOMMU_UAPI_PAGE_RESP))

/* ---- Page response, seed layout (renamed: see the header comment) ---- */

struct iommu_page_response_rfc {
  __u32 version; /* IOMMU_UAPI_VERSION */
  __u32 flags;   /* IOMMU_PAGE_RESP_PASID_VALID (system header, = 1) */
  __u32 pasid;
  __u32 grpid;
  __u32 code; /* enum iommu_page_response_code (system header) */
};

/* ---- Cache invalidation ---- */

/* Lowest granularity of an invalidation: domain > PASID > address. */
enum iommu_inv_granularity {
  IOMMU_INV_GRANU_DOMAIN, /* domain-selective */
  IOMMU_INV_GRANU_PASID,  /* PASID-selective */
  IOMMU_INV_GRANU_ADDR,   /* page-selective */
  IOMMU_INV_GRANU_NR,     /* number of granularities */
};

/*
 * Address-selective invalidation: @nb_granules granules of @granule_size
 * bytes from @addr. PASID flag: only entries tagged @pasid; ARCHID flag: only
 * entries tagged @archid; neither: global; LEAF: only leaf PTE caches.
 */
struct iommu_inv_addr_info {
#define IOMMU_INV_ADDR_FLAGS_PASID (1 << 0)
#define IOMMU_INV_ADDR_FLAGS_ARCHID (1 << 1)
#define IOMMU_INV_ADDR_FLAGS_LEAF (1 << 2)
  __u32 flags;
  __u32 archid;
  __u64 pasid;
  __u64 addr;
  __u64 granule_size;
  __u64 nb_granules;
};

/* PASID-selective invalidation; at least one of PASID or ARCHID is set. */
struct iommu_inv_pasid_info {
#define IOMMU_INV_PASID_FLAGS_PASID (1 << 0)
#define IOMMU_INV_PASID_FLAGS_ARCHID (1 << 1)
  __u32 flags;
  __u32 archid;
  __u64 pasid;
};

/*
 * First-level invalidation request. @cache selects caches (bits below),
 * @granularity is an enum iommu_inv_granularity; the union holds pasid_info
 * for PASID granularity and addr_info for ADDR; DOMAIN uses neither. Valid
 * (granularity, cache) pairs, from the seed's table:
 *   DOMAIN: IOTLB, PASID      PASID: IOTLB, DEV_IOTLB, PASID
 *   ADDR:   IOTLB, DEV_IOTLB
 * Every cache type selected must support the granularity.
 */
struct iommu_cache_invalidate_info {
  __u32 version; /* IOMMU_UAPI_VERSION */
#define IOMMU_CACHE_INV_TYPE_IOTLB (1 << 0)     /* IOMMU IOTLB */
#define IOMMU_CACHE_INV_TYPE_DEV_IOTLB (1 << 1) /* device IOTLB (ATS) */
#define IOMMU_CACHE_INV_TYPE_PASID (1 << 2)     /* PASID cache */
#define IOMMU_CACHE_INV_TYPE_NR (3)
  __u8 cache;
  __u8 granularity;
  __u8 padding[2]; /* must be zero */
  union {
    struct iommu_inv_pasid_info pasid_info;
    struct iommu_inv_addr_info addr_info;
  };
};

/* ---- Guest PASID bind ---- */

/* VT-d PASID-entry attributes the guest may choose (vendor part of bind). */
struct iommu_gpasid_bind_data_vtd {
#define IOMMU_SVA_VTD_GPASID_SRE (1 << 0)  /* supervisor request */
#define IOMMU_SVA_VTD_GPASID_EAFE (1 << 1) /* extended access enable */
#define IOMMU_SVA_VTD_GPASID_PCD (1 << 2)  /* page-level cache disable */
#define IOMMU_SVA_VTD_GPASID_PWT (1 << 3)  /* page-level write through */
#define IOMMU_SVA_VTD_GPASID_EMTE (1 << 4) /* extended mem type enable */
#define IOMMU_SVA_VTD_GPASID_CD (1 << 5)   /* PASID-level cache disable */
  __u64 flags;
  __u32 pat; /* page attribute table, for the effective memory type */
  __u32 emt; /* extended memory type */
};
#define IOMMU_SVA_VTD_GPASID_EMT_MASK                                        \
  (IOMMU_SVA_VTD_GPASID_CD | IOMMU_SVA_VTD_GPASID_EMTE |                     \
   IOMMU_SVA_VTD_GPASID_PCD | IOMMU_SVA_VTD_GPASID_PWT)

/*
 * Bind the guest page table rooted at @gpgd (a guest-physical address,
 * translated by stage 2) to host PASID @hpasid; with IOMMU_SVA_GPASID_VAL,
 * @gpasid is the guest's own PASID for the same address space (non-identity
 * guest-to-host PASID mapping). @addr_width is the guest VA width.
 */
struct iommu_gpasid_bind_data {
  __u32 version; /* IOMMU_UAPI_VERSION */
#define IOMMU_PASID_FORMAT_INTEL_VTD 1
  __u32 format; /* PASID table entry format */
#define IOMMU_SVA_GPASID_VAL (1 << 0) /* guest PASID valid */
  __u64 flags;
  __u64 gpgd;
  __u64 hpasid;
  __u64 gpasid;
  __u32 addr_width;
  __u8 padding[12]; /* must be zero */
  union {           /* vendor specific data, selected by @format */
    struct iommu_gpasid_bind_data_vtd vtd;
  };
};

/* ---- Pins: values ---- */

VFIOSIM_UAPI_PIN_VALUE(IOMMU_UAPI_VERSION, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_UAPI_BIND_GPASID, 0);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_UAPI_CACHE_INVAL, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_UAPI_PAGE_RESP, 2);
VFIOSIM_UAPI_PIN_VALUE(NR_IOMMU_UAPI_TYPE, 3);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_UAPI_CAP_MASK, 7);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_INV_GRANU_DOMAIN, 0);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_INV_GRANU_PASID, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_INV_GRANU_ADDR, 2);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_INV_GRANU_NR, 3);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_INV_ADDR_FLAGS_PASID, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_INV_ADDR_FLAGS_ARCHID, 2);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_INV_ADDR_FLAGS_LEAF, 4);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_INV_PASID_FLAGS_PASID, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_INV_PASID_FLAGS_ARCHID, 2);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_CACHE_INV_TYPE_IOTLB, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_CACHE_INV_TYPE_DEV_IOTLB, 2);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_CACHE_INV_TYPE_PASID, 4);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_CACHE_INV_TYPE_NR, 3);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_SVA_VTD_GPASID_SRE, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_SVA_VTD_GPASID_EAFE, 2);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_SVA_VTD_GPASID_PCD, 4);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_SVA_VTD_GPASID_PWT, 8);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_SVA_VTD_GPASID_EMTE, 16);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_SVA_VTD_GPASID_CD, 32);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_SVA_VTD_GPASID_EMT_MASK, 60);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_PASID_FORMAT_INTEL_VTD, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_SVA_GPASID_VAL, 1);

/* The seed's fault half, served by the system header: same values. */
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_PERM_READ, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_PERM_WRITE, 2);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_PERM_EXEC, 4);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_PERM_PRIV, 8);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_DMA_UNRECOV, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_PAGE_REQ, 2);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_REASON_UNKNOWN, 0);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_REASON_PASID_FETCH, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_REASON_BAD_PASID_ENTRY, 2);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_REASON_PASID_INVALID, 3);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_REASON_WALK_EABT, 4);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_REASON_PTE_FETCH, 5);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_REASON_PERMISSION, 6);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_REASON_ACCESS, 7);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_REASON_OOR_ADDRESS, 8);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_UNRECOV_PASID_VALID, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_UNRECOV_ADDR_VALID, 2);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_UNRECOV_FETCH_ADDR_VALID, 4);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_PAGE_REQUEST_PASID_VALID, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, 2);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_FAULT_PAGE_REQUEST_PRIV_DATA, 4);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_PAGE_RESP_SUCCESS, 0);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_PAGE_RESP_INVALID, 1);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_PAGE_RESP_FAILURE, 2);
VFIOSIM_UAPI_PIN_VALUE(IOMMU_PAGE_RESP_PASID_VALID, 1);

/* ---- Pins: layouts defined here ---- */

VFIOSIM_UAPI_PIN_SIZE(struct iommu_page_response_rfc, 20, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_page_response_rfc, version, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_page_response_rfc, flags, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_page_response_rfc, pasid, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_page_response_rfc, grpid, 12);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_page_response_rfc, code, 16);

VFIOSIM_UAPI_PIN_SIZE(struct iommu_inv_addr_info, 40, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_inv_addr_info, flags, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_inv_addr_info, archid, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_inv_addr_info, pasid, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_inv_addr_info, addr, 16);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_inv_addr_info, granule_size, 24);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_inv_addr_info, nb_granules, 32);

VFIOSIM_UAPI_PIN_SIZE(struct iommu_inv_pasid_info, 16, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_inv_pasid_info, flags, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_inv_pasid_info, archid, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_inv_pasid_info, pasid, 8);

VFIOSIM_UAPI_PIN_SIZE(struct iommu_cache_invalidate_info, 48, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_cache_invalidate_info, version, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_cache_invalidate_info, cache, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_cache_invalidate_info, granularity, 5);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_cache_invalidate_info, padding, 6);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_cache_invalidate_info, pasid_info, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_cache_invalidate_info, addr_info, 8);

VFIOSIM_UAPI_PIN_SIZE(struct iommu_gpasid_bind_data_vtd, 16, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_gpasid_bind_data_vtd, flags, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_gpasid_bind_data_vtd, pat, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_gpasid_bind_data_vtd, emt, 12);

VFIOSIM_UAPI_PIN_SIZE(struct iommu_gpasid_bind_data, 72, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_gpasid_bind_data, version, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_gpasid_bind_data, format, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_gpasid_bind_data, flags, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_gpasid_bind_data, gpgd, 16);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_gpasid_bind_data, hpasid, 24);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_gpasid_bind_data, gpasid, 32);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_gpasid_bind_data, addr_width, 40);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_gpasid_bind_data, padding, 44);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_gpasid_bind_data, vtd, 56);

/* ---- Pins: the seed's fault structs, served by the system header ---- */

VFIOSIM_UAPI_PIN_SIZE(struct iommu_fault_unrecoverable, 32, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault_unrecoverable, reason, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault_unrecoverable, flags, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault_unrecoverable, pasid, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault_unrecoverable, perm, 12);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault_unrecoverable, addr, 16);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault_unrecoverable, fetch_addr, 24);

VFIOSIM_UAPI_PIN_SIZE(struct iommu_fault_page_request, 40, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault_page_request, flags, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault_page_request, pasid, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault_page_request, grpid, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault_page_request, perm, 12);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault_page_request, addr, 16);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault_page_request, private_data, 24);

VFIOSIM_UAPI_PIN_SIZE(struct iommu_fault, 64, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault, type, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault, padding, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault, event, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault, prm, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct iommu_fault, padding2, 8);

#endif /* VFIOSIM_API_UAPI_IOMMU_VSVA_RFC_H_ */
