// Helpers for 64-bit device registers that software may access either with
// one 8-byte access or as two 4-byte halves (low half at the register's
// offset, high half at +4), as most PCI devices allow.
//
// Thread safety: pure functions.
#ifndef VFIOSIM_SIM_DEVICES_REGISTER_HALVES_H_
#define VFIOSIM_SIM_DEVICES_REGISTER_HALVES_H_

#include <cstdint>

namespace vfiosim::sim {

// If `offset` addresses the register at `reg_base`, stores the value read into
// *out (all-ones for an access size other than 4, or 8 at the low half) and
// returns true; otherwise returns false.
inline bool ReadRegisterHalf(uint64_t reg, uint64_t reg_base, uint64_t offset, unsigned size,
                             uint64_t* out) {
  if (offset != reg_base && offset != reg_base + 4) return false;
  if (size == 8 && offset == reg_base) {
    *out = reg;
  } else if (size == 4) {
    *out = offset == reg_base ? (reg & 0xffffffff) : (reg >> 32);
  } else {
    *out = ~uint64_t{0};
  }
  return true;
}

// Same addressing rule for writes; other access sizes are dropped.
inline bool WriteRegisterHalf(uint64_t* reg, uint64_t reg_base, uint64_t offset, unsigned size,
                              uint64_t value) {
  if (offset != reg_base && offset != reg_base + 4) return false;
  if (size == 8 && offset == reg_base) {
    *reg = value;
  } else if (size == 4 && offset == reg_base) {
    *reg = (*reg & ~uint64_t{0xffffffff}) | (value & 0xffffffff);
  } else if (size == 4) {
    *reg = (*reg & 0xffffffff) | (value << 32);
  }
  return true;
}

}  // namespace vfiosim::sim

#endif  // VFIOSIM_SIM_DEVICES_REGISTER_HALVES_H_
