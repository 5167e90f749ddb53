// Standard base64 (RFC 4648, with padding) for the WebSocket handshake and
// the base64.channel.k8s.io subprotocol; OpenSSL does the work.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace crid::stream {

std::string base64_encode(std::string_view data);

// Strict: padded, a length that is a multiple of 4, no whitespace.
Result<std::string> base64_decode(std::string_view text);

}  // namespace crid::stream
