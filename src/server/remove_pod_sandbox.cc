// RemovePodSandbox: stops if needed, then deletes the pod's containers,
// files and record; idempotent, unknown ids are OK.
#include <spdlog/spdlog.h>

#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::RemovePodSandbox(grpc::ServerContext*,
                                                  const v1::RemovePodSandboxRequest* req,
                                                  v1::RemovePodSandboxResponse*) {
  if (req->pod_sandbox_id().empty())
    return invalid_argument("RemovePodSandbox: pod_sandbox_id is empty");
  auto st = backend_.pods->remove(req->pod_sandbox_id());
  if (!st)
    spdlog::warn("[RemovePodSandbox pod={}] {}", req->pod_sandbox_id(), st.error().message());
  return to_grpc(st);
}

}  // namespace crid::server
