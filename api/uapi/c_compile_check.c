/*
 * Compiles every api/uapi header as C, together with the system headers it
 * extends, so that C clients (tests/preload, examples) can include them.
 *
 * Built by `bazel build //...` as //api/uapi:uapi_c_check. It has nothing to
 * run: the layout pins inside the headers are _Static_assert in C, so a
 * header that is valid C++ but not C, redefines a system name, or lays a
 * struct out differently under the C compiler fails this compile. The order
 * below puts the system headers first and the mirrors after them on purpose
 * (the mirrors must not redefine what the system already has); each mirror
 * also includes its system header itself, which covers the other order.
 */
#include <linux/iommu.h>
#include <linux/vfio.h>

#include "api/uapi/iommu_vsva_rfc.h"
#include "api/uapi/uapi_assert.h"
#include "api/uapi/vfio_later.h"
#include "api/uapi/vfio_msi_resv_rfc.h"
#include "api/uapi/vfio_resv_iova_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"

/* Fails the build if -std=c++20 (any C++ mode) leaked into this C compile. */
#ifdef __cplusplus
#error "c_compile_check.c must be compiled as C"
#endif
#if !defined(__STDC_VERSION__) || __STDC_VERSION__ < 201112L
#error "api/uapi headers need C11 (anonymous unions, _Static_assert)"
#endif

/* Designated initialisers through the anonymous unions, as a C client does. */
static const struct vfio_iommu_type1_pasid_request kAlloc = {
    .argsz = sizeof(struct vfio_iommu_type1_pasid_request),
    .flags = VFIO_IOMMU_PASID_ALLOC,
    .alloc_pasid = {.min = 1, .max = 0xFFFFF, .result = 0},
};
static const struct iommu_cache_invalidate_info kInvalidate = {
    .version = IOMMU_UAPI_VERSION,
    .cache = IOMMU_CACHE_INV_TYPE_IOTLB,
    .granularity = IOMMU_INV_GRANU_ADDR,
    .addr_info = {.flags = IOMMU_INV_ADDR_FLAGS_PASID, .granule_size = 4096},
};
static const struct iommu_gpasid_bind_data kBind = {
    .version = IOMMU_UAPI_VERSION,
    .format = IOMMU_PASID_FORMAT_INTEL_VTD,
    .addr_width = 48,
    .vtd = {.flags = IOMMU_SVA_VTD_GPASID_SRE},
};

/* Referenced so that -Wunused-const-variable (clang -Wextra) stays quiet. */
unsigned long vfiosim_uapi_c_check(void);
unsigned long vfiosim_uapi_c_check(void) {
  return kAlloc.alloc_pasid.max + kInvalidate.addr_info.granule_size +
         kBind.vtd.flags + (unsigned long)iommu_get_uapi_version();
}
