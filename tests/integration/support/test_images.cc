#include "support/test_images.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "support/crid_process.h"

namespace crid::testing {

namespace {

using nlohmann::json;

void write_file(const std::string& path, const std::string& data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

// Writes a tar of `layer` to memory through libarchive with `filter`.
std::string write_tar(const TestLayer& layer, Compression c) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (c == Compression::kGzip) archive_write_add_filter_gzip(a);
  if (c == Compression::kZstd) archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  std::string out;
  auto writer = [](archive*, void* user, const void* buf, size_t len) -> la_ssize_t {
    static_cast<std::string*>(user)->append(static_cast<const char*>(buf), len);
    return static_cast<la_ssize_t>(len);
  };
  if (archive_write_open(a, &out, nullptr, writer, nullptr) != ARCHIVE_OK)
    throw std::runtime_error(std::string("archive_write_open: ") + archive_error_string(a));
  for (const auto& e : layer.entries) {
    archive_entry* ent = archive_entry_new();
    archive_entry_set_pathname(ent, e.path.c_str());
    archive_entry_set_mtime(ent, 1700000000, 0);
    archive_entry_set_uid(ent, 0);
    archive_entry_set_gid(ent, 0);
    switch (e.type) {
      case LayerEntry::kFile:
        archive_entry_set_filetype(ent, AE_IFREG);
        archive_entry_set_perm(ent, e.mode);
        archive_entry_set_size(ent, static_cast<la_int64_t>(e.content.size()));
        break;
      case LayerEntry::kDir:
        archive_entry_set_filetype(ent, AE_IFDIR);
        archive_entry_set_perm(ent, e.mode);
        break;
      case LayerEntry::kSymlink:
        archive_entry_set_filetype(ent, AE_IFLNK);
        archive_entry_set_perm(ent, 0777);
        archive_entry_set_symlink(ent, e.target.c_str());
        break;
      case LayerEntry::kHardlink:
        archive_entry_set_filetype(ent, AE_IFREG);
        archive_entry_set_perm(ent, e.mode);
        archive_entry_set_hardlink(ent, e.target.c_str());
        archive_entry_set_size(ent, 0);
        break;
    }
    if (archive_write_header(a, ent) != ARCHIVE_OK)
      throw std::runtime_error(std::string("archive_write_header: ") + archive_error_string(a));
    if (e.type == LayerEntry::kFile && !e.content.empty())
      archive_write_data(a, e.content.data(), e.content.size());
    archive_entry_free(ent);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

const char* layer_media_type(Compression c) {
  switch (c) {
    case Compression::kNone: return "application/vnd.oci.image.layer.v1.tar";
    case Compression::kGzip: return "application/vnd.oci.image.layer.v1.tar+gzip";
    case Compression::kZstd: return "application/vnd.oci.image.layer.v1.tar+zstd";
  }
  return "";
}

}  // namespace

std::string sha256_hex_digest(const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string s = "sha256:";
  for (unsigned i = 0; i < n; ++i) {
    s += hex[out[i] >> 4];
    s += hex[out[i] & 15];
  }
  return s;
}

std::string read_host_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string host_architecture() {
  utsname u{};
  ::uname(&u);
  std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64") return "arm64";
  return m;
}

BuiltLayer build_layer(const TestLayer& layer) {
  BuiltLayer out;
  out.diff_id = sha256_hex_digest(write_tar(layer, Compression::kNone));
  out.blob = layer.compression == Compression::kNone ? write_tar(layer, Compression::kNone)
                                                     : write_tar(layer, layer.compression);
  return out;
}

TestLayer busybox_layer(Compression c) {
  TestLayer l;
  l.compression = c;
  l.entries = {
      {LayerEntry::kDir, "bin", "", "", 0755},
      {LayerEntry::kFile, "bin/busybox", read_host_file("/bin/busybox"), "", 0755},
      {LayerEntry::kSymlink, "bin/sh", "", "busybox"},
      {LayerEntry::kSymlink, "bin/ls", "", "busybox"},
      {LayerEntry::kSymlink, "bin/cat", "", "/bin/busybox"},
      {LayerEntry::kDir, "etc", "", "", 0755},
      {LayerEntry::kFile, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", "", 0644},
      {LayerEntry::kDir, "tmp", "", "", 01777},
  };
  return l;
}

ExpectedTree expected_tree(const std::vector<TestLayer>& layers) {
  ExpectedTree tree;
  for (const auto& layer : layers) {
    for (const auto& e : layer.entries) {
      std::filesystem::path p(e.path);
      std::string name = p.filename().string();
      std::string parent = p.parent_path().string();
      if (name == ".wh..wh..opq") {
        // Opaque: everything below the dir from lower layers goes.
        for (auto it = tree.begin(); it != tree.end();)
          it = it->first.rfind(parent + "/", 0) == 0 ? tree.erase(it) : std::next(it);
        continue;
      }
      if (name.rfind(".wh.", 0) == 0) {
        std::string victim = (parent.empty() ? "" : parent + "/") + name.substr(4);
        tree.erase(victim);
        for (auto it = tree.begin(); it != tree.end();)
          it = it->first.rfind(victim + "/", 0) == 0 ? tree.erase(it) : std::next(it);
        continue;
      }
      switch (e.type) {
        case LayerEntry::kFile: tree[e.path] = {'f', e.content, e.mode}; break;
        case LayerEntry::kDir: tree[e.path] = {'d', "", e.mode}; break;
        case LayerEntry::kSymlink: tree[e.path] = {'l', e.target, 0}; break;
        case LayerEntry::kHardlink: tree[e.path] = tree[e.target]; break;
      }
    }
  }
  return tree;
}

OciLayout::OciLayout(std::string dir) : dir_(std::move(dir)) {
  write_file(dir_ + "/oci-layout", R"({"imageLayoutVersion": "1.0.0"})");
  write_file(dir_ + "/index.json", R"({"schemaVersion": 2, "manifests": []})");
}

std::string OciLayout::add_blob(const std::string& content) {
  std::string d = sha256_hex_digest(content);
  write_file(dir_ + "/blobs/sha256/" + d.substr(7), content);
  return d;
}

void OciLayout::tag_in_index_json(const std::string& media_type, const std::string& digest, size_t size,
                                  const std::string& tag) {
  json index = json::parse(read_host_file(dir_ + "/index.json"));
  index["manifests"].push_back({{"mediaType", media_type},
                                {"digest", digest},
                                {"size", size},
                                {"annotations", {{"org.opencontainers.image.ref.name", tag}}}});
  write_file(dir_ + "/index.json", index.dump());
}

BuiltImage OciLayout::add_image(const std::vector<TestLayer>& layers, const Platform& platform,
                                const std::string& tag, const std::string& user) {
  BuiltImage img;
  json manifest = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.manifest.v1+json"}};
  manifest["layers"] = json::array();
  for (const auto& l : layers) {
    BuiltLayer b = build_layer(l);
    std::string d = add_blob(b.blob);
    img.diff_ids.push_back(b.diff_id);
    img.layer_digests.push_back(d);
    manifest["layers"].push_back({{"mediaType", layer_media_type(l.compression)}, {"digest", d}, {"size", b.blob.size()}});
  }
  json config = {{"architecture", platform.architecture},
                 {"os", platform.os},
                 {"config", {{"Env", {"PATH=/bin"}}, {"Cmd", {"/bin/sh"}}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", img.diff_ids}}}};
  if (!platform.variant.empty()) config["variant"] = platform.variant;
  if (!user.empty()) config["config"]["User"] = user;
  std::string config_json = config.dump();
  img.config_digest = add_blob(config_json);
  manifest["config"] = {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                        {"digest", img.config_digest},
                        {"size", config_json.size()}};
  std::string body = manifest.dump();
  img.manifest_digest = add_blob(body);
  manifests_[img.manifest_digest] = {"application/vnd.oci.image.manifest.v1+json", body.size()};
  img.tree = expected_tree(layers);
  if (!tag.empty())
    tag_in_index_json("application/vnd.oci.image.manifest.v1+json", img.manifest_digest, body.size(), tag);
  return img;
}

std::string OciLayout::add_index(const std::vector<std::pair<BuiltImage, Platform>>& images, const std::string& tag) {
  json index = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"}};
  index["manifests"] = json::array();
  for (const auto& [img, p] : images) {
    json plat = {{"os", p.os}, {"architecture", p.architecture}};
    if (!p.variant.empty()) plat["variant"] = p.variant;
    auto& m = manifests_.at(img.manifest_digest);
    index["manifests"].push_back(
        {{"mediaType", m.first}, {"digest", img.manifest_digest}, {"size", m.second}, {"platform", plat}});
  }
  std::string body = index.dump();
  std::string d = add_blob(body);
  tag_in_index_json("application/vnd.oci.image.index.v1+json", d, body.size(), tag);
  return d;
}

std::string skopeo_push(const std::string& layout_dir, const std::string& tag, const std::string& dest,
                        const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"/usr/bin/skopeo", "--insecure-policy", "copy", "--quiet",
                                   "--dest-tls-verify=false"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("oci:" + layout_dir + ":" + tag);
  argv.push_back("docker://" + dest);
  auto r = run_command(argv);
  return r.status == 0 ? "" : "skopeo copy to " + dest + " failed: " + r.output;
}

}  // namespace crid::testing
