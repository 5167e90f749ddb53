// StreamPodSandboxes: ListPodSandbox in batches over a server stream.
#include "server/grpc_status.h"
#include "server/pod_sandbox_translate.h"
#include "server/runtime_service.h"
#include "server/stream_batches.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::StreamPodSandboxes(
    grpc::ServerContext*, const v1::StreamPodSandboxesRequest* req,
    grpc::ServerWriter<v1::StreamPodSandboxesResponse>* writer) {
  auto pods = backend_.pods->list(to_pod_filter(req->filter()));
  if (!pods) return to_grpc(pods.error());
  return write_in_batches(
      writer, *pods,
      [](const auto& pod, v1::StreamPodSandboxesResponse& r) { to_cri(pod, r.add_pod_sandboxes()); },
      [](const v1::StreamPodSandboxesResponse& r) { return r.pod_sandboxes_size(); },
      "StreamPodSandboxes", backend_.config.get()->list_stream_batch);
}

}  // namespace crid::server
