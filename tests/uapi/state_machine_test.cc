// Container / group / device state machine (spec §3, §4, §6, §7.3;
// checklist cases 1-33), for every profile where behaviour differs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/vfio.h>
#include <unistd.h>

#include <string>

#include "api/profile.h"
#include "tests/util/vfio_fixture.h"

namespace vfiosim::testing {
namespace {

const api::Profile& P(const char* name) { return *api::FindProfile(name); }

class StateMachineTest : public ::testing::Test, public VfioFixture {
 protected:
  StateMachineTest() : VfioFixture(&P("linux-6.1")) {}
  int Ext(int container, long arg) {
    return sim().Ioctl(container, VFIO_CHECK_EXTENSION, static_cast<uintptr_t>(arg));
  }
  int SetIommu(int container, long type) {
    return sim().Ioctl(container, VFIO_SET_IOMMU, static_cast<uintptr_t>(type));
  }
};

// Case 1.
TEST_F(StateMachineTest, ApiVersionIsZero) {
  int c = OpenContainer();
  ASSERT_GE(c, 0);
  EXPECT_EQ(sim().Ioctl(c, VFIO_GET_API_VERSION), VFIO_API_VERSION);
}

// Cases 2-5 and 22: CHECK_EXTENSION before and after SET_IOMMU, per profile.
struct ExtensionRow {
  const char* profile;
  long arg;
  int before;     // fresh container (driver polled with no instance)
  int after_v2;   // after SET_IOMMU(TYPE1v2)
};

class ExtensionTest : public ::testing::TestWithParam<ExtensionRow> {};

TEST_P(ExtensionTest, AnswersLikeTheKernel) {
  const ExtensionRow& row = GetParam();
  VfioFixture f(&P(row.profile));
  int c = f.OpenContainer();
  ASSERT_GE(c, 0);
  EXPECT_EQ(f.sim().Ioctl(c, VFIO_CHECK_EXTENSION, static_cast<uintptr_t>(row.arg)), row.before)
      << "before SET_IOMMU, arg " << row.arg;
  int g = f.OpenGroup();
  ASSERT_OK(f.SetContainer(g, c));
  ASSERT_OK(f.sim().Ioctl(c, VFIO_SET_IOMMU, static_cast<uintptr_t>(VFIO_TYPE1v2_IOMMU)));
  EXPECT_EQ(f.sim().Ioctl(c, VFIO_CHECK_EXTENSION, static_cast<uintptr_t>(row.arg)), row.after_v2)
      << "after SET_IOMMU, arg " << row.arg;
}

// linux-6.1 rows are the transcript's answers (probe on Linux 6.1, VT-d
// without snoop control, so DMA_CC is 0).
INSTANTIATE_TEST_SUITE_P(
    Profiles, ExtensionTest,
    ::testing::Values(
        ExtensionRow{"linux-6.1", 0, 0, 0}, ExtensionRow{"linux-6.1", 1, 1, 1},
        ExtensionRow{"linux-6.1", 2, 0, 0}, ExtensionRow{"linux-6.1", 3, 1, 1},
        ExtensionRow{"linux-6.1", 4, 0, 0}, ExtensionRow{"linux-6.1", 5, 0, 0},
        ExtensionRow{"linux-6.1", 6, 1, 1}, ExtensionRow{"linux-6.1", 7, 0, 0},
        ExtensionRow{"linux-6.1", 8, 0, 0}, ExtensionRow{"linux-6.1", 9, 1, 1},
        ExtensionRow{"linux-6.1", 10, 0, 1}, ExtensionRow{"linux-6.1", 11, 0, 0},
        ExtensionRow{"linux-6.1", 0xdead, 0, 0},
        ExtensionRow{"linux-6.18", 6, 0, 0}, ExtensionRow{"linux-6.18", 10, 0, 1},
        ExtensionRow{"linux-6.18", 9, 1, 1},
        ExtensionRow{"rfc-msi-resv-2016", 9, 0, 0}, ExtensionRow{"rfc-msi-resv-2016", 10, 0, 0},
        ExtensionRow{"rfc-resv-iova-2016", 9, 0, 0},
        ExtensionRow{"rfc-vsva-2020", 6, 1, 1}, ExtensionRow{"rfc-vsva-2020", 9, 1, 1}),
    [](const auto& info) {
      std::string name = std::string(info.param.profile) + "_arg" + std::to_string(info.param.arg);
      for (char& ch : name) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

TEST(ExtensionCoherencyTest, DmaCcFollowsTheMachine) {
  core::MachineConfig machine = sim::DefaultMachineConfig();
  machine.enforce_cache_coherency = true;
  VfioFixture f(nullptr, machine);
  f.SetUpVfio();
  EXPECT_EQ(f.sim().Ioctl(f.container(), VFIO_CHECK_EXTENSION, static_cast<uintptr_t>(VFIO_DMA_CC_IOMMU)), 1);
}

// Case 6.
TEST_F(StateMachineTest, SetIommuWithoutGroupFails) {
  int c = OpenContainer();
  EXPECT_ERRNO(SetIommu(c, VFIO_TYPE1v2_IOMMU), EINVAL);
}

// Case 7: everything the driver would handle is EINVAL without one.
TEST_F(StateMachineTest, DriverIoctlsWithoutDriverAreEinval) {
  int c = OpenContainer();
  vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof(map);
  EXPECT_ERRNO(sim().Ioctl(c, VFIO_IOMMU_MAP_DMA, &map), EINVAL);
  EXPECT_ERRNO(sim().Ioctl(c, VFIO_IOMMU_GET_INFO, static_cast<uintptr_t>(0)), EINVAL);
  EXPECT_ERRNO(sim().Ioctl(c, 0x3B99, static_cast<uintptr_t>(0)), EINVAL);
  EXPECT_ERRNO(sim().Ioctl(c, _IO(VFIO_TYPE, VFIO_BASE + 40), static_cast<uintptr_t>(0)), EINVAL);
}

// Cases 8, 9: GET_STATUS and its argsz rule; bytes past 8 untouched.
TEST_F(StateMachineTest, GroupStatusArgsz) {
  int g = OpenGroup();
  ASSERT_GE(g, 0);
  struct {
    vfio_group_status status;
    uint8_t tail[56];
  } buf;
  std::memset(&buf, 0xa5, sizeof(buf));
  buf.status.argsz = 64;
  EXPECT_OK(sim().Ioctl(g, VFIO_GROUP_GET_STATUS, &buf));
  EXPECT_EQ(buf.status.argsz, 64u);
  EXPECT_EQ(buf.status.flags, uint32_t{VFIO_GROUP_FLAGS_VIABLE});
  for (uint8_t b : buf.tail) EXPECT_EQ(b, 0xa5);

  std::memset(&buf, 0xa5, sizeof(buf));
  buf.status.argsz = 7;
  EXPECT_ERRNO(sim().Ioctl(g, VFIO_GROUP_GET_STATUS, &buf), EINVAL);
  EXPECT_EQ(buf.status.flags, 0xa5a5a5a5u);  // untouched
  EXPECT_ERRNO(sim().Ioctl(g, VFIO_GROUP_GET_STATUS, static_cast<uintptr_t>(0)), EFAULT);
}

// Case 10: a host-bound device makes its group non-viable.
TEST_F(StateMachineTest, NonViableGroup) {
  sim().machine().AddPciDevice("0000:02:00.0", 0x8086, 0x10d3, 9, /*host_bound=*/true);
  int g = OpenGroup(9);
  ASSERT_GE(g, 0);
  EXPECT_EQ(GroupFlags(g), 0u);
  int c = OpenContainer();
  EXPECT_ERRNO(SetContainer(g, c), EPERM);
  EXPECT_EQ(GroupFlags(g), 0u);
}

// Case 11 and opening unknown nodes.
TEST_F(StateMachineTest, GroupIsSingleOpener) {
  int g = OpenGroup();
  ASSERT_GE(g, 0);
  EXPECT_ERRNO(OpenGroup(), EBUSY);
  EXPECT_ERRNO(OpenGroup(42), ENOENT);
  EXPECT_ERRNO(sim().Open("/dev/vfio/abc", O_RDWR), ENOENT);
  ASSERT_OK(sim().Close(g));
  int again = OpenGroup();
  EXPECT_GE(again, 0);
}

// Cases 12-15.
TEST_F(StateMachineTest, SetContainerTransitions) {
  int g = OpenGroup();
  int c = OpenContainer();
  int c2 = OpenContainer();
  int minus_one = -1;
  EXPECT_ERRNO(sim().Ioctl(g, VFIO_GROUP_SET_CONTAINER, &minus_one), EBADF);
  EXPECT_ERRNO(sim().Ioctl(g, VFIO_GROUP_SET_CONTAINER, static_cast<uintptr_t>(0)), EFAULT);
  int devnull = open("/dev/null", O_RDONLY);
  EXPECT_ERRNO(SetContainer(g, devnull), EINVAL);  // linux-6.1; EBADFD from 6.2
  close(devnull);
  EXPECT_ERRNO(SetContainer(g, g), EINVAL);  // a group fd is no container either
  ASSERT_OK(SetContainer(g, c));
  EXPECT_EQ(GroupFlags(g), uint32_t{VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET});
  EXPECT_ERRNO(SetContainer(g, c), EINVAL);
  EXPECT_ERRNO(SetContainer(g, c2), EINVAL);
}

TEST(StateMachine618Test, NonContainerFdIsEbadfd) {
  VfioFixture f(&P("linux-6.18"));
  int g = f.OpenGroup();
  int devnull = open("/dev/null", O_RDONLY);
  EXPECT_ERRNO(f.SetContainer(g, devnull), EBADFD);
  close(devnull);
}

// Cases 16-18 and the transcript's name probes.
TEST_F(StateMachineTest, GetDeviceFdLookupAndState) {
  int g = OpenGroup();
  EXPECT_ERRNO(sim().Ioctl(g, VFIO_GROUP_GET_DEVICE_FD, kEduBdf), EINVAL);  // no container
  int c = OpenContainer();
  ASSERT_OK(SetContainer(g, c));
  EXPECT_ERRNO(sim().Ioctl(g, VFIO_GROUP_GET_DEVICE_FD, kEduBdf), EINVAL);  // no IOMMU
  EXPECT_ERRNO(sim().Ioctl(g, VFIO_GROUP_GET_DEVICE_FD, "0000:99:00.0"), ENODEV);
  EXPECT_ERRNO(sim().Ioctl(g, VFIO_GROUP_GET_DEVICE_FD, static_cast<uintptr_t>(0)), EFAULT);
  std::string no_nul(4096, 'a');
  EXPECT_ERRNO(sim().Ioctl(g, VFIO_GROUP_GET_DEVICE_FD, no_nul.data()), EINVAL);
}

struct NameRow {
  const char* name;
  int err;  // 0 = opens
};

class DeviceNameTest : public ::testing::TestWithParam<NameRow> {};

TEST_P(DeviceNameTest, MatchesLikeVfioPci) {
  VfioFixture f;
  f.SetUpVfio();
  if (GetParam().err == 0) {
    EXPECT_GE(f.sim().Ioctl(f.group(), VFIO_GROUP_GET_DEVICE_FD, GetParam().name), 0);
  } else {
    EXPECT_ERRNO(f.sim().Ioctl(f.group(), VFIO_GROUP_GET_DEVICE_FD, GetParam().name), GetParam().err);
  }
}

// The rows of the transcript's group.get_device_fd.* probes.
INSTANTIATE_TEST_SUITE_P(
    Transcript, DeviceNameTest,
    ::testing::Values(NameRow{"0000:00:01.0", 0}, NameRow{"0000:00:01.0 ", 0},
                      NameRow{"0000:ff:1f.7", ENODEV}, NameRow{"", ENODEV},
                      NameRow{"0000:00:01.0x", ENODEV}, NameRow{"0000:00:01.0\n", ENODEV},
                      NameRow{"X0000:00:01.0", ENODEV}, NameRow{"00:01.0", ENODEV},
                      NameRow{"0000:00:01.0 vf_token=00000000-0000-0000-0000-000000000000", EINVAL},
                      NameRow{"0000:00:01.0 vf_token=zzz", EINVAL},
                      NameRow{"0000:00:01.0 foo=bar", EINVAL}));

// Cases 19-21.
TEST_F(StateMachineTest, SetIommuOutcomes) {
  int c = OpenContainer();
  int g = OpenGroup();
  ASSERT_OK(SetContainer(g, c));
  for (long type : {0L, 2L, 4L, 5L, 7L, 8L, 10L, 99L}) {
    SCOPED_TRACE(type);
    EXPECT_ERRNO(SetIommu(c, type), ENODEV);
  }
  EXPECT_ERRNO(SetIommu(c, VFIO_UNMAP_ALL), EINVAL);
  EXPECT_ERRNO(SetIommu(c, VFIO_TYPE1_NESTING_IOMMU), EINVAL);  // VT-d cannot enable nesting
  vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof(map);
  EXPECT_ERRNO(sim().Ioctl(c, VFIO_IOMMU_MAP_DMA, &map), EINVAL);  // still unset
  ASSERT_OK(SetIommu(c, VFIO_TYPE1v2_IOMMU));
  EXPECT_ERRNO(SetIommu(c, VFIO_TYPE1v2_IOMMU), EINVAL);
  EXPECT_ERRNO(SetIommu(c, VFIO_TYPE1_IOMMU), EINVAL);
}

TEST(SetIommuProfileTest, NestingTypePerProfile) {
  {
    VfioFixture f(&P("linux-6.18"));
    int c = f.OpenContainer();
    ASSERT_OK(f.SetContainer(f.OpenGroup(), c));
    EXPECT_ERRNO(f.sim().Ioctl(c, VFIO_SET_IOMMU, static_cast<uintptr_t>(6)), ENODEV);
  }
  {
    VfioFixture f(&P("rfc-vsva-2020"));
    int c = f.OpenContainer();
    ASSERT_OK(f.SetContainer(f.OpenGroup(), c));
    EXPECT_OK(f.sim().Ioctl(c, VFIO_SET_IOMMU, static_cast<uintptr_t>(6)));
  }
  {
    core::MachineConfig arm = sim::DefaultMachineConfig();
    arm.iommu_model = core::IommuModel::kArmSmmu;
    arm.nesting_capable = true;
    VfioFixture f(&P("linux-6.1"), arm);
    int c = f.OpenContainer();
    ASSERT_OK(f.SetContainer(f.OpenGroup(), c));
    EXPECT_OK(f.sim().Ioctl(c, VFIO_SET_IOMMU, static_cast<uintptr_t>(6)));
  }
  {
    VfioFixture f(&P("rfc-msi-resv-2016"));
    int c = f.OpenContainer();
    ASSERT_OK(f.SetContainer(f.OpenGroup(), c));
    EXPECT_ERRNO(f.sim().Ioctl(c, VFIO_SET_IOMMU, static_cast<uintptr_t>(9)), ENODEV);
  }
}

// Without interrupt remapping attach fails EPERM, unless unsafe interrupts are allowed.
TEST(SetIommuMachineTest, InterruptRemappingRequired) {
  core::MachineConfig machine = sim::DefaultMachineConfig();
  machine.interrupt_remapping = false;
  {
    VfioFixture f(nullptr, machine);
    int c = f.OpenContainer();
    ASSERT_OK(f.SetContainer(f.OpenGroup(), c));
    EXPECT_ERRNO(f.sim().Ioctl(c, VFIO_SET_IOMMU, static_cast<uintptr_t>(3)), EPERM);
    EXPECT_EQ(f.sim().Ioctl(c, VFIO_CHECK_EXTENSION, static_cast<uintptr_t>(10)), 0);
  }
  machine.allow_unsafe_interrupts = true;
  VfioFixture f(nullptr, machine);
  int c = f.OpenContainer();
  ASSERT_OK(f.SetContainer(f.OpenGroup(), c));
  EXPECT_OK(f.sim().Ioctl(c, VFIO_SET_IOMMU, static_cast<uintptr_t>(3)));
}

// Case 23, 24.
TEST_F(StateMachineTest, UnknownIoctlsAfterSetup) {
  SetUpVfio();
  EXPECT_ERRNO(sim().Ioctl(container(), VFIO_IOMMU_ENABLE), ENOTTY);
  EXPECT_ERRNO(sim().Ioctl(container(), VFIO_IOMMU_DISABLE), ENOTTY);
  EXPECT_ERRNO(sim().Ioctl(container(), 0x3B99), ENOTTY);
  EXPECT_ERRNO(sim().Ioctl(group(), 0x3B99), ENOTTY);
  EXPECT_ERRNO(sim().Ioctl(12345, VFIO_GET_API_VERSION), EBADF);
}

// Cases 25-27.
TEST_F(StateMachineTest, DeviceFds) {
  SetUpVfio();
  int d1 = sim().Ioctl(group(), VFIO_GROUP_GET_DEVICE_FD, kEduBdf);
  ASSERT_GE(d1, 0);
  EXPECT_TRUE(fcntl(d1, F_GETFD) & FD_CLOEXEC);
  int d2 = sim().Ioctl(group(), VFIO_GROUP_GET_DEVICE_FD, kEduBdf);
  ASSERT_GE(d2, 0);
  EXPECT_NE(d1, d2);
  for (int d : {d1, d2}) {
    vfio_device_info info{};
    info.argsz = sizeof(info);
    EXPECT_OK(sim().Ioctl(d, VFIO_DEVICE_GET_INFO, &info));
  }
  EXPECT_EQ(GroupFlags(group()), uint32_t{VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET});
  EXPECT_ERRNO(sim().Ioctl(group(), VFIO_GROUP_UNSET_CONTAINER), EBUSY);
  ASSERT_OK(sim().Close(d1));
  EXPECT_ERRNO(sim().Ioctl(group(), VFIO_GROUP_UNSET_CONTAINER), EBUSY);
  ASSERT_OK(sim().Close(d2));
  // Case 28.
  EXPECT_OK(sim().Ioctl(group(), VFIO_GROUP_UNSET_CONTAINER));
  EXPECT_EQ(GroupFlags(group()), uint32_t{VFIO_GROUP_FLAGS_VIABLE});
  vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof(map);
  EXPECT_ERRNO(sim().Ioctl(container(), VFIO_IOMMU_MAP_DMA, &map), EINVAL);
  EXPECT_EQ(sim().Ioctl(container(), VFIO_CHECK_EXTENSION, static_cast<uintptr_t>(10)), 0);
  // Case 29.
  EXPECT_ERRNO(sim().Ioctl(group(), VFIO_GROUP_UNSET_CONTAINER), EINVAL);
}

// Case 30: a closed group lives on while a device fd is open.
TEST_F(StateMachineTest, GroupReleaseDeferredByDeviceFd) {
  SetUpVfio();
  int d = sim().Ioctl(group(), VFIO_GROUP_GET_DEVICE_FD, kEduBdf);
  ASSERT_GE(d, 0);
  ASSERT_OK(sim().Close(group()));
  EXPECT_ERRNO(OpenGroup(), EBUSY);
  vfio_device_info info{};
  info.argsz = sizeof(info);
  EXPECT_OK(sim().Ioctl(d, VFIO_DEVICE_GET_INFO, &info));
  EXPECT_TRUE(sim().kernel().GroupContainer(kEduGroup) != nullptr);
  ASSERT_OK(sim().Close(d));
  int g = OpenGroup();
  ASSERT_GE(g, 0);
  EXPECT_EQ(GroupFlags(g), uint32_t{VFIO_GROUP_FLAGS_VIABLE});
}

// Case 31: closing the container fd keeps the container alive through its group.
TEST_F(StateMachineTest, ContainerSurvivesItsFd) {
  DmaBuffer buf(0x1000);
  SetUpVfio();
  ASSERT_OK(Map(0x100000, 0x1000, buf.va()));
  int d = sim().Ioctl(group(), VFIO_GROUP_GET_DEVICE_FD, kEduBdf);
  ASSERT_GE(d, 0);
  ASSERT_OK(sim().Close(container()));
  EXPECT_EQ(GroupFlags(group()), uint32_t{VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET});
  auto c = sim().kernel().GroupContainer(kEduGroup);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->HasIommu());
  vfio_device_info info{};
  info.argsz = sizeof(info);
  EXPECT_OK(sim().Ioctl(d, VFIO_DEVICE_GET_INFO, &info));
  ASSERT_OK(sim().Close(d));
  EXPECT_OK(sim().Ioctl(group(), VFIO_GROUP_UNSET_CONTAINER));
  EXPECT_FALSE(c->HasIommu());
}

// Cases 32, 33: two groups share one container and its mappings.
TEST_F(StateMachineTest, TwoGroupsShareAContainer) {
  sim().machine().AddPciDevice("0000:03:00.0", 0x1b36, 0x0005, 5);
  sim().machine().AddPciDevice("0000:04:00.0", 0x1b36, 0x0005, 6);
  DmaBuffer buf(0x1000);
  SetUpVfio();
  int g5 = OpenGroup(5);
  ASSERT_OK(SetContainer(g5, container()));
  ASSERT_OK(Map(0x100000, 0x1000, buf.va()));
  // Case 33: a group joining after SET_IOMMU sees the existing mappings.
  int g6 = OpenGroup(6);
  ASSERT_OK(SetContainer(g6, container()));
  EXPECT_OK(sim().Ioctl(g5, VFIO_GROUP_UNSET_CONTAINER));
  EXPECT_ERRNO(Map(0x100000, 0x1000, buf.va()), EEXIST);  // mapping survives
  EXPECT_OK(sim().Ioctl(g6, VFIO_GROUP_UNSET_CONTAINER));
  EXPECT_OK(sim().Ioctl(group(), VFIO_GROUP_UNSET_CONTAINER));
  EXPECT_ERRNO(Map(0x100000, 0x1000, buf.va()), EINVAL);  // container back to unset
  EXPECT_EQ(GroupFlags(g5), uint32_t{VFIO_GROUP_FLAGS_VIABLE});
}

// Releasing the group file (close) detaches it like UNSET_CONTAINER.
TEST_F(StateMachineTest, CloseGroupDetaches) {
  DmaBuffer buf(0x1000);
  SetUpVfio();
  ASSERT_OK(Map(0x100000, 0x1000, buf.va()));
  auto c = sim().kernel().GroupContainer(kEduGroup);
  ASSERT_OK(sim().Close(group()));
  EXPECT_FALSE(c->HasIommu());
  EXPECT_ERRNO(Map(0x100000, 0x1000, buf.va()), EINVAL);
}

// Independent containers are independent IOMMU instances.
TEST_F(StateMachineTest, ContainersAreIndependent) {
  sim().machine().AddPciDevice("0000:03:00.0", 0x1b36, 0x0005, 5);
  DmaBuffer buf(0x1000);
  SetUpVfio();
  int c2 = OpenContainer();
  int g5 = OpenGroup(5);
  ASSERT_OK(SetContainer(g5, c2));
  ASSERT_OK(sim().Ioctl(c2, VFIO_SET_IOMMU, static_cast<uintptr_t>(VFIO_TYPE1v2_IOMMU)));
  ASSERT_OK(Map(0x100000, 0x1000, buf.va()));
  vfio_iommu_type1_dma_map map{};
  map.argsz = sizeof(map);
  map.flags = VFIO_DMA_MAP_FLAG_READ;
  map.vaddr = buf.va();
  map.iova = 0x100000;
  map.size = 0x1000;
  EXPECT_OK(sim().Ioctl(c2, VFIO_IOMMU_MAP_DMA, &map));
}

// Device fd: BIND_IOMMUFD on a group-obtained fd, unknown ioctls.
TEST_F(StateMachineTest, DeviceFdRefusesIommufd) {
  SetUpVfio();
  int d = sim().Ioctl(group(), VFIO_GROUP_GET_DEVICE_FD, kEduBdf);
  ASSERT_GE(d, 0);
  struct {
    uint32_t argsz, flags;
    int32_t iommufd;
    uint32_t out_devid;
  } bind{16, 0, 3, 0};
  EXPECT_ERRNO(sim().Ioctl(d, _IO(VFIO_TYPE, VFIO_BASE + 18), &bind), EINVAL);
  EXPECT_ERRNO(sim().Ioctl(d, _IO(VFIO_TYPE, VFIO_BASE + 18), static_cast<uintptr_t>(0)), EFAULT);
  EXPECT_ERRNO(sim().Ioctl(d, _IO(VFIO_TYPE, VFIO_BASE + 19), &bind), ENOTTY);
  EXPECT_ERRNO(sim().Ioctl(d, 0x3B99), ENOTTY);
}

}  // namespace
}  // namespace vfiosim::testing
