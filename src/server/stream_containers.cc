// StreamContainers: ListContainers in batches over a server stream.
#include "server/container_translate.h"
#include "server/runtime_service.h"
#include "server/stream_batches.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::StreamContainers(grpc::ServerContext*,
                                                  const v1::StreamContainersRequest* req,
                                                  grpc::ServerWriter<v1::StreamContainersResponse>* writer) {
  return write_in_batches(
      writer, backend_.containers->list(to_container_filter(req->filter())),
      [](const auto& rec, v1::StreamContainersResponse& r) { to_cri(rec, r.add_containers()); },
      [](const v1::StreamContainersResponse& r) { return r.containers_size(); }, "StreamContainers",
      backend_.config.get()->list_stream_batch);
}

}  // namespace crid::server
