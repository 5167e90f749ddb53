#include "image/layer_store.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

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

// A layer blob and the spec that describes it, chained onto `parent`.
struct TestLayer {
  std::string blob;
  LayerSpec spec;
};

TestLayer make_layer(const std::vector<TarEntry>& entries, const TestLayer* parent = nullptr,
                     Compression c = Compression::kGzip) {
  std::string raw = build_tar(entries);
  TestLayer l;
  l.blob = compress(raw, c);
  l.spec.diff_id = sha256_digest(raw);
  l.spec.compressed_digest = sha256_digest(l.blob);
  l.spec.image_ref = "test.local/img:1";
  if (parent) {
    l.spec.parent_chain_id = parent->spec.chain_id;
    l.spec.chain_id = chain_ids({parent->spec.chain_id, l.spec.diff_id}).back();
    // chain_ids() of [chain(parent), diff] equals chain(parent + this) since
    // chain(L0) = diff(L0): the first element passes through unchanged.
  } else {
    l.spec.chain_id = l.spec.diff_id;
  }
  return l;
}

class LayerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crid-layerstore-test-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    layers_dir_ = root_ + "/layers";
    auto db = store::Database::open(root_ + "/crid.db");
    ASSERT_TRUE(db.ok()) << db.error().message();
    db_ = std::move(*db);
    reopen();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    (void)fs::remove_all(root_);
  }
  void reopen() {
    store_.reset();
    auto s = LayerStore::open(layers_dir_, *db_);
    ASSERT_TRUE(s.ok()) << s.error().message();
    store_ = std::move(*s);
  }
  Result<LayerInfo> create(const TestLayer& l) {
    UniqueFd fd(blob_fd(l.blob));
    return store_->create(fd.get(), l.spec);
  }
  std::set<std::string> layer_dir_entries() {
    std::set<std::string> out;
    for (auto& e : stdfs::directory_iterator(layers_dir_)) out.insert(e.path().filename());
    return out;
  }
  int64_t rows() {
    auto st = db_->prepare("SELECT COUNT(*) FROM layers");
    EXPECT_TRUE(st.ok());
    EXPECT_TRUE(*st->step());
    return st->integer(0);
  }
  static std::string hex(const std::string& digest) { return digest.substr(7); }

  std::string root_, layers_dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<LayerStore> store_;
};

TEST(ChainIds, FollowOciDefinition) {
  std::string a = sha256_digest("a"), b = sha256_digest("b"), c = sha256_digest("c");
  auto ids = chain_ids({a, b, c});
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], a);
  EXPECT_EQ(ids[1], sha256_digest(a + " " + b));
  EXPECT_EQ(ids[2], sha256_digest(ids[1] + " " + c));
  EXPECT_TRUE(chain_ids({}).empty());
}

TEST(MountpointOf, LongestPrefixOnComponentBoundary) {
  std::string mi =
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
      "30 22 0:25 / /var rw shared:2 - ext4 /dev/sda2 rw\n"
      "31 30 0:26 / /var/lib/crid\\040data rw shared:3 - xfs /dev/sdb rw\n"
      "32 22 0:27 / /var/li rw shared:4 - tmpfs tmpfs rw\n";
  EXPECT_EQ(mountpoint_of(mi, "/var/lib/crid data/layers"), "/var/lib/crid data");
  EXPECT_EQ(mountpoint_of(mi, "/var/lib/other"), "/var");
  EXPECT_EQ(mountpoint_of(mi, "/var"), "/var");
  EXPECT_EQ(mountpoint_of(mi, "/home/x"), "/");
  EXPECT_EQ(mountpoint_of("garbage\n\n", "/x"), "");
}

TEST_F(LayerStoreTest, CreateRefcountAndReleaseRemovesDirAndRow) {
  TestLayer bottom = make_layer({dir("etc"), file("etc/os-release", "ID=test\n")});
  TestLayer top = make_layer({file("etc/motd", "hi")}, &bottom, Compression::kZstd);

  auto b = create(bottom);
  ASSERT_TRUE(b.ok()) << b.error().message();
  EXPECT_EQ(b->size, 8);
  EXPECT_TRUE(store_->has(bottom.spec.chain_id));
  EXPECT_EQ(*store_->refcount(bottom.spec.chain_id), 0);
  auto t = create(top);
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->parent_chain_id, bottom.spec.chain_id);
  EXPECT_EQ(*store_->refcount(bottom.spec.chain_id), 1) << "a child holds its parent";
  EXPECT_EQ(*fs::read_file(store_->diff_dir(top.spec.chain_id) + "/etc/motd"), "hi");

  // Creating again is a no-op returning the record.
  auto again = create(top);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->diff_id, top.spec.diff_id);
  EXPECT_EQ(*store_->refcount(bottom.spec.chain_id), 1);

  auto lowers = store_->lower_dirs(top.spec.chain_id);
  ASSERT_TRUE(lowers.ok()) << lowers.error().message();
  ASSERT_EQ(lowers->size(), 2u);
  EXPECT_EQ(stdfs::canonical((*lowers)[0]), stdfs::canonical(store_->diff_dir(top.spec.chain_id)));
  EXPECT_EQ(stdfs::canonical((*lowers)[1]), stdfs::canonical(store_->diff_dir(bottom.spec.chain_id)));
  EXPECT_TRUE((*lowers)[0].starts_with(layers_dir_ + "/l/"));

  // An image holds both; releasing the image's hold on the top removes it
  // and drops the child's hold on the bottom.
  ASSERT_TRUE(store_->add_ref(bottom.spec.chain_id).ok());
  ASSERT_TRUE(store_->add_ref(top.spec.chain_id).ok());
  ASSERT_TRUE(store_->release(top.spec.chain_id).ok());
  EXPECT_FALSE(store_->has(top.spec.chain_id));
  EXPECT_FALSE(fs::exists(layers_dir_ + "/" + hex(top.spec.chain_id)));
  EXPECT_EQ(*store_->refcount(bottom.spec.chain_id), 1);
  EXPECT_EQ(std::distance(stdfs::directory_iterator(layers_dir_ + "/l"), stdfs::directory_iterator()), 1)
      << "only the bottom's short link is left";

  ASSERT_TRUE(store_->release(bottom.spec.chain_id).ok());
  EXPECT_FALSE(store_->has(bottom.spec.chain_id));
  EXPECT_EQ(rows(), 0);
  EXPECT_EQ(layer_dir_entries(), std::set<std::string>{"l"});
  EXPECT_TRUE(stdfs::is_empty(layers_dir_ + "/l"));
  EXPECT_EQ(store_->release(bottom.spec.chain_id).error().kind(), ErrorKind::kNotFound);
}

TEST_F(LayerStoreTest, ParentCannotGoWhileChildReferencesIt) {
  TestLayer bottom = make_layer({file("a", "1")});
  TestLayer top = make_layer({file("b", "2")}, &bottom);
  ASSERT_TRUE(create(bottom).ok());
  ASSERT_TRUE(store_->add_ref(bottom.spec.chain_id).ok());
  ASSERT_TRUE(create(top).ok());
  ASSERT_TRUE(store_->add_ref(top.spec.chain_id).ok());
  ASSERT_TRUE(store_->release(bottom.spec.chain_id).ok());
  EXPECT_TRUE(store_->has(bottom.spec.chain_id));
  EXPECT_TRUE(fs::exists(store_->diff_dir(bottom.spec.chain_id) + "/a"));
  ASSERT_TRUE(store_->release(top.spec.chain_id).ok());
  EXPECT_FALSE(store_->has(bottom.spec.chain_id));
  EXPECT_EQ(rows(), 0);
}

TEST_F(LayerStoreTest, DiffIdMismatchFailsAndLeavesNothing) {
  TestLayer l = make_layer({file("a", "1")});
  l.spec.diff_id = sha256_digest("something else");
  l.spec.chain_id = l.spec.diff_id;
  auto r = create(l);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("expected diff id " + l.spec.diff_id), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("test.local/img:1"), std::string::npos);
  EXPECT_FALSE(store_->has(l.spec.chain_id));
  EXPECT_EQ(layer_dir_entries(), std::set<std::string>{"l"}) << "temporary dir removed";
  EXPECT_EQ(rows(), 0);
}

TEST_F(LayerStoreTest, GivenUpPullStopsUnpackingAndLeavesNothing) {
  TestLayer l = make_layer({file("a", "1"), file("b", "2"), file("c", "3")});
  l.spec.cancelled = [] { return true; };
  auto r = create(l);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kCancelled) << r.error().message();
  EXPECT_NE(r.error().message().find(l.spec.compressed_digest), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("test.local/img:1"), std::string::npos) << r.error().message();
  EXPECT_FALSE(store_->has(l.spec.chain_id));
  EXPECT_EQ(layer_dir_entries(), std::set<std::string>{"l"}) << "temporary dir removed";
  EXPECT_EQ(rows(), 0);

  // A caller still waiting: the same layer goes in.
  l.spec.cancelled = [] { return false; };
  ASSERT_TRUE(create(l).ok());
  EXPECT_TRUE(store_->has(l.spec.chain_id));
}

TEST_F(LayerStoreTest, HostileLayerFailsNamingEntryAndLeavesNothing) {
  TestLayer l = make_layer({file("ok", "1"), file("../../escape", "x")});
  auto r = create(l);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("entry ../../escape"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find(l.spec.compressed_digest), std::string::npos);
  EXPECT_EQ(layer_dir_entries(), std::set<std::string>{"l"});
  EXPECT_FALSE(fs::exists(root_ + "/escape"));
}

TEST_F(LayerStoreTest, MissingParentAndBadIdsRefused) {
  TestLayer bottom = make_layer({file("a", "1")});
  TestLayer top = make_layer({file("b", "2")}, &bottom);
  auto r = create(top);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kFailedPrecondition);
  TestLayer bad = bottom;
  bad.spec.chain_id = "sha256:../../etc";
  EXPECT_EQ(create(bad).error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(layer_dir_entries(), std::set<std::string>{"l"});
}

TEST_F(LayerStoreTest, OpenRemovesCrashLeftovers) {
  TestLayer kept = make_layer({file("kept", "k")});
  TestLayer unreferenced = make_layer({file("u", "u")});
  ASSERT_TRUE(create(kept).ok());
  ASSERT_TRUE(store_->add_ref(kept.spec.chain_id).ok());
  ASSERT_TRUE(create(unreferenced).ok());

  // A crash mid-unpack, a crash between rename and row, a stray short link.
  ASSERT_TRUE(fs::make_dirs(layers_dir_ + "/tmp-abc123/diff/usr").ok());
  ASSERT_TRUE(fs::write_file_atomic(layers_dir_ + "/tmp-abc123/diff/usr/x", "x").ok());
  std::string orphan = layers_dir_ + "/" + std::string(64, 'e');
  ASSERT_TRUE(fs::make_dirs(orphan + "/diff").ok());
  ASSERT_EQ(::symlink(("../" + std::string(64, 'e') + "/diff").c_str(),
                      (layers_dir_ + "/l/STRAYLINK").c_str()), 0);

  reopen();
  EXPECT_EQ(layer_dir_entries(), (std::set<std::string>{"l", hex(kept.spec.chain_id)}));
  EXPECT_TRUE(store_->has(kept.spec.chain_id));
  EXPECT_FALSE(store_->has(unreferenced.spec.chain_id)) << "unreferenced layers pruned at open";
  EXPECT_FALSE(fs::exists(layers_dir_ + "/l/STRAYLINK"));
  auto lowers = store_->lower_dirs(kept.spec.chain_id);
  ASSERT_TRUE(lowers.ok());
  EXPECT_EQ(*fs::read_file((*lowers)[0] + "/kept"), "k");
}

TEST_F(LayerStoreTest, ConcurrentCreateOfSameChainIsSafe) {
  std::string big(2 << 20, 'z');
  TestLayer l = make_layer({dir("d"), file("d/big", big), file("d/small", "s")});
  std::vector<Result<LayerInfo>> results(2, Result<LayerInfo>(Error(ErrorKind::kInternal, "unset")));
  std::thread t1([&] { results[0] = create(l); });
  std::thread t2([&] { results[1] = create(l); });
  t1.join();
  t2.join();
  ASSERT_TRUE(results[0].ok()) << results[0].error().message();
  ASSERT_TRUE(results[1].ok()) << results[1].error().message();
  EXPECT_EQ(results[0]->chain_id, results[1]->chain_id);
  EXPECT_EQ(results[0]->size, results[1]->size);
  EXPECT_EQ(rows(), 1);
  EXPECT_EQ(layer_dir_entries(), (std::set<std::string>{"l", hex(l.spec.chain_id)}));
  EXPECT_EQ(fs::read_file(store_->diff_dir(l.spec.chain_id) + "/d/big")->size(), big.size());
}

TEST_F(LayerStoreTest, UsageCountsBytesInodesAndMountpoint) {
  ASSERT_TRUE(create(make_layer({dir("d"), file("d/f", std::string(100000, 'x'))})).ok());
  auto u = store_->usage();
  ASSERT_TRUE(u.ok()) << u.error().message();
  EXPECT_GE(u->bytes, 100000);
  EXPECT_GE(u->inodes, 5);  // layer dir, diff, d, d/f, link file, l, short link
  ASSERT_FALSE(u->mountpoint.empty());
  std::string real = stdfs::canonical(layers_dir_);
  EXPECT_TRUE(real.starts_with(u->mountpoint)) << u->mountpoint;
  struct stat a, b;
  ASSERT_EQ(::stat(u->mountpoint.c_str(), &a), 0);
  ASSERT_EQ(::stat(real.c_str(), &b), 0);
  EXPECT_EQ(a.st_dev, b.st_dev) << "same filesystem";
}

// The real kernel's overlayfs reads the unpacked layers: whiteouts hide,
// opaque dirs hide everything below.
TEST_F(LayerStoreTest, OverlayMountOfThreeLayerChain) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting overlay needs root";
  TestLayer l1 = make_layer({dir("etc"), file("etc/passwd", "root:x:0:0\n"), file("etc/hosts", "h"),
                             dir("var"), dir("var/cache"), file("var/cache/old", "o")});
  TestLayer l2 = make_layer({dir("etc"), file("etc/group", "g"), dir("var"), dir("var/cache"),
                             file("var/cache/mid", "m")},
                            &l1);
  TestLayer l3 = make_layer({dir("etc"), file("etc/.wh.passwd", ""), dir("var"), dir("var/cache"),
                             file("var/cache/.wh..wh..opq", ""), file("var/cache/new", "n")},
                            &l2);
  for (auto* l : {&l1, &l2, &l3}) ASSERT_TRUE(create(*l).ok());
  auto lowers = store_->lower_dirs(l3.spec.chain_id);
  ASSERT_TRUE(lowers.ok());
  std::string opts = "lowerdir=";
  for (size_t i = 0; i < lowers->size(); ++i) opts += (i ? ":" : "") + (*lowers)[i];
  std::string merged = root_ + "/merged";
  ASSERT_EQ(::mkdir(merged.c_str(), 0755), 0);
  if (::mount("overlay", merged.c_str(), "overlay", MS_RDONLY, opts.c_str()) != 0)
    GTEST_SKIP() << "overlay mount unavailable here: " << std::strerror(errno);
  std::set<std::string> etc, cache;
  for (auto& e : stdfs::directory_iterator(merged + "/etc")) etc.insert(e.path().filename());
  for (auto& e : stdfs::directory_iterator(merged + "/var/cache")) cache.insert(e.path().filename());
  std::string hosts = fs::read_file(merged + "/etc/hosts").ok() ? *fs::read_file(merged + "/etc/hosts") : "";
  ::umount2(merged.c_str(), MNT_DETACH);
  EXPECT_EQ(etc, (std::set<std::string>{"group", "hosts"}));
  EXPECT_EQ(cache, std::set<std::string>{"new"});
  EXPECT_EQ(hosts, "h");
}

}  // namespace
}  // namespace crid::image
