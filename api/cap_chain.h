// CapChain: a VFIO info capability chain (struct vfio_info_cap_header list)
// built the way vfio_info_cap_add does: each capability appended unaligned
// right after the previous one, `next` offsets relative to the chain start
// until Shift() makes them absolute (vfio_info_cap_shift). The last `next`
// is 0.
#ifndef VFIOSIM_API_CAP_CHAIN_H_
#define VFIOSIM_API_CAP_CHAIN_H_

#include <linux/vfio.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace vfiosim::api {

class CapChain {
 public:
  // Appends a capability whose first 8 bytes are its header; `cap` must be a
  // struct starting with struct vfio_info_cap_header. Returns its offset.
  template <typename Cap>
  size_t Add(const Cap& cap, size_t size = sizeof(Cap)) {
    return AddBytes(&cap, size);
  }
  size_t AddBytes(const void* cap, size_t size);

  size_t size() const { return buf_.size(); }
  bool empty() const { return buf_.empty(); }
  // Adds `base` to every non-zero `next` (the chain is placed at `base`).
  void Shift(uint32_t base);
  const uint8_t* data() const { return buf_.data(); }

 private:
  std::vector<uint8_t> buf_;
  size_t last_ = SIZE_MAX;
};

}  // namespace vfiosim::api

#endif  // VFIOSIM_API_CAP_CHAIN_H_
