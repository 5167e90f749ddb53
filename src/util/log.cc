#include "util/log.h"
#include "util/printable.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace crid::log {

Result<spdlog::level::level_enum> parse_level(const std::string& name) {
  using spdlog::level::level_enum;
  if (name == "trace") return level_enum::trace;
  if (name == "debug") return level_enum::debug;
  if (name == "info") return level_enum::info;
  if (name == "warn" || name == "warning") return level_enum::warn;
  if (name == "error") return level_enum::err;
  if (name == "fatal") return level_enum::critical;
  if (name == "off") return level_enum::off;
  return make_error(ErrorKind::kInvalidArgument,
                    "unknown log level {} (want trace, debug, info, warn, error, fatal or off)",
                    printable(name));
}

void init(spdlog::level::level_enum level) {
  auto logger = spdlog::stderr_color_mt("crid");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%f%z %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(level);
}

}  // namespace crid::log
