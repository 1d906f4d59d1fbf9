// uAPI profiles: which Linux (or RFC) the simulated machine speaks.
//
// The seeds disagree with upstream Linux on some numbers (cap id 1 and 2, map
// flag bit 2, extension 9) and the kernel changed behaviour across versions,
// so each machine runs one profile. A profile is one row of data: the core
// behaviour knobs plus the uAPI layout choices of api/. Decisions read the
// row; nothing compares profile names.
#ifndef VFIOSIM_API_PROFILE_H_
#define VFIOSIM_API_PROFILE_H_

#include <cstdint>
#include <span>
#include <string_view>

#include "core/behavior.h"

namespace vfiosim::api {

struct Profile {
  std::string_view name;
  std::string_view summary;
  core::KernelBehavior behavior;

  // MAP_DMA / UNMAP_DMA / DIRTY_PAGES flag masks (unknown bits -> EINVAL).
  uint32_t map_flags_mask = 0;
  uint32_t unmap_flags_mask = 0;

  // GET_INFO capability chain, in kernel order.
  bool cap_migration = false;        // id 2 (upstream 5.8+)
  bool cap_dma_avail = false;        // id 3 (5.10+)
  bool cap_iova_range = false;       // id 1 (5.4+)
  bool cap_msi_resv = false;         // id 1, seed 000 (only when MSIs need a user window)
  bool cap_resv_iova_range = false;  // id 1, seed 003 (one per reserved range)
  bool cap_nesting = false;          // id 2, seed 001 (nesting containers only)

  // Seed 001 container ioctls (0 when the profile lacks them).
  unsigned long pasid_request_ioctl = 0;
  unsigned long bind_ioctl = 0;
  unsigned long cache_invalidate_ioctl = 0;
};

// Every profile, the default (linux-6.1) first.
std::span<const Profile> AllProfiles();
const Profile& DefaultProfile();
// nullptr for an unknown name.
const Profile* FindProfile(std::string_view name);

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_PROFILE_H_
