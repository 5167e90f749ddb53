// libFuzzer target: image reference parsing must never crash, and whatever
// it accepts must round-trip through its canonical form.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "image/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = crid::image::parse_reference(text);
  auto resolved = crid::image::resolve_reference(text, {"docker.io", "quay.io"});
  // Resolving adds a registry (and maybe "library/"), so it can only refuse
  // more: a name near the 255-character limit parses but may not resolve.
  if (resolved.ok() && !parsed.ok()) std::abort();
  if (resolved.ok()) {
    for (const auto& r : *resolved) {
      auto again = crid::image::parse_reference(r.str());
      if (!again.ok() || !again->qualified || again->ref != r) std::abort();
    }
  }
  return 0;
}
