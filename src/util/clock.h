// Wall-clock time as the CRI carries it: nanoseconds since the Unix epoch.
#pragma once

#include <chrono>
#include <cstdint>

namespace crid {

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace crid
