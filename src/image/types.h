// Domain types of the image service, shared by the registry side (reference,
// manifests, puller) and the disk side (layer store, image store). No
// protobuf here: src/server/ translates.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace crid::image {

// A content descriptor from a manifest or index.
struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<64 hex>"
  int64_t size = 0;
  std::vector<std::string> urls;
};

// What a layer is, as the layer store records it.
struct LayerInfo {
  std::string chain_id;         // "sha256:..." (OCI image-spec ChainID)
  std::string parent_chain_id;  // "" for the bottom layer
  std::string diff_id;          // digest of the uncompressed tar
  std::string compressed_digest;
  int64_t size = 0;             // bytes unpacked on disk
};

// The parts of an image config that container creation needs.
struct ImageConfig {
  std::string user;
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::string stop_signal;
  std::vector<std::string> volumes;
  std::map<std::string, std::string> labels;
  std::string os;
  std::string architecture;
  std::vector<std::string> diff_ids;  // rootfs.diff_ids, bottom first
};

// An image as the image store keeps it. id = digest of the config blob.
struct ImageRecord {
  std::string id;                          // "sha256:..."
  std::vector<std::string> repo_tags;      // "docker.io/library/busybox:latest"
  std::vector<std::string> repo_digests;   // "docker.io/library/busybox@sha256:..."
  std::vector<std::string> chain_ids;      // bottom layer first
  int64_t size = 0;                        // sum of layer sizes on disk
  std::string config_json;                 // the raw config blob
  int64_t created_unix_nanos = 0;          // when crid stored it
  bool pinned = false;                     // from config, not stored
};

}  // namespace crid::image
