// printable(): text from outside (requests, registries, streaming clients,
// config files) made safe for an error message or a log line. fmt's own
// "{:?}" is not: it aborts the process on invalid UTF-8 (found by fuzzing).
#pragma once

#include <string>
#include <string_view>

namespace crid {

// "\"abc\"": printable ASCII as is, quotes and backslashes escaped, every
// other byte as \xNN.
std::string printable(std::string_view s);

}  // namespace crid
