// Loading a Localhost seccomp profile (CRI SecurityProfile type Localhost).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace crid::oci {

// The largest profile file crid reads (the runtime default is ~20 KiB).
inline constexpr size_t kMaxSeccompProfileBytes = 1 << 20;

// Checks a profile's shape against the OCI runtime-spec `linux.seccomp`
// object: a known `defaultAction`, `architectures` as SCMP_ARCH_* strings,
// `syscalls` as objects with a non-empty `names` array of strings and a
// known `action`. Extra fields (as in Docker-format profiles) pass through.
// Errors name `source`.
Status validate_seccomp_profile(const nlohmann::json& profile, const std::string& source);

// Reads and validates the profile `localhost_ref` names. The kubelet sends
// an absolute path, which may be anywhere on the node (kubelet and
// containerd accept that; the kubelet owns the choice). A relative ref is
// resolved beneath `root` and may not leave it, lexically or through a
// symlink. The file must be a regular file of at most
// kMaxSeccompProfileBytes holding valid JSON with a valid profile.
// Missing file: NotFound; anything else wrong: InvalidArgument. Errors
// name the path.
Result<nlohmann::json> load_localhost_seccomp_profile(const std::string& root,
                                                      const std::string& localhost_ref);

}  // namespace crid::oci
