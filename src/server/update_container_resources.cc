// UpdateContainerResources: new cgroup limits for a live container, kept
// for ContainerStatus.resources.
#include <spdlog/spdlog.h>

#include "server/container_translate.h"
#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::UpdateContainerResources(grpc::ServerContext*,
                                                          const v1::UpdateContainerResourcesRequest* req,
                                                          v1::UpdateContainerResourcesResponse*) {
  if (req->container_id().empty()) return invalid_argument("UpdateContainerResources: container_id is empty");
  if (!req->has_linux()) return invalid_argument("UpdateContainerResources: no Linux resources given");
  auto res = to_resources(req->linux());
  if (!res) return to_grpc(res.error());
  auto st = backend_.containers->update_resources(req->container_id(), *res);
  if (!st) spdlog::warn("[UpdateContainerResources ctr={}] {}", req->container_id(), st.error().message());
  return to_grpc(st);
}

}  // namespace crid::server
