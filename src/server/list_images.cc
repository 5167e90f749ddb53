// ListImages and StreamImages: every stored image, optionally filtered by
// one image reference.
#include "server/grpc_status.h"
#include "server/image_convert.h"
#include "server/image_service.h"

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
  // Batches keep each message far below the gRPC size limit.
  constexpr int kBatch = 500;
  v1::StreamImagesResponse batch;
  for (auto& rec : matching(*backend_.images, req->filter())) {
    to_cri_image(rec, batch.add_images());
    if (batch.images_size() == kBatch) {
      if (!writer->Write(batch)) return grpc::Status(grpc::StatusCode::CANCELLED, "StreamImages: client went away");
      batch.Clear();
    }
  }
  if (batch.images_size() > 0 && !writer->Write(batch))
    return grpc::Status(grpc::StatusCode::CANCELLED, "StreamImages: client went away");
  return grpc::Status::OK;
}

}  // namespace crid::server
