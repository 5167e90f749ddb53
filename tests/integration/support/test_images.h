// Test images built on disk as OCI image layouts from /bin/busybox, with
// layer tars written by libarchive (plain, gzip or zstd), then pushed to a
// registry with skopeo. Each image also records the file tree it must
// unpack to, so tests can compare what crid stored byte for byte.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace crid::testing {

enum class Compression { kNone, kGzip, kZstd };

// One tar entry of a layer.
struct LayerEntry {
  enum Type { kFile, kDir, kSymlink, kHardlink } type = kFile;
  std::string path;     // relative, no leading "/"
  std::string content;  // kFile
  std::string target;   // kSymlink target, or kHardlink target path
  unsigned mode = 0644;
};

struct TestLayer {
  std::vector<LayerEntry> entries;
  Compression compression = Compression::kGzip;
};

// What a path in the merged (overlay) view must be.
struct ExpectedNode {
  char type = 'f';  // 'f' file, 'd' dir, 'l' symlink
  std::string content;  // file bytes or link target
  unsigned mode = 0;    // permission bits (0: not checked)
};
using ExpectedTree = std::map<std::string, ExpectedNode>;

struct Platform {
  std::string os = "linux", architecture, variant;
};

struct BuiltImage {
  std::string manifest_digest;  // of the image manifest (or of the index)
  std::string config_digest;    // the image id (for an index: the host's image)
  std::vector<std::string> diff_ids;
  std::vector<std::string> layer_digests;
  ExpectedTree tree;            // merged view (for an index: the host's image)
};

// An OCI image layout directory being filled.
class OciLayout {
 public:
  explicit OciLayout(std::string dir);
  const std::string& dir() const { return dir_; }

  // Writes a blob; returns its digest.
  std::string add_blob(const std::string& content);
  // An image (config + layers) for `platform`; tagged in index.json if `tag` is set.
  BuiltImage add_image(const std::vector<TestLayer>& layers, const Platform& platform, const std::string& tag,
                       const std::string& user = "");
  // An index over images built by add_image (tag required). Returns its digest.
  std::string add_index(const std::vector<std::pair<BuiltImage, Platform>>& images, const std::string& tag);

 private:
  void tag_in_index_json(const std::string& media_type, const std::string& digest, size_t size,
                         const std::string& tag);
  std::string dir_;
  std::map<std::string, std::pair<std::string, size_t>> manifests_;  // digest -> (media type, size)
};

// The layer tar (compressed as asked) and the sha256 of the uncompressed tar.
struct BuiltLayer {
  std::string blob;
  std::string diff_id;
};
BuiltLayer build_layer(const TestLayer& layer);

// /bin/busybox plus the usual symlinks, as a first layer.
TestLayer busybox_layer(Compression c);
// The merged view expected of `layers` (whiteouts and opaque dirs applied).
ExpectedTree expected_tree(const std::vector<TestLayer>& layers);

std::string read_host_file(const std::string& path);
std::string sha256_hex_digest(const std::string& data);
std::string host_architecture();  // GOARCH of this machine

// skopeo copy oci:<dir>:<tag> docker://<host>/<repo>:<tag>. `extra` adds
// flags (--all, --format v2s2, --dest-creds u:p). Returns "" or the error.
std::string skopeo_push(const std::string& layout_dir, const std::string& tag, const std::string& dest,
                        const std::vector<std::string>& extra = {});

}  // namespace crid::testing
