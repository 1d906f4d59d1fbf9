/*
 * uAPI from kernels newer than the system <linux/vfio.h> (Linux 6.1).
 *
 * What it models: the VFIO device-cdev ioctls merged in Linux 6.6
 * (include/uapi/linux/vfio.h, "vfio: Add VFIO_DEVICE_BIND_IOMMUFD" and the
 * ATTACH/DETACH_IOMMUFD_PT patches): a device fd opened through
 * /dev/vfio/devices/vfioX is bound to an iommufd and attached to an IOAS or
 * HWPT by id. The 6.1 header lacks them; they are defined here so that
 * vfio-sim can name and pin them on a 6.1 build host. On a device fd
 * VFIO_BASE + 18..20 mean nothing else (on a container fd the same numbers
 * are SPAPR ioctls).
 *
 * Everything is guarded by #ifndef on the ioctl name: on a build host whose
 * <linux/vfio.h> already has them, the system definitions win and nothing is
 * redefined. The structs are the 6.6 layouts. Later kernels grew them
 * (argsz-extensible): 6.13 added `__u32 pasid` to attach (16 bytes) and
 * detach (12 bytes) with VFIO_DEVICE_ATTACH_PASID / VFIO_DEVICE_DETACH_PASID,
 * and bind gained VFIO_DEVICE_BIND_FLAG_TOKEN with a token_uuid_ptr field
 * (2025, "Fixes: vfio: Add VFIO_DEVICE_BIND_IOMMUFD"). Those extensions are NOT
 * mirrored. The prefix offsets common to every version are pinned
 * unconditionally; sizes only when this header supplied the struct.
 *
 * Layout: x86-64 / LP64. C and C++ compatible. Thread safety: declarations.
 */
#ifndef VFIOSIM_API_UAPI_VFIO_LATER_H_
#define VFIOSIM_API_UAPI_VFIO_LATER_H_

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/vfio.h>

#include "api/uapi/uapi_assert.h"

/*
 * VFIO_DEVICE_BIND_IOMMUFD: bind a cdev device fd to the iommufd @iommufd;
 * @flags must be 0; the device's iommufd object id is returned in @out_devid.
 */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
  __u32 argsz;
  __u32 flags;
  __s32 iommufd;
  __u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#define VFIOSIM_UAPI_LATER_OWN_BIND_IOMMUFD 1
#endif

/*
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT: attach the bound device to IOAS/HWPT @pt_id
 * (in); @pt_id returns the HWPT actually attached (out). @flags must be 0.
 */
#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT
struct vfio_device_attach_iommufd_pt {
  __u32 argsz;
  __u32 flags;
  __u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#define VFIOSIM_UAPI_LATER_OWN_ATTACH_IOMMUFD_PT 1
#endif

/* VFIO_DEVICE_DETACH_IOMMUFD_PT: back to blocking DMA. @flags must be 0. */
#ifndef VFIO_DEVICE_DETACH_IOMMUFD_PT
struct vfio_device_detach_iommufd_pt {
  __u32 argsz;
  __u32 flags;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#define VFIOSIM_UAPI_LATER_OWN_DETACH_IOMMUFD_PT 1
#endif

/* ---- Pins valid for every kernel version ---- */

VFIOSIM_UAPI_PIN_VALUE(VFIO_DEVICE_BIND_IOMMUFD, 0x3B76);
VFIOSIM_UAPI_PIN_VALUE(VFIO_DEVICE_ATTACH_IOMMUFD_PT, 0x3B77);
VFIOSIM_UAPI_PIN_VALUE(VFIO_DEVICE_DETACH_IOMMUFD_PT, 0x3B78);

VFIOSIM_UAPI_PIN_OFFSET(struct vfio_device_bind_iommufd, argsz, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_device_bind_iommufd, flags, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_device_bind_iommufd, iommufd, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_device_bind_iommufd, out_devid, 12);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_device_attach_iommufd_pt, argsz, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_device_attach_iommufd_pt, flags, 4);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_device_attach_iommufd_pt, pt_id, 8);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_device_detach_iommufd_pt, argsz, 0);
VFIOSIM_UAPI_PIN_OFFSET(struct vfio_device_detach_iommufd_pt, flags, 4);

/* ---- Pins of the 6.6 sizes, when this header defined the struct ---- */

#ifdef VFIOSIM_UAPI_LATER_OWN_BIND_IOMMUFD
VFIOSIM_UAPI_PIN_SIZE(struct vfio_device_bind_iommufd, 16, 4);
#endif
#ifdef VFIOSIM_UAPI_LATER_OWN_ATTACH_IOMMUFD_PT
VFIOSIM_UAPI_PIN_SIZE(struct vfio_device_attach_iommufd_pt, 12, 4);
#endif
#ifdef VFIOSIM_UAPI_LATER_OWN_DETACH_IOMMUFD_PT
VFIOSIM_UAPI_PIN_SIZE(struct vfio_device_detach_iommufd_pt, 8, 4);
#endif

#endif /* VFIOSIM_API_UAPI_VFIO_LATER_H_ */
