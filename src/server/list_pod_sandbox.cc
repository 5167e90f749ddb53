// ListPodSandbox: pods filtered by id prefix, state and labels.
#include "server/grpc_status.h"
#include "server/pod_sandbox_translate.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::ListPodSandbox(grpc::ServerContext*,
                                                const v1::ListPodSandboxRequest* req,
                                                v1::ListPodSandboxResponse* resp) {
  auto pods = backend_.pods->list(to_pod_filter(req->filter()));
  if (!pods) return to_grpc(pods.error());
  for (auto& p : *pods) to_cri(p, resp->add_items());
  return grpc::Status::OK;
}

}  // namespace crid::server
