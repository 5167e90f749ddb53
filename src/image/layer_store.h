// The layer store: each layer unpacked once under <root>/layers/<chain-hex>/
// (diff/ holds the files, overlayfs-ready: whiteouts as 0:0 char devices,
// opaque dirs as trusted.overlay.opaque=y), with a short link for overlay
// mount options, recorded in the metadata database with a reference count.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "image/types.h"
#include "store/database.h"
#include "util/cancel.h"
#include "util/result.h"

namespace crid::image {

struct LayerSpec {
  std::string chain_id;         // of this layer
  std::string parent_chain_id;  // "" for the bottom layer
  std::string diff_id;          // expected digest of the uncompressed tar
  std::string compressed_digest;  // for the record and error messages
  std::string image_ref;        // for error messages only
  // Added: real device nodes in the layer are refused unless set (0:0
  // character devices, i.e. whiteouts, are always fine).
  bool allow_devices = false;
  // Added: unpacking stops between tar entries (kCancelled, temporary dir
  // removed) once this says the pull was given up.
  CancelCheck cancelled;
};

struct StoreUsage {
  int64_t bytes = 0;
  int64_t inodes = 0;
  std::string mountpoint;  // the filesystem holding the root
};

// On disk: <layers_dir>/<chain hex>/diff (the files), <chain hex>/link (the
// short id) and <layers_dir>/l/<short id> -> ../<chain hex>/diff.
// open() also removes what a crash or a failed pull left: tmp-* dirs, layer
// dirs without a row, dangling short links, and layers nobody references
// (created by a pull that died before its image was stored).
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
  // keep long chains under the mount-option page size: absolute paths
  // "<layers_dir>/l/<26-char id>" (symlinks the kernel resolves at mount
  // time), to be joined with ':' for lowerdir=.
  virtual Result<std::vector<std::string>> lower_dirs(const std::string& top_chain_id) = 0;
  virtual std::string diff_dir(const std::string& chain_id) = 0;

  virtual Result<StoreUsage> usage() = 0;

  // --- Added beyond the first contract (no existing signature changed). ---

  // The record of one layer; NotFound if absent.
  virtual Result<LayerInfo> info(const std::string& chain_id) = 0;
  // References held on a layer (images plus child layers); NotFound if absent.
  virtual Result<int64_t> refcount(const std::string& chain_id) = 0;

  // For a store that changes its own rows in the same transaction
  // (ImageStore): call these inside Database::transaction(). A layer whose
  // count reaches zero loses its row there (and releases its parent); its
  // chain id is returned so that remove_released() deletes the directory
  // after the commit. A crash in between leaves a directory without a row,
  // which open() removes.
  virtual Status add_ref_in_transaction(const std::string& chain_id) = 0;
  virtual Result<std::vector<std::string>> release_in_transaction(const std::string& chain_id) = 0;
  virtual void remove_released(const std::vector<std::string>& chain_ids) = 0;
};

// OCI ChainID: chain(L0) = diff(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)).
std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids);

// The mount point, from /proc/self/mountinfo text, of the filesystem holding
// the absolute, symlink-free `path`: the longest mount point that is a
// path-prefix of it.
std::string mountpoint_of(std::string_view mountinfo, const std::string& path);

}  // namespace crid::image
