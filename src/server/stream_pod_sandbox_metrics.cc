// StreamPodSandboxMetrics: ListPodSandboxMetrics in batches over a server stream.
#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "server/stats_translate.h"
#include "server/stream_batches.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::StreamPodSandboxMetrics(
    grpc::ServerContext*, const v1::StreamPodSandboxMetricsRequest*,
    grpc::ServerWriter<v1::StreamPodSandboxMetricsResponse>* writer) {
  auto stats = backend_.stats->pods({});
  if (!stats) return to_grpc(stats.error().wrap("StreamPodSandboxMetrics"));
  return write_in_batches(
      writer, *stats,
      [](const auto& s, v1::StreamPodSandboxMetricsResponse& r) {
        to_cri(stats::pod_metrics(s), r.add_pod_sandbox_metrics());
      },
      [](const v1::StreamPodSandboxMetricsResponse& r) { return r.pod_sandbox_metrics_size(); },
      "StreamPodSandboxMetrics");
}

}  // namespace crid::server
