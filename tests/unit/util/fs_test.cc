#include "util/fs.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace crid {
namespace {

TEST(JoinWithin, StaysUnderRoot) {
  EXPECT_EQ(*fs::join_within("/r", "a/b"), "/r/a/b");
  EXPECT_EQ(*fs::join_within("/r/", "/abs/x"), "/r/abs/x");
  EXPECT_EQ(*fs::join_within("/r", "a/../b/./c"), "/r/b/c");
  EXPECT_EQ(*fs::join_within("/r", ""), "/r");
}

TEST(JoinWithin, RefusesEscapes) {
  EXPECT_FALSE(fs::join_within("/r", "..").ok());
  EXPECT_FALSE(fs::join_within("/r", "a/../../etc").ok());
  EXPECT_FALSE(fs::join_within("/r", std::string_view("a\0b", 3)).ok());
}

TEST(Fs, AtomicWriteAndRead) {
  char tmpl[] = "/tmp/crid-fs-test-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string f = dir + "/sub/dir/file";
  ASSERT_TRUE(fs::make_dirs(dir + "/sub/dir").ok());
  ASSERT_TRUE(fs::write_file_atomic(f, "hello", 0600).ok());
  EXPECT_EQ(*fs::read_file(f), "hello");
  struct stat st;
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::read_file(f, 2).ok());
  auto missing = fs::read_file(dir + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
  ASSERT_TRUE(fs::remove_all(dir).ok());
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(fs::remove_all(dir).ok());  // idempotent
}

// write_file_replace: the same atomic replacement as write_file_atomic
// (minus the fsync), so an existing file is replaced whole and no
// temporary file stays behind.
TEST(Fs, ReplaceWritesWholeFilesAndLeavesNoTemporary) {
  char tmpl[] = "/tmp/crid-fs-test-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string f = dir + "/hosts";
  ASSERT_TRUE(fs::write_file_replace(f, "a much longer first content\n", 0640).ok());
  ASSERT_TRUE(fs::write_file_replace(f, "short\n", 0644).ok());
  EXPECT_EQ(*fs::read_file(f), "short\n");
  struct stat st;
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  size_t entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) entries += e.path() == f ? 1 : 100;
  EXPECT_EQ(entries, 1u) << "a temporary file stayed beside " << f;
  auto bad = fs::write_file_replace(dir + "/no/such/dir/file", "x");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find(dir + "/no/such/dir/file"), std::string::npos)
      << bad.error().message();
  ASSERT_TRUE(fs::remove_all(dir).ok());
}

// A bind mount of a dir on the same file system has the same st_dev as its
// parent: remove_all must still stop there instead of emptying the dir
// the mount shows (how a staged host path would have lost a node's files).
TEST(Fs, RemoveAllStopsAtASameDeviceBindMount) {
  if (::geteuid() != 0) GTEST_SKIP() << "bind mounts need root";
  char tmpl[] = "/tmp/crid-fs-bind-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  ASSERT_TRUE(fs::make_dirs(dir + "/node").ok());
  ASSERT_TRUE(fs::make_dirs(dir + "/tree/at").ok());
  ASSERT_TRUE(fs::write_file_atomic(dir + "/node/precious", "p", 0600).ok());
  ASSERT_EQ(::mount((dir + "/node").c_str(), (dir + "/tree/at").c_str(), nullptr, MS_BIND, nullptr), 0);
  auto s = fs::remove_all(dir + "/tree");
  EXPECT_FALSE(s.ok());
  if (!s.ok()) EXPECT_NE(s.error().message().find("mount point"), std::string::npos) << s.error().message();
  EXPECT_TRUE(fs::exists(dir + "/node/precious")) << "remove_all emptied a bind-mounted dir";
  ASSERT_EQ(::umount2((dir + "/tree/at").c_str(), MNT_DETACH), 0);
  EXPECT_TRUE(fs::remove_all(dir).ok());
}

}  // namespace
}  // namespace crid
