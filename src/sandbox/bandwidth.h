// Pod traffic shaping the Kubernetes way: the kubelet forwards the pod
// annotations kubernetes.io/ingress-bandwidth and
// kubernetes.io/egress-bandwidth (quantities such as "10M" = 10 Mbit/s),
// and the runtime hands them to CNI plugins that declare the "bandwidth"
// capability. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace crid::sandbox {

// A Kubernetes resource quantity ("500k", "1.5M", "2Gi", "100m") as an
// integer, rounded up. Rejects anything else, negative values and overflow.
Result<int64_t> parse_quantity(std::string_view text);

// The runtimeConfig "bandwidth" object ({"ingressRate", "ingressBurst",
// "egressRate", "egressBurst"} in bits) or null when neither annotation is
// set. InvalidArgument naming the annotation for a malformed value.
Result<nlohmann::json> bandwidth_from_annotations(
    const std::map<std::string, std::string>& annotations);

}  // namespace crid::sandbox
