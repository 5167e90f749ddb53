// stream::HttpRequest: the head of an HTTP/1.1 request to the streaming
// server, parsed by the server before it hands the connection to SPDY or
// WebSocket.
#pragma once

#include <optional>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

namespace crid::stream {

struct HttpRequest {
  std::string method;  // "GET", "POST"
  std::string target;  // as sent: "/exec/<token>?command=ls&stdout=1"
  std::string path;    // target before '?', percent-decoded
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent

  // Case-insensitive header lookup; repeated headers are joined with ", ".
  std::optional<std::string> header(std::string_view name) const;
  // Values of a query parameter, in order ("port" may repeat).
  std::vector<std::string> query_values(std::string_view name) const;
};

}  // namespace crid::stream
