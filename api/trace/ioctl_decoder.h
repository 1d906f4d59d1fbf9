// IoctlDecoder: one VFIO ioctl call as an strace-style line.
//
//   ioctl(5, VFIO_IOMMU_MAP_DMA, {argsz=32, flags=VFIO_DMA_MAP_FLAG_READ|VFIO_DMA_MAP_FLAG_WRITE,
//         vaddr=0x7f2a..., iova=0x100000, size=0x200000}) = 0
//   ioctl(5, VFIO_IOMMU_GET_INFO, {argsz=24 => 116, flags=VFIO_IOMMU_INFO_PGSIZES|VFIO_IOMMU_INFO_CAPS,
//         iova_pgsizes=0x40201000, cap_offset=0}) = 0
//
// The decoder is pure: it formats bytes that the caller copied out of the
// client's memory before the call (`entry`) and after it (`exit`); it never
// dereferences the argument pointer itself, so a bad pointer in the client can
// not crash the tracer and the decoder can be tested from byte arrays.
//
// What is shown: on success, the struct as the client sees it afterwards,
// with "old => new" for every field the call changed (argsz growth of GET_INFO,
// the size UNMAP_DMA wrote back); on failure, the struct as it was passed.
// Capability chains of GET_INFO (container and region) are walked, with a
// guard against loops and offsets outside the copied bytes.
//
// Thread safety: pure functions.
#ifndef VFIOSIM_API_TRACE_IOCTL_DECODER_H_
#define VFIOSIM_API_TRACE_IOCTL_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "api/trace/ioctl_names.h"

namespace vfiosim::api::trace {

// How an ioctl passes its argument.
enum class ArgShape {
  kNone,         // no argument (VFIO_GET_API_VERSION)
  kValue,        // an integer (CHECK_EXTENSION, SET_IOMMU)
  kIntPointer,   // int * (GROUP_SET_CONTAINER)
  kString,       // const char * (GROUP_GET_DEVICE_FD)
  kArgszStruct,  // a struct starting with __u32 argsz
  kOpaque,       // unknown request: the raw argument value
};
ArgShape ShapeOf(FdKind kind, unsigned long request, const DecodeOptions& opts);

// The most bytes the tracer copies from one argument.
inline constexpr size_t kMaxArgBytes = 4096;
// For kArgszStruct: bytes to copy given the struct's argsz: the fixed part of
// the struct (with its trailing bitmap struct) even when argsz is smaller,
// all of argsz when larger, never more than kMaxArgBytes.
size_t WantedBytes(FdKind kind, unsigned long request, uint32_t argsz, const DecodeOptions& opts);

// Bytes of the argument that the tracer could copy.
struct ArgBytes {
  bool ok = false;  // false: the pointer was not readable (or not copied)
  std::vector<uint8_t> bytes;
};

struct IoctlCall {
  int fd = -1;
  FdKind kind = FdKind::kUnknown;
  unsigned long request = 0;
  uintptr_t arg = 0;
  ArgBytes entry;  // before the call
  ArgBytes exit;   // after the call (argsz structs and int pointers)
  long ret = 0;    // syscall convention: negative means failure with `err`
  int err = 0;
};

// The third argument alone ("{argsz=8, flags=...}", "[3]", "VFIO_TYPE1v2_IOMMU",
// "\"0000:00:01.0\""); empty for kNone.
std::string FormatIoctlArg(const IoctlCall& call, const DecodeOptions& opts);
// The whole line without a newline: "ioctl(5, NAME, ARG) = RET".
std::string FormatIoctl(const IoctlCall& call, const DecodeOptions& opts);

}  // namespace vfiosim::api::trace

#endif  // VFIOSIM_API_TRACE_IOCTL_DECODER_H_
