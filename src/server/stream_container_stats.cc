// StreamContainerStats: ListContainerStats in batches over a server stream.
#include "server/runtime_service.h"
#include "server/stats_translate.h"
#include "server/stream_batches.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::StreamContainerStats(
    grpc::ServerContext*, const v1::StreamContainerStatsRequest* req,
    grpc::ServerWriter<v1::StreamContainerStatsResponse>* writer) {
  return write_in_batches(
      writer, backend_.stats->containers(to_container_filter(req->filter())),
      [](const auto& s, v1::StreamContainerStatsResponse& r) { to_cri(s, r.add_container_stats()); },
      [](const v1::StreamContainerStatsResponse& r) { return r.container_stats_size(); },
      "StreamContainerStats");
}

}  // namespace crid::server
