#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <string>

#include "api/preload/sysfs_tree.h"
#include "api/preload/sysfs_vfio.h"
#include "api/vfio_sim.h"

namespace vfiosim::api::preload {
namespace {

// ---- the resolver on a small tree ----

class TreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_.AddRoot("/r", makedev(0, 22));
    tree_.AddDir("/r/dir");
    tree_.AddFile("/r/dir/file", "text\n");
    tree_.AddSymlink("/r/dir/up", "..");
    tree_.AddSymlink("/r/link", "dir/file");
    tree_.AddSymlink("/r/abs", "/r/dir");
    tree_.AddSymlink("/r/out", "../host/elsewhere");
    tree_.AddSymlink("/r/loop1", "loop2");
    tree_.AddSymlink("/r/loop2", "loop1");
    tree_.AddCharDev("/r/dev", makedev(10, 196), 0666);
  }
  SysfsTree tree_;
};

struct ResolveCase {
  const char* path;
  bool follow;
  Lookup::Kind kind;
  std::string want;  // canonical path (kNode / kHost) or errno name (kError)
};

TEST_F(TreeTest, ResolvesLikeNamei) {
  const ResolveCase cases[] = {
      {"/r/dir/file", true, Lookup::Kind::kNode, "/r/dir/file"},
      {"/r//dir/./file", true, Lookup::Kind::kNode, "/r/dir/file"},
      {"/r/link", true, Lookup::Kind::kNode, "/r/dir/file"},
      {"/r/link", false, Lookup::Kind::kNode, "/r/link"},
      {"/r/abs/file", false, Lookup::Kind::kNode, "/r/dir/file"},
      {"/r/dir/up/link", true, Lookup::Kind::kNode, "/r/dir/file"},
      // `..` after a link goes to the target's parent, not the link's.
      {"/r/abs/../dir", true, Lookup::Kind::kNode, "/r/dir"},
      {"/r/dir/..", true, Lookup::Kind::kNode, "/r"},
      {"/r/..", true, Lookup::Kind::kHost, "/"},
      {"/r/out", true, Lookup::Kind::kHost, "/host/elsewhere"},
      {"/etc/passwd", true, Lookup::Kind::kHost, "/etc/passwd"},
      {"/r/missing", true, Lookup::Kind::kError, "ENOENT"},
      {"/r/dir/file/x", true, Lookup::Kind::kError, "ENOTDIR"},
      {"/r/dir/file/", true, Lookup::Kind::kError, "ENOTDIR"},
      {"/r/link/", false, Lookup::Kind::kError, "ENOTDIR"},  // a trailing slash follows
      {"/r/loop1", true, Lookup::Kind::kError, "ELOOP"},
      {"/r/loop1", false, Lookup::Kind::kNode, "/r/loop1"},
  };
  for (const ResolveCase& c : cases) {
    Lookup l = tree_.Resolve(c.path, c.follow);
    EXPECT_EQ(l.kind, c.kind) << c.path;
    if (c.kind == Lookup::Kind::kError) {
      EXPECT_STREQ(strerrorname_np(l.err), c.want.c_str()) << c.path;
    } else {
      EXPECT_EQ(l.path, c.want) << c.path;
    }
  }
}

TEST_F(TreeTest, TouchedOnlyWhenTheWalkEnteredTheTree) {
  EXPECT_FALSE(tree_.Resolve("/etc/passwd", true).touched);
  EXPECT_TRUE(tree_.Resolve("/r/out", true).touched);
  EXPECT_TRUE(tree_.Resolve("/r/..", true).touched);
}

TEST_F(TreeTest, MissingLastNameReportsItsDirectory) {
  Lookup l = tree_.Resolve("/r/dir/new", true);
  ASSERT_EQ(l.kind, Lookup::Kind::kError);
  EXPECT_EQ(l.err, ENOENT);
  ASSERT_NE(l.parent, nullptr);
  EXPECT_EQ(l.parent->path, "/r/dir");
  EXPECT_EQ(tree_.Resolve("/r/missing/new", true).parent, nullptr);
}

TEST_F(TreeTest, ResolveAtIsRelativeToTheDirectory) {
  const SysfsNode* dir = tree_.Resolve("/r/dir", true).node;
  ASSERT_NE(dir, nullptr);
  EXPECT_EQ(tree_.ResolveAt(dir, "file", true).path, "/r/dir/file");
  EXPECT_EQ(tree_.ResolveAt(dir, "../link", true).path, "/r/dir/file");
  EXPECT_EQ(tree_.ResolveAt(dir, "/r/dev", true).path, "/r/dev");
}

TEST_F(TreeTest, StatTypesModesAndSizes) {
  struct stat st = tree_.Stat(*tree_.Resolve("/r/dir/file", true).node);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  EXPECT_EQ(st.st_size, 5);
  st = tree_.Stat(*tree_.Resolve("/r/link", false).node);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  st = tree_.Stat(*tree_.Resolve("/r/dev", true).node);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(major(st.st_rdev), 10u);
  EXPECT_EQ(minor(st.st_rdev), 196u);
  st = tree_.Stat(*tree_.Resolve("/r/dir", true).node);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_NE(tree_.Stat(*tree_.Resolve("/r/dir", true).node).st_ino,
            tree_.Stat(*tree_.Resolve("/r/dev", true).node).st_ino);
}

TEST(NormalizeTest, Lexical) {
  EXPECT_EQ(NormalizeLexically("/a/b/../c/"), "/a/c");
  EXPECT_EQ(NormalizeLexically("//a/./b"), "/a/b");
  EXPECT_EQ(NormalizeLexically("/.."), "/");
  EXPECT_EQ(NormalizeLexically("/"), "/");
}

TEST(MightBeVfioPathTest, Prefilter) {
  struct {
    const char* path;
    bool want;
  } cases[] = {
      {"/dev/vfio/vfio", true},
      {"/dev/vfio", true},
      {"/dev/vfio1", false},
      {"/dev/null", false},
      {"/sys/bus/pci/devices/0000:00:01.0/vendor", true},
      {"/sys/bus/pcie", false},
      {"/sys/kernel/iommu_groups/1/reserved_regions", true},
      {"/sys/devices/pci0000:00/0000:00:01.0", true},
      {"/sys/devices/system/cpu", false},
      {"/sys/class/net", false},
      {"/dev/../dev/vfio/1", true},
      {"/sys/bus/pci/devices/x/../../../../etc", true},  // `..` may follow a link in the tree
      {"relative/dev/vfio", false},
      {"", false},
  };
  for (const auto& c : cases) EXPECT_EQ(MightBeVfioPath(c.path), c.want) << c.path;
}

// ---- the vfio-pci layout ----

TEST(SysfsVfioTest, FormatsLikeTheKernel) {
  core::ReservedRegion msi{{0xfee00000, 0xfeefffff}, core::ReservedType::kMsi};
  core::ReservedRegion rmrr{{0xe0000, 0xeffff}, core::ReservedType::kDirect};
  core::ReservedRegion regions[] = {rmrr, msi};
  EXPECT_EQ(ReservedRegionsText(regions),
            "0x00000000000e0000 0x00000000000effff direct\n"
            "0x00000000fee00000 0x00000000feefffff msi\n");
  PciIdentity id;
  id.vendor = 0x1234;
  id.device = 0x11e8;
  id.class_code = 0x00ff00;
  id.revision = 0x10;
  id.bars[0] = {0xfea00000, 1 << 20, 0x40200};
  std::string resource = ResourceText(id);
  EXPECT_EQ(resource.substr(0, 57), "0x00000000fea00000 0x00000000feafffff 0x0000000000040200\n");
  EXPECT_EQ(std::count(resource.begin(), resource.end(), '\n'), 13);
  std::string cfg = ConfigSpace(id);
  ASSERT_EQ(cfg.size(), 256u);
  EXPECT_EQ(static_cast<uint8_t>(cfg[0]), 0x34);
  EXPECT_EQ(static_cast<uint8_t>(cfg[1]), 0x12);
  EXPECT_EQ(static_cast<uint8_t>(cfg[0x0a]), 0xff);  // subclass of 0x00ff00
  id.pcie = true;
  EXPECT_EQ(ConfigSpace(id).size(), 4096u);
}

TEST(SysfsVfioTest, DefaultMachineLayout) {
  VfioSim sim;
  SysfsTree tree;
  BuildVfioLayout(sim, &tree);
  auto text = [&](const std::string& path) {
    Lookup l = tree.Resolve(path, true);
    EXPECT_EQ(l.kind, Lookup::Kind::kNode) << path;
    return l.node ? l.node->content : std::string();
  };
  auto target = [&](const std::string& path) {
    Lookup l = tree.Resolve(path, false);
    return l.node && l.node->type == NodeType::kSymlink ? l.node->target : std::string("<not a link>");
  };
  const std::string dev = "/sys/bus/pci/devices/0000:00:01.0";
  EXPECT_EQ(text(dev + "/vendor"), "0x1234\n");
  EXPECT_EQ(text(dev + "/device"), "0x11e8\n");
  EXPECT_EQ(text(dev + "/subsystem_vendor"), "0x1af4\n");
  EXPECT_EQ(text(dev + "/subsystem_device"), "0x1100\n");
  EXPECT_EQ(text(dev + "/class"), "0x00ff00\n");
  EXPECT_EQ(text(dev + "/revision"), "0x10\n");
  EXPECT_EQ(text(dev + "/numa_node"), "-1\n");
  EXPECT_EQ(text(dev + "/config").size(), 256u);
  EXPECT_EQ(target(dev), "../../../devices/pci0000:00/0000:00:01.0");
  EXPECT_EQ(target(dev + "/iommu_group"), "../../../kernel/iommu_groups/1");
  EXPECT_EQ(target(dev + "/driver"), "../../../bus/pci/drivers/vfio-pci");
  EXPECT_EQ(tree.Resolve(dev + "/iommu_group", true).path, "/sys/kernel/iommu_groups/1");
  EXPECT_EQ(tree.Resolve(dev + "/driver", true).path, "/sys/bus/pci/drivers/vfio-pci");
  EXPECT_EQ(tree.Resolve("/sys/kernel/iommu_groups/1/devices/0000:00:01.0", true).path,
            "/sys/devices/pci0000:00/0000:00:01.0");
  EXPECT_EQ(tree.Resolve("/sys/bus/pci/drivers/vfio-pci/0000:00:01.0", true).path,
            "/sys/devices/pci0000:00/0000:00:01.0");
  EXPECT_NE(text("/sys/kernel/iommu_groups/1/reserved_regions").find("0x00000000fee00000 0x00000000feefffff msi\n"),
            std::string::npos);
  // Every function is listed; host-bound ones carry their own driver.
  EXPECT_EQ(target("/sys/bus/pci/devices/0000:00:05.0/driver"), "../../../bus/pci/drivers/nvme");
  EXPECT_EQ(tree.Resolve("/sys/bus/pci/devices/0000:00:00.0/driver", false).err, ENOENT);  // unbound
  EXPECT_EQ(tree.Resolve("/sys/bus/pci/devices/0000:01:00.0", true).path, "/sys/devices/pci0000:00/0000:01:00.0");
  // /dev/vfio: the container node and one node per group with a vfio-pci function.
  Lookup vfio = tree.Resolve("/dev/vfio/vfio", true);
  ASSERT_EQ(vfio.kind, Lookup::Kind::kNode);
  EXPECT_EQ(vfio.node->type, NodeType::kCharDev);
  EXPECT_EQ(tree.Resolve("/dev/vfio/1", true).kind, Lookup::Kind::kNode);
  EXPECT_EQ(tree.Resolve("/dev/vfio/0", true).err, ENOENT);  // the host bridge's group: no vfio-pci
  EXPECT_EQ(tree.Resolve("/sys/kernel/iommu_groups/0", true).kind, Lookup::Kind::kNode);
  // Host entries under owned roots are hidden, the rest of /sys is the host's.
  EXPECT_EQ(tree.Resolve("/sys/bus/pci/devices/0000:ff:00.0", true).err, ENOENT);
  EXPECT_EQ(tree.Resolve("/sys/class/net", true).kind, Lookup::Kind::kHost);
  // A scan for vendor:device finds edu.
  int found = 0;
  for (const auto& [name, child] : tree.Resolve("/sys/bus/pci/devices", true).node->children) {
    if (text("/sys/bus/pci/devices/" + name + "/vendor") == "0x1234\n" &&
        text("/sys/bus/pci/devices/" + name + "/device") == "0x11e8\n") {
      ++found;
      EXPECT_EQ(name, "0000:00:01.0");
    }
  }
  EXPECT_EQ(found, 1);
}

}  // namespace
}  // namespace vfiosim::api::preload
