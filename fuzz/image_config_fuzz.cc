// parse_image_config() on arbitrary bytes: errors are fine, crashes are not;
// a successful parse must only yield well-formed diff ids.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "image/image_store.h"
#include "image/layer_unpack.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto cfg = crid::image::parse_image_config(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (cfg.ok()) {
    for (const auto& d : cfg->diff_ids)
      if (!crid::image::is_sha256_digest(d)) std::abort();
  } else if (cfg.error().message().empty()) {
    std::abort();
  }
  return 0;
}
