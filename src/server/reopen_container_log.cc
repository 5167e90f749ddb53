// ReopenContainerLog: after the kubelet rotated the log file, the monitor
// starts a new one at the same path.
#include <spdlog/spdlog.h>

#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::ReopenContainerLog(grpc::ServerContext*, const v1::ReopenContainerLogRequest* req,
                                                    v1::ReopenContainerLogResponse*) {
  if (req->container_id().empty()) return invalid_argument("ReopenContainerLog: container_id is empty");
  auto st = backend_.containers->reopen_log(req->container_id());
  if (!st) spdlog::warn("[ReopenContainerLog ctr={}] {}", req->container_id(), st.error().message());
  return to_grpc(st);
}

}  // namespace crid::server
