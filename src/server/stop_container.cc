// StopContainer: the stop signal, then SIGKILL after `timeout` seconds
// (0: at once). Idempotent on exited containers (CRI).
#include <spdlog/spdlog.h>

#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::StopContainer(grpc::ServerContext*, const v1::StopContainerRequest* req,
                                               v1::StopContainerResponse*) {
  if (req->container_id().empty()) return invalid_argument("StopContainer: container_id is empty");
  if (req->timeout() < 0) return invalid_argument("StopContainer: negative timeout");
  auto st = backend_.containers->stop(req->container_id(), std::chrono::seconds(req->timeout()));
  if (!st) spdlog::warn("[StopContainer ctr={}] {}", req->container_id(), st.error().message());
  return to_grpc(st);
}

}  // namespace crid::server
