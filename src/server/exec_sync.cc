// ExecSync: runs a command in a running container and returns its output
// and exit code. A timeout is DEADLINE_EXCEEDED, which the kubelet reports
// as a probe timeout.
#include <spdlog/spdlog.h>

#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::ExecSync(grpc::ServerContext*, const v1::ExecSyncRequest* req,
                                          v1::ExecSyncResponse* resp) {
  if (req->container_id().empty()) return invalid_argument("ExecSync: container_id is empty");
  if (req->cmd().empty()) return invalid_argument("ExecSync: cmd is empty");
  if (req->timeout() < 0) return invalid_argument("ExecSync: negative timeout");
  std::vector<std::string> cmd(req->cmd().begin(), req->cmd().end());
  auto r = backend_.containers->exec_sync(req->container_id(), cmd, std::chrono::seconds(req->timeout()));
  if (!r) {
    spdlog::debug("[ExecSync ctr={}] {}", req->container_id(), r.error().message());
    return to_grpc(r.error());
  }
  resp->set_stdout(std::move(r->out));
  resp->set_stderr(std::move(r->err));
  resp->set_exit_code(r->exit_code);
  return grpc::Status::OK;
}

}  // namespace crid::server
