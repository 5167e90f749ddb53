// Random identifiers: 64 hex characters from the kernel's CSPRNG, the shape
// the kubelet and crictl expect for pod and container ids.
#pragma once

#include <string>

namespace crid {

std::string random_hex(size_t bytes);
inline std::string new_id() { return random_hex(32); }

// True for a full or abbreviated id made only of lowercase hex.
bool is_hex_id(std::string_view s);

}  // namespace crid
