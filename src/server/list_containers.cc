// ListContainers: filtered by id prefix, pod, state and labels.
#include "server/container_translate.h"
#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::ListContainers(grpc::ServerContext*, const v1::ListContainersRequest* req,
                                                v1::ListContainersResponse* resp) {
  for (const auto& rec : backend_.containers->list(to_container_filter(req->filter())))
    to_cri(rec, resp->add_containers());
  return grpc::Status::OK;
}

}  // namespace crid::server
