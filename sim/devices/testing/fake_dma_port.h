// FakeDmaPort: a test-only DmaPort backed by a map of 4 KiB pages.
//
// Models an IOMMU-translated address space per PASID (kNoPasid is the
// request-without-PASID space) with page-granular permissions and injectable
// faults, so device models can be tested without core/'s page tables:
//   - an unmapped page faults with kPteFetch (kPasidInvalid when the PASID has
//     no page at all), a permission mismatch with kPermission, an access that
//     wraps past 2^64 with kOorAddress, an injected page with its reason;
//   - every access checks the whole range first, so a failed Read or Write
//     touches nothing (the all-or-nothing behaviour DmaPort recommends);
//   - faults are recorded in order, like an IOMMU fault queue;
//   - set_scribble_on_fault(true) makes a failed Read fill `dst` with 0xcc,
//     which the DmaPort contract allows, to prove devices bounce reads.
// Peek/Poke are the test's backdoor (no permission checks, no records).
//
// Thread safety: all methods are thread-safe (one internal mutex).
#ifndef VFIOSIM_SIM_DEVICES_TESTING_FAKE_DMA_PORT_H_
#define VFIOSIM_SIM_DEVICES_TESTING_FAKE_DMA_PORT_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "core/fault.h"
#include "core/types.h"
#include "sim/dma_port.h"

namespace vfiosim::sim::testing {

class FakeDmaPort : public DmaPort {
 public:
  static constexpr uint64_t kPage = 4096;

  // Maps the pages covering [iova, iova + size), zero-filled, with `perm`.
  void Map(uint64_t iova, uint64_t size, uint8_t perm = core::kProtRead | core::kProtWrite,
           core::Pasid pasid = core::kNoPasid) {
    std::lock_guard<std::mutex> lock(mu_);
    ForEachPage(iova, size, [&](uint64_t p) { pages_[{pasid, p}].perm = perm; });
  }

  void Unmap(uint64_t iova, uint64_t size, core::Pasid pasid = core::kNoPasid) {
    std::lock_guard<std::mutex> lock(mu_);
    ForEachPage(iova, size, [&](uint64_t p) { pages_.erase({pasid, p}); });
  }

  // Every access touching this page (mapped or not) faults with `reason`.
  void InjectFault(uint64_t iova, core::FaultReason reason, core::Pasid pasid = core::kNoPasid) {
    std::lock_guard<std::mutex> lock(mu_);
    injected_[{pasid, PageOf(iova)}] = reason;
  }
  void ClearInjectedFaults() {
    std::lock_guard<std::mutex> lock(mu_);
    injected_.clear();
  }

  bool Poke(uint64_t iova, const void* src, size_t len, core::Pasid pasid = core::kNoPasid) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!AllMapped(iova, len, pasid)) return false;
    Copy(iova, len, pasid, [&](uint8_t* mem, size_t done, size_t n) {
      std::memcpy(mem, static_cast<const uint8_t*>(src) + done, n);
    });
    return true;
  }
  bool Peek(uint64_t iova, void* dst, size_t len, core::Pasid pasid = core::kNoPasid) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!AllMapped(iova, len, pasid)) return false;
    Copy(iova, len, pasid, [&](uint8_t* mem, size_t done, size_t n) {
      std::memcpy(static_cast<uint8_t*>(dst) + done, mem, n);
    });
    return true;
  }
  std::vector<uint8_t> PeekBytes(uint64_t iova, size_t len, core::Pasid pasid = core::kNoPasid) {
    std::vector<uint8_t> out(len, 0);
    Peek(iova, out.data(), len, pasid);
    return out;
  }

  void set_scribble_on_fault(bool on) {
    std::lock_guard<std::mutex> lock(mu_);
    scribble_ = on;
  }

  std::vector<core::FaultRecord> faults() const {
    std::lock_guard<std::mutex> lock(mu_);
    return faults_;
  }
  uint64_t read_calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return read_calls_;
  }
  uint64_t write_calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return write_calls_;
  }

  DmaResult Read(uint64_t iova, void* dst, size_t len, core::Pasid pasid) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++read_calls_;
    if (auto f = Check(iova, len, pasid, core::kProtRead)) {
      if (scribble_) std::memset(dst, 0xcc, len);
      return Record(*f);
    }
    Copy(iova, len, pasid, [&](uint8_t* mem, size_t done, size_t n) {
      std::memcpy(static_cast<uint8_t*>(dst) + done, mem, n);
    });
    return DmaResult::Ok();
  }

  DmaResult Write(uint64_t iova, const void* src, size_t len, core::Pasid pasid) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++write_calls_;
    if (auto f = Check(iova, len, pasid, core::kProtWrite)) return Record(*f);
    Copy(iova, len, pasid, [&](uint8_t* mem, size_t done, size_t n) {
      std::memcpy(mem, static_cast<const uint8_t*>(src) + done, n);
    });
    return DmaResult::Ok();
  }

 private:
  struct Page {
    uint8_t perm = 0;
    std::array<uint8_t, kPage> data{};
  };
  using Key = std::pair<core::Pasid, uint64_t>;

  static uint64_t PageOf(uint64_t a) { return a & ~(kPage - 1); }

  // Pages covering [iova, iova + size), clamped at 2^64 - 1.
  template <typename Fn>
  static void ForEachPage(uint64_t iova, uint64_t size, Fn fn) {
    if (size == 0) return;
    uint64_t last = 0;
    if (__builtin_add_overflow(iova, size - 1, &last)) last = ~uint64_t{0};
    for (uint64_t p = PageOf(iova);; p += kPage) {
      fn(p);
      if (p == PageOf(last)) return;
    }
  }

  bool AllMapped(uint64_t iova, size_t len, core::Pasid pasid) const {
    if (len == 0) return true;
    uint64_t last = 0;
    if (__builtin_add_overflow(iova, len - 1, &last)) return false;
    for (uint64_t p = PageOf(iova);; p += kPage) {
      if (pages_.count({pasid, p}) == 0) return false;
      if (p == PageOf(last)) return true;
    }
  }

  std::optional<core::FaultRecord> Check(uint64_t iova, size_t len, core::Pasid pasid,
                                         uint8_t perm) const {
    if (len == 0) return std::nullopt;
    core::FaultRecord f;
    f.perm = perm;
    f.addr_valid = true;
    if (pasid != core::kNoPasid) {
      f.pasid_valid = true;
      f.pasid = pasid;
    }
    uint64_t last = 0;
    if (__builtin_add_overflow(iova, len - 1, &last)) {
      f.reason = core::FaultReason::kOorAddress;
      f.addr = PageOf(iova);
      return f;
    }
    for (uint64_t p = PageOf(iova);; p += kPage) {
      f.addr = p;
      if (auto it = injected_.find({pasid, p}); it != injected_.end()) {
        f.reason = it->second;
        return f;
      }
      auto page = pages_.find({pasid, p});
      if (page == pages_.end()) {
        f.reason = HasPasid(pasid) ? core::FaultReason::kPteFetch
                                   : core::FaultReason::kPasidInvalid;
        return f;
      }
      if ((page->second.perm & perm) != perm) {
        f.reason = core::FaultReason::kPermission;
        return f;
      }
      if (p == PageOf(last)) return std::nullopt;
    }
  }

  bool HasPasid(core::Pasid pasid) const {
    if (pasid == core::kNoPasid) return true;
    auto it = pages_.lower_bound({pasid, 0});
    return it != pages_.end() && it->first.first == pasid;
  }

  template <typename Fn>
  void Copy(uint64_t iova, size_t len, core::Pasid pasid, Fn fn) {
    size_t done = 0;
    while (done < len) {
      const uint64_t a = iova + done;
      const size_t in_page = static_cast<size_t>(kPage - (a - PageOf(a)));
      const size_t n = std::min(in_page, len - done);
      fn(pages_.at({pasid, PageOf(a)}).data.data() + (a - PageOf(a)), done, n);
      done += n;
    }
  }

  DmaResult Record(const core::FaultRecord& f) {
    faults_.push_back(f);
    return DmaResult::Fault(f);
  }

  mutable std::mutex mu_;
  std::map<Key, Page> pages_;
  std::map<Key, core::FaultReason> injected_;
  std::vector<core::FaultRecord> faults_;
  uint64_t read_calls_ = 0;
  uint64_t write_calls_ = 0;
  bool scribble_ = false;
};

}  // namespace vfiosim::sim::testing

#endif  // VFIOSIM_SIM_DEVICES_TESTING_FAKE_DMA_PORT_H_
