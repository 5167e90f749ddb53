#include "container/rootfs.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "util/ids.h"

namespace crid::container {
namespace {

TEST(OverlayOptions, TopLayerFirstThenUpperAndWork) {
  EXPECT_EQ(overlay_options({"/l/B", "/l/A"}, "/c/upper", "/c/work"),
            "lowerdir=/l/B:/l/A,upperdir=/c/upper,workdir=/c/work");
}

TEST(ImageVolumes, EmptyDirPerVolumeAndRelativeRefused) {
  auto dir = std::filesystem::temp_directory_path() / ("crid-vol-" + random_hex(6));
  RootfsPaths p{dir.string()};
  auto v = make_image_volumes(p, {"/data", "/var/cache"});
  ASSERT_TRUE(v.ok()) << v.error().message();
  ASSERT_EQ(v->size(), 2u);
  EXPECT_EQ((*v)[1].container_path, "/var/cache");
  EXPECT_TRUE(std::filesystem::is_directory((*v)[1].host_dir));
  EXPECT_TRUE(std::filesystem::is_empty((*v)[0].host_dir));
  auto bad = make_image_volumes(p, {"data"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("\"data\""), std::string::npos);
  // Not mounted: unmount and removal are no-ops that succeed.
  EXPECT_TRUE(remove_rootfs(p).ok());
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_TRUE(remove_rootfs(p).ok());
}

// The overlay itself, with more layers than a mount(2) option page holds
// with absolute paths: needs root (skipped otherwise).
TEST(MountRootfs, DeepImageMountsAndUnmounts) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto dir = std::filesystem::temp_directory_path() / ("crid-rootfs-" + random_hex(6));
  std::string long_part(60, 'x');
  std::vector<std::string> lowers;
  for (int i = 0; i < 100; ++i) {
    auto l = dir / long_part / ("layer" + std::to_string(i));
    std::filesystem::create_directories(l);
    std::ofstream(l / ("f" + std::to_string(i))) << i;
    lowers.insert(lowers.begin(), l.string());  // top first
  }
  ASSERT_GT(overlay_options(lowers, "u", "w").size(), 4096u);
  RootfsPaths p{(dir / "ctr").string()};
  auto st = mount_rootfs(p, lowers);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_TRUE(is_mount_point(p.merged()));
  EXPECT_TRUE(std::filesystem::exists(p.merged() + "/f0"));
  EXPECT_TRUE(std::filesystem::exists(p.merged() + "/f99"));
  ASSERT_TRUE(remove_rootfs(p).ok());
  EXPECT_FALSE(is_mount_point(p.merged()));
  EXPECT_FALSE(std::filesystem::exists(p.dir));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace crid::container
