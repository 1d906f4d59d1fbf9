// VFIO_IOMMU_DIRTY_PAGES and UNMAP_DMA's GET_DIRTY_BITMAP (spec §7.6, §7.7;
// checklist cases 76-88 and the 6.18 variant of 87): argument checks, the
// argsz rules, the bitmap's whole-word write rule including the OR quirk,
// EFAULT paths, and the profiles that lack dirty tracking altogether.
#include <gtest/gtest.h>
#include <linux/vfio.h>
#include <sys/mman.h>

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "api/profile.h"
#include "core/fault_injection.h"
#include "tests/util/type1_snapshot.h"
#include "tests/util/vfio_fixture.h"

namespace vfiosim::testing {
namespace {

const api::Profile& P(const char* name) { return *api::FindProfile(name); }

constexpr uint32_t kStart = VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
constexpr uint32_t kStop = VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP;
constexpr uint32_t kGet = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
constexpr uint64_t kPage = 0x1000;
constexpr uint64_t kAllOnes = ~uint64_t{0};
constexpr uint8_t kFill = 0xa5;

std::string RowName(std::string name) {
  for (char& c : name) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

int Dirty(VfioFixture& f, uint32_t flags, uint32_t argsz = sizeof(vfio_iommu_type1_dirty_bitmap)) {
  vfio_iommu_type1_dirty_bitmap d{};
  d.argsz = argsz;
  d.flags = flags;
  return f.sim().Ioctl(f.container(), VFIO_IOMMU_DIRTY_PAGES, &d);
}

// Lays out vfio_iommu_type1_dirty_bitmap + vfio_iommu_type1_dirty_bitmap_get
// (48 bytes) at `at`.
void PutGetBitmap(uint8_t* at, uint32_t argsz, uint64_t iova, uint64_t size, uint64_t pgsize,
                  uint64_t bitmap_size, const void* data) {
  vfio_iommu_type1_dirty_bitmap hdr{};
  hdr.argsz = argsz;
  hdr.flags = kGet;
  vfio_iommu_type1_dirty_bitmap_get get{};
  get.iova = iova;
  get.size = size;
  get.bitmap.pgsize = pgsize;
  get.bitmap.size = bitmap_size;
  get.bitmap.data = static_cast<__u64*>(const_cast<void*>(data));
  std::memcpy(at, &hdr, sizeof(hdr));
  std::memcpy(at + sizeof(hdr), &get, sizeof(get));
}

int GetBitmap(VfioFixture& f, uint64_t iova, uint64_t size, void* data, uint64_t bitmap_size = 8,
              uint64_t pgsize = kPage, uint32_t argsz = 48) {
  alignas(8) uint8_t arg[48];
  PutGetBitmap(arg, argsz, iova, size, pgsize, bitmap_size, data);
  return f.sim().Ioctl(f.container(), VFIO_IOMMU_DIRTY_PAGES, arg);
}

// Lays out vfio_iommu_type1_dma_unmap + vfio_bitmap (48 bytes) at `at`.
void PutUnmapBitmap(uint8_t* at, uint32_t argsz, uint32_t flags, uint64_t iova, uint64_t size,
                    uint64_t pgsize, uint64_t bitmap_size, const void* data) {
  vfio_iommu_type1_dma_unmap unmap{};
  unmap.argsz = argsz;
  unmap.flags = flags;
  unmap.iova = iova;
  unmap.size = size;
  vfio_bitmap bitmap{};
  bitmap.pgsize = pgsize;
  bitmap.size = bitmap_size;
  bitmap.data = static_cast<__u64*>(const_cast<void*>(data));
  std::memcpy(at, &unmap, sizeof(unmap));
  std::memcpy(at + sizeof(unmap), &bitmap, sizeof(bitmap));
}

// UNMAP with GET_DIRTY_BITMAP; *unmapped gets the written-back size field.
int UnmapBitmap(VfioFixture& f, uint64_t iova, uint64_t size, void* data, uint64_t* unmapped = nullptr,
                uint64_t bitmap_size = 8, uint64_t pgsize = kPage, uint32_t argsz = 48) {
  alignas(8) uint8_t arg[48];
  PutUnmapBitmap(arg, argsz, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, iova, size, pgsize, bitmap_size,
                 data);
  int r = f.sim().Ioctl(f.container(), VFIO_IOMMU_UNMAP_DMA, arg);
  if (unmapped) std::memcpy(unmapped, arg + offsetof(vfio_iommu_type1_dma_unmap, size), 8);
  return r;
}

// Two pages, the second PROT_NONE: for copies that must fault part-way.
class GuardedPage {
 public:
  GuardedPage() {
    base_ = static_cast<uint8_t*>(
        mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    mprotect(base_ + kPage, kPage, PROT_NONE);
  }
  ~GuardedPage() { munmap(base_, 2 * kPage); }
  uint8_t* page() const { return base_; }
  uint8_t* guard() const { return base_ + kPage; }

 private:
  uint8_t* base_;
};

// ---------------------------------------------------------------- START / STOP (78-80)

// Case 78: a v1 container refuses before reading the argument.
TEST(DirtyStateTest, V1ContainerIsEacces) {
  VfioFixture f;
  f.SetUpVfio(VFIO_TYPE1_IOMMU);
  ExpectUnchanged(f, [&] {
    EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_DIRTY_PAGES, static_cast<uintptr_t>(0)),
                 EACCES);
    EXPECT_ERRNO(Dirty(f, kStart), EACCES);
    EXPECT_ERRNO(Dirty(f, 0, 0), EACCES);
    uint64_t word = 0;
    EXPECT_ERRNO(GetBitmap(f, 0x100000, 0x1000, &word), EACCES);
  });
}

// Case 79.
TEST(DirtyStateTest, FlagChecks) {
  VfioFixture f;
  f.SetUpVfio();
  ExpectUnchanged(f, [&] {
    EXPECT_ERRNO(Dirty(f, kStart, 7), EINVAL);
    EXPECT_ERRNO(Dirty(f, 0), EINVAL);
    EXPECT_ERRNO(Dirty(f, kStart | kStop), EINVAL);
    EXPECT_ERRNO(Dirty(f, kStart | kGet), EINVAL);
    EXPECT_ERRNO(Dirty(f, kStart | kStop | kGet), EINVAL);
    EXPECT_ERRNO(Dirty(f, 0x8), EINVAL);
    EXPECT_ERRNO(Dirty(f, 0x8 | kStart), EINVAL);
    EXPECT_ERRNO(Dirty(f, 0x80000000), EINVAL);
    EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_DIRTY_PAGES, static_cast<uintptr_t>(0)),
                 EFAULT);
  });
}

// Case 80: START and STOP are idempotent.
TEST(DirtyStateTest, StartStopIdempotent) {
  VfioFixture f;
  f.SetUpVfio();
  EXPECT_FALSE(TakeType1Snapshot(f.sim()).dirty_tracking);
  EXPECT_OK(Dirty(f, kStart));
  EXPECT_TRUE(TakeType1Snapshot(f.sim()).dirty_tracking);
  EXPECT_OK(Dirty(f, kStart));
  EXPECT_TRUE(TakeType1Snapshot(f.sim()).dirty_tracking);
  EXPECT_OK(Dirty(f, kStop));
  EXPECT_FALSE(TakeType1Snapshot(f.sim()).dirty_tracking);
  EXPECT_OK(Dirty(f, kStop));
  EXPECT_FALSE(TakeType1Snapshot(f.sim()).dirty_tracking);
}

// The 2016 RFCs predate dirty tracking: the ioctl is unknown to the driver.
TEST(DirtyStateTest, ProfilesWithoutDirtyTrackingSayEnotty) {
  for (const char* profile : {"rfc-msi-resv-2016", "rfc-resv-iova-2016"}) {
    SCOPED_TRACE(profile);
    VfioFixture f(&P(profile));
    f.SetUpVfio();
    ExpectUnchanged(f, [&] {
      EXPECT_ERRNO(Dirty(f, kStart), ENOTTY);
      EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_DIRTY_PAGES, static_cast<uintptr_t>(0)),
                   ENOTTY);
    });
  }
  for (const char* profile : {"linux-6.18", "rfc-vsva-2020"}) {
    SCOPED_TRACE(profile);
    VfioFixture f(&P(profile));
    f.SetUpVfio();
    EXPECT_OK(Dirty(f, kStart));
    EXPECT_TRUE(TakeType1Snapshot(f.sim()).dirty_tracking);
  }
}

// START allocates the per-entry bitmaps: ENOMEM leaves tracking off.
TEST(DirtyStateTest, StartAllocationFailure) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x1000);
  ASSERT_OK(f.Map(0x100000, 0x1000, buf.va()));
  core::FailNth::Arm(1, core::FailSite::kDirtyBitmapAlloc);
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(Dirty(f, kStart), ENOMEM); });
  EXPECT_TRUE(core::FailNth::Fired());
  core::FailNth::Disarm();
  EXPECT_OK(Dirty(f, kStart));
  EXPECT_TRUE(TakeType1Snapshot(f.sim()).dirty_tracking);
}

// ---------------------------------------------------------------- argsz sweeps

struct ArgszRow {
  uint32_t flags;
  uint32_t argsz;
  int err;
};

class DirtyArgszTest : public ::testing::TestWithParam<ArgszRow> {};

// minsz 8 (START/STOP), 48 for GET_BITMAP; DIRTY_PAGES writes nothing back
// into the argument, only the bitmap words.
TEST_P(DirtyArgszTest, MinszAndNoWriteBack) {
  const ArgszRow row = GetParam();
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x4000);
  ASSERT_OK(f.Map(0x100000, 0x4000, buf.va()));
  if (row.flags == kGet || row.flags == kStop) ASSERT_OK(Dirty(f, kStart));
  alignas(8) uint8_t user[4096];
  std::memset(user, kFill, sizeof(user));
  uint64_t word = 0;
  if (row.flags == kGet) {
    PutGetBitmap(user, row.argsz, 0x100000, 0x4000, kPage, 8, &word);
  } else {
    vfio_iommu_type1_dirty_bitmap d{row.argsz, row.flags};
    std::memcpy(user, &d, sizeof(d));
  }
  uint8_t expect[4096];
  std::memcpy(expect, user, sizeof(user));
  if (row.err != 0) {
    ExpectUnchanged(f, [&] {
      EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_DIRTY_PAGES, user), row.err);
    });
    EXPECT_EQ(word, 0u);
  } else {
    EXPECT_OK(f.sim().Ioctl(f.container(), VFIO_IOMMU_DIRTY_PAGES, user));
    if (row.flags == kGet) {
      EXPECT_EQ(word, 0xFu);
    }
    EXPECT_EQ(TakeType1Snapshot(f.sim()).dirty_tracking, row.flags != kStop);
  }
  EXPECT_EQ(std::memcmp(user, expect, sizeof(user)), 0) << "DIRTY_PAGES wrote into its argument";
}

INSTANTIATE_TEST_SUITE_P(
    Sweep, DirtyArgszTest,
    ::testing::Values(ArgszRow{kStart, 0, EINVAL}, ArgszRow{kStart, 7, EINVAL},
                      ArgszRow{kStart, 8, 0}, ArgszRow{kStart, 16, 0}, ArgszRow{kStart, 4096, 0},
                      ArgszRow{kStop, 7, EINVAL}, ArgszRow{kStop, 8, 0}, ArgszRow{kStop, 4096, 0},
                      // Case 82: GET_BITMAP needs the 40-byte range after the header.
                      ArgszRow{kGet, 8, EINVAL}, ArgszRow{kGet, 47, EINVAL},
                      ArgszRow{kGet, 48, 0}, ArgszRow{kGet, 56, 0}, ArgszRow{kGet, 4096, 0}),
    [](const auto& info) {
      const char* op = info.param.flags == kStart ? "start" : info.param.flags == kStop ? "stop" : "get";
      return std::string(op) + "_argsz" + std::to_string(info.param.argsz);
    });

class UnmapBitmapArgszTest : public ::testing::TestWithParam<ArgszRow> {};

// UNMAP with GET_DIRTY_BITMAP needs 48 bytes; only the 24-byte unmap struct
// comes back (size), the vfio_bitmap and anything past it stay untouched.
TEST_P(UnmapBitmapArgszTest, Needs48AndWritesOnly24) {
  const ArgszRow row = GetParam();
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x4000);
  ASSERT_OK(f.Map(0x100000, 0x4000, buf.va()));
  ASSERT_OK(Dirty(f, kStart));
  alignas(8) uint8_t user[4096];
  std::memset(user, kFill, sizeof(user));
  uint64_t word = 0;
  PutUnmapBitmap(user, row.argsz, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0x100000, 0x4000, kPage, 8,
                 &word);
  uint8_t expect[4096];
  std::memcpy(expect, user, sizeof(user));
  if (row.err != 0) {
    ExpectUnchanged(f, [&] {
      EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_UNMAP_DMA, user), row.err);
    });
    EXPECT_EQ(word, 0u);
  } else {
    EXPECT_OK(f.sim().Ioctl(f.container(), VFIO_IOMMU_UNMAP_DMA, user));
    EXPECT_EQ(word, 0xFu);
    EXPECT_TRUE(TakeType1Snapshot(f.sim()).mappings.empty());
    // size already was 0x4000: the write-back leaves the bytes as they were.
  }
  EXPECT_EQ(std::memcmp(user, expect, sizeof(user)), 0);
}

INSTANTIATE_TEST_SUITE_P(Sweep, UnmapBitmapArgszTest,
                         ::testing::Values(ArgszRow{0, 24, EINVAL}, ArgszRow{0, 40, EINVAL},
                                           ArgszRow{0, 47, EINVAL}, ArgszRow{0, 48, 0},
                                           ArgszRow{0, 56, 0}, ArgszRow{0, 4096, 0}),
                         [](const auto& info) { return "argsz" + std::to_string(info.param.argsz); });

// ---------------------------------------------------------------- GET_BITMAP checks (81-87)

enum class Data { kWord, kKernel, kNull };

struct BitmapFailRow {
  const char* name;
  bool tracking;
  uint64_t iova;
  uint64_t size;
  uint64_t pgsize;
  uint64_t bitmap_size;
  Data data;
  int err_61;
  int err_618;
};

// Each row runs on a container holding M(0x100000, 0x4000).
const BitmapFailRow kBitmapFailRows[] = {
    {"c81_not_started", false, 0x100000, 0x4000, kPage, 8, Data::kWord, EINVAL, EINVAL},
    {"c83_pgsize_8k", true, 0x100000, 0x4000, 0x2000, 8, Data::kWord, EINVAL, EINVAL},
    {"pgsize_0", true, 0x100000, 0x4000, 0, 8, Data::kWord, EINVAL, EINVAL},
    {"pgsize_2m", true, 0x100000, 0x4000, 0x200000, 8, Data::kWord, EINVAL, EINVAL},
    {"c83_bitmap_size_0", true, 0x100000, 0x4000, kPage, 0, Data::kWord, EINVAL, EINVAL},
    {"c83_bitmap_too_big", true, 0x100000, 0x4000, kPage, 0x10000008, Data::kWord, EINVAL, EINVAL},
    {"bitmap_too_small", true, 0x100000, 0x1000000, kPage, 8, Data::kWord, EINVAL, EINVAL},
    {"c83_range_size_0", true, 0x100000, 0, kPage, 8, Data::kWord, EINVAL, EINVAL},
    {"iova_unaligned", true, 0x100800, 0x4000, kPage, 8, Data::kWord, EINVAL, EINVAL},
    {"size_unaligned", true, 0x100000, 0x3800, kPage, 8, Data::kWord, EINVAL, EINVAL},
    {"data_kernel_address", true, 0x100000, 0x4000, kPage, 8, Data::kKernel, EINVAL, EINVAL},
    {"c84_bisects", true, 0x101000, 0x1000, kPage, 8, Data::kWord, EINVAL, EINVAL},
    {"bisects_tail", true, 0x0FF000, 0x2000, kPage, 8, Data::kWord, EINVAL, EINVAL},
    {"iova_wrap", true, 0xFFFFFFFFFFFFF000, 0x2000, kPage, 8, Data::kWord, EINVAL, EOVERFLOW},
    // 6.18 checks overflow before everything else in the range.
    {"wrap_and_bad_pgsize", true, 0xFFFFFFFFFFFFF000, 0x2000, 0x2000, 8, Data::kWord, EINVAL,
     EOVERFLOW},
    {"wrap_and_not_started", false, 0xFFFFFFFFFFFFF000, 0x2000, kPage, 8, Data::kWord, EINVAL,
     EOVERFLOW},
    {"size_0_at_top", true, 0xFFFFFFFFFFFFF000, 0, kPage, 8, Data::kWord, EINVAL, EINVAL},
};

class BitmapFailTest : public ::testing::TestWithParam<std::tuple<const char*, BitmapFailRow>> {};

TEST_P(BitmapFailTest, FailsAndWritesNoBits) {
  const auto& [profile, row] = GetParam();
  VfioFixture f(&P(profile));
  f.SetUpVfio();
  DmaBuffer buf(0x4000);
  ASSERT_OK(f.Map(0x100000, 0x4000, buf.va()));
  if (row.tracking) ASSERT_OK(Dirty(f, kStart));
  uint64_t word = 0x5a5a5a5a5a5a5a5a;
  void* data = row.data == Data::kWord     ? static_cast<void*>(&word)
               : row.data == Data::kKernel ? reinterpret_cast<void*>(0xffff888000000000)
                                           : nullptr;
  const int want = std::string(profile) == "linux-6.18" ? row.err_618 : row.err_61;
  ExpectUnchanged(f, [&] {
    EXPECT_ERRNO(GetBitmap(f, row.iova, row.size, data, row.bitmap_size, row.pgsize), want);
  });
  EXPECT_EQ(word, 0x5a5a5a5a5a5a5a5au);
}

INSTANTIATE_TEST_SUITE_P(Rows, BitmapFailTest,
                         ::testing::Combine(::testing::Values("linux-6.1", "linux-6.18"),
                                            ::testing::ValuesIn(kBitmapFailRows)),
                         [](const auto& info) {
                           return RowName(std::string(std::get<0>(info.param)) + "_" +
                                          std::get<1>(info.param).name);
                         });

// Case 87: a range ending exactly at 2^64 is refused by classic kernels
// (iova + size wraps to 0) and accepted by 6.18.
TEST(BitmapTopOfSpaceTest, RangeEndingAt2To64) {
  for (const char* profile : {"linux-6.1", "linux-6.18"}) {
    SCOPED_TRACE(profile);
    VfioFixture f(&P(profile));
    f.SetUpVfio();
    ASSERT_OK(Dirty(f, kStart));
    uint64_t word = 0x5a;
    if (std::string(profile) == "linux-6.18") {
      EXPECT_OK(GetBitmap(f, 0xFFFFFFFFFFFFF000, 0x1000, &word));
    } else {
      ExpectUnchanged(f, [&] { EXPECT_ERRNO(GetBitmap(f, 0xFFFFFFFFFFFFF000, 0x1000, &word), EINVAL); });
    }
    EXPECT_EQ(word, 0x5au);  // no entry there: no bits written either way
  }
}

// Case 85 (and the transcript's dirty.get_bitmap*): every page of every
// entry in range is reported dirty, on every query.
TEST(BitmapContentTest, EveryPageIsDirtyEveryTime) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x10000);
  ASSERT_OK(f.Map(0x100000, 0x4000, buf.va()));
  ASSERT_OK(f.Map(0x600000, 0x10000, buf.va()));
  ASSERT_OK(Dirty(f, kStart));
  uint64_t word = 0;
  EXPECT_OK(GetBitmap(f, 0x100000, 0x4000, &word));
  EXPECT_EQ(word, 0xFu);
  word = 0;
  EXPECT_OK(GetBitmap(f, 0x100000, 0x4000, &word));
  EXPECT_EQ(word, 0xFu);
  word = 0;
  EXPECT_OK(GetBitmap(f, 0x600000, 0x10000, &word));
  EXPECT_EQ(word, 0xFFFFu);
  // A range with no entry writes nothing (the user's word survives).
  word = 0x5a;
  EXPECT_OK(GetBitmap(f, 0x900000, 0x1000, &word));
  EXPECT_EQ(word, 0x5au);
  // Entries mapped while tracking are reported too; querying changes no state.
  ASSERT_OK(f.Map(0x700000, 0x1000, buf.va()));
  word = 0;
  ExpectUnchanged(f, [&] { EXPECT_OK(GetBitmap(f, 0x700000, 0x1000, &word)); });
  EXPECT_EQ(word, 0x1u);
}

// Case 86 (and dirty.unmap_with_bitmap).
TEST(BitmapContentTest, UnmapWithBitmap) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x4000);
  ASSERT_OK(f.Map(0x100000, 0x4000, buf.va()));
  ASSERT_OK(Dirty(f, kStart));
  uint64_t word = 0;
  uint64_t unmapped = 0;
  EXPECT_OK(UnmapBitmap(f, 0x100000, 0x4000, &word, &unmapped));
  EXPECT_EQ(unmapped, 0x4000u);
  EXPECT_EQ(word, 0xFu);
  const Type1Snapshot s = TakeType1Snapshot(f.sim());
  EXPECT_TRUE(s.mappings.empty());
  EXPECT_TRUE(s.dirty_tracking);
  EXPECT_EQ(s.memlock_locked, 0u);
}

// Cases 76, 77 and the rest of UNMAP's bitmap checks.
TEST(BitmapContentTest, UnmapBitmapChecks) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x4000);
  ASSERT_OK(f.Map(0x100000, 0x4000, buf.va()));
  uint64_t word = 0x5a;
  // Case 76: tracking off.
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(UnmapBitmap(f, 0x100000, 0x4000, &word), EINVAL); });
  ASSERT_OK(Dirty(f, kStart));
  ExpectUnchanged(f, [&] {
    // Case 77.
    EXPECT_ERRNO(UnmapBitmap(f, 0x100000, 0x4000, &word, nullptr, 8, kPage, 47), EINVAL);
    EXPECT_ERRNO(UnmapBitmap(f, 0x100000, 0x4000, &word, nullptr, 8, 0x2000), EINVAL);  // pgsize
    EXPECT_ERRNO(UnmapBitmap(f, 0x100000, 0x4000, &word, nullptr, 0), EINVAL);           // size 0
    EXPECT_ERRNO(UnmapBitmap(f, 0x100000, 0x1000000, &word, nullptr, 8), EINVAL);  // too small
    EXPECT_ERRNO(UnmapBitmap(f, 0x100000, 0x4000, &word, nullptr, 0x10000008), EINVAL);
    EXPECT_ERRNO(UnmapBitmap(f, 0x100000, 0x4000, reinterpret_cast<void*>(0xffff888000000000)),
                 EINVAL);  // access_ok
    EXPECT_ERRNO(UnmapBitmap(f, 0x101000, 0x1000, &word), EINVAL);  // v2 bisect
  });
  EXPECT_EQ(word, 0x5au);
}

// ---------------------------------------------------------------- word rules (88)

struct WordRow {
  const char* name;
  std::vector<std::pair<uint64_t, uint64_t>> maps;  // (page index, pages) from 0x100000
  uint64_t range_pages;                              // query [0x100000, + pages)
  std::vector<uint64_t> before;                      // user words before
  std::vector<uint64_t> after;                       // user words after
};

const WordRow kWordRows[] = {
    // Case 88: first bit word-aligned: the word is overwritten, bits past the entry are 0.
    {"c88_shift0_overwrites", {{0, 1}}, 2, {kAllOnes}, {0x1}},
    // Case 88: first bit not word-aligned: OR with the user's whole old word.
    {"c88_shift1_ors", {{1, 1}}, 2, {kAllOnes}, {kAllOnes}},
    {"shift1_on_zero", {{1, 1}}, 2, {0}, {0x2}},
    {"shift1_on_pattern", {{1, 2}}, 4, {0xA5A5A5A5A5A5A5A0}, {0xA5A5A5A5A5A5A5A6}},
    // An entry spanning two words: OR into the first, overwrite the second.
    {"spans_two_words", {{60, 8}}, 128, {0x5, kAllOnes}, {0xF000000000000005, 0xF}},
    // Words no entry touches stay as they were.
    {"untouched_words", {{64, 2}}, 192, {0x11, 0x22, 0x33}, {0x11, 0x3, 0x33}},
    // Two entries in one word: the first overwrites (clearing the hole), the second ORs.
    {"two_entries_one_word", {{0, 1}, {2, 1}}, 4, {kAllOnes}, {0x5}},
    // A full 64-page entry on a word boundary.
    {"full_word", {{64, 64}}, 128, {0x7, 0}, {0x7, kAllOnes}},
};

class BitmapWordTest : public ::testing::TestWithParam<std::tuple<bool, WordRow>> {};

TEST_P(BitmapWordTest, WholeWordRule) {
  const auto& [via_unmap, row] = GetParam();
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x40000);
  for (const auto& [page, pages] : row.maps) {
    ASSERT_OK(f.Map(0x100000 + page * kPage, pages * kPage, buf.va()));
  }
  ASSERT_OK(Dirty(f, kStart));
  std::vector<uint64_t> words = row.before;
  const uint64_t bytes = words.size() * 8;
  if (via_unmap) {
    uint64_t unmapped = 0;
    EXPECT_OK(UnmapBitmap(f, 0x100000, row.range_pages * kPage, words.data(), &unmapped, bytes));
    uint64_t total = 0;
    for (const auto& [page, pages] : row.maps) total += pages * kPage;
    EXPECT_EQ(unmapped, total);
  } else {
    EXPECT_OK(GetBitmap(f, 0x100000, row.range_pages * kPage, words.data(), bytes));
  }
  for (size_t i = 0; i < words.size(); ++i) {
    EXPECT_EQ(words[i], row.after[i]) << "word " << i << std::hex << ": 0x" << words[i]
                                      << " want 0x" << row.after[i];
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, BitmapWordTest,
                         ::testing::Combine(::testing::Bool(), ::testing::ValuesIn(kWordRows)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "unmap_" : "get_") +
                                  std::get<1>(info.param).name;
                         });

// ---------------------------------------------------------------- EFAULT paths

// The range struct after the 8-byte header is unreadable.
TEST(BitmapFaultTest, UnreadableRangeIsEfault) {
  VfioFixture f;
  f.SetUpVfio();
  ASSERT_OK(Dirty(f, kStart));
  GuardedPage g;
  uint8_t* at = g.guard() - 8;
  vfio_iommu_type1_dirty_bitmap hdr{48, kGet};
  std::memcpy(at, &hdr, sizeof(hdr));
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_DIRTY_PAGES, at), EFAULT); });
  // UNMAP's vfio_bitmap after the 24-byte struct likewise.
  DmaBuffer buf(0x1000);
  ASSERT_OK(f.Map(0x100000, 0x1000, buf.va()));
  at = g.guard() - 24;
  vfio_iommu_type1_dma_unmap unmap{48, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0x100000, 0x1000};
  std::memcpy(at, &unmap, sizeof(unmap));
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(f.sim().Ioctl(f.container(), VFIO_IOMMU_UNMAP_DMA, at), EFAULT); });
}

// Bitmap data in an inaccessible page: EFAULT when an entry has bits to
// write, success when the range holds no entry (nothing is copied).
TEST(BitmapFaultTest, UnwritableBitmapData) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x4000);
  ASSERT_OK(f.Map(0x100000, 0x4000, buf.va()));
  ASSERT_OK(Dirty(f, kStart));
  GuardedPage g;
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(GetBitmap(f, 0x100000, 0x4000, g.guard()), EFAULT); });
  EXPECT_OK(GetBitmap(f, 0x800000, 0x4000, g.guard()));
  // The OR path reads the old word first: that read faults the same way.
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(GetBitmap(f, 0x0FF000, 0x8000, g.guard()), EFAULT); });
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(UnmapBitmap(f, 0x100000, 0x4000, g.guard()), EFAULT); });
  EXPECT_EQ(TakeType1Snapshot(f.sim()).mappings.size(), 1u);
}

// The same with the bitmap page really unmapped (not just inaccessible).
TEST(BitmapFaultTest, UnmappedBitmapData) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x1000);
  ASSERT_OK(f.Map(0x100000, 0x1000, buf.va()));
  ASSERT_OK(Dirty(f, kStart));
  void* page = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  ASSERT_EQ(munmap(page, kPage), 0);
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(GetBitmap(f, 0x100000, 0x1000, page), EFAULT); });
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(UnmapBitmap(f, 0x100000, 0x1000, page), EFAULT); });
}

// Two entries 32768 pages apart: the second one's bits land in the bitmap's
// second page. With that page inaccessible, GET_BITMAP fails EFAULT after
// the first entry's word was already written (copy-outs are per entry).
TEST(BitmapFaultTest, GetBitmapFaultsPartWay) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x1000);
  constexpr uint64_t kBase = 0x10000000;
  constexpr uint64_t kSecond = kBase + 32768 * kPage;  // bit 32768 = byte 4096
  ASSERT_OK(f.Map(kBase, kPage, buf.va()));
  ASSERT_OK(f.Map(kSecond, kPage, buf.va()));
  ASSERT_OK(Dirty(f, kStart));
  GuardedPage g;
  std::memset(g.page(), 0, kPage);
  ExpectUnchanged(f, [&] {
    EXPECT_ERRNO(GetBitmap(f, kBase, 32769 * kPage, g.page(), 2 * kPage), EFAULT);
  });
  uint64_t first;
  std::memcpy(&first, g.page(), 8);
  EXPECT_EQ(first, 0x1u) << "the first entry's word is written before the fault";
}

// UNMAP with GET_DIRTY_BITMAP walks entries in order, copying each one's bits
// and then removing it. Observed (and the kernel's behaviour, spec §7.6): when
// a later entry's copy faults, the call fails EFAULT, the size is not written
// back, yet every earlier entry is already unmapped and unpinned; the
// faulting entry and the ones after it stay.
TEST(BitmapFaultTest, UnmapBitmapFaultKeepsEarlierRemovals) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x1000);
  constexpr uint64_t kBase = 0x10000000;
  constexpr uint64_t kSecond = kBase + 32768 * kPage;
  ASSERT_OK(f.Map(kBase, kPage, buf.va()));
  ASSERT_OK(f.Map(kSecond, kPage, buf.va()));
  ASSERT_OK(Dirty(f, kStart));
  const Type1Snapshot before = TakeType1Snapshot(f.sim());
  GuardedPage g;
  std::memset(g.page(), 0, kPage);
  uint64_t size_field = 0;
  EXPECT_ERRNO(UnmapBitmap(f, kBase, 32769 * kPage, g.page(), &size_field, 2 * kPage), EFAULT);
  EXPECT_EQ(size_field, 32769 * kPage) << "size must not be written back on failure";
  uint64_t first;
  std::memcpy(&first, g.page(), 8);
  EXPECT_EQ(first, 0x1u);
  const Type1Snapshot after = TakeType1Snapshot(f.sim());
  ASSERT_EQ(after.mappings.size(), 1u);
  EXPECT_EQ(after.mappings[0].iova, kSecond);
  EXPECT_EQ(after.dma_avail, before.dma_avail + 1);
  EXPECT_EQ(after.memlock_locked, before.memlock_locked - kPage);
  for (const TranslationSample& t : TakeType1Snapshot(f.sim(), kEduGroup, {kBase}).translations) {
    if (t.iova == kBase) {
      EXPECT_FALSE(t.ok) << "first entry still in the IO page table";
    }
  }
}

// ---------------------------------------------------------------- bitmap size limit

// The kernel keeps one bit per page in an int-indexed bitmap: an entry of
// more than INT_MAX pages (DIRTY_BITMAP_PAGES_MAX; 8 TiB at 4 KiB) cannot be
// tracked. Only reachable where "pinning" 8 TiB succeeds, i.e. here with
// VaddrPolicy::kTrust (the vaddrs below have no memory behind them).
core::MachineConfig TrustingMachine() {
  core::MachineConfig m = sim::DefaultMachineConfig();
  m.vaddr_policy = core::VaddrPolicy::kTrust;
  return m;
}

constexpr uint64_t kIntMaxPages = 0x7FFFFFFF;
constexpr uint64_t kHugeIova = uint64_t{1} << 44;
constexpr uint64_t kHugeVaddr = uint64_t{1} << 40;  // 1 GiB aligned: 1 GiB leaves

TEST(DirtyLimitTest, EntryOfIntMaxPagesIsTracked) {
  VfioFixture f(nullptr, TrustingMachine());
  f.SetUpVfio();
  ASSERT_OK(f.Map(kHugeIova, kIntMaxPages * kPage, kHugeVaddr));
  EXPECT_OK(Dirty(f, kStart));
  EXPECT_TRUE(TakeType1Snapshot(f.sim()).dirty_tracking);
}

// Regression (fixed): vfio_dma_bitmap_alloc returns EINVAL for more than INT_MAX pages, so
// START fails (tracking stays off) while such an entry exists, and a MAP of
// one while tracking fails with the entry removed (spec §7.5 step 10, §7.7
// START "errors EINVAL/ENOMEM"). vfio-sim used to return 0 for both.
TEST(DirtyLimitTest, EntryOverIntMaxPagesCannotBeTracked) {
  VfioFixture f(nullptr, TrustingMachine());
  f.SetUpVfio();
  ASSERT_OK(f.Map(kHugeIova, (kIntMaxPages + 1) * kPage, kHugeVaddr));
  ExpectUnchanged(f, [&] { EXPECT_ERRNO(Dirty(f, kStart), EINVAL); });
  ASSERT_OK(f.Unmap(0, 0, VFIO_DMA_UNMAP_FLAG_ALL));
  ASSERT_OK(Dirty(f, kStart));
  ExpectUnchanged(f, [&] {
    EXPECT_ERRNO(f.Map(kHugeIova, (kIntMaxPages + 1) * kPage, kHugeVaddr), EINVAL);
  });
}

// ---------------------------------------------------------------- snapshot self-check

// ExpectUnchanged must notice a change, or every check above is vacuous.
TEST(SnapshotSelfTest, DetectsEveryKindOfChange) {
  VfioFixture f;
  f.SetUpVfio();
  DmaBuffer buf(0x2000);
  const Type1Snapshot empty = TakeType1Snapshot(f.sim());
  ASSERT_OK(f.Map(0x100000, 0x2000, buf.va()));
  const Type1Snapshot mapped = TakeType1Snapshot(f.sim());
  EXPECT_FALSE(empty == mapped);
  const std::string diff = DiffType1Snapshots(empty, mapped);
  for (const char* field : {"mappings", "dma_avail", "page_table_count", "translations", "memlock"}) {
    EXPECT_NE(diff.find(field), std::string::npos) << field << " missing from:\n" << diff;
  }
  ASSERT_OK(Dirty(f, kStart));
  EXPECT_NE(DiffType1Snapshots(mapped, TakeType1Snapshot(f.sim())).find("dirty_tracking"),
            std::string::npos);
  ASSERT_OK(f.Unmap(0x100000, 0x2000, VFIO_DMA_UNMAP_FLAG_VADDR));
  const Type1Snapshot invalid = TakeType1Snapshot(f.sim());
  EXPECT_EQ(invalid.vaddr_invalid_count, 1u);
  EXPECT_TRUE(invalid.mappings[0].vaddr_invalid);
  EXPECT_EQ(DiffType1Snapshots(invalid, invalid), "");
}

}  // namespace
}  // namespace vfiosim::testing
