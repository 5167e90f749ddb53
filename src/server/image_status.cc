// ImageStatus: one image by id, tag or digest; absent -> OK with no image (CRI).
#include <nlohmann/json.hpp>

#include "server/grpc_status.h"
#include "server/image_convert.h"
#include "server/image_service.h"

namespace crid::server {

grpc::Status ImageServiceImpl::ImageStatus(grpc::ServerContext*, const v1::ImageStatusRequest* req,
                                           v1::ImageStatusResponse* resp) {
  const std::string& ref = req->image().image();
  if (ref.empty()) return invalid_argument("ImageStatus: image.image is empty");
  auto rec = backend_.images->status(ref);
  if (!rec) return grpc::Status::OK;
  to_cri_image(*rec, resp->mutable_image());
  if (req->verbose()) {
    nlohmann::json info = {{"id", rec->id},
                           {"repoTags", rec->repo_tags},
                           {"repoDigests", rec->repo_digests},
                           {"chainIDs", rec->chain_ids},
                           {"pinned", rec->pinned}};
    auto config = nlohmann::json::parse(rec->config_json, nullptr, false);
    info["imageSpec"] = config.is_discarded() ? nlohmann::json(rec->config_json) : config;
    (*resp->mutable_info())["info"] = info.dump();
  }
  return grpc::Status::OK;
}

}  // namespace crid::server
