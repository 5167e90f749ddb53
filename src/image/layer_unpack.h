// Unpacking one image layer (a tar stream, gzip/zstd-compressed or plain,
// detected from content) into a directory in overlayfs form, while hashing
// the uncompressed stream so the caller can check it against the diff id.
//
// A layer is hostile until proven otherwise: no entry may create, follow or
// write through anything that leaves the destination directory. Paths with
// ".." are refused, leading "/" is dropped, every parent directory is opened
// without following symlinks, and hardlinks must point at an entry of the
// same layer that was already unpacked.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/cancel.h"
#include "util/result.h"

namespace crid::image {

struct UnpackOptions {
  // Names the layer in errors ("layer sha256:ab..: entry etc/x: ...").
  std::string layer_digest;
  // Real device nodes (not whiteouts) are refused unless this is set.
  bool allow_devices = false;
  // Asked between entries; when it says yes the unpack stops with kCancelled.
  CancelCheck cancelled;
};

struct UnpackStats {
  std::string diff_id;    // "sha256:<hex>" of the uncompressed tar stream
  int64_t bytes = 0;      // sum of regular file sizes written
  int64_t entries = 0;    // tar entries processed
};

// Reads the layer from `fd` to its end and unpacks it into `dest_dir`, which
// must exist (normally empty). Whiteouts become overlayfs whiteouts:
// ".wh.<name>" -> 0:0 character device <name>, ".wh..wh..opq" -> xattr
// trusted.overlay.opaque=y on the directory. On error the destination is
// left partially filled: the caller owns it and removes it.
Result<UnpackStats> unpack_layer(int fd, const std::string& dest_dir, const UnpackOptions& opts);

// True when the running kernel has openat2(2) (Linux >= 5.6); the unpacker
// then resolves parents with RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS, else it
// walks them one component at a time with O_NOFOLLOW.
bool kernel_has_openat2();

// For tests: force the component-by-component fallback even where openat2
// exists, so both resolution paths are exercised.
void force_openat2_fallback_for_testing(bool force);

}  // namespace crid::image
