// BAR mmap (vfio_pci_core_mmap) and the MmapTable; the design and its limits
// are in device_state.h ("Mmap") and device_mmap.h.
#include "api/device_mmap.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "api/device_file.h"
#include "api/device_state.h"
#include "core/fault_injection.h"

namespace vfiosim::api {
namespace {

using core::Error;
using core::Result;
using core::Status;

constexpr uint64_t PageAlignUp(uint64_t n) { return (n + kPageSize - 1) & ~(kPageSize - 1); }

}  // namespace

void* RawMmap(void* addr, size_t len, int prot, int flags, int fd, off_t offset) {
  return reinterpret_cast<void*>(syscall(SYS_mmap, addr, len, prot, flags, fd, offset));
}
int RawMunmap(void* addr, size_t len) { return static_cast<int>(syscall(SYS_munmap, addr, len)); }
int RawMprotect(void* addr, size_t len, int prot) {
  return static_cast<int>(syscall(SYS_mprotect, addr, len, prot));
}
ssize_t RawPread(int fd, void* buf, size_t count, off_t offset) {
  return syscall(SYS_pread64, fd, buf, count, offset);
}
ssize_t RawPwrite(int fd, const void* buf, size_t count, off_t offset) {
  return syscall(SYS_pwrite64, fd, buf, count, offset);
}

// ---- DeviceState: mapping a BAR ----

bool DeviceState::IsWindowPage(int bar, uint64_t page_offset) const {
  const std::vector<sim::MmapArea>& areas = model()->Bar(bar).mmap_areas;
  for (size_t i = 0; i < overlaid_[bar] && i < areas.size(); ++i) {
    if (page_offset >= areas[i].offset && page_offset - areas[i].offset < areas[i].size) return true;
  }
  return false;
}

Status DeviceState::EnsureBarBacking(int bar) {
  if (bar_fd_[bar] >= 0) return Status::Ok();
  if (core::ShouldFail(core::FailSite::kObjectAlloc)) return Error(ENOMEM);
  const uint64_t len = PageAlignUp(model()->Bar(bar).spec.size);
  int fd = memfd_create("vfio-sim:bar", MFD_CLOEXEC);
  if (fd < 0) return Error(ENOMEM);
  if (ftruncate(fd, static_cast<off_t>(len)) != 0) {
    close(fd);
    return Error(ENOMEM);
  }
  bar_fd_[bar] = fd;
  // Window pages: hand the model's own pages over to the memfd (see header).
  uint8_t* backing = model()->MmapBacking(bar);
  if (backing == nullptr || sysconf(_SC_PAGESIZE) != static_cast<long>(kPageSize)) return Status::Ok();
  for (const sim::MmapArea& area : model()->Bar(bar).mmap_areas) {
    const auto off = static_cast<off_t>(area.offset);
    if (RawPwrite(fd, backing + area.offset, area.size, off) != static_cast<ssize_t>(area.size)) break;
    void* p = RawMmap(backing + area.offset, area.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, off);
    if (p == MAP_FAILED) break;  // this area stays a mirror of the model's memory
    ++overlaid_[bar];
  }
  return Status::Ok();
}

void DeviceState::ReleaseBarBacking() {
  for (int bar = 0; bar < PCI_STD_NUM_BARS; ++bar) {
    if (bar_fd_[bar] < 0) continue;
    uint8_t* backing = model()->MmapBacking(bar);
    const std::vector<sim::MmapArea>& areas = model()->Bar(bar).mmap_areas;
    for (size_t i = 0; i < overlaid_[bar] && i < areas.size(); ++i) {
      // Private memory again, with the same contents, before the model can
      // free its buffer. If that fails the pages simply stay memfd-backed.
      std::vector<uint8_t> copy(areas[i].size);
      std::memcpy(copy.data(), backing + areas[i].offset, copy.size());
      void* p = RawMmap(backing + areas[i].offset, copy.size(), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (p != MAP_FAILED) std::memcpy(p, copy.data(), copy.size());
    }
    overlaid_[bar] = 0;
    close(bar_fd_[bar]);
    bar_fd_[bar] = -1;
  }
  maps_.clear();
}

void DeviceState::RefreshPages(int bar, uint64_t offset, uint64_t len) {
  sim::PciDevice* m = model();
  uint32_t page[kPageSize / 4];
  for (uint64_t p = offset; p < offset + len; p += kPageSize) {
    if (IsWindowPage(bar, p)) continue;
    for (uint64_t i = 0; i < kPageSize / 4; ++i) {
      Result<uint64_t> v = m->BarRead(bar, p + 4 * i, 4);
      page[i] = v.ok() ? static_cast<uint32_t>(*v) : 0xffffffffu;
    }
    (void)RawPwrite(bar_fd_[bar], page, sizeof(page), static_cast<off_t>(p));
  }
}

void DeviceState::RefreshLocked() {
  if (maps_.empty()) return;
  std::set<std::pair<int, uint64_t>> pages;
  for (const ClientMap& map : maps_) {
    for (uint64_t p = map.bar_offset; p < map.bar_offset + map.len; p += kPageSize) pages.insert({map.bar, p});
  }
  for (const auto& [bar, page] : pages) RefreshPages(bar, page, kPageSize);
}

void DeviceState::RefreshMappings() {
  core::MutexLock lock(mu_);
  RefreshLocked();
}

Result<void*> DeviceState::Mmap(void* addr, size_t len, int prot, int flags, uint64_t offset) {
  const uint64_t index = offset >> kOffsetShift;
  if (index >= VFIO_PCI_NUM_REGIONS) return Error(EINVAL);
  const int type = flags & MAP_TYPE;
  if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE) return Error(EINVAL);  // needs VM_SHARED
  if (index >= VFIO_PCI_ROM_REGION_INDEX) return Error(EINVAL);
  const int bar = static_cast<int>(index);
  core::MutexLock lock(mu_);
  if (!BarMmapSupported(bar)) return Error(EINVAL);
  const uint64_t phys_len = PageAlignUp(model()->Bar(bar).spec.size);
  const uint64_t start = offset & kOffsetMask;
  const uint64_t req_len = PageAlignUp(len);
  if (start > phys_len || req_len > phys_len - start) return Error(EINVAL);
  VFIOSIM_RETURN_IF_ERROR(EnsureBarBacking(bar));
  RefreshPages(bar, start, req_len);
  void* p = RawMmap(addr, req_len, prot, flags, bar_fd_[bar], static_cast<off_t>(start));
  if (p == MAP_FAILED) return Error(errno);
  if (prot & PROT_WRITE) {  // register pages: read-only (stores fault loudly)
    auto* base = static_cast<uint8_t*>(p);
    for (uint64_t off = 0; off < req_len; off += kPageSize) {
      if (!IsWindowPage(bar, start + off)) (void)RawMprotect(base + off, kPageSize, prot & ~PROT_WRITE);
    }
  }
  maps_.push_back({reinterpret_cast<uintptr_t>(p), req_len, bar, start});
  return p;
}

void DeviceState::Unmapped(uintptr_t addr, size_t len) {
  core::MutexLock lock(mu_);
  const uintptr_t end = addr + len;
  std::vector<ClientMap> kept;
  for (const ClientMap& m : maps_) {
    const uintptr_t m_end = m.addr + m.len;
    if (m_end <= addr || m.addr >= end) {
      kept.push_back(m);
      continue;
    }
    if (m.addr < addr) kept.push_back({m.addr, addr - m.addr, m.bar, m.bar_offset});
    if (m_end > end) kept.push_back({end, m_end - end, m.bar, m.bar_offset + (end - m.addr)});
  }
  maps_ = std::move(kept);
}

// ---- MmapTable ----

MmapTable::~MmapTable() {
  std::map<uintptr_t, Entry> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(entries_);
  }
  for (auto& [addr, entry] : left) {
    static_cast<DeviceFile&>(*entry.device).Unmapped(addr, entry.len);
    (void)RawMunmap(reinterpret_cast<void*>(addr), entry.len);
  }
}

void MmapTable::Add(uintptr_t addr, size_t len, std::shared_ptr<File> device) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_[addr] = Entry{len, std::move(device)};
}

void MmapTable::Forget(uintptr_t addr, size_t len) {
  const uintptr_t end = addr + len;
  std::vector<std::pair<std::shared_ptr<File>, std::pair<uintptr_t, size_t>>> touched;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.upper_bound(addr);
    if (it != entries_.begin()) --it;
    while (it != entries_.end() && it->first < end) {
      const uintptr_t e_start = it->first;
      const uintptr_t e_end = e_start + it->second.len;
      if (e_end <= addr) {
        ++it;
        continue;
      }
      Entry entry = std::move(it->second);
      it = entries_.erase(it);
      const uintptr_t cut_start = std::max(addr, e_start);
      const uintptr_t cut_end = std::min(end, e_end);
      touched.push_back({entry.device, {cut_start, cut_end - cut_start}});
      if (e_start < addr) entries_[e_start] = Entry{addr - e_start, entry.device};
      if (e_end > end) it = entries_.emplace(end, Entry{e_end - end, entry.device}).first;
    }
  }
  // Outside the lock: this may drop the last reference to a device file.
  for (auto& [device, range] : touched) {
    static_cast<DeviceFile&>(*device).Unmapped(range.first, range.second);
  }
}

Status MmapTable::Unmap(uintptr_t addr, size_t len) {
  if (addr % kPageSize != 0 || len == 0 || len > UINTPTR_MAX - addr - kPageSize) return Error(EINVAL);
  len = PageAlignUp(len);
  if (RawMunmap(reinterpret_cast<void*>(addr), len) != 0) return Error(errno);
  Forget(addr, len);
  return Status::Ok();
}

size_t MmapTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace vfiosim::api
