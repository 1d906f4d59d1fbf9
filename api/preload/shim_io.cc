// Shim: the calls on an fd it owns (ioctl, read/write, pread/pwrite, mmap,
// munmap, fstat). Every served call is traced; ioctl arguments are copied
// out of the client's memory with fault-safe copies before and after the
// call so that the decoder sees what the client passed and got back.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "api/group_file.h"
#include "api/preload/real_libc.h"
#include "api/preload/shim.h"
#include "api/trace/ioctl_decoder.h"
#include "api/trace/syscall_format.h"
#include "api/vfio_sim.h"
#include "core/user_memory.h"

namespace vfiosim::api::preload {
namespace {

int Fail(int err) {
  errno = err;
  return -1;
}

// Longest GET_DEVICE_FD name the tracer copies.
constexpr size_t kMaxTracedString = 256;

// Copies `n` bytes of the client's argument without ever faulting.
trace::ArgBytes CopyArg(uintptr_t arg, size_t n) {
  trace::ArgBytes out;
  if (arg == 0 || n == 0) return out;
  out.bytes.resize(n);
  out.ok = core::CopyFromUser(out.bytes.data(), reinterpret_cast<const void*>(arg), n).ok();
  if (!out.ok) out.bytes.clear();
  return out;
}

trace::ArgBytes CopyString(uintptr_t arg) {
  trace::ArgBytes out;
  if (arg == 0) return out;
  // Page by page, so that the copy stops at the page where the string ends.
  while (out.bytes.size() < kMaxTracedString) {
    uintptr_t at = arg + out.bytes.size();
    size_t chunk = std::min<size_t>(4096 - at % 4096, kMaxTracedString - out.bytes.size());
    size_t old = out.bytes.size();
    out.bytes.resize(old + chunk);
    if (!core::CopyFromUser(out.bytes.data() + old, reinterpret_cast<const void*>(at), chunk).ok()) {
      out.bytes.resize(old);
      break;
    }
    if (std::memchr(out.bytes.data() + old, '\0', chunk)) break;
  }
  out.ok = !out.bytes.empty();
  return out;
}

trace::ArgBytes Snapshot(trace::ArgShape shape, trace::FdKind kind, unsigned long request, uintptr_t arg,
                         const trace::DecodeOptions& opts) {
  switch (shape) {
    case trace::ArgShape::kIntPointer:
      return CopyArg(arg, sizeof(int32_t));
    case trace::ArgShape::kString:
      return CopyString(arg);
    case trace::ArgShape::kArgszStruct: {
      uint32_t argsz = 0;
      if (arg == 0 || !core::CopyFromUser(&argsz, reinterpret_cast<const void*>(arg), sizeof(argsz)).ok()) {
        return {};
      }
      // The fixed struct may extend past a short buffer; fall back to smaller copies.
      for (size_t n : {trace::WantedBytes(kind, request, argsz, opts),
                       std::min<size_t>(argsz, trace::kMaxArgBytes), sizeof(uint32_t)}) {
        if (n < sizeof(uint32_t)) continue;
        trace::ArgBytes a = CopyArg(arg, n);
        if (a.ok) return a;
      }
      return {};
    }
    default:
      return {};
  }
}

}  // namespace

int Shim::Ioctl(int fd, unsigned long request, uintptr_t arg) {
  SimScope scope;
  used_ = true;
  if (FdKindOf(fd) != SimFd::kVfio || !sim_) {
    Trace(trace::FormatCall("ioctl", {std::to_string(fd), trace::Hex(request), trace::Hex(arg)},
                            trace::FormatReturn(-1, ENOTTY)));
    return Fail(ENOTTY);
  }
  trace::IoctlCall call;
  trace::ArgShape shape = trace::ArgShape::kNone;
  if (tracer_.enabled()) {
    call.fd = fd;
    call.kind = TraceKind(fd);
    call.request = request;
    call.arg = arg;
    shape = trace::ShapeOf(call.kind, request, decode_);
    call.entry = Snapshot(shape, call.kind, request, arg, decode_);
  }
  long r = sim_->IoctlErrno(fd, request, arg);
  // An ioctl that returns a new fd (GET_DEVICE_FD) handed out a placeholder.
  if (r > 0 && FdKindOf(static_cast<int>(r)) == SimFd::kNone && sim_->Owns(static_cast<int>(r))) {
    std::lock_guard<std::mutex> lock(mu_);
    Register(static_cast<int>(r), SimFd::kVfio, nullptr);
  }
  if (tracer_.enabled()) {
    if (call.entry.ok && (shape == trace::ArgShape::kArgszStruct)) {
      call.exit = CopyArg(arg, call.entry.bytes.size());
    }
    call.ret = r < 0 ? -1 : r;
    call.err = r < 0 ? static_cast<int>(-r) : 0;
    Trace(trace::FormatIoctl(call, decode_));
  }
  if (r < 0) return Fail(static_cast<int>(-r));
  return static_cast<int>(r);
}

// read/write/pread/pwrite share one path: a vfio fd goes to the facade's
// pread/pwrite (read/write at the position kept on the placeholder fd), a
// sysfs directory refuses, anything else goes to libc; every call is traced.
ssize_t Shim::Transfer(const char* name, int fd, void* buf, size_t count, std::optional<off_t> offset,
                       bool write) {
  SimScope scope;
  SimFd kind = FdKindOf(fd);
  ssize_t r;
  int err = 0;
  if (kind == SimFd::kSysfsDir) {
    r = -1;
    err = EISDIR;
  } else if (kind == SimFd::kVfio && sim_) {
    const off_t pos = offset.has_value() ? *offset : lseek(fd, 0, SEEK_CUR);
    r = write ? sim_->PwriteErrno(fd, buf, count, pos) : sim_->PreadErrno(fd, buf, count, pos);
    if (r < 0) {
      err = static_cast<int>(-r);
      r = -1;
    } else if (r > 0 && !offset.has_value()) {
      lseek(fd, pos + r, SEEK_SET);
    }
  } else if (offset.has_value()) {
    r = write ? Real_pwrite64()(fd, buf, count, *offset) : Real_pread64()(fd, buf, count, *offset);
    err = errno;
  } else {
    // A writable sysfs attribute (bind, new_id, config...) is accepted with no effect on the machine.
    r = write ? RealWrite(fd, buf, count) : RealRead(fd, buf, count);
    err = errno;
  }
  const std::string fd_text = std::to_string(fd);
  const std::string data = write || r > 0 ? trace::QuoteData(buf, write ? count : static_cast<size_t>(r))
                                          : trace::Hex(reinterpret_cast<uintptr_t>(buf));
  const std::string count_text = std::to_string(count);
  const std::string ret = trace::FormatReturn(r, err);
  if (offset.has_value()) {
    Trace(trace::FormatCall(name, {fd_text, data, count_text, trace::Hex(static_cast<uint64_t>(*offset))}, ret));
  } else {
    Trace(trace::FormatCall(name, {fd_text, data, count_text}, ret));
  }
  errno = err;
  return r;
}

ssize_t Shim::Read(int fd, void* buf, size_t count) { return Transfer("read", fd, buf, count, std::nullopt, false); }

ssize_t Shim::Write(int fd, const void* buf, size_t count) {
  return Transfer("write", fd, const_cast<void*>(buf), count, std::nullopt, true);
}

ssize_t Shim::Pread(int fd, void* buf, size_t count, off_t offset) {
  return Transfer("pread64", fd, buf, count, offset, false);
}

ssize_t Shim::Pwrite(int fd, const void* buf, size_t count, off_t offset) {
  return Transfer("pwrite64", fd, const_cast<void*>(buf), count, offset, true);
}

void* Shim::Mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  SimScope scope;
  SimFd kind = FdKindOf(fd);
  void* r = MAP_FAILED;
  int err = 0;
  if (kind == SimFd::kSysfsFile) {
    r = Real_mmap()(addr, length, prot, flags, fd, offset);
    err = errno;
  } else if (kind == SimFd::kVfio && sim_) {
    // BARs of device fds; the facade answers ENODEV for containers and groups.
    intptr_t p = sim_->MmapErrno(addr, length, prot, flags, fd, offset);
    if (p < 0 && p >= -4095) {
      err = static_cast<int>(-p);
    } else {
      r = reinterpret_cast<void*>(p);
    }
  } else {
    err = ENODEV;  // directories have no mmap
  }
  Trace(trace::FormatCall("mmap", {addr ? trace::Hex(reinterpret_cast<uintptr_t>(addr)) : "NULL",
                                   std::to_string(length), trace::ProtFlags(prot), trace::MmapFlags(flags),
                                   std::to_string(fd), trace::Hex(static_cast<uint64_t>(offset))},
                          r == MAP_FAILED ? trace::FormatReturn(-1, err)
                                          : "= " + trace::Hex(reinterpret_cast<uintptr_t>(r))));
  errno = err;
  return r;
}

bool Shim::HasMappings() { return sim_ && sim_->mapping_count() > 0; }

int Shim::Munmap(void* addr, size_t length) {
  SimScope scope;
  // Any range: BAR mappings in it are forgotten (releasing their device
  // files), the rest is unmapped as munmap(2) would.
  long r = sim_->MunmapErrno(addr, length);
  Trace(trace::FormatCall("munmap", {trace::Hex(reinterpret_cast<uintptr_t>(addr)), std::to_string(length)},
                          trace::FormatReturn(r < 0 ? -1 : 0, static_cast<int>(-r))));
  if (r < 0) return Fail(static_cast<int>(-r));
  return 0;
}

int Shim::Fstat(int fd, struct stat* st) {
  SimScope scope;
  SimFd kind = FdKindOf(fd);
  const SysfsNode* node = nullptr;
  if (kind == SimFd::kVfio && sim_) {
    std::shared_ptr<File> f = sim_->fds().Get(fd);
    std::string path;
    if (f && f->kind() == File::Kind::kContainer) path = "/dev/vfio/vfio";
    if (f && f->kind() == File::Kind::kGroup) {
      path = "/dev/vfio/" + std::to_string(static_cast<GroupFile&>(*f).id());
    }
    if (!path.empty()) {
      Lookup l = tree_.Resolve(path, true);
      node = l.node;
    }
  } else if (kind != SimFd::kNone) {
    node = NodeOf(fd);
  }
  int r = 0, err = 0;
  if (node != nullptr) {
    *st = tree_.Stat(*node);
  } else {
    r = Real_fstat()(fd, st);  // device fds: an anonymous file, as on Linux
    err = errno;
  }
  Trace(trace::FormatCall("fstat", {std::to_string(fd), r == 0 ? "{st_mode=" + trace::StatMode(st->st_mode) + "}" : "0x..."},
                          trace::FormatReturn(r, err)));
  errno = err;
  return r;
}

}  // namespace vfiosim::api::preload
