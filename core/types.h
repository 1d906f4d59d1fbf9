// Strong types for the address spaces and ids that must never be mixed up.
//
// An IOVA (device address) and a HostVa (an address in the client process,
// where DMA finally lands) are both 64-bit numbers; making HostVa a distinct
// type lets the compiler reject passing one for the other.
#ifndef VFIOSIM_CORE_TYPES_H_
#define VFIOSIM_CORE_TYPES_H_

#include <cstdint>

namespace vfiosim::core {

using Iova = uint64_t;

enum class HostVa : uint64_t {};
constexpr uint64_t ToU64(HostVa va) { return static_cast<uint64_t>(va); }
constexpr HostVa operator+(HostVa va, uint64_t off) { return HostVa{ToU64(va) + off}; }

// A PCIe Process Address Space ID (20 bits). kNoPasid tags requests without one.
using Pasid = uint32_t;
inline constexpr Pasid kNoPasid = 0xFFFFFFFFu;
inline constexpr Pasid kPasidSpaceBits = 20;

using GroupId = uint32_t;

// Permission bits of a mapping or access; same values as the uAPI READ/WRITE bits.
inline constexpr uint8_t kProtRead = 1;
inline constexpr uint8_t kProtWrite = 2;

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_TYPES_H_
