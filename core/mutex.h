// Mutex and MutexLock: std::mutex with clang thread-safety annotations, so
// GUARDED_BY / REQUIRES are checked under --config=clang.
#ifndef VFIOSIM_CORE_MUTEX_H_
#define VFIOSIM_CORE_MUTEX_H_

#include <mutex>

#include "core/thread_annotations.h"

namespace vfiosim::core {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace vfiosim::core

#endif  // VFIOSIM_CORE_MUTEX_H_
