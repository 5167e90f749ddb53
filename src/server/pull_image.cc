// PullImage: fetch an image from its registry (or a mirror) into the stores.
// The pull stops when the client cancels or its deadline passes (the
// kubelet's image pull has one) unless another caller still waits on it.
#include <chrono>

#include "server/grpc_status.h"
#include "server/image_service.h"
#include "util/log.h"

namespace crid::server {

grpc::Status ImageServiceImpl::PullImage(grpc::ServerContext* ctx, const v1::PullImageRequest* req,
                                         v1::PullImageResponse* resp) {
  const std::string& ref = req->image().image();
  if (ref.empty()) return invalid_argument("PullImage: image.image is empty");
  const auto& a = req->auth();
  image::AuthConfig auth{a.username(), a.password(), a.auth(), a.server_address(), a.identity_token(),
                         a.registry_token()};
  spdlog::info("[PullImage {}] requested{}", ref, auth.empty() ? "" : " with credentials");
  auto began = std::chrono::steady_clock::now();
  auto id = backend_.images->pull(ref, auth, [ctx] { return ctx->IsCancelled(); });
  backend_.metrics.record_pull(
      id.ok(), std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  if (!id) {
    spdlog::warn("[PullImage {}] failed: {}", ref, id.error().message());
    // A cancelled call whose deadline has passed was cancelled by it.
    if (id.error().kind() == ErrorKind::kCancelled && ctx->deadline() <= std::chrono::system_clock::now())
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          fmt::format("PullImage {}: deadline exceeded: {}", ref, id.error().message()));
    return to_grpc(id.error());
  }
  resp->set_image_ref(*id);
  return grpc::Status::OK;
}

}  // namespace crid::server
