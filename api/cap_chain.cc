#include "api/cap_chain.h"

#include <cstddef>

namespace vfiosim::api {
namespace {
// Capabilities are packed unaligned, so `next` is accessed with memcpy.
constexpr size_t kNextAt = offsetof(vfio_info_cap_header, next);

uint32_t LoadNext(const uint8_t* cap) {
  uint32_t next;
  std::memcpy(&next, cap + kNextAt, sizeof(next));
  return next;
}

void StoreNext(uint8_t* cap, uint32_t next) { std::memcpy(cap + kNextAt, &next, sizeof(next)); }
}  // namespace

size_t CapChain::AddBytes(const void* cap, size_t size) {
  size_t offset = buf_.size();
  buf_.resize(offset + size);
  std::memcpy(buf_.data() + offset, cap, size);
  StoreNext(buf_.data() + offset, 0);
  if (last_ != SIZE_MAX) StoreNext(buf_.data() + last_, static_cast<uint32_t>(offset));
  last_ = offset;
  return offset;
}

void CapChain::Shift(uint32_t base) {
  if (buf_.empty()) return;
  size_t at = 0;
  while (uint32_t next = LoadNext(buf_.data() + at)) {
    StoreNext(buf_.data() + at, next + base);
    at = next;
  }
}

}  // namespace vfiosim::api
