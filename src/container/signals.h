// Signal names as images (StopSignal) and the CRI spell them.
#pragma once

#include <string_view>

#include "util/result.h"

namespace crid::container {

// "SIGTERM", "TERM", "sigterm", "15", "SIGRTMIN+3" -> number;
// InvalidArgument naming the text otherwise.
Result<int> parse_signal(std::string_view text);

}  // namespace crid::container
