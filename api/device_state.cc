// DeviceState lifecycle, reset and low power; see device_state.h.
#include "api/device_state.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string_view>
#include <system_error>

#include "api/user_struct.h"
#include "core/fault_injection.h"

namespace vfiosim::api {
namespace {

using core::Error;
using core::MutexLock;
using core::Result;
using core::Status;

// The registry of enabled devices. Keyed by the machine's device object:
// every fd of one machine reaches the same MachineDevice.
struct Registry {
  std::mutex mu;
  std::map<const sim::MachineDevice*, DeviceState*> states;
};

Registry& TheRegistry() {
  static Registry* registry = new Registry;  // never destroyed: fds may close at exit
  return *registry;
}

void SignalEventfd(int fd) {
  uint64_t one = 1;
  (void)!write(fd, &one, sizeof(one));
}

// vfio_check_feature(): 1 = go on, 0 = PROBE answered, else the error.
Result<long> CheckFeature(uint32_t flags, size_t argsz, uint32_t supported, size_t minsz) {
  const uint32_t ops = flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET);
  if (ops & ~supported) return Error(EINVAL);
  if (flags & VFIO_DEVICE_FEATURE_PROBE) return 0L;
  if (ops == 0) return Error(EINVAL);
  if (argsz < minsz) return Error(EINVAL);
  return 1L;
}

}  // namespace

// ---- eventfds ----

Status CheckEventfd(int fd) {
  if (fd < 0 || fcntl(fd, F_GETFD) < 0) return Error(EBADF);
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  char target[64] = {};
  ssize_t n = readlink(path, target, sizeof(target) - 1);
  if (n < 0) return Status::Ok();  // no /proc: cannot tell, trust the caller
  return std::string_view(target, static_cast<size_t>(n)) == "anon_inode:[eventfd]" ? Status::Ok()
                                                                                   : Error(EINVAL);
}

Status EventfdWatcher::Start(int fd, std::function<void()> fn) {
  VFIOSIM_RETURN_IF_ERROR(CheckEventfd(fd));
  if (core::ShouldFail(core::FailSite::kObjectAlloc)) return Error(ENOMEM);
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) return Error(ENOMEM);
  int stop = eventfd(0, EFD_CLOEXEC);
  if (stop < 0) {
    close(own);
    return Error(ENOMEM);
  }
  try {
    thread_ = std::thread([own, stop, fn = std::move(fn)] {
      pollfd fds[2] = {{own, POLLIN, 0}, {stop, POLLIN, 0}};
      for (;;) {
        if (poll(fds, 2, -1) < 0) {
          if (errno == EINTR) continue;
          return;
        }
        if (fds[1].revents != 0) return;
        if (!(fds[0].revents & POLLIN)) return;  // POLLERR/POLLNVAL: nothing more will come
        uint64_t counter;
        if (read(own, &counter, sizeof(counter)) == sizeof(counter)) fn();
      }
    });
  } catch (const std::system_error&) {
    close(own);
    close(stop);
    return Error(ENOMEM);
  }
  fd_ = own;
  stop_fd_ = stop;
  return Status::Ok();
}

void EventfdWatcher::Stop() {
  if (!thread_.joinable()) return;
  SignalEventfd(stop_fd_);
  thread_.join();
  close(fd_);
  close(stop_fd_);
  fd_ = stop_fd_ = -1;
}

// ---- lifecycle ----

DeviceState::DeviceState(sim::MachineDevice* dev, const core::Device* core_dev)
    : dev_(dev), core_dev_(core_dev) {
  bar_fd_.fill(-1);
}

DeviceState::~DeviceState() = default;

DeviceState* DeviceState::Acquire(sim::MachineDevice* dev, const core::Device* core_dev) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  DeviceState*& state = r.states[dev];
  if (state == nullptr) {
    state = new DeviceState(dev, core_dev);
    state->Enable();
  }
  ++state->refs_;
  return state;
}

void DeviceState::Release(DeviceState* state) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (--state->refs_ > 0) return;
  state->Disable();
  r.states.erase(state->dev_);
  delete state;
}

uint16_t DeviceState::Command() const {
  core::Result<uint32_t> cmd = model()->ConfigRead(PCI_COMMAND, 2);
  return cmd.ok() ? static_cast<uint16_t>(*cmd) : 0;
}

void DeviceState::WriteCommand(uint16_t value) {
  (void)model()->ConfigWrite(PCI_COMMAND, 2, value);
}

// vfio_pci_core_enable(): the firmware's enables, a reset when it works (the
// device reaches the user in a clean state), the state to restore on close.
void DeviceState::Enable() {
  MutexLock lock(mu_);
  if (model() == nullptr) return;
  WriteCommand(Command() | PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_SERR);
  if (reset_works()) (void)ResetFunctionLocked();
  open_state_ = SaveConfig();
  InitVirtualConfig();
}

// vfio_pci_core_disable(): interrupts off, INTx-only command, reset when it
// works, the open-time configuration back, bus mastering off.
void DeviceState::Disable() {
  MutexLock lock(mu_);
  if (wake_fd_ >= 0) close(wake_fd_);
  wake_fd_ = -1;
  low_power_ = false;
  DisableAllIrqs();
  ReleaseBarBacking();
  if (model() == nullptr) return;
  WriteCommand(PCI_COMMAND_INTX_DISABLE);
  if (reset_works()) (void)model()->Reset();
  RestoreConfig(open_state_);
  WriteCommand(Command() & ~PCI_COMMAND_MASTER);
}

// ---- save / restore (pci_save_state / pci_restore_state) ----

SavedConfig DeviceState::SaveConfig() const {
  SavedConfig s;
  sim::PciDevice* m = model();
  for (uint32_t i = 0; i < s.header.size(); ++i) {
    core::Result<uint32_t> v = m->ConfigRead(4 * i, 4);
    s.header[i] = v.ok() ? *v : 0;
  }
  auto save = [&](uint32_t offset, unsigned size) {
    core::Result<uint32_t> v = m->ConfigRead(offset, size);
    if (v.ok()) s.caps.push_back({offset, size, *v});
  };
  const sim::PciConfigSpace& cfg = m->power_on_config();
  if (uint16_t exp = cfg.FindCapability(PCI_CAP_ID_EXP)) {
    for (uint32_t reg : {PCI_EXP_DEVCTL, PCI_EXP_LNKCTL, PCI_EXP_DEVCTL2, PCI_EXP_LNKCTL2}) {
      save(exp + reg, 2);
    }
  }
  if (uint16_t pasid = cfg.FindExtCapability(PCI_EXT_CAP_ID_PASID)) save(pasid + PCI_PASID_CTRL, 2);
  if (uint16_t ats = cfg.FindExtCapability(PCI_EXT_CAP_ID_ATS)) save(ats + PCI_ATS_CTRL, 2);
  return s;
}

void DeviceState::RestoreConfig(const SavedConfig& saved) {
  sim::PciDevice* m = model();
  for (const SavedConfig::Reg& reg : saved.caps) (void)m->ConfigWrite(reg.offset, reg.size, reg.value);
  // Highest dword first, only what differs, like pci_restore_config_space:
  // the Command register (dword 1) goes last, after the BARs.
  for (uint32_t i = saved.header.size(); i-- > 0;) {
    core::Result<uint32_t> now = m->ConfigRead(4 * i, 4);
    if (now.ok() && *now != saved.header[i]) (void)m->ConfigWrite(4 * i, 4, saved.header[i]);
  }
}

Status DeviceState::ResetFunctionLocked() {
  if (!reset_works()) return Error(EINVAL);
  SavedConfig saved = SaveConfig();
  VFIOSIM_RETURN_IF_ERROR(model()->Reset());
  RestoreConfig(saved);
  ReprogramIrqs();
  return Status::Ok();
}

Status DeviceState::Reset() {
  MutexLock lock(mu_);
  if (!reset_works()) return Error(EINVAL);
  VFIOSIM_RETURN_IF_ERROR(ResetFunctionLocked());
  RefreshLocked();
  return Status::Ok();
}

// ---- device features (vfio_pci_core_ioctl_feature) ----

Result<long> DeviceState::Feature(uint32_t flags, uintptr_t data, size_t data_size) {
  switch (flags & VFIO_DEVICE_FEATURE_MASK) {
    case VFIO_DEVICE_FEATURE_PCI_VF_TOKEN: {
      // Only an SR-IOV PF carries a VF token; GET is refused so that a token
      // never leaks to the next user.
      if (!core_dev_->vf) return Error(ENOTTY);
      uint8_t uuid[16];
      Result<long> go = CheckFeature(flags, data_size, VFIO_DEVICE_FEATURE_SET, sizeof(uuid));
      if (!go.ok() || *go != 1) return go;
      VFIOSIM_RETURN_IF_ERROR(core::CopyFromUser(uuid, UserPtr(data), sizeof(uuid)));
      return 0L;
    }
    case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY: {
      Result<long> go = CheckFeature(flags, data_size, VFIO_DEVICE_FEATURE_SET, 0);
      if (!go.ok() || *go != 1) return go;
      MutexLock lock(mu_);
      if (low_power_) return Error(EINVAL);
      low_power_ = true;
      return 0L;
    }
    case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP: {
      vfio_device_low_power_entry_with_wakeup entry;
      Result<long> go = CheckFeature(flags, data_size, VFIO_DEVICE_FEATURE_SET, sizeof(entry));
      if (!go.ok() || *go != 1) return go;
      VFIOSIM_RETURN_IF_ERROR(core::CopyFromUser(&entry, UserPtr(data), sizeof(entry)));
      if (entry.wakeup_eventfd < 0) return Error(EINVAL);
      VFIOSIM_RETURN_IF_ERROR(CheckEventfd(entry.wakeup_eventfd));
      MutexLock lock(mu_);
      if (low_power_) return Error(EINVAL);
      int own = fcntl(entry.wakeup_eventfd, F_DUPFD_CLOEXEC, 0);
      if (own < 0) return Error(ENOMEM);
      wake_fd_ = own;
      low_power_ = true;
      return 0L;
    }
    case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT: {
      Result<long> go = CheckFeature(flags, data_size, VFIO_DEVICE_FEATURE_SET, 0);
      if (!go.ok() || *go != 1) return go;
      MutexLock lock(mu_);
      if (wake_fd_ >= 0) close(wake_fd_);
      wake_fd_ = -1;
      low_power_ = false;
      return 0L;
    }
    default:
      return Error(ENOTTY);
  }
}

void DeviceState::Wake() {
  MutexLock lock(mu_);
  if (!low_power_ || wake_fd_ < 0) return;  // resumes silently, stays "engaged"
  SignalEventfd(wake_fd_);
  close(wake_fd_);
  wake_fd_ = -1;
  low_power_ = false;
}

IrqType DeviceState::irq_type() const {
  MutexLock lock(mu_);
  return irq_type_;
}

size_t DeviceState::mapping_count() const {
  MutexLock lock(mu_);
  return maps_.size();
}

}  // namespace vfiosim::api
