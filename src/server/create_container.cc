// CreateContainer: translates the request and hands it to the container
// lifecycle; an unknown pod or image is NotFound naming it.
#include <spdlog/spdlog.h>

#include "server/container_translate.h"
#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::CreateContainer(grpc::ServerContext* ctx, const v1::CreateContainerRequest* req,
                                                 v1::CreateContainerResponse* resp) {
  if (req->pod_sandbox_id().empty()) return invalid_argument("CreateContainer: pod_sandbox_id is empty");
  if (!req->has_config()) return invalid_argument("CreateContainer: no container config");
  auto cr = to_create_request(*req);
  if (!cr) return to_grpc(cr.error().wrap("CreateContainer"));
  auto id = backend_.containers->create(*cr, [ctx] { return ctx->IsCancelled(); });
  if (!id) {
    spdlog::warn("[CreateContainer name={} pod={}] {}", cr->request.name, req->pod_sandbox_id(),
                 id.error().message());
    return to_grpc(id.error());
  }
  resp->set_container_id(*id);
  return grpc::Status::OK;
}

}  // namespace crid::server
