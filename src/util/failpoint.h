// Fault injection for the restart tests: CRID_FAILPOINT=<name>[,<name>...]
// in the daemon's environment makes it SIGKILL itself when it reaches one
// of those named points, so a test can cut an operation at an exact step
// (random kills in the fault test rarely land in narrow windows). Unset,
// a failpoint costs one branch on a value read once.
#pragma once

#include <string_view>

namespace crid {

// Dies by SIGKILL (no destructor, no flush beyond the log line) if `name`
// is armed.
void failpoint(std::string_view name);

}  // namespace crid
