// ListPodSandboxMetrics: metric samples of every pod and its containers.
#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "server/stats_translate.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::ListPodSandboxMetrics(grpc::ServerContext*,
                                                       const v1::ListPodSandboxMetricsRequest*,
                                                       v1::ListPodSandboxMetricsResponse* resp) {
  auto stats = backend_.stats->pods({});
  if (!stats) return to_grpc(stats.error().wrap("ListPodSandboxMetrics"));
  for (const auto& s : *stats) to_cri(stats::pod_metrics(s), resp->add_pod_metrics());
  return grpc::Status::OK;
}

}  // namespace crid::server
