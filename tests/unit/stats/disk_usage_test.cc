// The writable-layer walker and its cache on temp dirs.
#include "stats/disk_usage.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "temp_tree.h"

namespace crid::stats {
namespace {

using namespace std::chrono_literals;
using testing::TempTree;

uint64_t allocated(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

TEST(DiskUsage, CountsFilesDirsAndBytes) {
  TempTree t;
  t.write("upper/a", std::string(100000, 'x'));
  t.write("upper/d/b", std::string(5000, 'y'));
  auto u = disk_usage(t.file("upper"));
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->inodes, 4u);  // upper, a, d, b
  EXPECT_EQ(u->bytes, allocated(t.file("upper")) + allocated(t.file("upper/a")) +
                          allocated(t.file("upper/d")) + allocated(t.file("upper/d/b")));
  EXPECT_GE(u->bytes, 105000u);
  EXPECT_GT(u->timestamp_ns, 0);
}

TEST(DiskUsage, HardLinksCountOnce) {
  TempTree t;
  t.write("upper/a", std::string(200000, 'x'));
  ASSERT_EQ(::link(t.file("upper/a").c_str(), t.file("upper/a2").c_str()), 0);
  ASSERT_EQ(::link(t.file("upper/a").c_str(), t.file("upper/a3").c_str()), 0);
  auto u = disk_usage(t.file("upper"));
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->inodes, 2u);
  EXPECT_EQ(u->bytes, allocated(t.file("upper")) + allocated(t.file("upper/a")));
}

TEST(DiskUsage, SymlinksAreNotFollowed) {
  TempTree t;
  t.write("outside/big", std::string(1 << 20, 'z'));
  t.write("upper/small", "s");
  ASSERT_EQ(::symlink(t.file("outside").c_str(), t.file("upper/dirlink").c_str()), 0);
  ASSERT_EQ(::symlink(t.file("outside/big").c_str(), t.file("upper/filelink").c_str()), 0);
  auto u = disk_usage(t.file("upper"));
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->inodes, 4u);  // upper, small and the two links themselves
  EXPECT_LT(u->bytes, uint64_t{1} << 20) << "the 1 MiB file behind the links was counted";
}

TEST(DiskUsage, TopLevelSymlinkIsRefused) {
  TempTree t;
  t.write("real/f", "x");
  ASSERT_EQ(::symlink(t.file("real").c_str(), t.file("upper").c_str()), 0);
  EXPECT_FALSE(disk_usage(t.file("upper")));
}

TEST(DiskUsage, MissingDirIsNotFoundNamingIt) {
  TempTree t;
  auto u = disk_usage(t.file("nope"));
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(u.error().message().find(t.file("nope")), std::string::npos);
}

TEST(DiskUsageCache, FirstGetComputesThenRefreshesInTheBackground) {
  TempTree t;
  t.write("upper/a", "x");
  DiskUsageCache cache(50ms);
  auto first = cache.get("c1", t.file("upper"));
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->inodes, 2u);
  t.write("upper/b", std::string(300000, 'y'));
  // Served from the cache at once; the background pass catches up.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  uint64_t inodes = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto u = cache.get("c1", t.file("upper"));
    ASSERT_TRUE(u);
    inodes = u->inodes;
    if (inodes == 3) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(inodes, 3u);
}

TEST(DiskUsageCache, RemovedDirIsDroppedAndReportedOnNextGet) {
  TempTree t;
  t.write("upper/a", "x");
  DiskUsageCache cache(20ms);
  ASSERT_TRUE(cache.get("c1", t.file("upper")));
  std::filesystem::remove_all(t.file("upper"));
  auto deadline = std::chrono::steady_clock::now() + 10s;
  bool gone = false;
  while (!gone && std::chrono::steady_clock::now() < deadline) {
    auto u = cache.get("c1", t.file("upper"));
    gone = !u && u.error().kind() == ErrorKind::kNotFound;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(gone);
}

}  // namespace
}  // namespace crid::stats
