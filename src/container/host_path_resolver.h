// Resolving the host path of a CRI bind mount without trusting symlinks a
// container could have planted.
//
// The runtime would follow every symlink in a host path on the host. A
// container that can write a directory shared with the node (a hostPath
// volume) can replace `/shared/data/sub` with a symlink to `/`, and a later
// pod mounting `/shared/data/sub` would get the node's root. So crid walks
// the path itself, one component at a time with O_PATH|O_NOFOLLOW, and
// follows a symlink only when no container can have made it:
//   - it is owned by root (containers usually are not root on the host:
//     user namespaces, or simply a non-root pod), and
//   - its directory is not at or below a directory that a container can
//     write (a host path crid has bind-mounted read-write, or container
//     storage). "At or below" is decided on the walk itself: a directory is
//     inside a writable tree if it or one of the directories the walk came
//     through is one of them (by device and inode, so another name or bind
//     mount of the same directory counts too).
// Symlinks on procfs are refused: their text is not where the magic ones
// lead. The walk ends holding an O_PATH fd of exactly the checked object,
// which the caller mounts by fd (host_path_stage.h), so nothing can be
// swapped between the check and the mount.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "util/result.h"
#include "util/unique_fd.h"

namespace crid::container {

// A directory by identity: what stat says, not its name.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  auto operator<=>(const FileId&) const = default;
};

struct HostPathPolicy {
  // Directories some container can write: no symlink at or below them is
  // followed. Sorted.
  std::vector<FileId> container_writable;
  // The only owner whose symlinks are followed (root; tests use their own).
  uid_t trusted_owner = 0;
  // As the kernel's own limit (ELOOP after 40).
  int max_symlinks = 40;
};

struct ResolvedHostPath {
  UniqueFd fd;        // O_PATH, of the resolved object itself
  std::string path;   // its path with every symlink resolved, for messages
  bool is_dir = false;
};

// Resolves absolute `path`. Errors: NotFound when a component is missing
// (a dangling symlink included), InvalidArgument naming the path and the
// refused symlink, else the failing syscall.
Result<ResolvedHostPath> resolve_host_path(const std::string& path, const HostPathPolicy& policy);

// The identity of `path` (following symlinks: the caller names trees it
// got from requests crid accepted). nullopt-like: false when it is gone.
bool file_id_of(const std::string& path, FileId* out);

}  // namespace crid::container
