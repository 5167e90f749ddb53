// Exec: checks the request and returns a single-use URL on the streaming
// server, where the client runs the command over SPDY or WebSocket.
#include <spdlog/spdlog.h>

#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "server/stream_checks.h"
#include "stream/stream_server.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::Exec(grpc::ServerContext*, const v1::ExecRequest* req,
                                      v1::ExecResponse* resp) {
  if (auto st = streaming_available(backend_, "Exec"); !st.ok()) return st;
  if (req->cmd().empty()) return invalid_argument("Exec " + req->container_id() + ": cmd is empty");
  if (auto st = check_stdio("Exec", req->container_id(), req->stdin(), req->stdout(),
                            req->stderr(), req->tty());
      !st.ok())
    return st;
  stream::ExecRequest what;
  if (auto st = running_container(backend_, "Exec", req->container_id(), &what.container_id);
      !st.ok())
    return st;
  what.cmd.assign(req->cmd().begin(), req->cmd().end());
  what.tty = req->tty();
  what.stdin = req->stdin();
  what.stdout = req->stdout();
  what.stderr = req->stderr();
  auto url = backend_.stream_server->get_url(std::move(what));
  if (!url) return to_grpc(url.error().wrap("Exec " + req->container_id()));
  spdlog::debug("[Exec ctr={}] {}", req->container_id(), *url);
  resp->set_url(*url);
  return grpc::Status::OK;
}

}  // namespace crid::server
