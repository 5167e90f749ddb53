// RemoveContainer: kills it if needed and removes everything it had;
// unknown ids are fine (CRI: idempotent).
#include <spdlog/spdlog.h>

#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::RemoveContainer(grpc::ServerContext*, const v1::RemoveContainerRequest* req,
                                                 v1::RemoveContainerResponse*) {
  if (req->container_id().empty()) return invalid_argument("RemoveContainer: container_id is empty");
  auto st = backend_.containers->remove(req->container_id());
  if (!st) spdlog::warn("[RemoveContainer ctr={}] {}", req->container_id(), st.error().message());
  return to_grpc(st);
}

}  // namespace crid::server
