// Loading a Localhost seccomp profile (CRI SecurityProfile type Localhost)
// from the configured profile root.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace crid::oci {

// Checks a profile's shape: an object with a string `defaultAction` and, if
// present, `syscalls` as an array of objects with `names` (array) and
// `action`. Errors name `source`.
Status validate_seccomp_profile(const nlohmann::json& profile, const std::string& source);

// Reads `localhost_ref` (absolute under `root`, or relative to it; the
// kubelet sends absolute paths) and validates it. A path that leaves `root`,
// lexically or through a symlink, is InvalidArgument; a missing file is
// NotFound; bad JSON is InvalidArgument. Errors name the profile.
Result<nlohmann::json> load_localhost_seccomp_profile(const std::string& root,
                                                      const std::string& localhost_ref);

}  // namespace crid::oci
