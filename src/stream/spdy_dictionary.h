// The SPDY/3 header-compression dictionary (1423 bytes).
#pragma once

#include <string>

namespace crid::stream::spdy {

const std::string& header_dictionary();

}  // namespace crid::stream::spdy
