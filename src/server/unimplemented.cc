// RPCs whose feature is not built yet: each answers UNIMPLEMENTED with a
// sentence naming what is missing, never a fake success.
#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::ContainerStats(grpc::ServerContext*, const v1::ContainerStatsRequest*,
    v1::ContainerStatsResponse*) {
  return unimplemented("ContainerStats: container and pod statistics are not built yet");
}

grpc::Status RuntimeServiceImpl::ListContainerStats(grpc::ServerContext*, const v1::ListContainerStatsRequest*,
    v1::ListContainerStatsResponse*) {
  return unimplemented("ListContainerStats: container and pod statistics are not built yet");
}

grpc::Status RuntimeServiceImpl::StreamContainerStats(grpc::ServerContext*, const v1::StreamContainerStatsRequest*,
    grpc::ServerWriter<v1::StreamContainerStatsResponse>*) {
  return unimplemented("StreamContainerStats: container and pod statistics are not built yet");
}

grpc::Status RuntimeServiceImpl::PodSandboxStats(grpc::ServerContext*, const v1::PodSandboxStatsRequest*,
    v1::PodSandboxStatsResponse*) {
  return unimplemented("PodSandboxStats: container and pod statistics are not built yet");
}

grpc::Status RuntimeServiceImpl::ListPodSandboxStats(grpc::ServerContext*, const v1::ListPodSandboxStatsRequest*,
    v1::ListPodSandboxStatsResponse*) {
  return unimplemented("ListPodSandboxStats: container and pod statistics are not built yet");
}

grpc::Status RuntimeServiceImpl::StreamPodSandboxStats(grpc::ServerContext*, const v1::StreamPodSandboxStatsRequest*,
    grpc::ServerWriter<v1::StreamPodSandboxStatsResponse>*) {
  return unimplemented("StreamPodSandboxStats: container and pod statistics are not built yet");
}

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

grpc::Status RuntimeServiceImpl::GetContainerEvents(grpc::ServerContext*, const v1::GetEventsRequest*,
    grpc::ServerWriter<v1::ContainerEventResponse>*) {
  return unimplemented("GetContainerEvents: container lifecycle events are not built yet");
}

grpc::Status RuntimeServiceImpl::ListMetricDescriptors(grpc::ServerContext*, const v1::ListMetricDescriptorsRequest*,
    v1::ListMetricDescriptorsResponse*) {
  return unimplemented("ListMetricDescriptors: container and pod statistics are not built yet");
}

grpc::Status RuntimeServiceImpl::ListPodSandboxMetrics(grpc::ServerContext*, const v1::ListPodSandboxMetricsRequest*,
    v1::ListPodSandboxMetricsResponse*) {
  return unimplemented("ListPodSandboxMetrics: container and pod statistics are not built yet");
}

grpc::Status RuntimeServiceImpl::StreamPodSandboxMetrics(grpc::ServerContext*, const v1::StreamPodSandboxMetricsRequest*,
    grpc::ServerWriter<v1::StreamPodSandboxMetricsResponse>*) {
  return unimplemented("StreamPodSandboxMetrics: container and pod statistics are not built yet");
}

grpc::Status RuntimeServiceImpl::UpdatePodSandboxResources(grpc::ServerContext*, const v1::UpdatePodSandboxResourcesRequest*,
    v1::UpdatePodSandboxResourcesResponse*) {
  return unimplemented("UpdatePodSandboxResources: pod sandboxes are not built yet");
}

}  // namespace crid::server
