// Logging: spdlog to stderr, lines carrying the object they concern, e.g.
// "[RunPodSandbox pod=3f2a1b] created".
#pragma once

#include <spdlog/spdlog.h>

#include <string>

#include "util/result.h"

namespace crid::log {

// Accepts trace, debug, info, warn (warning), error, fatal, off.
Result<spdlog::level::level_enum> parse_level(const std::string& name);

void init(spdlog::level::level_enum level);

// First 12 characters of an id, as crictl shows them.
inline std::string short_id(const std::string& id) { return id.substr(0, 12); }

}  // namespace crid::log
