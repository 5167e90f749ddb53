#include "image/manifest.h"

#include <gtest/gtest.h>

#include "image/digest.h"

namespace crid::image {
namespace {

std::string d(char c) { return "sha256:" + std::string(64, c); }

std::string docker_manifest() {
  return R"({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 100, "digest": ")" +
         d('a') + R"("},
    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 10, "digest": ")" +
         d('b') + R"("},
               {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 20, "digest": ")" +
         d('c') + R"("}]})";
}

std::string oci_index() {
  auto entry = [](char c, const char* arch, const char* variant) {
    std::string v = *variant ? std::string(R"(, "variant": ")") + variant + "\"" : "";
    return R"({"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 5, "digest": ")" + d(c) +
           R"(", "platform": {"os": "linux", "architecture": ")" + arch + "\"" + v + "}}";
  };
  return R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [)" +
         entry('1', "amd64", "") + "," + entry('2', "arm64", "v8") + "," + entry('3', "s390x", "") + "," +
         entry('4', "arm", "v7") + "]}";
}

TEST(Manifest, ParsesDockerSchema2) {
  auto m = parse_manifest(docker_manifest(), "application/vnd.docker.distribution.manifest.v2+json", 1 << 20);
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_FALSE(m->is_index);
  EXPECT_EQ(m->config.digest, d('a'));
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[1].digest, d('c'));
  EXPECT_EQ(m->layers[1].size, 20);
}

TEST(Manifest, ParsesOciManifestWithoutMediaTypeByShape) {
  std::string body = R"({"schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
    "size": 3, "digest": ")" + d('a') + R"("}, "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
    "size": 3, "digest": ")" + d('b') + R"("}]})";
  auto m = parse_manifest(body, "application/octet-stream", 1 << 20);
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->media_type, media::kOciManifest);
  EXPECT_EQ(m->layers.size(), 1u);
}

TEST(Manifest, IndexAndPlatformSelection) {
  auto m = parse_manifest(oci_index(), "", 1 << 20);
  ASSERT_TRUE(m.ok()) << m.error().message();
  ASSERT_TRUE(m->is_index);
  EXPECT_EQ(m->manifests.size(), 4u);
  EXPECT_EQ(select_platform(*m, {"linux", "amd64", ""})->digest, d('1'));
  EXPECT_EQ(select_platform(*m, {"linux", "arm64", "v8"})->digest, d('2'));
  EXPECT_EQ(select_platform(*m, {"linux", "arm64", ""})->digest, d('2'));
  EXPECT_EQ(select_platform(*m, {"linux", "s390x", ""})->digest, d('3'));
  EXPECT_EQ(select_platform(*m, {"linux", "arm", "v7"})->digest, d('4'));
  auto none = select_platform(*m, {"linux", "riscv64", ""});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(none.error().message().find("linux/s390x"), std::string::npos);
}

TEST(Manifest, MachineNamesMapToGoArch) {
  EXPECT_EQ(platform_from_machine("x86_64"), (Platform{"linux", "amd64", ""}));
  EXPECT_EQ(platform_from_machine("aarch64"), (Platform{"linux", "arm64", "v8"}));
  EXPECT_EQ(platform_from_machine("armv7l"), (Platform{"linux", "arm", "v7"}));
  EXPECT_EQ(platform_from_machine("i686").architecture, "386");
  EXPECT_EQ(platform_from_machine("s390x").architecture, "s390x");
  EXPECT_EQ(host_platform().os, "linux");
}


TEST(Manifest, RefusesSchema1) {
  auto m = parse_manifest(R"({"schemaVersion": 1, "name": "x", "fsLayers": []})", "", 1 << 20);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("schema1 manifests are not supported"), std::string::npos);
  auto signed_ct = parse_manifest(R"({"schemaVersion": 2})",
                                  "application/vnd.docker.distribution.manifest.v1+prettyjws", 1 << 20);
  ASSERT_FALSE(signed_ct.ok());
  EXPECT_NE(signed_ct.error().message().find("schema1"), std::string::npos);
}

TEST(Manifest, RefusesOversizeUnknownAndMalformed) {
  auto big = parse_manifest(docker_manifest(), "", 100);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message().find("max_manifest_bytes"), std::string::npos);

  std::string helm = R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "size": 1, "digest": ")" + d('a') +
                     R"("}, "layers": []})";
  auto h = parse_manifest(helm, "", 1 << 20);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message().find("helm"), std::string::npos);

  std::string bad_digest = docker_manifest();
  bad_digest.replace(bad_digest.find(d('b')), 71, "sha256:xyz");
  auto b = parse_manifest(bad_digest, "", 1 << 20);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message().find("layers[0]"), std::string::npos);

  EXPECT_FALSE(parse_manifest("not json", "", 1 << 20).ok());
  EXPECT_FALSE(parse_manifest("[]", "", 1 << 20).ok());
  EXPECT_FALSE(parse_manifest(R"({"schemaVersion": 2, "mediaType": "text/plain"})", "", 1 << 20).ok());
  // Content-Type and document disagreeing is refused.
  EXPECT_FALSE(parse_manifest(docker_manifest(), std::string(media::kOciIndex), 1 << 20).ok());
  std::string weird_layer = docker_manifest();
  weird_layer.replace(weird_layer.find("rootfs.diff.tar.gzip"), 20, "foreign.diff.tar.gzip");
  EXPECT_FALSE(parse_manifest(weird_layer, "", 1 << 20).ok());
}

// Hostile registry: a manifest small enough for max_manifest_bytes but
// listing more layers than overlayfs could ever stack.
TEST(Manifest, RefusesMoreLayersThanTheCap) {
  auto with_layers = [](size_t n) {
    std::string layers;
    for (size_t i = 0; i < n; ++i) {
      if (i) layers += ",";
      layers += R"({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 1, "digest": ")" +
                d('b') + "\"}";
    }
    return R"({"schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
      "size": 3, "digest": ")" + d('a') + R"("}, "layers": [)" + layers + "]}";
  };
  auto at_cap = parse_manifest(with_layers(kMaxLayers), "", 4 << 20);
  ASSERT_TRUE(at_cap.ok()) << at_cap.error().message();
  EXPECT_EQ(at_cap->layers.size(), kMaxLayers);
  auto over = parse_manifest(with_layers(kMaxLayers + 1), "", 4 << 20);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(over.error().message().find("layers"), std::string::npos) << over.error().message();
}

TEST(Digest, Sha256MatchesKnownVectors) {
  EXPECT_EQ(sha256_digest(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 h;
  h.update("ab", 2);
  h.update("c", 1);
  EXPECT_EQ(h.finish(), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace crid::image
