#include "oci/user_resolver.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "util/fs.h"

namespace crid::oci {
namespace {

class TempRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crid-oci-rootfs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ + "/rootfs";
    ASSERT_TRUE(fs::make_dirs(root_ + "/etc"));
  }
  void TearDown() override { (void)fs::remove_all(dir_); }
  void write(const std::string& path, const std::string& data) {
    std::ofstream(path) << data;
  }
  std::string dir_, root_;
};

TEST(PasswdParse, SkipsCommentsAndMalformedLines) {
  auto p = parse_passwd("root:x:0:0:root:/root:/bin/sh\n#x:x:1:1\nbad\nu:x:notnum:1::/:/\n"
                        "a:x:5:6:A:/home/a:/bin/sh\r\n");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[1].name, "a");
  EXPECT_EQ(p[1].uid, 5u);
  EXPECT_EQ(p[1].gid, 6u);
  EXPECT_EQ(p[1].home, "/home/a");
}

TEST(GroupParse, MembersSplitOnCommas) {
  auto g = parse_group("wheel:x:10:alice,bob\nempty:x:11:\nnomembers:x:12\n");
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].members, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_TRUE(g[1].members.empty());
  EXPECT_EQ(g[2].gid, 12u);
}

TEST_F(TempRoot, ReadsAFileInsideTheRootfs) {
  write(root_ + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  auto r = read_rootfs_file(root_, "etc/passwd");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, "root:x:0:0::/root:/bin/sh\n");
  auto n = read_rootfs_file_nofollow(root_, "/etc/passwd");
  ASSERT_TRUE(n);
  EXPECT_EQ(**n, "root:x:0:0::/root:/bin/sh\n");
}

TEST_F(TempRoot, MissingFileIsNoValueNotAnError) {
  auto r = read_rootfs_file(root_, "etc/group");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->has_value());
  auto n = read_rootfs_file_nofollow(root_, "etc/group");
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->has_value());
}

TEST_F(TempRoot, AbsoluteSymlinkResolvesInsideTheRootfsNotOnTheHost) {
  // A hostile image: /etc/passwd -> /outside/passwd. The host file beside the
  // rootfs must never be read; the rootfs' own /outside/passwd is.
  write(dir_ + "/secret", "host secret\n");
  ASSERT_EQ(symlink("/../secret", (root_ + "/etc/passwd").c_str()), 0);
  auto r = read_rootfs_file(root_, "etc/passwd");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->has_value());  // /secret does not exist inside the rootfs

  ASSERT_TRUE(fs::make_dirs(root_ + "/inner"));
  write(root_ + "/inner/passwd", "inner:x:7:7::/:/bin/sh\n");
  ASSERT_EQ(unlink((root_ + "/etc/passwd").c_str()), 0);
  ASSERT_EQ(symlink("/inner/passwd", (root_ + "/etc/passwd").c_str()), 0);
  r = read_rootfs_file(root_, "etc/passwd");
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ(**r, "inner:x:7:7::/:/bin/sh\n");
}

TEST_F(TempRoot, RelativeDotDotSymlinkCannotClimbOut) {
  write(dir_ + "/secret", "host secret\n");
  ASSERT_EQ(symlink("../../secret", (root_ + "/etc/passwd").c_str()), 0);
  auto r = read_rootfs_file(root_, "etc/passwd");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->has_value());
}

TEST_F(TempRoot, FallbackWalkRefusesSymlinks) {
  write(dir_ + "/secret", "host secret\n");
  ASSERT_EQ(symlink((dir_ + "/secret").c_str(), (root_ + "/etc/passwd").c_str()), 0);
  auto r = read_rootfs_file_nofollow(root_, "etc/passwd");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("symlink"), std::string::npos);
  auto dotdot = read_rootfs_file_nofollow(root_, "../secret");
  ASSERT_FALSE(dotdot);
  EXPECT_EQ(dotdot.error().kind(), ErrorKind::kInvalidArgument);
}

TEST_F(TempRoot, DirectoryInsteadOfFileIsAnError) {
  ASSERT_TRUE(fs::make_dirs(root_ + "/etc/passwd"));
  auto r = read_rootfs_file(root_, "etc/passwd");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("etc/passwd"), std::string::npos);
}

TEST_F(TempRoot, OversizedFileIsRefused) {
  write(root_ + "/etc/passwd", std::string(100, 'x'));
  auto r = read_rootfs_file(root_, "etc/passwd", 10);
  ASSERT_FALSE(r);
}

TEST(RootfsRead, MissingRootfsIsAnErrorNamingIt) {
  auto r = read_rootfs_file("/nonexistent/crid-rootfs", "etc/passwd");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("/nonexistent/crid-rootfs"), std::string::npos);
}

}  // namespace
}  // namespace crid::oci

namespace crid::oci {
namespace {

// Hostile image files must never crash the parser or the resolver.
TEST(PasswdParse, SurvivesArbitraryBytes) {
  std::mt19937 rng(1234);
  int resolved = 0;
  const std::string alphabet = "root:x0123456789,\n\r#\0\xff:";
  for (int round = 0; round < 2000; ++round) {
    std::string blob = round % 2 ? "root:x:" : "";  // half the time, a nearly valid root line
    size_t len = rng() % 200;
    for (size_t i = 0; i < len; ++i) blob += alphabet[rng() % alphabet.size()];
    auto users = parse_passwd(blob);
    (void)parse_group(blob);
    auto r = resolve_user({.image_user = "root"}, blob, blob);
    auto root = std::find_if(users.begin(), users.end(),
                             [](const PasswdEntry& e) { return e.name == "root"; });
    // Resolves exactly when the parser found a "root" entry, to that entry.
    ASSERT_EQ(r.ok(), root != users.end()) << blob;
    if (r) {
      EXPECT_EQ(r->uid, root->uid);
      ++resolved;
    }
  }
  EXPECT_GT(resolved, 0);  // the valid-looking half sometimes parses
}

}  // namespace
}  // namespace crid::oci
