// Parsing the HTTP/1.1 request head the streaming server reads before it
// hands a connection to SPDY or WebSocket, and the small responses it sends
// on its own (404, 503, ...). Pure functions, fuzzable.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stream/http_request.h"
#include "util/result.h"

namespace crid::stream {

// Parses a request head that ends with (and includes) "\r\n\r\n". Strict:
// method SP target SP HTTP/1.x, header lines "name: value", no obs-fold.
Result<HttpRequest> parse_http_request_head(std::string_view head);

// "%2F" -> "/", "+" kept as is in paths; false on a bad escape.
bool percent_decode(std::string_view in, std::string* out, bool plus_is_space);

// A complete HTTP/1.1 response with Content-Length and Connection: close.
std::string http_response(int code, std::string_view reason, std::string_view body,
                          const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace crid::stream
