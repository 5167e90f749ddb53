#include "image/layer_unpack.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <filesystem>
#include <set>
#include <thread>

#include "tar_builder.h"
#include "util/fs.h"
#include "util/unique_fd.h"

namespace crid::image {
namespace {

using namespace crid::image::testing;
namespace stdfs = std::filesystem;

// A sandbox holding the layer dir and a sentinel sibling "outside" that no
// layer may ever touch.
class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crid-unpack-test-XXXXXX";
    sandbox_ = ::mkdtemp(tmpl);
    layer_ = sandbox_ + "/layer";
    outside_ = sandbox_ + "/outside";
    ASSERT_EQ(::mkdir(layer_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
  }
  void TearDown() override {
    force_openat2_fallback_for_testing(false);
    (void)fs::remove_all(sandbox_);
  }

  Result<UnpackStats> unpack(const std::string& blob, UnpackOptions opts = {}) {
    if (opts.layer_digest.empty()) opts.layer_digest = "sha256:testlayer";
    UniqueFd fd(blob_fd(blob));
    return unpack_layer(fd.get(), layer_, opts);
  }

  std::string tar(const std::vector<TarEntry>& entries) { return build_tar(entries); }

  // Nothing was created beside the layer or in the sentinel.
  void expect_nothing_outside() {
    std::set<std::string> names;
    for (auto& e : stdfs::directory_iterator(sandbox_)) names.insert(e.path().filename());
    EXPECT_EQ(names, (std::set<std::string>{"layer", "outside"}));
    EXPECT_TRUE(stdfs::is_empty(outside_)) << "a layer wrote into " << outside_;
  }

  struct stat lstat_of(const std::string& rel) {
    struct stat st {};
    EXPECT_EQ(::lstat((layer_ + "/" + rel).c_str(), &st), 0) << rel;
    return st;
  }

  std::string sandbox_, layer_, outside_;
};

TEST_F(UnpackTest, FilesDirsSymlinksHardlinksWithMetadata) {
  TarEntry bin = dir("usr/bin", 0750);
  bin.mtime = 1500000000;
  TarEntry tool = file("usr/bin/tool", "#!/bin/sh\necho hi\n", 04755);
  tool.uid = 1234;
  tool.gid = 5678;
  tool.mtime = 1400000000;
  auto blob = tar({dir("usr"), bin, tool, symlink("usr/bin/sh", "/bin/busybox"),
                   symlink("rel", "usr/bin/tool"), hardlink("usr/bin/tool2", "usr/bin/tool"),
                   file("./etc/hostname", "box\n"), file("/abs/file", "normalised")});
  auto r = unpack(blob);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->entries, 8);
  EXPECT_EQ(r->bytes, static_cast<int64_t>(std::string("#!/bin/sh\necho hi\n").size() + 4 + 10));

  EXPECT_EQ(*fs::read_file(layer_ + "/usr/bin/tool"), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(*fs::read_file(layer_ + "/etc/hostname"), "box\n");
  EXPECT_EQ(*fs::read_file(layer_ + "/abs/file"), "normalised");

  struct stat st = lstat_of("usr/bin/tool");
  EXPECT_EQ(st.st_mode & 07777, 04755u) << "setuid survives chown";
  EXPECT_EQ(st.st_mtim.tv_sec, 1400000000);
  EXPECT_EQ(st.st_nlink, 2u);
  struct stat st2 = lstat_of("usr/bin/tool2");
  EXPECT_EQ(st2.st_ino, st.st_ino);
  if (::geteuid() == 0) {
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
  }

  struct stat d = lstat_of("usr/bin");
  EXPECT_TRUE(S_ISDIR(d.st_mode));
  EXPECT_EQ(d.st_mode & 07777, 0750u);
  EXPECT_EQ(d.st_mtim.tv_sec, 1500000000) << "dir mtime set after its contents";

  EXPECT_TRUE(S_ISLNK(lstat_of("usr/bin/sh").st_mode));
  EXPECT_EQ(stdfs::read_symlink(layer_ + "/usr/bin/sh"), "/bin/busybox");
  EXPECT_EQ(stdfs::read_symlink(layer_ + "/rel"), "usr/bin/tool");
  expect_nothing_outside();
}

class UnpackCompression : public UnpackTest,
                          public ::testing::WithParamInterface<Compression> {};

TEST_P(UnpackCompression, DetectsFormatAndHashesUncompressedStream) {
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
  std::string raw = tar({dir("d"), file("d/big", big), file("d/small", "s")});
  auto r = unpack(compress(raw, GetParam()));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->diff_id, sha256_digest(raw));
  EXPECT_EQ(*fs::read_file(layer_ + "/d/big"), big);
  EXPECT_EQ(*fs::read_file(layer_ + "/d/small"), "s");
}

INSTANTIATE_TEST_SUITE_P(All, UnpackCompression,
                         ::testing::Values(Compression::kNone, Compression::kGzip,
                                           Compression::kZstd),
                         [](const auto& info) {
                           switch (info.param) {
                             case Compression::kNone: return std::string("none");
                             case Compression::kGzip: return std::string("gzip");
                             default: return std::string("zstd");
                           }
                         });

// The puller may stream a blob through a pipe: no seeking, short reads.
TEST_F(UnpackTest, ReadsFromAPipe) {
  std::string raw = tar({dir("p"), file("p/data", std::string(1 << 20, 'p'))});
  std::string gz = compress(raw, Compression::kGzip);
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd rd(fds[0]), wr(fds[1]);
  std::thread writer([&] {
    for (size_t off = 0; off < gz.size();) {
      ssize_t n = ::write(wr.get(), gz.data() + off, std::min<size_t>(4096, gz.size() - off));
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    wr.reset();
  });
  auto r = unpack_layer(rd.get(), layer_, {"sha256:piped", false});
  writer.join();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->diff_id, sha256_digest(raw));
  EXPECT_EQ(fs::read_file(layer_ + "/p/data")->size(), 1u << 20);
}

TEST_F(UnpackTest, WhiteoutsBecomeOverlayForm) {
  auto blob = tar({dir("etc"), file("etc/.wh.passwd", ""), dir("var"), dir("var/cache"),
                   file("var/cache/.wh..wh..opq", ""), file("var/cache/new", "n"),
                   file(".wh..wh..plnk", "")});
  auto r = unpack(blob);
  ASSERT_TRUE(r.ok()) << r.error().message();
  struct stat wh = lstat_of("etc/passwd");
  EXPECT_TRUE(S_ISCHR(wh.st_mode));
  EXPECT_EQ(wh.st_rdev, makedev(0, 0));
  EXPECT_FALSE(fs::exists(layer_ + "/etc/.wh.passwd"));
  EXPECT_FALSE(fs::exists(layer_ + "/var/cache/.wh..wh..opq"));
  EXPECT_FALSE(fs::exists(layer_ + "/.wh..wh..plnk"));
  EXPECT_EQ(*fs::read_file(layer_ + "/var/cache/new"), "n");
  if (::geteuid() != 0) GTEST_SKIP() << "trusted.* xattrs need root";
  char v[8] = {};
  ASSERT_EQ(::lgetxattr((layer_ + "/var/cache").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
}

TEST_F(UnpackTest, RepeatedDirectoryTakesLastMetadata) {
  TarEntry first = dir("d", 0700);
  first.mtime = 1000;
  TarEntry last = dir("d", 0751);
  last.mtime = 2000;
  auto r = unpack(tar({first, file("d/f", "x"), last}));
  ASSERT_TRUE(r.ok()) << r.error().message();
  struct stat st = lstat_of("d");
  EXPECT_EQ(st.st_mode & 07777, 0751u);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000);
}

// OCI image-spec: whiteouts apply to lower layers only, never to what the
// same layer holds at that name, before or after the whiteout entry.
TEST_F(UnpackTest, WhiteoutKeepsSameLayerEntries) {
  auto r = unpack(tar({dir("a"), file("a/x", "1"), file("a/.wh.x", ""), file("a/.wh.y", ""),
                       file("a/y", "2"), dir("a/sub"), file("a/sub/k", "k"), file("a/.wh.sub", "")}));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*fs::read_file(layer_ + "/a/x"), "1");
  EXPECT_EQ(*fs::read_file(layer_ + "/a/y"), "2");
  EXPECT_EQ(*fs::read_file(layer_ + "/a/sub/k"), "k");
  if (::geteuid() != 0) GTEST_SKIP() << "trusted.* xattrs need root";
  char v[4] = {};
  EXPECT_EQ(::lgetxattr((layer_ + "/a/sub").c_str(), "trusted.overlay.opaque", v, sizeof v), 1)
      << "the lower a/sub's children stay hidden";
}

TEST_F(UnpackTest, XattrsKeptButOverlayXattrsNotForgeable) {
  TarEntry f = file("f", "data");
  f.xattrs = {{"user.note", "hello"}};
  TarEntry d = dir("d");
  d.xattrs = {{"trusted.overlay.opaque", "y"}, {"trusted.overlay.redirect", "/etc"}};
  auto r = unpack(tar({f, d}));
  ASSERT_TRUE(r.ok()) << r.error().message();
  char v[16] = {};
  ssize_t n = ::lgetxattr((layer_ + "/f").c_str(), "user.note", v, sizeof v);
  if (n < 0 && errno == ENOTSUP) GTEST_SKIP() << "no user xattrs on this filesystem";
  EXPECT_EQ(std::string(v, static_cast<size_t>(std::max<ssize_t>(n, 0))), "hello");
  EXPECT_LT(::lgetxattr((layer_ + "/d").c_str(), "trusted.overlay.opaque", v, sizeof v), 0);
  EXPECT_LT(::lgetxattr((layer_ + "/d").c_str(), "trusted.overlay.redirect", v, sizeof v), 0);
}

TEST_F(UnpackTest, FifoAllowedDeviceNodesOnlyWithFlag) {
  TarEntry fifo;
  fifo.path = "run/fifo";
  fifo.type = AE_IFIFO;
  fifo.perm = 0600;
  TarEntry null_dev;
  null_dev.path = "dev/null";
  null_dev.type = AE_IFCHR;
  null_dev.perm = 0666;
  null_dev.rdev = makedev(1, 3);

  auto refused = unpack(tar({fifo, null_dev}));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("dev/null"), std::string::npos)
      << refused.error().message();
  EXPECT_NE(refused.error().message().find("sha256:testlayer"), std::string::npos);
  EXPECT_FALSE(fs::exists(layer_ + "/dev/null"));
  EXPECT_TRUE(S_ISFIFO(lstat_of("run/fifo").st_mode));

  if (::geteuid() != 0) GTEST_SKIP() << "mknod of real devices needs root";
  ASSERT_TRUE(fs::remove_all(layer_).ok());
  ASSERT_EQ(::mkdir(layer_.c_str(), 0755), 0);
  UnpackOptions opts;
  opts.allow_devices = true;
  auto allowed = unpack(tar({null_dev}), opts);
  ASSERT_TRUE(allowed.ok()) << allowed.error().message();
  EXPECT_EQ(lstat_of("dev/null").st_rdev, makedev(1, 3));
}

TEST_F(UnpackTest, GarbageAndTruncatedStreamsFailNamingTheLayer) {
  auto garbage = unpack(std::string(5000, 'z'));
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message().find("sha256:testlayer"), std::string::npos);

  // Found by the fuzzer: a gzip stream of zero blocks cut short, for which
  // libarchive sets no error string.
  const unsigned char cut[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x63, 0x60,
                               0x18, 0x05, 0xa3, 0x60, 0x14, 0x74, 0xef, 0x00, 0x04, 0x00, 0x00};
  auto no_message = unpack(std::string(reinterpret_cast<const char*>(cut), sizeof cut));
  ASSERT_FALSE(no_message.ok());
  EXPECT_NE(no_message.error().message().find("sha256:testlayer"), std::string::npos);

  std::string gz = compress(tar({file("f", std::string(100000, 'q'))}), Compression::kGzip);
  auto truncated = unpack(gz.substr(0, gz.size() / 2));
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().message().find("sha256:testlayer"), std::string::npos)
      << truncated.error().message();
}

// Hostile layers, under both path resolution strategies.
class HostileLayer : public UnpackTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    UnpackTest::SetUp();
    force_openat2_fallback_for_testing(GetParam());
  }
  void expect_rejected(const std::vector<TarEntry>& entries, const std::string& entry_name) {
    auto r = unpack(tar(entries));
    ASSERT_FALSE(r.ok()) << "hostile layer accepted";
    EXPECT_NE(r.error().message().find("entry " + entry_name), std::string::npos)
        << r.error().message();
    EXPECT_NE(r.error().message().find("sha256:testlayer"), std::string::npos);
    expect_nothing_outside();
  }
};

TEST_P(HostileLayer, DotDotEscape) { expect_rejected({file("../escape", "x")}, "../escape"); }

TEST_P(HostileLayer, DotDotInsideOutsidePath) {
  expect_rejected({file("ok", "1"), file("a/../../outside/x", "x")}, "a/../../outside/x");
}

TEST_P(HostileLayer, AbsoluteDotDot) {
  expect_rejected({file("/abs/../../x", "x")}, "/abs/../../x");
}

TEST_P(HostileLayer, WriteThroughSymlinkToRoot) {
  // a -> / then a/<path of the sentinel>/x: following it would land in the sentinel.
  std::string rel = outside_.substr(1) + "/x";
  expect_rejected({symlink("a", "/"), file("a/" + rel, "x")}, "a/" + rel);
}

TEST_P(HostileLayer, WriteThroughSymlinkDotDotChain) {
  expect_rejected({symlink("b", ".."), symlink("c", "b/.."), dir("d"), symlink("d/e", "../c"),
                   file("d/e/outside/x", "x")},
                  "d/e/outside/x");
  expect_nothing_outside();
}

TEST_P(HostileLayer, DirectoryThroughSymlink) {
  expect_rejected({symlink("b", "../outside"), dir("b/sub")}, "b/sub");
}

TEST_P(HostileLayer, HardlinkToHostFile) {
  expect_rejected({hardlink("passwd", "/etc/passwd")}, "passwd");
}

TEST_P(HostileLayer, HardlinkDotDotToOutside) {
  ASSERT_TRUE(fs::write_file_atomic(outside_ + "/secret", "s").ok());
  auto r = unpack(tar({hardlink("stolen", "../outside/secret")}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("entry stolen"), std::string::npos) << r.error().message();
  struct stat st;
  ASSERT_EQ(::stat((outside_ + "/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_FALSE(fs::exists(layer_ + "/stolen"));
}

TEST_P(HostileLayer, HardlinkThroughSymlink) {
  ASSERT_TRUE(fs::write_file_atomic(outside_ + "/secret", "s").ok());
  auto r = unpack(tar({symlink("s", outside_), hardlink("stolen", "s/secret")}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("entry stolen"), std::string::npos) << r.error().message();
  struct stat st;
  ASSERT_EQ(::stat((outside_ + "/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
}

TEST_P(HostileLayer, FileReplacesSymlinkToOutside) {
  // The later regular file must replace the symlink itself, not write through it.
  auto r = unpack(tar({symlink("f", outside_ + "/victim"), file("f", "mine")}));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(S_ISREG(lstat_of("f").st_mode));
  EXPECT_EQ(*fs::read_file(layer_ + "/f"), "mine");
  expect_nothing_outside();
}

TEST_P(HostileLayer, WhiteoutThroughSymlink) {
  ASSERT_TRUE(fs::write_file_atomic(outside_ + "/keep", "k").ok());
  auto r = unpack(tar({symlink("s", outside_), file("s/.wh.keep", "")}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("entry s/.wh.keep"), std::string::npos);
  EXPECT_EQ(*fs::read_file(outside_ + "/keep"), "k");
}

INSTANTIATE_TEST_SUITE_P(Resolution, HostileLayer, ::testing::Values(false, true),
                         [](const auto& info) {
                           return std::string(info.param ? "component_walk" : "openat2");
                         });

}  // namespace
}  // namespace crid::image
