#include "tests/util/vfio_fixture.h"

#include <sys/mman.h>

namespace vfiosim::testing {

DmaBuffer::DmaBuffer(size_t size, int prot) : size_(size) {
  base_ = mmap(nullptr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base_ == MAP_FAILED) base_ = nullptr;
}

DmaBuffer::~DmaBuffer() {
  if (base_) munmap(base_, size_);
}

}  // namespace vfiosim::testing
