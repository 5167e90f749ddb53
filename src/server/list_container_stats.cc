// ListContainerStats: stats of the containers matching id prefix, pod and labels.
#include "server/runtime_service.h"
#include "server/stats_translate.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::ListContainerStats(grpc::ServerContext*,
                                                    const v1::ListContainerStatsRequest* req,
                                                    v1::ListContainerStatsResponse* resp) {
  for (const auto& s : backend_.stats->containers(to_container_filter(req->filter())))
    to_cri(s, resp->add_stats());
  return grpc::Status::OK;
}

}  // namespace crid::server
