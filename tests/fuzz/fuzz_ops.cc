#include "tests/fuzz/fuzz_ops.h"

#include <fcntl.h>
#include <linux/vfio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "api/profile.h"
#include "api/test_channel.h"
#include "api/uapi/iommu_vsva_rfc.h"
#include "api/uapi/vfio_vsva_rfc.h"
#include "api/vfio_sim.h"
#include "core/invariants.h"

namespace vfiosim::fuzz {
namespace {

// A byte reader that yields zeros once the input runs out.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{U8()} << (8 * i);
    return v;
  }
  uint64_t U64() { return uint64_t{U32()} | (uint64_t{U32()} << 32); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[U8() % v.size()]; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

const std::vector<uint64_t> kIovas = {0,           0x1000,      0x100000,           0x101000,
                                      0x1ff000,    0x200000,    0x40000000,         0xfedff000,
                                      0xfee00000,  0xfeeff000,  0xfef00000,         0x7ffffff000,
                                      0xfffffffff000, 0x1000000000000, 0xfffffffffffff000, 0x100800};
const std::vector<uint64_t> kSizes = {0, 0x800, 0x1000, 0x2000, 0x3000, 0x200000, 0x400000, 0x40000000,
                                      0xfffffffffffff000, 0x1001, 0x100000};
const std::vector<uint32_t> kArgsz = {0, 4, 7, 8, 15, 16, 19, 20, 23, 24, 31, 32, 40, 47, 48, 56, 80, 116, 4096};

class Machine {
 public:
  explicit Machine(const api::Profile* profile) {
    api::VfioSimOptions options;
    options.profile = profile;
    options.machine.dma_entry_limit = 64;
    sim_ = std::make_unique<api::VfioSim>(options);
    sim_->machine().AddPciDevice("0000:03:00.0", 0x1b36, 0x0005, 5);
    sim_->machine().AddPciDevice("0000:04:00.0", 0x8086, 0x10d3, 6, /*host_bound=*/true);
    channel_ = std::make_unique<api::TestChannel>(*sim_);
    buf_ = static_cast<uint8_t*>(mmap(nullptr, kBuf, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ro_ = static_cast<uint8_t*>(mmap(nullptr, 0x2000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  }
  ~Machine() {
    channel_.reset();
    sim_.reset();
    munmap(buf_, kBuf);
    munmap(ro_, 0x2000);
  }

  void Step(Reader& in, RunStats& stats) {
    const uint8_t op = in.U8() % 18;
    int r = 0;
    switch (op) {
      case 0: r = Track(sim_->Open("/dev/vfio/vfio", O_RDWR)); break;
      case 1: r = Track(sim_->Open(in.Pick<std::string>({"/dev/vfio/1", "/dev/vfio/5", "/dev/vfio/6", "/dev/vfio/9"}).c_str(), O_RDWR)); break;
      case 2: {
        int fd = Fd(in);
        r = sim_->Close(fd);
        fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
        break;
      }
      case 3: {
        int target = in.U8() % 4 == 0 ? static_cast<int>(in.U32()) : Fd(in);
        r = sim_->Ioctl(Fd(in), VFIO_GROUP_SET_CONTAINER, &target);
        break;
      }
      case 4: r = sim_->Ioctl(Fd(in), VFIO_GROUP_UNSET_CONTAINER); break;
      case 5: r = sim_->Ioctl(Fd(in), VFIO_SET_IOMMU, static_cast<uintptr_t>(in.U8() % 12)); break;
      case 6: r = sim_->Ioctl(Fd(in), VFIO_CHECK_EXTENSION, static_cast<uintptr_t>(in.U8() % 12)); break;
      case 7: r = Track(sim_->Ioctl(Fd(in), VFIO_GROUP_GET_DEVICE_FD,
                                    in.Pick<std::string>({"0000:00:01.0", "0000:03:00.0", "0000:00:01.0 ",
                                                          "0000:00:01.0 foo", "bogus"}).c_str()));
        break;
      case 8: r = Map(in); break;
      case 9: r = Unmap(in); break;
      case 10: {
        uint8_t raw[4096];
        std::memset(raw, 0xa5, sizeof(raw));
        uint32_t argsz = in.Pick(kArgsz);
        std::memcpy(raw, &argsz, 4);
        r = sim_->Ioctl(Fd(in), VFIO_IOMMU_GET_INFO, raw);
        break;
      }
      case 11: r = Dirty(in); break;
      case 12: {
        vfio_iommu_type1_pasid_request req{};
        req.argsz = in.Pick(kArgsz);
        req.flags = in.U8() % 5;
        req.alloc_pasid.min = in.U8() % 2 ? in.U32() : in.U8();
        req.alloc_pasid.max = in.U8() % 2 ? in.U32() : in.U8();
        r = sim_->Ioctl(Fd(in), VFIO_IOMMU_PASID_REQUEST, &req);
        break;
      }
      case 13: r = Bind(in); break;
      case 14: {
        vfio_iommu_type1_cache_invalidate inv{};
        inv.argsz = in.Pick(kArgsz);
        inv.flags = in.U8() % 8 == 0 ? 1 : 0;
        inv.cache_info.version = in.U8() % 4;
        inv.cache_info.cache = in.U8() % 9;
        inv.cache_info.granularity = in.U8() % 4;
        inv.cache_info.addr_info.flags = in.U8() % 9;
        inv.cache_info.addr_info.pasid = in.U8();
        inv.cache_info.addr_info.addr = in.Pick(kIovas);
        inv.cache_info.addr_info.granule_size = 0x1000;
        inv.cache_info.addr_info.nb_granules = in.U8();
        r = sim_->Ioctl(Fd(in), VFIO_IOMMU_CACHE_INVALIDATE, &inv);
        break;
      }
      case 15: {
        uint8_t raw[64];
        std::memset(raw, 0, sizeof(raw));
        uint32_t argsz = in.Pick(kArgsz) % 64;
        std::memcpy(raw, &argsz, 4);
        r = sim_->Ioctl(Fd(in), VFIO_DEVICE_GET_INFO, raw);
        break;
      }
      case 16: {
        uint8_t bytes[512];
        uint64_t iova = in.Pick(kIovas) + in.U8() * 0x100;
        size_t len = in.U8() * 2;
        core::Pasid pasid = in.U8() % 3 == 0 ? in.U8() : core::kNoPasid;
        core::GroupId group = in.U8() % 2 ? 1 : 5;
        sim::DmaResult d = in.U8() % 2 ? channel_->DmaRead(group, iova, bytes, len, pasid)
                                       : channel_->DmaWrite(group, iova, bytes, len, pasid);
        r = d.ok ? 0 : -1;
        break;
      }
      case 17: {
        unsigned long nr = _IO(VFIO_TYPE, VFIO_BASE + in.U8() % 40);
        uint8_t raw[128] = {};
        uint32_t argsz = in.Pick(kArgsz) % 128;
        std::memcpy(raw, &argsz, 4);
        r = sim_->Ioctl(Fd(in), nr, in.U8() % 4 == 0 ? uintptr_t{0} : reinterpret_cast<uintptr_t>(raw));
        break;
      }
    }
    ++stats.operations;
    if (r < 0) ++stats.failed_calls;
  }

  std::vector<std::string> Check() { return core::CheckKernelInvariants(sim_->kernel()); }

 private:
  static constexpr size_t kBuf = 0x400000;

  int Track(int fd) {
    if (fd >= 0) fds_.push_back(fd);
    return fd;
  }
  int Fd(Reader& in) {
    if (fds_.empty() || in.U8() % 16 == 0) return static_cast<int>(in.U8()) - 2;  // junk fds
    return fds_[in.U8() % fds_.size()];
  }
  uint64_t Vaddr(Reader& in) {
    switch (in.U8() % 6) {
      case 0: return 0;
      case 1: return reinterpret_cast<uint64_t>(ro_);
      case 2: return 0xffff888000000000ull;
      case 3: return reinterpret_cast<uint64_t>(buf_) + 0x800;
      default: return reinterpret_cast<uint64_t>(buf_) + (in.U8() % 64) * 0x1000;
    }
  }
  int Map(Reader& in) {
    vfio_iommu_type1_dma_map map{};
    map.argsz = in.Pick(kArgsz);
    map.flags = in.U8() % 16 == 0 ? in.U32() : in.U8() % 8;
    map.vaddr = Vaddr(in);
    map.iova = in.Pick(kIovas);
    map.size = std::min<uint64_t>(in.Pick(kSizes), in.U8() % 2 ? 0x1000 : 0x200000);
    if (in.U8() % 8 == 0) map.size = in.Pick(kSizes);
    return sim_->Ioctl(Fd(in), VFIO_IOMMU_MAP_DMA, in.U8() % 32 == 0 ? nullptr : &map);
  }
  int Unmap(Reader& in) {
    // struct vfio_iommu_type1_dma_unmap followed by its vfio_bitmap payload.
    alignas(8) uint8_t raw[sizeof(vfio_iommu_type1_dma_unmap) + sizeof(vfio_bitmap)] = {};
    uint64_t bits[64] = {};
    vfio_iommu_type1_dma_unmap unmap{};
    unmap.argsz = in.Pick(kArgsz);
    unmap.flags = in.U8() % 16 == 0 ? in.U32() : in.U8() % 8;
    unmap.iova = in.Pick(kIovas);
    unmap.size = in.Pick(kSizes);
    vfio_bitmap bitmap{};
    bitmap.pgsize = in.U8() % 4 ? 0x1000 : 0x2000;
    bitmap.size = in.U8() % 4 ? sizeof(bits) : in.U8();
    bitmap.data = in.U8() % 8 ? reinterpret_cast<__u64*>(bits) : nullptr;
    std::memcpy(raw, &unmap, sizeof(unmap));
    std::memcpy(raw + sizeof(unmap), &bitmap, sizeof(bitmap));
    return sim_->Ioctl(Fd(in), VFIO_IOMMU_UNMAP_DMA, raw);
  }
  int Dirty(Reader& in) {
    alignas(8) uint8_t raw[sizeof(vfio_iommu_type1_dirty_bitmap) + sizeof(vfio_iommu_type1_dirty_bitmap_get)] = {};
    uint64_t bits[64] = {};
    vfio_iommu_type1_dirty_bitmap head{};
    head.argsz = in.Pick(kArgsz);
    head.flags = in.U8() % 8;
    vfio_iommu_type1_dirty_bitmap_get get{};
    get.iova = in.Pick(kIovas);
    get.size = in.Pick(kSizes);
    get.bitmap.pgsize = in.U8() % 4 ? 0x1000 : 0;
    get.bitmap.size = in.U8() % 4 ? sizeof(bits) : in.U32();
    get.bitmap.data = reinterpret_cast<__u64*>(bits);
    std::memcpy(raw, &head, sizeof(head));
    std::memcpy(raw + sizeof(head), &get, sizeof(get));
    return sim_->Ioctl(Fd(in), VFIO_IOMMU_DIRTY_PAGES, raw);
  }
  int Bind(Reader& in) {
    alignas(8) uint8_t raw[sizeof(vfio_iommu_type1_bind) + sizeof(iommu_gpasid_bind_data)] = {};
    vfio_iommu_type1_bind head{};
    head.argsz = in.Pick(kArgsz);
    head.flags = in.U8() % 4;
    iommu_gpasid_bind_data data{};
    data.version = in.U8() % 3;
    data.format = in.U8() % 3;
    data.flags = in.U8() % 3;
    data.gpgd = in.Pick(kIovas);
    data.hpasid = in.U8() % 16 == 0 ? in.U64() : in.U8() % 8;
    data.addr_width = in.Pick<uint32_t>({39, 48, 57, 0});
    std::memcpy(raw, &head, sizeof(head));
    std::memcpy(raw + sizeof(head), &data, sizeof(data));
    return sim_->Ioctl(Fd(in), VFIO_IOMMU_BIND, raw);
  }

  std::unique_ptr<api::VfioSim> sim_;
  std::unique_ptr<api::TestChannel> channel_;
  std::vector<int> fds_;
  uint8_t* buf_;
  uint8_t* ro_;
};

}  // namespace

RunStats RunOps(const uint8_t* data, size_t size) {
  RunStats stats;
  Reader in(data, size);
  auto profiles = api::AllProfiles();
  Machine machine(&profiles[in.U8() % profiles.size()]);
  for (int steps = 0; !in.empty() && steps < 256; ++steps) {
    machine.Step(in, stats);
    stats.violations = machine.Check();
    if (!stats.violations.empty()) break;
  }
  return stats;
}

}  // namespace vfiosim::fuzz
