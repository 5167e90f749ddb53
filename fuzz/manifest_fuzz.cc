// libFuzzer target: manifest parsing and platform selection on arbitrary
// bytes must never crash, and the size cap must hold.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "image/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  // The first byte picks the Content-Type the "registry" claims.
  static const std::string_view kTypes[] = {"", "application/json",
                                            crid::image::media::kDockerManifest,
                                            crid::image::media::kDockerManifestList,
                                            crid::image::media::kOciManifest, crid::image::media::kOciIndex};
  std::string_view ct = size ? kTypes[data[0] % 6] : "";
  auto m = crid::image::parse_manifest(body, ct, 64 << 10);
  if (m.ok() && size > (64u << 10)) std::abort();
  if (m.ok() && m->is_index) (void)crid::image::select_platform(*m, crid::image::host_platform());
  return 0;
}
