// ContainerStats: CPU, memory and writable layer of one container.
#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "server/stats_translate.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::ContainerStats(grpc::ServerContext*, const v1::ContainerStatsRequest* req,
                                                v1::ContainerStatsResponse* resp) {
  if (req->container_id().empty()) return invalid_argument("ContainerStats: container_id is empty");
  auto stats = backend_.stats->container(req->container_id());
  if (!stats) return to_grpc(stats.error());
  to_cri(*stats, resp->mutable_stats());
  return grpc::Status::OK;
}

}  // namespace crid::server
