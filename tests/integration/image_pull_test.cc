// Image pulls end to end: a real crid pulling through CRI from Debian's
// docker-registry on loopback (images built from /bin/busybox and pushed with
// skopeo), and from in-process fake registries for the failure paths a real
// registry will not produce on demand (bad digests, cut transfers, bearer
// tokens). The unpacked trees are compared byte for byte through a real
// overlay mount of the stored layers.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/crid_process.h"
#include "support/fake_registry.h"
#include "support/registry.h"
#include "support/test_images.h"

namespace crid::testing {
namespace {

namespace fsys = std::filesystem;

std::string registry_conf(const std::vector<std::string>& insecure_hosts,
                          const std::map<std::string, std::vector<std::string>>& mirrors = {},
                          const std::string& extra_image = "") {
  std::string conf = "[image]\npull_progress_timeout = \"5s\"\n" + extra_image;
  std::set<std::string> hosts(insecure_hosts.begin(), insecure_hosts.end());
  for (auto& [h, m] : mirrors) hosts.insert(h);
  for (auto& h : hosts) {
    conf += "[image.registries.\"" + h + "\"]\n";
    if (std::find(insecure_hosts.begin(), insecure_hosts.end(), h) != insecure_hosts.end())
      conf += "insecure = true\n";
    if (mirrors.count(h)) {
      conf += "mirrors = [";
      for (size_t i = 0; i < mirrors.at(h).size(); ++i) conf += (i ? ", \"" : "\"") + mirrors.at(h)[i] + "\"";
      conf += "]\n";
    }
  }
  return conf;
}

grpc::Status pull(CridProcess& crid, const std::string& ref, v1::PullImageResponse* resp,
                  const v1::AuthConfig* auth = nullptr) {
  v1::PullImageRequest req;
  req.mutable_image()->set_image(ref);
  if (auth) *req.mutable_auth() = *auth;
  return crid.images().PullImage(call_context(std::chrono::seconds(120)).get(), req, resp);
}

std::optional<v1::Image> image_status(CridProcess& crid, const std::string& ref, v1::ImageStatusResponse* out = nullptr,
                                      bool verbose = false) {
  v1::ImageStatusRequest req;
  req.mutable_image()->set_image(ref);
  req.set_verbose(verbose);
  v1::ImageStatusResponse resp;
  auto st = crid.images().ImageStatus(call_context().get(), req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  if (out) *out = resp;
  if (!resp.has_image()) return std::nullopt;
  return resp.image();
}

std::vector<std::string> chain_ids_of(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  for (auto& d : diff_ids) out.push_back(out.empty() ? d : sha256_hex_digest(out.back() + " " + d));
  return out;
}

std::string diff_dir(const CridProcess& crid, const std::string& chain_id) {
  return crid.root() + "/layers/" + chain_id.substr(7) + "/diff";
}

// The layer dirs in the store (ignoring the store's own bookkeeping entries).
std::vector<std::string> layer_dirs(const CridProcess& crid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fsys::directory_iterator(crid.root() + "/layers", ec))
    if (e.path().filename().string().size() == 64) out.push_back(e.path().filename());
  return out;
}

// Reads the tree under `dir` into the same shape as ExpectedTree.
ExpectedTree read_tree(const std::string& dir) {
  ExpectedTree t;
  for (auto it = fsys::recursive_directory_iterator(dir); it != fsys::recursive_directory_iterator(); ++it) {
    // Lexically: relative() would resolve the symlinks being inspected.
    std::string rel = it->path().lexically_relative(dir).string();
    struct stat st;
    ::lstat(it->path().c_str(), &st);
    ExpectedNode n;
    n.mode = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) n.type = 'd';
    else if (S_ISLNK(st.st_mode)) {
      n.type = 'l';
      n.content = fsys::read_symlink(it->path()).string();
      n.mode = 0;
    } else if (S_ISREG(st.st_mode)) {
      n.content = read_host_file(it->path());
    } else {
      n.type = '?';
    }
    t[rel] = n;
  }
  return t;
}

// Mounts the image's layers read-only with overlayfs and compares the
// merged view with what was built.
void expect_unpacked_tree(const CridProcess& crid, const BuiltImage& img) {
  auto chains = chain_ids_of(img.diff_ids);
  std::string lower;
  for (auto it = chains.rbegin(); it != chains.rend(); ++it) {
    ASSERT_TRUE(fsys::is_directory(diff_dir(crid, *it))) << diff_dir(crid, *it);
    lower += (lower.empty() ? "" : ":") + diff_dir(crid, *it);
  }
  TempDir mnt("crid-it-merged");
  std::string view = diff_dir(crid, chains.front());
  bool mounted = false;
  if (chains.size() > 1) {
    std::string opts = "lowerdir=" + lower;
    ASSERT_EQ(::mount("overlay", mnt.path().c_str(), "overlay", MS_RDONLY, opts.c_str()), 0)
        << "mount overlay " << opts << ": " << strerror(errno);
    mounted = true;
    view = mnt.path();
  }
  ExpectedTree got = read_tree(view);
  if (mounted) ::umount2(mnt.path().c_str(), MNT_DETACH);
  for (auto& [path, want] : img.tree) {
    auto it = got.find(path);
    ASSERT_NE(it, got.end()) << "missing " << path;
    EXPECT_EQ(it->second.type, want.type) << path;
    EXPECT_TRUE(it->second.content == want.content) << path << " differs";
    if (want.mode) EXPECT_EQ(it->second.mode, want.mode) << path;
  }
  for (auto& [path, node] : got) EXPECT_TRUE(img.tree.count(path)) << "unexpected " << path;
}

class ImagePullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CRID_REQUIRE_ROOT();
    std::string err;
    ASSERT_TRUE(registry_.start(&err)) << err;
    layout_ = std::make_unique<OciLayout>(work_.file("layout"));
  }

  // Builds busybox:<tag> (one gzip layer, User 1000) and pushes it to `host`/`repo`.
  BuiltImage push_busybox(const std::string& host, const std::string& repo, const std::string& tag,
                          const std::vector<std::string>& flags = {}) {
    BuiltImage img = layout_->add_image({busybox_layer(Compression::kGzip)}, {"linux", host_architecture(), ""},
                                        tag, "1000");
    std::string err = skopeo_push(layout_->dir(), tag, host + "/" + repo + ":" + tag, flags);
    EXPECT_EQ(err, "");
    return img;
  }

  void start_crid(const std::string& conf) {
    crid_ = std::make_unique<CridProcess>(conf);
    std::string err;
    ASSERT_TRUE(crid_->start(&err)) << err;
  }

  TempDir work_{"crid-it-images"};
  LocalRegistry registry_;
  std::unique_ptr<OciLayout> layout_;
  std::unique_ptr<CridProcess> crid_;
};

TEST_F(ImagePullTest, PullListStatusFsInfoRemoveByTag) {
  BuiltImage img = push_busybox(registry_.host(), "busybox", "1.0");
  start_crid(registry_conf({registry_.host()}));
  std::string ref = registry_.host() + "/busybox:1.0";

  v1::PullImageResponse resp;
  auto st = pull(*crid_, ref, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message() << "\n" << crid_->log();
  EXPECT_EQ(resp.image_ref(), img.config_digest);
  expect_unpacked_tree(*crid_, img);

  v1::ListImagesResponse list;
  ASSERT_TRUE(crid_->images().ListImages(call_context().get(), v1::ListImagesRequest(), &list).ok());
  ASSERT_EQ(list.images_size(), 1);
  const auto& li = list.images(0);
  EXPECT_EQ(li.id(), img.config_digest);
  ASSERT_EQ(li.repo_tags_size(), 1);
  EXPECT_EQ(li.repo_tags(0), ref);
  ASSERT_EQ(li.repo_digests_size(), 1);
  EXPECT_EQ(li.repo_digests(0), registry_.host() + "/busybox@" + img.manifest_digest);
  EXPECT_GT(li.size(), read_host_file("/bin/busybox").size());
  EXPECT_EQ(li.uid().value(), 1000);
  EXPECT_FALSE(li.pinned());

  v1::ImageStatusResponse status;
  auto si = image_status(*crid_, ref, &status, true);
  ASSERT_TRUE(si);
  EXPECT_EQ(si->id(), img.config_digest);
  ASSERT_TRUE(status.info().count("info"));
  auto info = nlohmann::json::parse(status.info().at("info"));
  EXPECT_EQ(info["imageSpec"]["config"]["User"], "1000");
  EXPECT_EQ(info["imageSpec"]["rootfs"]["diff_ids"][0], img.diff_ids[0]);
  EXPECT_TRUE(image_status(*crid_, img.config_digest));
  EXPECT_FALSE(image_status(*crid_, registry_.host() + "/busybox:2.0"));

  v1::ImageFsInfoResponse fs;
  ASSERT_TRUE(crid_->images().ImageFsInfo(call_context().get(), v1::ImageFsInfoRequest(), &fs).ok());
  ASSERT_EQ(fs.image_filesystems_size(), 1);
  EXPECT_GT(fs.image_filesystems(0).timestamp(), 0);
  EXPECT_FALSE(fs.image_filesystems(0).fs_id().mountpoint().empty());
  EXPECT_GE(fs.image_filesystems(0).used_bytes().value(), read_host_file("/bin/busybox").size());
  EXPECT_GT(fs.image_filesystems(0).inodes_used().value(), 5u);

  v1::RemoveImageRequest rm;
  rm.mutable_image()->set_image(ref);
  v1::RemoveImageResponse rm_resp;
  ASSERT_TRUE(crid_->images().RemoveImage(call_context().get(), rm, &rm_resp).ok());
  EXPECT_FALSE(image_status(*crid_, ref));
  EXPECT_TRUE(layer_dirs(*crid_).empty());
  // CRI: removing an absent image succeeds.
  auto again = crid_->images().RemoveImage(call_context().get(), rm, &rm_resp);
  EXPECT_TRUE(again.ok()) << again.error_message();
}

TEST_F(ImagePullTest, PullByDigestAndRemoveById) {
  BuiltImage img = push_busybox(registry_.host(), "pinned/busybox", "d1");
  start_crid(registry_conf({registry_.host()}, {},
                           "pinned_images = [\"" + registry_.host() + "/pinned/busybox@" + img.manifest_digest + "\"]\n"));
  std::string ref = registry_.host() + "/pinned/busybox@" + img.manifest_digest;
  v1::PullImageResponse resp;
  auto st = pull(*crid_, ref, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.image_ref(), img.config_digest);
  auto si = image_status(*crid_, ref);
  ASSERT_TRUE(si);
  EXPECT_EQ(si->repo_tags_size(), 0);
  EXPECT_TRUE(si->pinned());
  v1::RemoveImageRequest rm;
  rm.mutable_image()->set_image(img.config_digest);
  v1::RemoveImageResponse rm_resp;
  ASSERT_TRUE(crid_->images().RemoveImage(call_context().get(), rm, &rm_resp).ok());
  EXPECT_FALSE(image_status(*crid_, ref));
}

TEST_F(ImagePullTest, LayersWithWhiteoutsOpaqueDirsLinksAndEveryCompression) {
  TestLayer base = busybox_layer(Compression::kZstd);
  base.entries.push_back({LayerEntry::kDir, "data", "", "", 0755});
  base.entries.push_back({LayerEntry::kFile, "data/old", "lower file\n", "", 0600});
  base.entries.push_back({LayerEntry::kDir, "data/sub", "", "", 0755});
  base.entries.push_back({LayerEntry::kFile, "data/sub/deep", "deep\n", "", 0644});
  TestLayer middle;
  middle.compression = Compression::kNone;
  middle.entries = {
      {LayerEntry::kDir, "etc", "", "", 0755},
      {LayerEntry::kFile, "etc/.wh.passwd", "", "", 0644},
      {LayerEntry::kDir, "opt", "", "", 0755},
      {LayerEntry::kFile, "opt/original", std::string(100000, 'o'), "", 0640},
      {LayerEntry::kHardlink, "opt/hardlink", "", "opt/original", 0640},
      {LayerEntry::kSymlink, "opt/relative", "", "original"},
      {LayerEntry::kSymlink, "opt/dangling", "", "/nowhere/at/all"},
  };
  TestLayer top;
  top.compression = Compression::kGzip;
  top.entries = {
      {LayerEntry::kDir, "data", "", "", 0755},
      {LayerEntry::kFile, "data/.wh..wh..opq", "", "", 0644},
      {LayerEntry::kFile, "data/new", "upper file\n", "", 0644},
  };
  BuiltImage img = layout_->add_image({base, middle, top}, {"linux", host_architecture(), ""}, "layers");
  ASSERT_EQ(skopeo_push(layout_->dir(), "layers", registry_.host() + "/layered:layers"), "");
  ASSERT_FALSE(img.tree.count("etc/passwd"));
  ASSERT_FALSE(img.tree.count("data/old"));
  ASSERT_TRUE(img.tree.count("data/new"));

  start_crid(registry_conf({registry_.host()}));
  v1::PullImageResponse resp;
  auto st = pull(*crid_, registry_.host() + "/layered:layers", &resp);
  ASSERT_TRUE(st.ok()) << st.error_message() << "\n" << crid_->log();
  EXPECT_EQ(resp.image_ref(), img.config_digest);
  expect_unpacked_tree(*crid_, img);

  // The hardlink stayed a hardlink in the stored layer.
  auto chains = chain_ids_of(img.diff_ids);
  struct stat a, b;
  ASSERT_EQ(::stat((diff_dir(*crid_, chains[1]) + "/opt/original").c_str(), &a), 0);
  ASSERT_EQ(::stat((diff_dir(*crid_, chains[1]) + "/opt/hardlink").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST_F(ImagePullTest, IndexAndManifestListPickTheHostPlatform) {
  std::string arch = host_architecture();
  BuiltImage host_img = layout_->add_image({busybox_layer(Compression::kGzip)}, {"linux", arch, ""}, "");
  // Other platforms: tiny stand-ins (never unpacked here).
  auto tiny = [&](const std::string& a, const std::string& v) {
    TestLayer l;
    l.entries = {{LayerEntry::kFile, "arch", a, "", 0644}};
    return layout_->add_image({l}, {"linux", a, v}, "");
  };
  std::vector<std::pair<BuiltImage, Platform>> entries;
  for (auto [a, v] : std::vector<std::pair<std::string, std::string>>{{"amd64", ""}, {"arm64", "v8"}, {"s390x", ""}}) {
    if (a == arch) entries.push_back({host_img, {"linux", a, v}});
    else entries.push_back({tiny(a, v), {"linux", a, v}});
  }
  std::string index_digest = layout_->add_index(entries, "multi");
  ASSERT_EQ(skopeo_push(layout_->dir(), "multi", registry_.host() + "/multi:oci", {"--all"}), "");
  ASSERT_EQ(skopeo_push(layout_->dir(), "multi", registry_.host() + "/multi:docker",
                        {"--all", "--format", "v2s2"}), "");
  auto raw = run_command({"/usr/bin/skopeo", "inspect", "--raw", "--tls-verify=false",
                          "docker://" + registry_.host() + "/multi:docker"});
  ASSERT_NE(raw.output.find("application/vnd.docker.distribution.manifest.list.v2+json"), std::string::npos)
      << raw.output;

  start_crid(registry_conf({registry_.host()}));
  for (const char* tag : {"oci", "docker"}) {
    v1::PullImageResponse resp;
    auto st = pull(*crid_, registry_.host() + "/multi:" + tag, &resp);
    ASSERT_TRUE(st.ok()) << tag << ": " << st.error_message();
    EXPECT_EQ(resp.image_ref(), host_img.config_digest) << tag;
  }
  auto si = image_status(*crid_, registry_.host() + "/multi:oci");
  ASSERT_TRUE(si);
  bool index_named = false;
  for (auto& d : si->repo_digests()) index_named |= d == registry_.host() + "/multi@" + index_digest;
  EXPECT_TRUE(index_named);
  expect_unpacked_tree(*crid_, host_img);
}

TEST_F(ImagePullTest, MirrorsServeWhenTheOriginIsDownAndAreSkippedWhenDown) {
  LocalRegistry mirror;
  std::string err;
  ASSERT_TRUE(mirror.start(&err)) << err;
  BuiltImage img = push_busybox(mirror.host(), "library/busybox", "m1");
  push_busybox(registry_.host(), "app", "m1");
  std::string dead = "127.0.0.1:" + std::to_string(free_loopback_port());
  std::string dead_mirror = "http://127.0.0.1:" + std::to_string(free_loopback_port());
  // docker.io through a mirror (the name as the kubelet sends it), an origin
  // that is down behind a live mirror, and a dead mirror before a live origin.
  start_crid(registry_conf({registry_.host()},
                           {{"docker.io", {mirror.url()}},
                            {dead, {mirror.url()}},
                            {registry_.host(), {dead_mirror}}}));
  v1::PullImageResponse resp;
  auto st = pull(*crid_, "busybox:m1", &resp);
  ASSERT_TRUE(st.ok()) << st.error_message() << "\n" << crid_->log();
  EXPECT_EQ(resp.image_ref(), img.config_digest);
  EXPECT_TRUE(image_status(*crid_, "docker.io/library/busybox:m1"));

  push_busybox(mirror.host(), "team/app", "m2");
  st = pull(*crid_, dead + "/team/app:m2", &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();

  st = pull(*crid_, registry_.host() + "/app:m1", &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_GE(registry_.count_requests("GET /v2/app/manifests/m1"), 1);
}

TEST_F(ImagePullTest, UnreachableRegistryIsUnavailableNamingIt) {
  std::string dead = "127.0.0.1:" + std::to_string(free_loopback_port());
  start_crid(registry_conf({dead}));
  v1::PullImageResponse resp;
  auto st = pull(*crid_, dead + "/busybox:1.0", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_NE(st.error_message().find(dead), std::string::npos) << st.error_message();
}

TEST_F(ImagePullTest, MissingTagIsNotFoundManifestUnknown) {
  push_busybox(registry_.host(), "busybox", "1.0");
  start_crid(registry_conf({registry_.host()}));
  v1::PullImageResponse resp;
  auto st = pull(*crid_, registry_.host() + "/busybox:nope", &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  EXPECT_NE(st.error_message().find("manifest unknown"), std::string::npos) << st.error_message();
  auto bad = pull(*crid_, "Not/A/Valid:Ref!", &resp);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.error_message();
  EXPECT_NE(bad.error_message().find("Not/A/Valid:Ref!"), std::string::npos);
}

TEST_F(ImagePullTest, BasicAuthRegistryNeedsCredentials) {
  LocalRegistry secured({"alice", "s3cret"});
  std::string err;
  ASSERT_TRUE(secured.start(&err)) << err;
  BuiltImage img = push_busybox(secured.host(), "private/busybox", "1.0", {"--dest-creds", "alice:s3cret"});
  start_crid(registry_conf({secured.host()}));
  std::string ref = secured.host() + "/private/busybox:1.0";
  v1::PullImageResponse resp;
  auto st = pull(*crid_, ref, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  EXPECT_NE(st.error_message().find("unauthorized"), std::string::npos) << st.error_message();
  v1::AuthConfig wrong;
  wrong.set_username("alice");
  wrong.set_password("wrong");
  EXPECT_EQ(pull(*crid_, ref, &resp, &wrong).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  v1::AuthConfig good;
  good.set_username("alice");
  good.set_password("s3cret");
  st = pull(*crid_, ref, &resp, &good);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.image_ref(), img.config_digest);
}

// Serves one real busybox image from an in-process fake registry.
struct FakeServedImage {
  BuiltLayer layer = build_layer(busybox_layer(Compression::kGzip));
  std::string layer_digest;
  std::string config_digest;
  std::string manifest_digest;

  explicit FakeServedImage(FakeRegistry& reg, const std::string& repo) {
    layer_digest = reg.put_blob(layer.blob);
    nlohmann::json config = {{"architecture", host_architecture()},
                             {"os", "linux"},
                             {"rootfs", {{"type", "layers"}, {"diff_ids", {layer.diff_id}}}}};
    std::string cj = config.dump();
    config_digest = reg.put_blob(cj);
    nlohmann::json m = {
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
        {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", config_digest}, {"size", cj.size()}}},
        {"layers",
         {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"}, {"digest", layer_digest}, {"size", layer.blob.size()}}}}};
    manifest_digest = reg.put_manifest(repo, "v1", m.dump(), "application/vnd.oci.image.manifest.v1+json");
  }
};

TEST_F(ImagePullTest, WrongDigestAndTruncatedBlobsLeaveNoLayer) {
  FakeRegistry reg;
  FakeServedImage img(reg, "bad");
  std::string corrupt = img.layer.blob;
  corrupt[corrupt.size() / 2] ^= 0x55;
  reg.replace_blob(img.layer_digest, corrupt);
  start_crid(registry_conf({reg.host()}));
  v1::PullImageResponse resp;
  auto st = pull(*crid_, reg.host() + "/bad:v1", &resp);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error_message().find(img.layer_digest), std::string::npos) << st.error_message();
  EXPECT_TRUE(layer_dirs(*crid_).empty());
  EXPECT_FALSE(image_status(*crid_, reg.host() + "/bad:v1"));

  reg.replace_blob(img.layer_digest, img.layer.blob);
  reg.cut_blob(img.layer_digest, img.layer.blob.size() / 2);
  st = pull(*crid_, reg.host() + "/bad:v1", &resp);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error_message().find(img.layer_digest), std::string::npos) << st.error_message();
  EXPECT_TRUE(layer_dirs(*crid_).empty());

  // Served whole again, the same pull works: nothing half-done was in the way.
  reg.cut_blob(img.layer_digest, std::string::npos);
  st = pull(*crid_, reg.host() + "/bad:v1", &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.image_ref(), img.config_digest);
  EXPECT_EQ(layer_dirs(*crid_).size(), 1u);
}

TEST_F(ImagePullTest, BearerTokenFlow) {
  FakeRegistry reg(FakeRegistry::Auth::kBearer);
  FakeServedImage img(reg, "tokened/app");
  start_crid(registry_conf({reg.host()}));
  v1::PullImageResponse resp;
  auto st = pull(*crid_, reg.host() + "/tokened/app:v1", &resp);
  ASSERT_TRUE(st.ok()) << st.error_message() << "\n" << crid_->log();
  EXPECT_EQ(resp.image_ref(), img.config_digest);
  EXPECT_GE(reg.tokens_issued(), 1);
  int unauthorized_then_token = reg.server().count("/token?");
  EXPECT_GE(unauthorized_then_token, 1);
}

TEST_F(ImagePullTest, ConcurrentPullsOfOneImageShareOneDownload) {
  BuiltImage img = push_busybox(registry_.host(), "shared", "1.0");
  // A mirror that answers slowly (then redirects to the registry) keeps the
  // first pull in flight while the others arrive.
  LoopbackHttpServer slow([&](const HttpRequest& r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    HttpReply reply;
    reply.status = 307;
    reply.headers.push_back({"Location", registry_.url() + r.path});
    return reply;
  });
  start_crid(registry_conf({registry_.host()}, {{registry_.host(), {slow.url()}}}));
  std::vector<std::thread> threads;
  std::vector<grpc::Status> results(4);
  std::vector<std::string> ids(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      v1::PullImageResponse resp;
      results[i] = pull(*crid_, registry_.host() + "/shared:1.0", &resp);
      ids[i] = resp.image_ref();
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error_message();
    EXPECT_EQ(ids[i], img.config_digest);
  }
  EXPECT_EQ(registry_.count_requests("GET /v2/shared/blobs/" + img.layer_digests[0]), 1) << registry_.log();
  EXPECT_EQ(slow.count("/blobs/" + img.layer_digests[0]), 1);
}

}  // namespace
}  // namespace crid::testing
