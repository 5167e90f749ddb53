// RunPodSandbox: namespaces, network, hostname/hosts/resolv.conf and shm for
// a new pod; the lifecycle lives in sandbox::SandboxManager.
#include <spdlog/spdlog.h>

#include "server/grpc_status.h"
#include "server/pod_sandbox_translate.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::RunPodSandbox(grpc::ServerContext* ctx,
                                               const v1::RunPodSandboxRequest* req,
                                               v1::RunPodSandboxResponse* resp) {
  if (!req->has_config()) return invalid_argument("RunPodSandbox: config is missing");
  auto config = to_pod_config(req->config());
  if (!config) return to_grpc(config.error());
  auto id = backend_.pods->run(*config, req->runtime_handler(),
                               [ctx] { return ctx->IsCancelled(); });
  if (!id) {
    spdlog::warn("[RunPodSandbox {}/{}] {}", config->metadata.namespace_, config->metadata.name,
                 id.error().message());
    return to_grpc(id.error());
  }
  resp->set_pod_sandbox_id(*id);
  return grpc::Status::OK;
}

}  // namespace crid::server
