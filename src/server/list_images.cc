// ListImages and StreamImages: every stored image, optionally filtered by
// one image reference.
#include "server/grpc_status.h"
#include "server/image_convert.h"
#include "server/image_service.h"
#include "server/stream_batches.h"

namespace crid::server {

namespace {

std::vector<image::ImageRecord> matching(image::ImageService& images, const v1::ImageFilter& filter) {
  const std::string& want = filter.image().image();
  if (want.empty()) return images.list();
  auto rec = images.status(want);
  if (!rec) return {};
  return {*rec};
}

}  // namespace

grpc::Status ImageServiceImpl::ListImages(grpc::ServerContext*, const v1::ListImagesRequest* req,
                                          v1::ListImagesResponse* resp) {
  for (auto& rec : matching(*backend_.images, req->filter())) to_cri_image(rec, resp->add_images());
  return grpc::Status::OK;
}

grpc::Status ImageServiceImpl::StreamImages(grpc::ServerContext*, const v1::StreamImagesRequest* req,
                                            grpc::ServerWriter<v1::StreamImagesResponse>* writer) {
  return write_in_batches(
      writer, matching(*backend_.images, req->filter()),
      [](const image::ImageRecord& rec, v1::StreamImagesResponse& r) { to_cri_image(rec, r.add_images()); },
      [](const v1::StreamImagesResponse& r) { return r.images_size(); }, "StreamImages",
      backend_.config.get()->list_stream_batch);
}

}  // namespace crid::server
