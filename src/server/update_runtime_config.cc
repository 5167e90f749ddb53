// UpdateRuntimeConfig: the kubelet hands down the node's pod CIDR, which
// CNI plugins receive as runtimeConfig for IPAM ranges.
#include <spdlog/spdlog.h>

#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::UpdateRuntimeConfig(grpc::ServerContext*,
                                                     const v1::UpdateRuntimeConfigRequest* req,
                                                     v1::UpdateRuntimeConfigResponse*) {
  const std::string& cidr = req->runtime_config().network_config().pod_cidr();
  std::lock_guard lock(backend_.pod_cidr_mu);
  if (!cidr.empty() && cidr != backend_.pod_cidr) {
    spdlog::info("[UpdateRuntimeConfig] pod CIDR {} -> {}", backend_.pod_cidr, cidr);
    backend_.pod_cidr = cidr;
  }
  return grpc::Status::OK;
}

}  // namespace crid::server
