// ImageFsInfo: what the image layers use on their filesystem, for the
// kubelet's image garbage collection.
#include <chrono>

#include "server/grpc_status.h"
#include "server/image_service.h"

namespace crid::server {

grpc::Status ImageServiceImpl::ImageFsInfo(grpc::ServerContext*, const v1::ImageFsInfoRequest*,
                                           v1::ImageFsInfoResponse* resp) {
  auto usage = backend_.images->fs_info();
  if (!usage) return to_grpc(usage.error().wrap("ImageFsInfo"));
  auto* fs = resp->add_image_filesystems();
  fs->set_timestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count());
  fs->mutable_fs_id()->set_mountpoint(usage->mountpoint);
  fs->mutable_used_bytes()->set_value(static_cast<uint64_t>(std::max<int64_t>(usage->bytes, 0)));
  fs->mutable_inodes_used()->set_value(static_cast<uint64_t>(std::max<int64_t>(usage->inodes, 0)));
  return grpc::Status::OK;
}

}  // namespace crid::server
