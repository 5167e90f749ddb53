// ListPodSandboxStats: stats of the pods matching id prefix and labels.
#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "server/stats_translate.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::ListPodSandboxStats(grpc::ServerContext*,
                                                     const v1::ListPodSandboxStatsRequest* req,
                                                     v1::ListPodSandboxStatsResponse* resp) {
  auto stats = backend_.stats->pods(to_pod_filter(req->filter()));
  if (!stats) return to_grpc(stats.error().wrap("ListPodSandboxStats"));
  for (const auto& s : *stats) to_cri(s, resp->add_stats());
  return grpc::Status::OK;
}

}  // namespace crid::server
