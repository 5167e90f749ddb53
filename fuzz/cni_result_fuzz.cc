// Fuzzes the CNI result and error parsers with whatever a plugin could print.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "network/cni_result.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = crid::network::parse_cni_result(text);
  if (r.ok()) {
    // Everything a caller reads must be consistent on success.
    auto ips = r->pod_ips();
    for (auto& ip : r->ips) (void)ip.ip();
    (void)ips;
  }
  (void)crid::network::parse_cni_error(text);
  (void)crid::network::cni_version_at_least(text, 0, 4);
  return 0;
}
