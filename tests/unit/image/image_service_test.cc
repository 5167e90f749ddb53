// The service facade: lookups by any name, removal semantics, pinning.
#include "pull_fixture.h"

namespace crid::image {
namespace {

class ImageServiceTest : public PullTest {
 protected:
  void pull_two_tags() {
    img_ = push_image(reg_, "app", "v1", {"svc-layer"});
    ASSERT_TRUE(service_->pull(img_.ref, {}).ok());
    // The same image under a second tag.
    auto again = push_image(reg_, "app", "stable", {"svc-layer"});
    ASSERT_EQ(again.config_digest, img_.config_digest);
    ASSERT_TRUE(service_->pull(again.ref, {}).ok());
  }
  FakeRegistry reg_;
  PushedImage img_;
};

TEST_F(ImageServiceTest, StatusFindsByTagShortNameIdPrefixAndDigest) {
  cfg_.unqualified_search_registries = {reg_.host()};
  start({reg_.host()});
  pull_two_tags();
  std::string hex = img_.config_digest.substr(7);
  for (std::string ref : {img_.ref, std::string("app:v1"), img_.config_digest, hex, hex.substr(0, 12),
                          reg_.host() + "/app@" + img_.manifest_digest}) {
    auto rec = service_->status(ref);
    ASSERT_TRUE(rec) << ref;
    EXPECT_EQ(rec->id, img_.config_digest) << ref;
  }
  EXPECT_FALSE(service_->status("app:v2"));
  EXPECT_FALSE(service_->status("sha256:" + std::string(64, 'f')));
  EXPECT_FALSE(service_->status(""));
  EXPECT_EQ(service_->list().size(), 1u);
  EXPECT_FALSE(service_->status("app"));  // app:latest was never pulled
}

TEST_F(ImageServiceTest, RemovingATagKeepsTheImageUntilItsLastName) {
  cfg_.unqualified_search_registries = {reg_.host()};
  start({reg_.host()});
  pull_two_tags();
  ASSERT_EQ(service_->status(img_.config_digest)->repo_tags.size(), 2u);
  ASSERT_TRUE(service_->remove("app:v1").ok());
  auto rec = service_->status(img_.config_digest);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->repo_tags, std::vector<std::string>{reg_.host() + "/app:stable"});
  EXPECT_EQ(layers_->count(), 1u);
  ASSERT_TRUE(service_->remove("app:stable").ok());
  EXPECT_FALSE(service_->status(img_.config_digest));
  EXPECT_EQ(layers_->count(), 0u);
  // CRI: removing what is not there succeeds.
  EXPECT_TRUE(service_->remove("app:stable").ok());
  EXPECT_TRUE(service_->remove(img_.config_digest).ok());
}

TEST_F(ImageServiceTest, RemovingByIdOrDigestDropsEveryName) {
  start({reg_.host()});
  pull_two_tags();
  ASSERT_TRUE(service_->remove(reg_.host() + "/app@" + img_.manifest_digest).ok());
  EXPECT_TRUE(service_->list().empty());
  pull_two_tags();
  ASSERT_TRUE(service_->remove(img_.config_digest).ok());
  EXPECT_TRUE(service_->list().empty());
}

TEST_F(ImageServiceTest, PinnedImagesFromConfig) {
  cfg_.unqualified_search_registries = {reg_.host()};
  cfg_.pinned_images = {"app:v1"};
  start({reg_.host()});
  img_ = push_image(reg_, "app", "v1", {"pinned-layer"});
  auto other = push_image(reg_, "other", "v1", {"other-layer"});
  ASSERT_TRUE(service_->pull(img_.ref, {}).ok());
  ASSERT_TRUE(service_->pull(other.ref, {}).ok());
  EXPECT_TRUE(service_->status(img_.ref)->pinned);
  EXPECT_FALSE(service_->status(other.ref)->pinned);
  int pinned = 0;
  for (auto& r : service_->list()) pinned += r.pinned;
  EXPECT_EQ(pinned, 1);
}

TEST_F(ImageServiceTest, FsInfoReportsTheLayerStore) {
  start({reg_.host()});
  img_ = push_image(reg_, "app", "v1", {"12345"});
  ASSERT_TRUE(service_->pull(img_.ref, {}).ok());
  auto u = service_->fs_info();
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->bytes, 5);
  EXPECT_EQ(u->mountpoint, "/fake");
}

}  // namespace
}  // namespace crid::image
