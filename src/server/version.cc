// Version: who we are and which CRI we speak.
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::Version(grpc::ServerContext*, const v1::VersionRequest*,
                                         v1::VersionResponse* resp) {
  // "version" is the kubelet-facing API version of the Version RPC itself.
  resp->set_version("0.1.0");
  resp->set_runtime_name("crid");
  resp->set_runtime_version(CRID_VERSION);
  resp->set_runtime_api_version("v1");
  return grpc::Status::OK;
}

}  // namespace crid::server
