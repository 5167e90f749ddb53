// CRI stats and metrics messages <-> stats:: domain types. The only place
// the stats RPC files meet protobuf and the stats service meets neither.
#pragma once

#include "runtime/v1/api.pb.h"
#include "stats/metrics.h"
#include "stats/types.h"

namespace crid::server {

container::ContainerFilter to_container_filter(const ::runtime::v1::ContainerStatsFilter& in);
sandbox::PodFilter to_pod_filter(const ::runtime::v1::PodSandboxStatsFilter& in);

void to_cri(const stats::ContainerStats& in, ::runtime::v1::ContainerStats* out);
void to_cri(const stats::PodStats& in, ::runtime::v1::PodSandboxStats* out);
void to_cri(const stats::MetricDescriptor& in, ::runtime::v1::MetricDescriptor* out);
void to_cri(const stats::PodMetrics& in, ::runtime::v1::PodSandboxMetrics* out);

}  // namespace crid::server
