#include "core/fault_injection.h"

#include <mutex>

namespace vfiosim::core {
namespace {
std::mutex mu;
uint64_t target = 0;
uint64_t calls = 0;
FailSite filter = FailSite::kAny;
bool fired = false;
}  // namespace

void FailNth::Arm(uint64_t n, FailSite site) {
  std::lock_guard<std::mutex> lock(mu);
  target = n;
  calls = 0;
  filter = site;
  fired = false;
  armed_.store(true, std::memory_order_relaxed);
}

void FailNth::Disarm() {
  std::lock_guard<std::mutex> lock(mu);
  armed_.store(false, std::memory_order_relaxed);
}

bool FailNth::Fired() {
  std::lock_guard<std::mutex> lock(mu);
  return fired;
}

uint64_t FailNth::Calls() {
  std::lock_guard<std::mutex> lock(mu);
  return calls;
}

bool ShouldFailSlow(FailSite site) {
  std::lock_guard<std::mutex> lock(mu);
  if (!FailNth::armed_.load(std::memory_order_relaxed) || fired) return false;
  if (filter != FailSite::kAny && filter != site) return false;
  if (++calls != target) return false;
  fired = true;
  return true;
}

}  // namespace vfiosim::core
