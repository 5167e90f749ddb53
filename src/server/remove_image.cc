// RemoveImage: by id, tag or digest; removing an absent image succeeds (CRI).
#include "server/grpc_status.h"
#include "server/image_service.h"

namespace crid::server {

grpc::Status ImageServiceImpl::RemoveImage(grpc::ServerContext*, const v1::RemoveImageRequest* req,
                                           v1::RemoveImageResponse*) {
  const std::string& ref = req->image().image();
  if (ref.empty()) return invalid_argument("RemoveImage: image.image is empty");
  return to_grpc(backend_.images->remove(ref));
}

}  // namespace crid::server
