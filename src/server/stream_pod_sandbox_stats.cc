// StreamPodSandboxStats: ListPodSandboxStats in batches over a server stream.
#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "server/stats_translate.h"
#include "server/stream_batches.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::StreamPodSandboxStats(
    grpc::ServerContext*, const v1::StreamPodSandboxStatsRequest* req,
    grpc::ServerWriter<v1::StreamPodSandboxStatsResponse>* writer) {
  auto stats = backend_.stats->pods(to_pod_filter(req->filter()));
  if (!stats) return to_grpc(stats.error().wrap("StreamPodSandboxStats"));
  return write_in_batches(
      writer, *stats,
      [](const auto& s, v1::StreamPodSandboxStatsResponse& r) { to_cri(s, r.add_pod_sandbox_stats()); },
      [](const v1::StreamPodSandboxStatsResponse& r) { return r.pod_sandbox_stats_size(); },
      "StreamPodSandboxStats");
}

}  // namespace crid::server
