// RuntimeConfig: tells the kubelet which cgroup driver to match.
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::RuntimeConfig(grpc::ServerContext*,
                                               const v1::RuntimeConfigRequest*,
                                               v1::RuntimeConfigResponse* resp) {
  auto cfg = backend_.config.get();
  resp->mutable_linux()->set_cgroup_driver(cfg->cgroup_driver == "systemd" ? v1::SYSTEMD
                                                                            : v1::CGROUPFS);
  return grpc::Status::OK;
}

}  // namespace crid::server
