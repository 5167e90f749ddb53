// StreamPodSandboxes: ListPodSandbox in batches over a server stream, so a
// node with many pods never exceeds a message size limit.
#include "server/grpc_status.h"
#include "server/pod_sandbox_translate.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::StreamPodSandboxes(
    grpc::ServerContext*, const v1::StreamPodSandboxesRequest* req,
    grpc::ServerWriter<v1::StreamPodSandboxesResponse>* writer) {
  constexpr int kBatch = 512;
  auto pods = backend_.pods->list(to_pod_filter(req->filter()));
  if (!pods) return to_grpc(pods.error());
  v1::StreamPodSandboxesResponse batch;
  for (auto& p : *pods) {
    to_cri(p, batch.add_pod_sandboxes());
    if (batch.pod_sandboxes_size() == kBatch) {
      if (!writer->Write(batch)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
      batch.Clear();
    }
  }
  if (batch.pod_sandboxes_size() > 0 && !writer->Write(batch))
    return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  return grpc::Status::OK;
}

}  // namespace crid::server
