// The CRI ImageService: image pulls, listing, status, removal and filesystem usage.
// Each RPC is defined in its own file named after it (e.g. `stream_images.cc`);
// RPCs whose feature is not built yet live in unimplemented.cc.
#pragma once

#include "runtime/v1/api.grpc.pb.h"
#include "server/backend.h"

namespace crid::server {

namespace v1 = ::runtime::v1;

class ImageServiceImpl final : public v1::ImageService::Service {
 public:
  explicit ImageServiceImpl(Backend& backend) : backend_(backend) {}

  grpc::Status ListImages(grpc::ServerContext* ctx, const v1::ListImagesRequest* req,
      v1::ListImagesResponse* resp) override;
  grpc::Status StreamImages(grpc::ServerContext* ctx, const v1::StreamImagesRequest* req,
      grpc::ServerWriter<v1::StreamImagesResponse>* writer) override;
  grpc::Status ImageStatus(grpc::ServerContext* ctx, const v1::ImageStatusRequest* req,
      v1::ImageStatusResponse* resp) override;
  grpc::Status PullImage(grpc::ServerContext* ctx, const v1::PullImageRequest* req,
      v1::PullImageResponse* resp) override;
  grpc::Status RemoveImage(grpc::ServerContext* ctx, const v1::RemoveImageRequest* req,
      v1::RemoveImageResponse* resp) override;
  grpc::Status ImageFsInfo(grpc::ServerContext* ctx, const v1::ImageFsInfoRequest* req,
      v1::ImageFsInfoResponse* resp) override;

 private:
  Backend& backend_;
};

}  // namespace crid::server
