// The host path resolver on fake trees under a temp dir. The owner whose
// symlinks are trusted is the test's own user, so these run without root
// (except the one that needs a symlink of another owner).
#include "container/host_path_resolver.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "util/ids.h"

namespace crid::container {
namespace {

namespace fsys = std::filesystem;

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

class HostPathResolver : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = fsys::temp_directory_path() / ("crid-hostpath-" + random_hex(6));
    fsys::create_directories(dir);
    // The tree's own path must hold no symlink for the expectations below.
    root_ = fsys::canonical(dir).string();
    policy_.trusted_owner = ::geteuid();
    mkdir("real/deep");
    mkdir("shared/inner");
    std::ofstream(path("real/file")) << "data";
    std::ofstream(path("shared/file")) << "data";
  }
  void TearDown() override { fsys::remove_all(root_); }

  std::string path(const std::string& rel) const { return root_ + "/" + rel; }
  void mkdir(const std::string& rel) { fsys::create_directories(path(rel)); }
  void link(const std::string& rel, const std::string& target) {
    fsys::create_symlink(target, path(rel));
  }
  void writable(const std::string& rel) {
    FileId id;
    ASSERT_TRUE(file_id_of(path(rel), &id));
    policy_.container_writable.push_back(id);
    std::sort(policy_.container_writable.begin(), policy_.container_writable.end());
  }
  // The identity of what the resolver's fd refers to.
  static FileId fd_id(const ResolvedHostPath& r) {
    struct stat st {};
    EXPECT_EQ(::fstat(r.fd.get(), &st), 0);
    return FileId{st.st_dev, st.st_ino};
  }
  FileId id_of(const std::string& rel) {
    FileId id;
    EXPECT_TRUE(file_id_of(path(rel), &id)) << rel;
    return id;
  }

  std::string root_;
  HostPathPolicy policy_;
};

TEST_F(HostPathResolver, PlainDirectoryAndFileResolveToThemselves) {
  auto d = resolve_host_path(path("real/deep"), policy_);
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_TRUE(d->is_dir);
  EXPECT_EQ(d->path, path("real/deep"));
  EXPECT_EQ(fd_id(*d), id_of("real/deep"));

  auto f = resolve_host_path(path("real/file"), policy_);
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_FALSE(f->is_dir);
  EXPECT_EQ(f->path, path("real/file"));
  EXPECT_EQ(fd_id(*f), id_of("real/file"));
}

TEST_F(HostPathResolver, TrustedSymlinksOutsideWritableDirsAreFollowed) {
  writable("shared");
  link("abs", path("real"));     // like /var/run -> /run
  link("rel", "real/deep");
  link("tofile", "real/file");
  link("chain", "abs/deep");
  auto a = resolve_host_path(path("abs/deep"), policy_);
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ(a->path, path("real/deep"));
  auto r = resolve_host_path(path("rel"), policy_);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(fd_id(*r), id_of("real/deep"));
  auto c = resolve_host_path(path("chain"), policy_);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->path, path("real/deep"));
  auto f = resolve_host_path(path("tofile"), policy_);
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_FALSE(f->is_dir);
  EXPECT_EQ(fd_id(*f), id_of("real/file"));
}

TEST_F(HostPathResolver, SymlinkInAContainerWritableDirIsRefused) {
  writable("shared");
  link("shared/sub", "/");
  link("shared/inner/up", "../../real");
  for (const char* rel : {"shared/sub", "shared/sub/etc", "shared/inner/up"}) {
    auto r = resolve_host_path(path(rel), policy_);
    ASSERT_FALSE(r.ok()) << rel << " was followed to " << r->path;
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_TRUE(contains(r.error().message(), "containers can write")) << r.error().message();
    EXPECT_TRUE(contains(r.error().message(), path(rel))) << r.error().message();
  }
  auto r = resolve_host_path(path("shared/sub"), policy_);
  EXPECT_TRUE(contains(r.error().message(), "-> \"/\"")) << r.error().message();
  // Plain paths inside the writable dir are fine: only symlinks are suspect.
  auto plain = resolve_host_path(path("shared/inner"), policy_);
  ASSERT_TRUE(plain.ok()) << plain.error().message();
  auto file = resolve_host_path(path("shared/file"), policy_);
  ASSERT_TRUE(file.ok()) << file.error().message();
}

TEST_F(HostPathResolver, WritableDirIsKnownByIdentityNotByName) {
  writable("shared");
  link("alias", path("shared"));  // a trusted second name for it
  link("shared/sub", "/");
  auto r = resolve_host_path(path("alias/sub"), policy_);
  ASSERT_FALSE(r.ok()) << "followed to " << r->path;
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  // The writable dir reached through ".." from inside it still counts,
  // and leaving it through ".." leaves its protection too.
  link("real/out", "/");
  auto back = resolve_host_path(path("real/deep/../../shared/inner/../sub"), policy_);
  EXPECT_FALSE(back.ok());
  auto left = resolve_host_path(path("shared/inner/../../real/out"), policy_);
  ASSERT_TRUE(left.ok()) << left.error().message();
  EXPECT_EQ(left->path, "/");
}

TEST_F(HostPathResolver, DotDotComponentsFollowTheRealParent) {
  link("deeplink", path("real/deep"));
  // ".." after a symlink is the parent of its target, as the kernel does.
  auto r = resolve_host_path(path("deeplink/../file"), policy_);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->path, path("real/file"));
  // ".." at "/" stays at "/".
  auto top = resolve_host_path("/../../.." + path("real/./deep/"), policy_);
  ASSERT_TRUE(top.ok()) << top.error().message();
  EXPECT_EQ(top->path, path("real/deep"));
}

TEST_F(HostPathResolver, MissingAndDanglingAreNotFound) {
  link("dangling", path("nothing-here"));
  for (const char* rel : {"nothing", "dangling", "real/file/below", "dangling/x"}) {
    auto r = resolve_host_path(path(rel), policy_);
    ASSERT_FALSE(r.ok()) << rel;
    EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound) << r.error().message();
    EXPECT_TRUE(contains(r.error().message(), "does not exist")) << r.error().message();
  }
}

TEST_F(HostPathResolver, LoopsRelativePathsAndNulAreRefused) {
  link("a", "b");
  link("b", "a");
  auto loop = resolve_host_path(path("a"), policy_);
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_TRUE(contains(loop.error().message(), "symlinks")) << loop.error().message();
  auto rel = resolve_host_path("relative/path", policy_);
  ASSERT_FALSE(rel.ok());
  EXPECT_EQ(rel.error().kind(), ErrorKind::kInvalidArgument);
  auto nul = resolve_host_path(path("real") + std::string("\0x", 2), policy_);
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().kind(), ErrorKind::kInvalidArgument);
}

TEST_F(HostPathResolver, ProcfsSymlinksAreRefused) {
  HostPathPolicy root_trusted;  // /proc/self is root's
  auto r = resolve_host_path("/proc/self/root", root_trusted);
  ASSERT_FALSE(r.ok()) << "followed to " << r->path;
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_TRUE(contains(r.error().message(), "procfs")) << r.error().message();
}

TEST_F(HostPathResolver, SymlinkOfAnotherOwnerIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a symlink another owner";
  link("theirs", path("real"));
  ASSERT_EQ(::lchown(path("theirs").c_str(), 1000, 1000), 0);
  auto r = resolve_host_path(path("theirs/deep"), policy_);
  ASSERT_FALSE(r.ok()) << "followed to " << r->path;
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_TRUE(contains(r.error().message(), "owned by uid 1000")) << r.error().message();
}

}  // namespace
}  // namespace crid::container
