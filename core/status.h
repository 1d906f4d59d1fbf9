// Status and Result<T>: the one error convention of vfio-sim.
//
// Every fallible operation in core/ returns a [[nodiscard]] Status or Result<T>
// that carries a positive Linux errno (EINVAL, EFAULT, ...). Nothing in core
// throws or aborts on user input. Only the api/ boundary turns a Status into
// the syscall convention (-1 + errno, or -errno).
#ifndef VFIOSIM_CORE_STATUS_H_
#define VFIOSIM_CORE_STATUS_H_

#include <cerrno>
#include <optional>
#include <utility>

namespace vfiosim::core {

class [[nodiscard]] Status {
 public:
  constexpr Status() = default;
  // `err` is a positive errno; 0 means success.
  constexpr explicit Status(int err) : err_(err) {}
  static constexpr Status Ok() { return Status(); }

  constexpr bool ok() const { return err_ == 0; }
  constexpr int err() const { return err_; }
  constexpr bool operator==(const Status&) const = default;

 private:
  int err_ = 0;
};

constexpr Status Error(int err) { return Status(err); }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : err_(status.err()) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  int err() const { return err_; }
  Status status() const { return Status(err_); }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  int err_ = 0;
};

}  // namespace vfiosim::core

// Early return of a failed Status (expression evaluated once).
#define VFIOSIM_RETURN_IF_ERROR(expr)                        \
  do {                                                       \
    ::vfiosim::core::Status vfiosim_status_ = (expr);        \
    if (!vfiosim_status_.ok()) return vfiosim_status_;      \
  } while (0)

#endif  // VFIOSIM_CORE_STATUS_H_
