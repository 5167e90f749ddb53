// Placeholder for HttpRequest's two lookups so the WebSocket side builds on
// its own; the streaming server's http_request.cc replaces it at merge.
#include <algorithm>
#include <cctype>

#include "stream/http_request.h"

namespace crid::stream {

std::optional<std::string> HttpRequest::header(std::string_view name) const {
  std::optional<std::string> out;
  for (const auto& [key, value] : headers) {
    bool same = std::equal(key.begin(), key.end(), name.begin(), name.end(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    });
    if (!same) continue;
    out = out ? *out + ", " + value : value;
  }
  return out;
}

std::vector<std::string> HttpRequest::query_values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : query) {
    if (key == name) out.push_back(value);
  }
  return out;
}

}  // namespace crid::stream
