// ContainerStatus: the stored record; verbose adds {"info": JSON} with the
// pid, OCI spec, runtime handler and pod id.
#include "server/container_translate.h"
#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::ContainerStatus(grpc::ServerContext*, const v1::ContainerStatusRequest* req,
                                                 v1::ContainerStatusResponse* resp) {
  if (req->container_id().empty()) return invalid_argument("ContainerStatus: container_id is empty");
  std::string info;
  auto rec = backend_.containers->status(req->container_id(), req->verbose() ? &info : nullptr);
  if (!rec) return to_grpc(rec.error());
  to_cri(*rec, resp->mutable_status());
  if (req->verbose()) (*resp->mutable_info())["info"] = info;
  return grpc::Status::OK;
}

}  // namespace crid::server
