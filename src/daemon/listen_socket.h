// Preparing the CRI socket path: parent dirs, a stale socket replaced, a
// live one (another process listening) refused.
#pragma once

#include <string>

#include "util/result.h"

namespace crid {

Status prepare_socket_path(const std::string& path);

// After gRPC bound it: root-owned, 0660.
Status secure_socket(const std::string& path);

}  // namespace crid
