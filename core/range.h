// IovaRange: an inclusive address range [start, last].
//
// Inclusive `last` means a range may end at 2^64-1 and `size` never has to be
// representable on its own; every construction from (start, size) is
// overflow-checked here and nowhere else.
#ifndef VFIOSIM_CORE_RANGE_H_
#define VFIOSIM_CORE_RANGE_H_

#include <cstdint>
#include <optional>

namespace vfiosim::core {

struct IovaRange {
  uint64_t start = 0;
  uint64_t last = 0;  // inclusive

  // Returns nullopt when size is 0 or start + size - 1 wraps past 2^64-1.
  static constexpr std::optional<IovaRange> FromStartSize(uint64_t start, uint64_t size) {
    if (size == 0) return std::nullopt;
    uint64_t last = 0;
    if (__builtin_add_overflow(start, size - 1, &last)) return std::nullopt;
    return IovaRange{start, last};
  }

  // Number of bytes; 0 stands for the full 2^64 space (start 0, last ~0).
  constexpr uint64_t size() const { return last - start + 1; }
  constexpr bool Contains(uint64_t addr) const { return addr >= start && addr <= last; }
  constexpr bool Contains(const IovaRange& o) const { return o.start >= start && o.last <= last; }
  constexpr bool Overlaps(const IovaRange& o) const { return start <= o.last && o.start <= last; }
  constexpr bool operator==(const IovaRange&) const = default;
};

constexpr bool IsAligned(uint64_t value, uint64_t alignment) {
  return (value & (alignment - 1)) == 0;
}

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_RANGE_H_
