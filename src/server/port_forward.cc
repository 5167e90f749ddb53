// PortForward: checks the pod and the ports and returns a single-use URL on
// the streaming server, where each client connection is piped to a port
// inside the pod's network namespace.
#include <spdlog/spdlog.h>

#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "server/stream_checks.h"
#include "stream/stream_server.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::PortForward(grpc::ServerContext*,
                                             const v1::PortForwardRequest* req,
                                             v1::PortForwardResponse* resp) {
  if (auto st = streaming_available(backend_, "PortForward"); !st.ok()) return st;
  const std::string& id = req->pod_sandbox_id();
  if (id.empty()) return invalid_argument("PortForward: pod_sandbox_id is empty");
  auto pod = backend_.pods->status(id);
  if (!pod) return to_grpc(pod.error().wrap("PortForward"));
  if (pod->state != sandbox::PodState::kReady)
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "PortForward: pod " + pod->id + " is not ready");
  stream::PortForwardRequest what;
  what.pod_id = pod->id;
  for (int32_t port : req->port()) {
    if (port < 1 || port > 65535)
      return invalid_argument(fmt::format("PortForward {}: port {} is out of range", id, port));
    what.ports.push_back(static_cast<uint16_t>(port));
  }
  auto url = backend_.stream_server->get_url(std::move(what));
  if (!url) return to_grpc(url.error().wrap("PortForward " + id));
  spdlog::debug("[PortForward pod={}] {}", id, *url);
  resp->set_url(*url);
  return grpc::Status::OK;
}

}  // namespace crid::server
