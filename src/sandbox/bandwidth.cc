#include "sandbox/bandwidth.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <tuple>

namespace crid::sandbox {

namespace {

const char* kIngress = "kubernetes.io/ingress-bandwidth";
const char* kEgress = "kubernetes.io/egress-bandwidth";

// Burst is not something Kubernetes lets users set; like other runtimes we
// allow a large one so the rate is the only limit that matters.
constexpr int64_t kBurstBits = std::numeric_limits<int32_t>::max();

}  // namespace

Result<int64_t> parse_quantity(std::string_view text) {
  auto bad = [&] {
    return make_error(ErrorKind::kInvalidArgument, "\"{}\" is not a quantity", text);
  };
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    i++;
  std::string_view number = text.substr(0, i), suffix = text.substr(i);
  if (number.empty() || number.front() == '.' || number.back() == '.' ||
      number.find('.') != number.rfind('.') || number.size() > 30)
    return bad();
  static const std::map<std::string_view, double> kScale = {
      {"", 1},        {"m", 1e-3},          {"k", 1e3},           {"M", 1e6},
      {"G", 1e9},     {"T", 1e12},          {"P", 1e15},          {"E", 1e18},
      {"Ki", 1024.0}, {"Mi", 1048576.0},    {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"Pi", 1125899906842624.0}, {"Ei", 1152921504606846976.0}};
  auto scale = kScale.find(suffix);
  if (scale == kScale.end()) return bad();
  double value = std::stod(std::string(number)) * scale->second;
  if (!std::isfinite(value) || value >= 9.2e18) return bad();
  return static_cast<int64_t>(std::ceil(value));
}

Result<nlohmann::json> bandwidth_from_annotations(
    const std::map<std::string, std::string>& annotations) {
  nlohmann::json out;
  for (auto [key, rate, burst] : {std::tuple{kIngress, "ingressRate", "ingressBurst"},
                                  std::tuple{kEgress, "egressRate", "egressBurst"}}) {
    auto it = annotations.find(key);
    if (it == annotations.end()) continue;
    auto bits = parse_quantity(it->second);
    if (!bits) return bits.error().wrap(fmt::format("annotation {}", key));
    if (*bits <= 0)
      return make_error(ErrorKind::kInvalidArgument, "annotation {}: rate must be positive", key);
    out[rate] = *bits;
    out[burst] = kBurstBits;
  }
  return out;
}

}  // namespace crid::sandbox
