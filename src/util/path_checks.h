// Lexical checks on paths that come from requests.
#pragma once

#include <string_view>

namespace crid::fs {

// True when one of the '/'-separated components of `path` is exactly "..".
inline bool has_dot_dot_component(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace crid::fs
