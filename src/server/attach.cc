// Attach: checks the request and returns a single-use URL on the streaming
// server, where the client joins the running container's stdio.
#include <spdlog/spdlog.h>

#include "server/grpc_status.h"
#include "server/runtime_service.h"
#include "server/stream_checks.h"
#include "stream/stream_server.h"

namespace crid::server {

grpc::Status RuntimeServiceImpl::Attach(grpc::ServerContext*, const v1::AttachRequest* req,
                                        v1::AttachResponse* resp) {
  if (auto st = streaming_available(backend_, "Attach"); !st.ok()) return st;
  if (auto st = check_stdio("Attach", req->container_id(), req->stdin(), req->stdout(),
                            req->stderr(), req->tty());
      !st.ok())
    return st;
  stream::AttachRequest what;
  if (auto st = running_container(backend_, "Attach", req->container_id(), &what.container_id);
      !st.ok())
    return st;
  what.tty = req->tty();
  what.stdin = req->stdin();
  what.stdout = req->stdout();
  what.stderr = req->stderr();
  auto url = backend_.stream_server->get_url(std::move(what));
  if (!url) return to_grpc(url.error().wrap("Attach " + req->container_id()));
  spdlog::debug("[Attach ctr={}] {}", req->container_id(), *url);
  resp->set_url(*url);
  return grpc::Status::OK;
}

}  // namespace crid::server
