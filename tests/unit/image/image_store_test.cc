#include "image/image_store.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tar_builder.h"
#include "util/fs.h"
#include "util/unique_fd.h"

namespace crid::image {
namespace {

using namespace crid::image::testing;

std::string id_with_prefix(const std::string& prefix) {
  return "sha256:" + prefix + std::string(64 - prefix.size(), '0');
}

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crid-imagestore-test-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    auto db = store::Database::open(root_ + "/crid.db");
    ASSERT_TRUE(db.ok()) << db.error().message();
    db_ = std::move(*db);
    reopen();
  }
  void TearDown() override {
    images_.reset();
    layers_.reset();
    db_.reset();
    (void)fs::remove_all(root_);
  }
  void reopen() {
    images_.reset();
    layers_.reset();
    auto l = LayerStore::open(root_ + "/layers", *db_);
    ASSERT_TRUE(l.ok()) << l.error().message();
    layers_ = std::move(*l);
    auto i = ImageStore::open(*db_, *layers_);
    ASSERT_TRUE(i.ok()) << i.error().message();
    images_ = std::move(*i);
  }

  // Creates a chain of single-file layers; returns their chain ids, bottom first.
  std::vector<std::string> make_chain(const std::vector<std::string>& files) {
    std::vector<std::string> diffs;
    std::vector<std::string> blobs;
    for (const auto& f : files) {
      std::string raw = build_tar({file(f, f)});
      diffs.push_back(sha256_digest(raw));
      blobs.push_back(raw);
    }
    auto chains = chain_ids(diffs);
    for (size_t i = 0; i < files.size(); ++i) {
      LayerSpec spec;
      spec.chain_id = chains[i];
      spec.parent_chain_id = i ? chains[i - 1] : "";
      spec.diff_id = diffs[i];
      spec.compressed_digest = sha256_digest(blobs[i]);
      spec.image_ref = "test";
      UniqueFd fd(blob_fd(blobs[i]));
      auto r = layers_->create(fd.get(), spec);
      EXPECT_TRUE(r.ok()) << r.error().message();
    }
    return chains;
  }

  ImageRecord record(const std::string& id, std::vector<std::string> tags,
                     std::vector<std::string> digests, std::vector<std::string> chains) {
    ImageRecord r;
    r.id = id;
    r.repo_tags = std::move(tags);
    r.repo_digests = std::move(digests);
    r.chain_ids = std::move(chains);
    r.config_json = R"({"os":"linux"})";
    r.size = 42;
    return r;
  }

  std::string root_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<LayerStore> layers_;
  std::unique_ptr<ImageStore> images_;
};

TEST_F(ImageStoreTest, FindByEveryKindOfRef) {
  auto chains = make_chain({"a"});
  std::string id = id_with_prefix("feed1234");
  std::string tag = "docker.io/library/busybox:latest";
  std::string digest = "docker.io/library/busybox@" + id_with_prefix("d16e57");
  ASSERT_TRUE(images_->put(record(id, {tag}, {digest}, chains)).ok());
  ASSERT_TRUE(images_->put(record(id_with_prefix("bee"), {}, {}, {})).ok());

  for (std::string ref : {id, id.substr(7), std::string("fee"), std::string("feed12"),
                          std::string("sha256:feed"), tag, digest}) {
    auto r = images_->find(ref);
    ASSERT_TRUE(r.has_value()) << ref;
    EXPECT_EQ(r->id, id) << ref;
    EXPECT_EQ(r->repo_tags, std::vector<std::string>{tag});
    EXPECT_EQ(r->repo_digests, std::vector<std::string>{digest});
    EXPECT_EQ(r->chain_ids, chains);
    EXPECT_EQ(r->config_json, R"({"os":"linux"})");
    EXPECT_EQ(r->size, 42);
    EXPECT_GT(r->created_unix_nanos, 0);
  }
  for (std::string ref : {std::string(""), std::string("fe"), std::string("feedx"),
                          std::string("docker.io/library/busybox:other"), std::string("abc"),
                          std::string("sha256:"), std::string("FEED")})
    EXPECT_FALSE(images_->find(ref).has_value()) << ref;
}

TEST_F(ImageStoreTest, AmbiguousPrefixIsNotFound) {
  ASSERT_TRUE(images_->put(record(id_with_prefix("abc1"), {"x.io/a:1"}, {}, {})).ok());
  ASSERT_TRUE(images_->put(record(id_with_prefix("abc2"), {"x.io/b:1"}, {}, {})).ok());
  EXPECT_FALSE(images_->find("abc").has_value());
  EXPECT_EQ(images_->find("abc1")->id, id_with_prefix("abc1"));
  EXPECT_EQ(images_->find("sha256:abc2")->id, id_with_prefix("abc2"));
}

TEST_F(ImageStoreTest, PutMergesNamesAndMovesTags) {
  std::string a = id_with_prefix("aaa"), b = id_with_prefix("bbb");
  ASSERT_TRUE(images_->put(record(a, {"x.io/app:1"}, {}, {})).ok());
  ASSERT_TRUE(images_->put(record(a, {"x.io/app:stable"}, {"x.io/app@" + a}, {})).ok());
  auto ra = images_->find(a);
  EXPECT_EQ(ra->repo_tags, (std::vector<std::string>{"x.io/app:1", "x.io/app:stable"}));
  EXPECT_EQ(ra->repo_digests, std::vector<std::string>{"x.io/app@" + a});

  // "x.io/app:1" moves to b; a keeps its other names.
  ASSERT_TRUE(images_->put(record(b, {"x.io/app:1"}, {}, {})).ok());
  EXPECT_EQ(images_->find("x.io/app:1")->id, b);
  EXPECT_EQ(images_->find(a)->repo_tags, std::vector<std::string>{"x.io/app:stable"});

  // Moving a's last tag leaves a dangling image, listed with no tags.
  ASSERT_TRUE(images_->put(record(b, {"x.io/app:stable"}, {"x.io/app@" + a}, {})).ok());
  auto all = images_->list();
  ASSERT_EQ(all.size(), 2u);
  auto dangling = std::find_if(all.begin(), all.end(), [&](auto& r) { return r.id == a; });
  ASSERT_NE(dangling, all.end());
  EXPECT_TRUE(dangling->repo_tags.empty());
  EXPECT_TRUE(dangling->repo_digests.empty());
  EXPECT_EQ(images_->find(b)->repo_tags.size(), 2u);
}

TEST_F(ImageStoreTest, RemoveReleasesLayersSharedLayersStay) {
  auto base = make_chain({"base", "app"});
  auto other = make_chain({"base", "app", "extra"});  // shares the first two layers
  ASSERT_EQ(other[1], base[1]);
  std::string a = id_with_prefix("a1"), b = id_with_prefix("b1");
  ASSERT_TRUE(images_->put(record(a, {"x.io/a:1"}, {}, base)).ok());
  ASSERT_TRUE(images_->put(record(b, {"x.io/b:1"}, {}, other)).ok());

  ASSERT_TRUE(images_->remove(b).ok());
  EXPECT_FALSE(images_->find("x.io/b:1").has_value());
  EXPECT_FALSE(layers_->has(other[2]));
  EXPECT_FALSE(fs::exists(layers_->diff_dir(other[2])));
  EXPECT_TRUE(layers_->has(base[0]));
  EXPECT_TRUE(layers_->has(base[1]));

  ASSERT_TRUE(images_->remove(a.substr(7)).ok());  // bare hex works too
  EXPECT_FALSE(layers_->has(base[0]));
  EXPECT_FALSE(layers_->has(base[1]));
  EXPECT_FALSE(fs::exists(layers_->diff_dir(base[0])));
  EXPECT_TRUE(images_->list().empty());
  EXPECT_EQ(images_->remove(a).error().kind(), ErrorKind::kNotFound);
}

TEST_F(ImageStoreTest, PutWithMissingLayerStoresNothing) {
  auto chains = make_chain({"only"});
  ASSERT_TRUE(layers_->add_ref(chains[0]).ok());  // keep it across the failed put
  std::string missing = id_with_prefix("5eed");
  auto st = images_->put(record(id_with_prefix("c0"), {"x.io/c:1"}, {}, {chains[0], missing}));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find(missing), std::string::npos) << st.error().message();
  EXPECT_FALSE(images_->find("x.io/c:1").has_value());
  EXPECT_TRUE(images_->list().empty());
  EXPECT_EQ(*layers_->refcount(chains[0]), 1) << "reference taken in the rolled-back transaction";
}

TEST_F(ImageStoreTest, UntagRemovesImageWithItsLastName) {
  auto chains = make_chain({"u"});
  std::string id = id_with_prefix("0dd");
  ASSERT_TRUE(images_->put(record(id, {"x.io/u:1", "x.io/u:2"}, {}, chains)).ok());
  ASSERT_TRUE(images_->untag("x.io/u:1").ok());
  EXPECT_EQ(images_->find(id)->repo_tags, std::vector<std::string>{"x.io/u:2"});
  EXPECT_TRUE(layers_->has(chains[0]));
  ASSERT_TRUE(images_->untag("x.io/u:2").ok());
  EXPECT_FALSE(images_->find(id).has_value());
  EXPECT_FALSE(layers_->has(chains[0]));
  EXPECT_EQ(images_->untag("x.io/u:2").error().kind(), ErrorKind::kNotFound);
}

TEST_F(ImageStoreTest, RecordsAndTheirLayersSurviveReopen) {
  auto chains = make_chain({"p1", "p2"});
  std::string id = id_with_prefix("9e1");
  ASSERT_TRUE(images_->put(record(id, {"x.io/p:1"}, {}, chains)).ok());
  reopen();
  auto r = images_->find("x.io/p:1");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->chain_ids, chains);
  EXPECT_TRUE(layers_->has(chains[0]));
  EXPECT_TRUE(layers_->has(chains[1]));
  auto lowers = layers_->lower_dirs(chains[1]);
  ASSERT_TRUE(lowers.ok());
  EXPECT_EQ(*fs::read_file((*lowers)[0] + "/p2"), "p2");
}

TEST_F(ImageStoreTest, BadIdRefused) {
  EXPECT_EQ(images_->put(record("busybox", {"x.io/b:1"}, {}, {})).error().kind(),
            ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace crid::image
