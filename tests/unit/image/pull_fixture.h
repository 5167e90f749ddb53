// Shared set-up for the puller and service unit tests: a fake registry on
// loopback, fake stores, and a helper that pushes a small image.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "fake_stores.h"
#include "image/image_service.h"
#include "integration/support/fake_registry.h"

namespace crid::image {

using crid::testing::FakeRegistry;

struct PushedImage {
  std::string manifest_digest;
  std::string config_digest;
  std::vector<std::string> layer_digests;
  std::string ref;  // host/repo:tag
};

inline std::string docker_manifest_json(const Descriptor& config, const std::vector<Descriptor>& layers) {
  nlohmann::json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = std::string(media::kDockerManifest);
  j["config"] = {{"mediaType", std::string(media::kDockerConfig)}, {"size", config.size}, {"digest", config.digest}};
  j["layers"] = nlohmann::json::array();
  for (auto& l : layers)
    j["layers"].push_back(
        {{"mediaType", "application/vnd.docker.image.rootfs.diff.tar.gzip"}, {"size", l.size}, {"digest", l.digest}});
  return j.dump();
}

inline PushedImage push_image(FakeRegistry& reg, const std::string& repo, const std::string& tag,
                              const std::vector<std::string>& layers, const std::string& user = "1000",
                              const std::string& arch = "amd64") {
  PushedImage out;
  nlohmann::json cfg;
  cfg["architecture"] = arch;
  cfg["os"] = "linux";
  cfg["config"] = {{"User", user}};
  cfg["rootfs"] = {{"type", "layers"}, {"diff_ids", nlohmann::json::array()}};
  std::vector<Descriptor> descs;
  for (auto& l : layers) {
    cfg["rootfs"]["diff_ids"].push_back(sha256_digest(l));
    std::string d = reg.put_blob(l);
    out.layer_digests.push_back(d);
    descs.push_back({"", d, static_cast<int64_t>(l.size()), {}});
  }
  std::string config_json = cfg.dump();
  out.config_digest = reg.put_blob(config_json);
  Descriptor config{"", out.config_digest, static_cast<int64_t>(config_json.size()), {}};
  out.manifest_digest =
      reg.put_manifest(repo, tag, docker_manifest_json(config, descs), std::string(media::kDockerManifest));
  out.ref = reg.host() + "/" + repo + ":" + tag;
  return out;
}

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_ = default_config();
    cfg_.pull_progress_timeout = std::chrono::seconds(2);
    // The puller spools layers under <root>/tmp: keep it in a test dir.
    char tmpl[] = "/tmp/crid-unit-image-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    cfg_.root = root_;
  }
  void TearDown() override {
    service_.reset();
    if (!root_.empty()) std::filesystem::remove_all(root_);
  }

  // Marks `host` insecure (plain http) and builds the service.
  void start(const std::vector<std::string>& insecure_hosts, Platform platform = {"linux", "amd64", ""}) {
    for (auto& h : insecure_hosts) cfg_.registries[h].insecure = true;
    holder_ = std::make_unique<ConfigHolder>(cfg_);
    auto layers = std::make_unique<FakeLayerStore>();
    layers_ = layers.get();
    auto images = std::make_unique<FakeImageStore>(*layers_);
    images_ = images.get();
    service_ = std::make_unique<ImageService>(*holder_, std::move(layers), std::move(images),
                                              fake_parse_image_config, platform);
  }

  std::string root_;
  Config cfg_;
  std::unique_ptr<ConfigHolder> holder_;
  FakeLayerStore* layers_ = nullptr;
  FakeImageStore* images_ = nullptr;
  std::unique_ptr<ImageService> service_;
};

}  // namespace crid::image
