// Staging resolved host paths by fd: real mounts, so these need root (and
// skip without it).
#include "container/host_path_stage.h"

#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "container/rootfs.h"
#include "util/ids.h"

namespace crid::container {
namespace {

namespace fsys = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class HostPathStage : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounts need root";
    auto dir = fsys::temp_directory_path() / ("crid-stage-" + random_hex(6));
    root_ = dir.string();
    fsys::create_directories(root_ + "/host/dir/sub");
    std::ofstream(root_ + "/host/dir/sub/a") << "in dir";
    std::ofstream(root_ + "/host/file") << "a file";
  }
  void TearDown() override {
    if (root_.empty()) return;
    (void)unstage_host_paths(root_ + "/stages");
    fsys::remove_all(root_);
  }
  ResolvedHostPath resolve(const std::string& rel) {
    auto r = resolve_host_path(root_ + "/" + rel, HostPathPolicy{});
    EXPECT_TRUE(r.ok()) << r.error().message();
    return std::move(r).value();
  }
  std::string root_;
};

TEST_F(HostPathStage, DirectoryAndFileAreMountedByFdAndUnmountedWithoutATrace) {
  std::string stages = root_ + "/stages";
  auto d = resolve("host/dir");
  auto f = resolve("host/file");
  // Swap the names after the check: the staged objects are the checked ones.
  fsys::rename(root_ + "/host/dir", root_ + "/host/dir-moved");
  fsys::create_directories(root_ + "/host/dir");
  auto sd = stage_host_path(d, stages, 0);
  ASSERT_TRUE(sd.ok()) << sd.error().message();
  auto sf = stage_host_path(f, stages, 1);
  ASSERT_TRUE(sf.ok()) << sf.error().message();
  EXPECT_EQ(*sd, stages + "/0");
  EXPECT_TRUE(is_mount_point(*sd));
  EXPECT_TRUE(is_mount_point(*sf));
  EXPECT_EQ(read_text(*sd + "/sub/a"), "in dir");
  EXPECT_EQ(read_text(*sf), "a file");
  // Writes go to the node's object.
  std::ofstream(*sd + "/new") << "x";
  EXPECT_TRUE(fsys::exists(root_ + "/host/dir-moved/new"));

  ASSERT_TRUE(unstage_host_paths(stages).ok());
  EXPECT_FALSE(is_mount_point(*sd));
  EXPECT_FALSE(is_mount_point(*sf));
  EXPECT_FALSE(fsys::exists(stages));
  // The node's files are untouched by the removal.
  EXPECT_EQ(read_text(root_ + "/host/dir-moved/sub/a"), "in dir");
  EXPECT_EQ(read_text(root_ + "/host/file"), "a file");
  EXPECT_TRUE(unstage_host_paths(stages).ok());  // idempotent
}

TEST_F(HostPathStage, SubmountsComeAlong) {
  std::string sub = root_ + "/host/dir/sub";
  ASSERT_EQ(::mount("tmpfs", sub.c_str(), "tmpfs", 0, "size=1m"), 0);
  std::ofstream(sub + "/on-tmpfs") << "t";
  auto d = resolve("host/dir");
  auto sd = stage_host_path(d, root_ + "/stages", 0);
  ASSERT_TRUE(sd.ok()) << sd.error().message();
  EXPECT_EQ(read_text(*sd + "/sub/on-tmpfs"), "t");
  ASSERT_TRUE(unstage_host_paths(root_ + "/stages").ok());
  EXPECT_FALSE(is_mount_point(*sd + "/sub"));
  ASSERT_EQ(::umount2(sub.c_str(), MNT_DETACH), 0);
}

TEST_F(HostPathStage, NonEmptyStagingPointIsNeverEmptied) {
  // A staging dir that is not a mount but holds files (never made by
  // crid): removal fails instead of deleting what is in it.
  std::string at = root_ + "/stages/0";
  fsys::create_directories(at);
  std::ofstream(at + "/precious") << "p";
  auto s = unstage_host_paths(root_ + "/stages");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(fsys::exists(at + "/precious"));
  fsys::remove(at + "/precious");
}

}  // namespace
}  // namespace crid::container
