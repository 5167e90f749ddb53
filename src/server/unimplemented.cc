// RPCs whose feature is not built yet: each answers UNIMPLEMENTED with a
// sentence naming what is missing, never a fake success.
#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::CheckpointContainer(grpc::ServerContext*, const v1::CheckpointContainerRequest*,
    v1::CheckpointContainerResponse*) {
  return unimplemented("CheckpointContainer: checkpoint and restore are not supported by crid");
}

grpc::Status RuntimeServiceImpl::CheckpointPod(grpc::ServerContext*, const v1::CheckpointPodRequest*,
    v1::CheckpointPodResponse*) {
  return unimplemented("CheckpointPod: checkpoint and restore are not supported by crid");
}

grpc::Status RuntimeServiceImpl::RestorePod(grpc::ServerContext*, const v1::RestorePodRequest*,
    v1::RestorePodResponse*) {
  return unimplemented("RestorePod: checkpoint and restore are not supported by crid");
}

grpc::Status RuntimeServiceImpl::UpdatePodSandboxResources(grpc::ServerContext*, const v1::UpdatePodSandboxResourcesRequest*,
    v1::UpdatePodSandboxResourcesResponse*) {
  return unimplemented("UpdatePodSandboxResources: resizing a running pod's resources in place is not supported yet");
}

}  // namespace crid::server
