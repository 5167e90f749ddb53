// The puller against a fake registry on loopback and in-memory stores.
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "pull_fixture.h"

namespace crid::image {
namespace {

using crid::testing::LoopbackHttpServer;

// A loopback port with nothing listening.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST_F(PullTest, PullsByTagIntoTheStores) {
  FakeRegistry reg;
  auto img = push_image(reg, "team/app", "v1", {"layer-zero", "layer-one-bytes"});
  start({reg.host()});
  auto id = service_->pull(img.ref, {});
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(*id, img.config_digest);
  auto rec = images_->find(*id);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->repo_tags, std::vector<std::string>{img.ref});
  EXPECT_EQ(rec->repo_digests, std::vector<std::string>{reg.host() + "/team/app@" + img.manifest_digest});
  ASSERT_EQ(rec->chain_ids.size(), 2u);
  EXPECT_EQ(layers_->content(rec->chain_ids[0]), "layer-zero");
  EXPECT_EQ(layers_->content(rec->chain_ids[1]), "layer-one-bytes");
  EXPECT_EQ(rec->size, 10 + 15);

  // Pulling again fetches no layer.
  int blob_gets = reg.server().count("/blobs/");
  ASSERT_TRUE(service_->pull(img.ref, {}).ok());
  EXPECT_EQ(reg.server().count("/blobs/"), blob_gets + 1);  // the config only
  EXPECT_EQ(layers_->creates_.load(), 2);
}

TEST_F(PullTest, PullsByDigestWithoutTagging) {
  FakeRegistry reg;
  auto img = push_image(reg, "app", "v1", {"abc"});
  start({reg.host()});
  std::string by_digest = reg.host() + "/app@" + img.manifest_digest;
  auto id = service_->pull(by_digest, {});
  ASSERT_TRUE(id.ok()) << id.error().message();
  auto rec = images_->find(by_digest);
  ASSERT_TRUE(rec);
  EXPECT_TRUE(rec->repo_tags.empty());
  // A digest that does not match the served content is refused.
  std::string wrong = reg.host() + "/app@sha256:" + std::string(64, '0');
  auto bad = service_->pull(wrong, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind(), ErrorKind::kNotFound);
}

TEST_F(PullTest, IndexPicksTheHostPlatform) {
  FakeRegistry reg;
  auto amd = push_image(reg, "multi", "", {"amd64-layer"}, "0", "amd64");
  auto s390 = push_image(reg, "multi", "", {"s390x-layer"}, "0", "s390x");
  nlohmann::json index = {{"schemaVersion", 2}, {"mediaType", std::string(media::kDockerManifestList)}};
  auto entry = [&](const PushedImage& p, const char* arch) {
    return nlohmann::json{{"mediaType", std::string(media::kDockerManifest)},
                          {"digest", p.manifest_digest},
                          {"size", 100},
                          {"platform", {{"os", "linux"}, {"architecture", arch}}}};
  };
  index["manifests"] = {entry(amd, "amd64"), entry(s390, "s390x")};
  std::string index_digest =
      reg.put_manifest("multi", "latest", index.dump(), std::string(media::kDockerManifestList));
  start({reg.host()}, {"linux", "s390x", ""});
  auto id = service_->pull(reg.host() + "/multi", {});
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(*id, s390.config_digest);
  // The repo digest is the index's: what the user can pull again.
  EXPECT_EQ(images_->find(*id)->repo_digests[0], reg.host() + "/multi@" + index_digest);
  EXPECT_EQ(reg.server().count(amd.layer_digests[0]), 0);

  start({reg.host()}, {"linux", "riscv64", ""});
  auto none = service_->pull(reg.host() + "/multi", {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("linux/riscv64"), std::string::npos);
}

TEST_F(PullTest, ConcurrentPullsOfOneImageShareOneDownload) {
  FakeRegistry reg;
  auto img = push_image(reg, "shared", "v1", {std::string(300000, 'x')});
  start({reg.host()});
  // Slow the manifest so every caller arrives while the first is in flight.
  LoopbackHttpServer slow([&](const crid::testing::HttpRequest& r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    crid::testing::HttpReply reply;
    reply.status = 307;
    reply.headers.push_back({"Location", reg.url() + r.path});
    return reply;
  });
  cfg_.registries[reg.host()].mirrors = {slow.url()};
  holder_->set(cfg_);
  std::vector<std::thread> threads;
  std::vector<Result<std::string>> results(4, Error(ErrorKind::kInternal, "not run"));
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] { results[i] = service_->pull(img.ref, {}); });
  for (auto& t : threads) t.join();
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(*r, img.config_digest);
  }
  EXPECT_EQ(service_->puller().operations_started(), 1);
  EXPECT_EQ(reg.server().count("/blobs/" + img.layer_digests[0]), 1);
}

// Counts blob downloads in flight through a mirror that pauses before
// redirecting each layer to the registry.
struct CountingMirror {
  CountingMirror(FakeRegistry& reg, std::string skip)
      : server([this, &reg, skip](const crid::testing::HttpRequest& r) {
          bool layer = r.path.find("/blobs/") != std::string::npos && r.path.find(skip) == std::string::npos;
          if (layer) {
            int now = ++in_flight;
            int seen = max_in_flight.load();
            while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            --in_flight;
          }
          crid::testing::HttpReply reply;
          reply.status = 307;
          reply.headers.push_back({"Location", reg.url() + r.path});
          return reply;
        }) {}
  std::atomic<int> in_flight{0}, max_in_flight{0};
  LoopbackHttpServer server;
};

TEST_F(PullTest, LayersDownloadInParallelUpToTheLimitAndLandBottomUp) {
  FakeRegistry reg;
  std::vector<std::string> layers;
  for (char c : {'a', 'b', 'c', 'd'}) layers.push_back(std::string(200000, c));
  auto img = push_image(reg, "wide", "v1", layers);
  CountingMirror mirror(reg, img.config_digest);
  cfg_.registries[reg.host()].mirrors = {mirror.server.url()};
  cfg_.max_concurrent_downloads = 3;
  start({reg.host()});
  auto id = service_->pull(img.ref, {});
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(layers_->count(), 4u);
  EXPECT_EQ(mirror.max_in_flight.load(), 3);
  auto rec = images_->find(*id);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(layers_->content(rec->chain_ids[i]), layers[i]);

  CountingMirror serial(reg, img.config_digest);
  cfg_.registries[reg.host()].mirrors = {serial.server.url()};
  cfg_.max_concurrent_downloads = 1;
  start({reg.host()});
  ASSERT_TRUE(service_->pull(img.ref, {}).ok());
  EXPECT_EQ(serial.max_in_flight.load(), 1);
  EXPECT_EQ(layers_->count(), 4u);
}

TEST_F(PullTest, AFailingUpperLayerLeavesNoImage) {
  FakeRegistry reg;
  auto img = push_image(reg, "upper", "v1", {"bottom", std::string(100000, 'u'), "top"});
  reg.replace_blob(img.layer_digests[1], std::string(100000, 'U'));
  cfg_.max_concurrent_downloads = 3;
  start({reg.host()});
  auto r = service_->pull(img.ref, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(img.layer_digests[1]), std::string::npos) << r.error().message();
  EXPECT_TRUE(images_->list().empty());
  // The bottom layer may have landed; nothing above the failed one did.
  EXPECT_LE(layers_->count(), 1u);
}

TEST_F(PullTest, WrongDigestLeavesNothing) {
  FakeRegistry reg;
  std::string layer(500000, 'q');
  auto img = push_image(reg, "bad", "v1", {layer});
  std::string evil = layer;
  evil[400000] = 'Q';
  reg.replace_blob(img.layer_digests[0], evil);
  start({reg.host()});
  auto r = service_->pull(img.ref, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(img.layer_digests[0]), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("content has digest"), std::string::npos) << r.error().message();
  EXPECT_EQ(layers_->count(), 0u);
  EXPECT_TRUE(images_->list().empty());
}

TEST_F(PullTest, TruncatedAndOversizedBlobsLeaveNothing) {
  FakeRegistry reg;
  std::string layer(300000, 't');
  auto img = push_image(reg, "cut", "v1", {layer});
  reg.cut_blob(img.layer_digests[0], 200000);
  start({reg.host()});
  auto r = service_->pull(img.ref, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(img.layer_digests[0]), std::string::npos) << r.error().message();
  EXPECT_EQ(layers_->count(), 0u);
  EXPECT_TRUE(images_->list().empty());

  reg.cut_blob(img.layer_digests[0], std::string::npos);
  reg.replace_blob(img.layer_digests[0], layer + "extra");
  auto big = service_->pull(img.ref, {});
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message().find("more than the"), std::string::npos) << big.error().message();
  EXPECT_EQ(layers_->count(), 0u);
}

TEST_F(PullTest, StoreFailureStopsTheDownload) {
  FakeRegistry reg;
  auto img = push_image(reg, "storefail", "v1", {std::string(4 << 20, 's')});
  start({reg.host()});
  layers_->fail_after_bytes_ = 1000;
  auto r = service_->pull(img.ref, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("fake store failure"), std::string::npos) << r.error().message();
  EXPECT_TRUE(images_->list().empty());
}

TEST_F(PullTest, MissingManifestIsNotFound) {
  FakeRegistry reg;
  start({reg.host()});
  auto r = service_->pull(reg.host() + "/nothing:here", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(r.error().message().find("manifest unknown"), std::string::npos) << r.error().message();
}

TEST_F(PullTest, UnreachableRegistryIsUnavailableNamingIt) {
  std::string host = "127.0.0.1:" + std::to_string(closed_port());
  start({host});
  auto r = service_->pull(host + "/app:v1", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kUnavailable);
  EXPECT_NE(r.error().message().find(host), std::string::npos) << r.error().message();
}

TEST_F(PullTest, BearerTokensAreFetchedAndCached) {
  FakeRegistry reg(FakeRegistry::Auth::kBearer);
  auto img = push_image(reg, "private/app", "v1", {"secret-layer"});
  start({reg.host()});
  auto id = service_->pull(img.ref, {});
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(reg.tokens_issued(), 1);
  ASSERT_TRUE(service_->pull(img.ref, {}).ok());
  EXPECT_EQ(reg.tokens_issued(), 1);
  // The token request carried service and scope.
  bool saw = false;
  for (auto& r : reg.server().requests())
    if (r.find("/token?service=fake-registry&scope=repository%3Aprivate%2Fapp%3Apull") != std::string::npos) saw = true;
  EXPECT_TRUE(saw);
}

TEST_F(PullTest, BasicAuthFromCriOrTheAuthFile) {
  FakeRegistry reg(FakeRegistry::Auth::kBasic, "alice", "s3cret");
  auto img = push_image(reg, "app", "v1", {"guarded"});
  start({reg.host()});
  auto anon = service_->pull(img.ref, {});
  ASSERT_FALSE(anon.ok());
  EXPECT_EQ(anon.error().kind(), ErrorKind::kUnauthenticated);
  EXPECT_NE(anon.error().message().find("unauthorized"), std::string::npos);

  AuthConfig wrong;
  wrong.username = "alice";
  wrong.password = "nope";
  EXPECT_EQ(service_->pull(img.ref, wrong).error().kind(), ErrorKind::kUnauthenticated);

  AuthConfig b64;
  b64.auth = "YWxpY2U6czNjcmV0";  // alice:s3cret
  ASSERT_TRUE(service_->pull(img.ref, b64).ok());

  char tmpl[] = "/tmp/crid-auth-XXXXXX";
  int fd = ::mkstemp(tmpl);
  std::string text = R"({"auths": {")" + reg.host() + R"(": {"auth": "YWxpY2U6czNjcmV0"}}})";
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
  cfg_.auth_file = tmpl;
  holder_->set(cfg_);
  ASSERT_TRUE(images_->remove(img.config_digest).ok());
  EXPECT_TRUE(service_->pull(img.ref, {}).ok());
  ::unlink(tmpl);
}

TEST_F(PullTest, MirrorsFirstThenTheOrigin) {
  FakeRegistry origin, mirror;
  auto img = push_image(origin, "mirrored", "v1", {"from-origin"});
  std::string dead = "http://127.0.0.1:" + std::to_string(closed_port());
  cfg_.registries[origin.host()].mirrors = {dead, mirror.url()};
  start({origin.host()});
  // Dead mirror, empty mirror: the origin serves.
  ASSERT_TRUE(service_->pull(img.ref, {}).ok());
  EXPECT_GE(mirror.server().count("/manifests/v1"), 1);

  // The mirror has the image and the origin is gone: the mirror serves.
  FakeRegistry mirror2;
  std::string origin_host = origin.host();
  auto copy = push_image(mirror2, "mirrored", "v2", {"from-mirror"});
  cfg_.registries[origin_host].mirrors = {mirror2.url()};
  holder_->set(cfg_);
  auto id = service_->pull(origin_host + "/mirrored:v2", {});
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(*id, copy.config_digest);
  EXPECT_EQ(origin.server().count("/manifests/v2"), 0);
}

TEST_F(PullTest, RedirectsDoNotCarryCredentialsToOtherHosts) {
  FakeRegistry reg(FakeRegistry::Auth::kBasic, "bob", "pw");
  FakeRegistry storage;  // holds the same blobs, like a CDN
  auto img = push_image(reg, "app", "v1", {"redirected-layer"});
  push_image(storage, "app", "v1", {"redirected-layer"});
  reg.redirect_blobs_to(storage.url());
  start({reg.host()});
  AuthConfig auth;
  auth.username = "bob";
  auth.password = "pw";
  ASSERT_TRUE(service_->pull(img.ref, auth).ok());
  ASSERT_GE(storage.server().count("/blobs/"), 1);
  for (auto& r : storage.server().full_requests()) EXPECT_EQ(r.header("authorization"), "") << r.path;
}

TEST_F(PullTest, StalledTransferTimesOutOnNoProgress) {
  FakeRegistry reg;
  auto img = push_image(reg, "stall", "v1", {"never-arrives"});
  LoopbackHttpServer stalled([&](const crid::testing::HttpRequest&) {
    crid::testing::HttpReply r;
    r.stall = std::chrono::seconds(5);
    r.body = "{}";
    return r;
  });
  cfg_.pull_progress_timeout = std::chrono::seconds(1);
  start({stalled.host()});
  auto r = service_->pull(stalled.host() + "/stall:v1", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kDeadlineExceeded);
  EXPECT_NE(r.error().message().find("no progress"), std::string::npos) << r.error().message();
}

TEST_F(PullTest, UnqualifiedNamesTrySearchRegistriesInOrder) {
  FakeRegistry reg;
  auto img = push_image(reg, "tools/app", "v1", {"search-layer"});
  std::string dead = "127.0.0.1:" + std::to_string(closed_port());
  cfg_.unqualified_search_registries = {dead, reg.host()};
  start({dead, reg.host()});
  auto id = service_->pull("tools/app:v1", {});
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(images_->find(*id)->repo_tags[0], reg.host() + "/tools/app:v1");
  auto none = service_->pull("tools/none:v1", {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find(dead), std::string::npos) << none.error().message();
  EXPECT_NE(none.error().message().find("manifest unknown"), std::string::npos) << none.error().message();
}

TEST_F(PullTest, ConfigAndManifestDisagreeingIsRefused) {
  FakeRegistry reg;
  nlohmann::json cfg = {{"os", "linux"}, {"rootfs", {{"type", "layers"}, {"diff_ids", {sha256_digest("a"), sha256_digest("b")}}}}};
  std::string cj = cfg.dump();
  std::string cd = reg.put_blob(cj);
  std::string ld = reg.put_blob("a");
  reg.put_manifest("odd", "v1",
                   docker_manifest_json({"", cd, static_cast<int64_t>(cj.size()), {}}, {{"", ld, 1, {}}}),
                   std::string(media::kDockerManifest));
  start({reg.host()});
  auto r = service_->pull(reg.host() + "/odd:v1", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("diff_ids"), std::string::npos) << r.error().message();
  EXPECT_EQ(layers_->count(), 0u);
}

TEST_F(PullTest, BadReferenceIsInvalidArgument) {
  start({});
  auto r = service_->pull("UPPER/case", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("UPPER/case"), std::string::npos);
}

}  // namespace
}  // namespace crid::image
