// One crid per root: an exclusive flock on <root>/crid.lock, released by the
// kernel when the process dies (so SIGKILL never leaves a stale lock).
#pragma once

#include <string>

#include "util/result.h"
#include "util/unique_fd.h"

namespace crid {

Result<UniqueFd> lock_root(const std::string& root);

}  // namespace crid
