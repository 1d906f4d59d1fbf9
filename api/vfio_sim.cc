#include "api/vfio_sim.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string_view>

#include "api/container_file.h"
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
  core::Result<std::unique_ptr<sim::Machine>> built = core::Error(EINVAL);
  if (options.topology.has_value()) {
    built = sim::Machine::Build(*options.topology, sim::MachineConfigFromTopology(*options.topology),
                                profile.behavior, /*topology_regions=*/true);
  } else if (options.default_devices) {
    built = sim::Machine::Build(sim::DefaultTopology(), options.machine, profile.behavior,
                                /*topology_regions=*/false);
  }
  if (built.ok()) return std::move(*built);
  // Only an injected allocation failure gets here: fall back to an empty machine.
  return std::make_unique<sim::Machine>(options.machine, profile.behavior);
}

}  // namespace

VfioSim::VfioSim(const VfioSimOptions& options)
    : profile_(options.profile ? options.profile : &DefaultProfile()),
      machine_(BuildMachine(options, *profile_)),
      owner_(static_cast<uint64_t>(getpid())),
      ctx_{machine_.get(), &machine_->kernel(), profile_, &fds_, &owner_} {}

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

int VfioSim::Open(const char* path, int flags) { return SyscallResult(OpenErrno(path, flags)); }
int VfioSim::Close(int fd) { return SyscallResult(CloseErrno(fd)); }
int VfioSim::Ioctl(int fd, unsigned long request, uintptr_t arg) {
  return SyscallResult(IoctlErrno(fd, request, arg));
}

}  // namespace vfiosim::api
