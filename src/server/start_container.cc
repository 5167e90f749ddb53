// StartContainer: runs a created container's program.
#include <spdlog/spdlog.h>

#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::StartContainer(grpc::ServerContext*, const v1::StartContainerRequest* req,
                                                v1::StartContainerResponse*) {
  if (req->container_id().empty()) return invalid_argument("StartContainer: container_id is empty");
  auto st = backend_.containers->start(req->container_id());
  if (!st) spdlog::warn("[StartContainer ctr={}] {}", req->container_id(), st.error().message());
  return to_grpc(st);
}

}  // namespace crid::server
