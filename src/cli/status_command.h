// `crid status`: asks a running crid over its socket how it is doing.
#pragma once

#include <string>

namespace crid::cli {

// Prints runtime status and config as a table, or as JSON. Returns the
// process exit code (1 when crid cannot be reached).
int run_status_command(const std::string& socket_path, bool json);

}  // namespace crid::cli
