// StopPodSandbox: stops the pod's containers and releases its network and
// namespaces; idempotent (CRI), unknown ids included.
#include <spdlog/spdlog.h>

#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::StopPodSandbox(grpc::ServerContext*,
                                                const v1::StopPodSandboxRequest* req,
                                                v1::StopPodSandboxResponse*) {
  if (req->pod_sandbox_id().empty()) return invalid_argument("StopPodSandbox: pod_sandbox_id is empty");
  auto st = backend_.pods->stop(req->pod_sandbox_id());
  if (!st) spdlog::warn("[StopPodSandbox pod={}] {}", req->pod_sandbox_id(), st.error().message());
  return to_grpc(st);
}

}  // namespace crid::server
