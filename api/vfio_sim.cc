#include "api/vfio_sim.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string_view>

#include "api/container_file.h"
#include "api/device_file.h"
#include "api/group_file.h"
#include "core/kernel.h"

namespace vfiosim::api {
namespace {

constexpr std::string_view kVfioDir = "/dev/vfio/";

int SyscallResult(long r) {
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return static_cast<int>(r);
}

}  // namespace

VfioSim::VfioSim() : VfioSim(VfioSimOptions{}) {}

namespace {

std::unique_ptr<sim::Machine> BuildMachine(const VfioSimOptions& options, const Profile& profile) {
  if (options.topology.has_value() || options.default_devices) {
    const sim::Topology topology = options.topology.value_or(sim::DefaultTopology());
    const core::MachineConfig config =
        options.topology.has_value() ? sim::MachineConfigFromTopology(topology) : options.machine;
    core::Result<std::unique_ptr<sim::Machine>> built =
        sim::Machine::Build(topology, config, profile.behavior, options.topology.has_value());
    if (built.ok()) return std::move(*built);
    // Only an injected allocation failure gets here: fall back to an empty machine.
  }
  return std::make_unique<sim::Machine>(options.machine, profile.behavior);
}

}  // namespace

VfioSim::VfioSim(const VfioSimOptions& options)
    : profile_(options.profile ? options.profile : &DefaultProfile()),
      machine_(BuildMachine(options, *profile_)),
      owner_(static_cast<uint64_t>(getpid())),
      ctx_{machine_.get(), &machine_->kernel(), profile_, &fds_, &owner_},
      mmaps_(std::make_unique<MmapTable>()) {}

VfioSim::~VfioSim() = default;

long VfioSim::OpenErrno(const char* path, int flags) {
  if (path == nullptr) return -EFAULT;
  std::string_view p(path);
  if (p.substr(0, kVfioDir.size()) != kVfioDir) return -ENOENT;
  std::string_view node = p.substr(kVfioDir.size());
  const bool cloexec = flags & O_CLOEXEC;
  if (node == "vfio") {
    auto file = std::make_shared<ContainerFile>(ctx_, kernel().OpenContainer());
    core::Result<int> fd = fds_.Install(file, cloexec, "vfio-sim:container");
    return fd.ok() ? *fd : -fd.err();
  }
  core::GroupId id = 0;
  auto [end, ec] = std::from_chars(node.data(), node.data() + node.size(), id);
  if (ec != std::errc() || end != node.data() + node.size() || node.empty()) return -ENOENT;
  core::Status opened = kernel().OpenGroupFile(id);
  if (opened.err() == ENODEV) return -ENOENT;  // no such device node
  if (!opened.ok()) return -opened.err();
  auto file = std::make_shared<GroupFile>(ctx_, id);
  core::Result<int> fd = fds_.Install(file, cloexec, "vfio-sim:group");
  return fd.ok() ? *fd : -fd.err();
}

long VfioSim::CloseErrno(int fd) {
  core::Status s = fds_.Close(fd);
  return s.ok() ? 0 : -s.err();
}

long VfioSim::IoctlErrno(int fd, unsigned long request, uintptr_t arg) {
  std::shared_ptr<File> file = fds_.Get(fd);
  if (!file) return -EBADF;
  core::Result<long> r = file->Ioctl(request, arg);
  return r.ok() ? *r : -r.err();
}

ssize_t VfioSim::PreadErrno(int fd, void* buf, size_t count, off_t offset) {
  std::shared_ptr<File> file = fds_.Get(fd);
  if (!file) return -EBADF;
  if (offset < 0) return -EINVAL;
  core::Result<long> r = file->Pread(buf, count, static_cast<uint64_t>(offset));
  return r.ok() ? *r : -r.err();
}

ssize_t VfioSim::PwriteErrno(int fd, const void* buf, size_t count, off_t offset) {
  std::shared_ptr<File> file = fds_.Get(fd);
  if (!file) return -EBADF;
  if (offset < 0) return -EINVAL;
  core::Result<long> r = file->Pwrite(buf, count, static_cast<uint64_t>(offset));
  return r.ok() ? *r : -r.err();
}

// The checks of mmap(2) in the kernel's order (offset alignment, fd, length,
// map type, a file without mmap), then the device's own.
intptr_t VfioSim::MmapErrno(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  if (offset % 4096 != 0) return -EINVAL;
  if (flags & MAP_ANONYMOUS) {
    void* p = RawMmap(addr, len, prot, flags, -1, offset);
    return p == MAP_FAILED ? -errno : reinterpret_cast<intptr_t>(p);
  }
  std::shared_ptr<File> file = fds_.Get(fd);
  if (!file) return -EBADF;
  if (len == 0) return -EINVAL;
  const int type = flags & MAP_TYPE;
  if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE) return -EINVAL;
  if (file->kind() != File::Kind::kDevice) return -ENODEV;
  // MAP_FIXED replaces whatever was there, vfio-sim mappings included.
  if (flags & MAP_FIXED) mmaps_->Forget(reinterpret_cast<uintptr_t>(addr), len);
  core::Result<void*> p =
      static_cast<DeviceFile&>(*file).Mmap(addr, len, prot, flags, static_cast<uint64_t>(offset));
  if (!p.ok()) return -p.err();
  mmaps_->Add(reinterpret_cast<uintptr_t>(*p), (len + 4095) & ~size_t{4095}, file);
  return reinterpret_cast<intptr_t>(*p);
}

long VfioSim::MunmapErrno(void* addr, size_t len) {
  core::Status s = mmaps_->Unmap(reinterpret_cast<uintptr_t>(addr), len);
  return s.ok() ? 0 : -s.err();
}

ssize_t VfioSim::Pread(int fd, void* buf, size_t count, off_t offset) {
  ssize_t r = PreadErrno(fd, buf, count, offset);
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

ssize_t VfioSim::Pwrite(int fd, const void* buf, size_t count, off_t offset) {
  ssize_t r = PwriteErrno(fd, buf, count, offset);
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

void* VfioSim::Mmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  intptr_t r = MmapErrno(addr, len, prot, flags, fd, offset);
  if (r < 0 && r >= -4095) {
    errno = static_cast<int>(-r);
    return MAP_FAILED;
  }
  return reinterpret_cast<void*>(r);
}

int VfioSim::Munmap(void* addr, size_t len) { return SyscallResult(MunmapErrno(addr, len)); }

int VfioSim::Open(const char* path, int flags) { return SyscallResult(OpenErrno(path, flags)); }
int VfioSim::Close(int fd) { return SyscallResult(CloseErrno(fd)); }
int VfioSim::Ioctl(int fd, unsigned long request, uintptr_t arg) {
  return SyscallResult(IoctlErrno(fd, request, arg));
}

}  // namespace vfiosim::api
