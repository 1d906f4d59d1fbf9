// The C API (api/c_api.h) over VfioSim and TestChannel. Every entry point
// turns a C++ result into "value or -errno" and never lets an error escape as
// an abort.
#include "api/c_api.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "api/preload/sim_factory.h"
#include "api/preload/sim_report.h"
#include "api/test_channel.h"
#include "api/vfio_sim.h"
#include "core/fault.h"
#include "core/fault_injection.h"
#include "core/kernel.h"
#include "sim/machine.h"

struct vfiosim_machine {
  std::unique_ptr<vfiosim::api::VfioSim> sim;
  std::unique_ptr<vfiosim::api::TestChannel> channel;
  std::mutex mu;  // pending
  // Faults drained from the ports but not yet handed out (max was smaller).
  std::map<uint32_t, std::deque<vfiosim::core::FaultRecord>> pending;
};

namespace {

using vfiosim::core::FaultRecord;

thread_local std::string t_last_error;

void ToC(const FaultRecord& r, vfiosim_fault* out) {
  *out = vfiosim_fault{};
  out->reason = static_cast<uint32_t>(r.reason);
  out->pasid = r.pasid;
  out->pasid_valid = r.pasid_valid;
  out->addr_valid = r.addr_valid;
  out->fetch_addr_valid = r.fetch_addr_valid;
  out->perm = r.perm;
  out->addr = r.addr;
  out->fetch_addr = r.fetch_addr;
}

int DmaResultToC(const vfiosim::sim::DmaResult& r, vfiosim_fault* fault) {
  if (r.ok) return 0;
  if (fault != nullptr) ToC(r.fault, fault);
  return -EFAULT;
}

// Moves every fault recorded for `group` (test channel and device models) to `pending`.
void Collect(vfiosim_machine* m, uint32_t group) {
  std::deque<FaultRecord>& q = m->pending[group];
  for (const FaultRecord& r : m->channel->Port(group).faults().Drain()) q.push_back(r);
  vfiosim::sim::Machine& machine = m->sim->machine();
  for (size_t i = 0; i < machine.device_count(); ++i) {
    vfiosim::sim::MachineDevice& d = machine.DeviceAt(static_cast<uint32_t>(i));
    if (d.group != group || !d.dma) continue;
    for (const FaultRecord& r : d.dma->faults().Drain()) q.push_back(r);
  }
}

}  // namespace

extern "C" {

vfiosim_machine* vfiosim_create(const char* profile, const char* topology_json) {
  t_last_error.clear();
  std::string error;
  std::unique_ptr<vfiosim::api::VfioSim> sim = vfiosim::api::preload::MakeSimFromTopologyText(
      profile ? profile : "", topology_json ? topology_json : "", &error);
  if (!sim) {
    t_last_error = error.empty() ? "cannot create the machine" : error;
    return nullptr;
  }
  auto* m = new vfiosim_machine;
  m->channel = std::make_unique<vfiosim::api::TestChannel>(*sim);
  m->sim = std::move(sim);
  return m;
}

void vfiosim_destroy(vfiosim_machine* m) {
  if (m == nullptr) return;
  m->channel.reset();  // references the simulator
  m->sim.reset();
  delete m;
}

const char* vfiosim_last_error(void) { return t_last_error.c_str(); }

int vfiosim_open(vfiosim_machine* m, const char* path, int flags) {
  if (m == nullptr) return -EINVAL;
  return static_cast<int>(m->sim->OpenErrno(path, flags));
}

int vfiosim_close(vfiosim_machine* m, int fd) {
  if (m == nullptr) return -EINVAL;
  return static_cast<int>(m->sim->CloseErrno(fd));
}

long vfiosim_ioctl(vfiosim_machine* m, int fd, unsigned long request, uintptr_t arg) {
  if (m == nullptr) return -EINVAL;
  return m->sim->IoctlErrno(fd, request, arg);
}

ssize_t vfiosim_pread(vfiosim_machine* m, int fd, void* buf, size_t count, off_t offset) {
  if (m == nullptr) return -EINVAL;
  return m->sim->PreadErrno(fd, buf, count, offset);
}

ssize_t vfiosim_pwrite(vfiosim_machine* m, int fd, const void* buf, size_t count, off_t offset) {
  if (m == nullptr) return -EINVAL;
  return m->sim->PwriteErrno(fd, buf, count, offset);
}

int vfiosim_mmap(vfiosim_machine* m, void* addr, size_t length, int prot, int flags, int fd, off_t offset,
                 void** out) {
  if (m == nullptr) return -EINVAL;
  if (out == nullptr) return -EFAULT;
  intptr_t r = m->sim->MmapErrno(addr, length, prot, flags, fd, offset);
  if (r < 0 && r >= -4095) return static_cast<int>(r);
  *out = reinterpret_cast<void*>(r);
  return 0;
}

int vfiosim_munmap(vfiosim_machine* m, void* addr, size_t length) {
  if (m == nullptr) return -EINVAL;
  return static_cast<int>(m->sim->MunmapErrno(addr, length));
}

int vfiosim_dma_read(vfiosim_machine* m, uint32_t group, uint64_t iova, void* dst, size_t len, uint32_t pasid,
                     vfiosim_fault* fault) {
  if (m == nullptr) return -EINVAL;
  return DmaResultToC(m->channel->DmaRead(group, iova, dst, len, pasid), fault);
}

int vfiosim_dma_write(vfiosim_machine* m, uint32_t group, uint64_t iova, const void* src, size_t len,
                      uint32_t pasid, vfiosim_fault* fault) {
  if (m == nullptr) return -EINVAL;
  return DmaResultToC(m->channel->DmaWrite(group, iova, src, len, pasid), fault);
}

long vfiosim_read_faults(vfiosim_machine* m, uint32_t group, vfiosim_fault* out, size_t max) {
  if (m == nullptr) return -EINVAL;
  if (out == nullptr && max > 0) return -EFAULT;
  std::lock_guard<std::mutex> lock(m->mu);
  Collect(m, group);
  std::deque<FaultRecord>& q = m->pending[group];
  size_t n = std::min(max, q.size());
  for (size_t i = 0; i < n; ++i) {
    ToC(q.front(), &out[i]);
    q.pop_front();
  }
  return static_cast<long>(n);
}

const char* vfiosim_fault_reason_name(uint32_t reason) {
  return vfiosim::core::FaultReasonName(static_cast<vfiosim::core::FaultReason>(reason));
}

long vfiosim_list_mappings(vfiosim_machine* m, uint32_t group, vfiosim_mapping* out, size_t max) {
  if (m == nullptr) return -EINVAL;
  if (out == nullptr && max > 0) return -EFAULT;
  std::vector<vfiosim::api::preload::MappingInfo> maps = vfiosim::api::preload::GroupMappings(*m->sim, group);
  for (size_t i = 0; i < maps.size() && i < max; ++i) {
    out[i] = vfiosim_mapping{maps[i].container_id, maps[i].prot, maps[i].iova, maps[i].size, maps[i].vaddr};
  }
  return static_cast<long>(maps.size());
}

int vfiosim_set_memlock_limit(vfiosim_machine* m, uint64_t bytes) {
  if (m == nullptr) return -EINVAL;
  m->sim->kernel().SetMemlockLimit(bytes);
  return 0;
}

void vfiosim_fail_nth(uint64_t n) {
  if (n == 0) {
    vfiosim::core::FailNth::Disarm();
  } else {
    vfiosim::core::FailNth::Arm(n);
  }
}

int vfiosim_fail_nth_fired(void) { return vfiosim::core::FailNth::Fired() ? 1 : 0; }

}  // extern "C"
