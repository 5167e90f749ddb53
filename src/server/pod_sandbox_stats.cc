// PodSandboxStats: the pod's CPU, memory, network and processes plus its
// containers' stats.
#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "server/stats_translate.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::PodSandboxStats(grpc::ServerContext*, const v1::PodSandboxStatsRequest* req,
                                                 v1::PodSandboxStatsResponse* resp) {
  if (req->pod_sandbox_id().empty()) return invalid_argument("PodSandboxStats: pod_sandbox_id is empty");
  auto stats = backend_.stats->pod(req->pod_sandbox_id());
  if (!stats) return to_grpc(stats.error());
  to_cri(*stats, resp->mutable_stats());
  return grpc::Status::OK;
}

}  // namespace crid::server
