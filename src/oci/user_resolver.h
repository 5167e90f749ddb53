// Who a container's process runs as: the CRI security context or the image's
// USER, resolved against the image's own /etc/passwd and /etc/group.
// Parsing is pure; reading those files from a rootfs is the one I/O function
// here, and it never follows a symlink out of the rootfs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace crid::oci {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

// Malformed lines are skipped, as libc does.
std::vector<PasswdEntry> parse_passwd(std::string_view content);
std::vector<GroupEntry> parse_group(std::string_view content);

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;  // primary gid first, then request order; no duplicates
};

// What to resolve; the first set one of run_as_user / run_as_username wins,
// else `image_user` ("name", "uid", "name:group", "uid:gid").
struct UserRequest {
  std::optional<int64_t> run_as_user;
  std::optional<int64_t> run_as_group;
  std::string run_as_username;
  std::string image_user;
  std::vector<int64_t> supplemental_groups;
};

// A name missing from passwd/group is InvalidArgument naming it; a numeric
// uid without an entry is fine (gid 0 unless given). Additional gids are the
// supplemental groups followed by every group of /etc/group that lists the
// user's name (as containerd does, whether or not a group was given).
Result<ResolvedUser> resolve_user(const UserRequest& request, std::string_view passwd,
                                  std::string_view group);

// Reads `rel_path` (e.g. "etc/passwd") inside `rootfs`, resolving symlinks as
// if `rootfs` were "/" (openat2 RESOLVE_IN_ROOT; component-wise O_NOFOLLOW
// walk where the kernel lacks openat2, refusing symlinks). nullopt when the
// file does not exist; errors name the path.
Result<std::optional<std::string>> read_rootfs_file(const std::string& rootfs,
                                                    std::string_view rel_path,
                                                    size_t max_bytes = 4 << 20);

// The fallback walk alone (exposed for tests): any symlink is refused.
Result<std::optional<std::string>> read_rootfs_file_nofollow(const std::string& rootfs,
                                                             std::string_view rel_path,
                                                             size_t max_bytes = 4 << 20);

}  // namespace crid::oci
