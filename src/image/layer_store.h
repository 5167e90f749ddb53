// The layer store: each layer unpacked once under <root>/layers/<chain-hex>/
// (diff/ holds the files, overlayfs-ready: whiteouts as 0:0 char devices,
// opaque dirs as trusted.overlay.opaque=y), with a short link for overlay
// mount options, recorded in the metadata database with a reference count.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "image/types.h"
#include "store/database.h"
#include "util/result.h"

namespace crid::image {

struct LayerSpec {
  std::string chain_id;         // of this layer
  std::string parent_chain_id;  // "" for the bottom layer
  std::string diff_id;          // expected digest of the uncompressed tar
  std::string compressed_digest;  // for the record and error messages
  std::string image_ref;        // for error messages only
};

struct StoreUsage {
  int64_t bytes = 0;
  int64_t inodes = 0;
  std::string mountpoint;  // the filesystem holding the root
};

class LayerStore {
 public:
  static Result<std::unique_ptr<LayerStore>> open(const std::string& layers_dir,
                                                  store::Database& db);
  virtual ~LayerStore() = default;

  virtual bool has(const std::string& chain_id) = 0;

  // Reads a layer blob (gzip, zstd or plain tar, detected from content) from
  // `fd`, unpacks it into a temporary dir, checks the uncompressed digest
  // against spec.diff_id, then renames it into place and records it. A
  // failure (bad digest, hostile entry, I/O) removes the temporary dir and
  // names the layer and entry. Creating an existing layer is a no-op.
  virtual Result<LayerInfo> create(int fd, const LayerSpec& spec) = 0;

  // Reference counting by images: a layer with no references is removed.
  virtual Status add_ref(const std::string& chain_id) = 0;
  virtual Status release(const std::string& chain_id) = 0;

  // Directories for an overlay mount, top layer first, as short paths that
  // keep long chains under the mount-option page size.
  virtual Result<std::vector<std::string>> lower_dirs(const std::string& top_chain_id) = 0;
  virtual std::string diff_dir(const std::string& chain_id) = 0;

  virtual Result<StoreUsage> usage() = 0;
};

// OCI ChainID: chain(L0) = diff(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)).
std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids);

}  // namespace crid::image
