// The image service as the CRI server sees it: pull, list, status, remove
// and filesystem usage in domain types. Owns the registry client, both
// stores and the puller.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config_holder.h"
#include "image/image_store.h"
#include "image/layer_store.h"
#include "image/puller.h"
#include "image/registry_client.h"
#include "store/database.h"

namespace crid::image {

class ImageService {
 public:
  // Opens the stores under <root>/layers in `db`.
  static Result<std::unique_ptr<ImageService>> open(ConfigHolder& config, store::Database& db);

  // With given stores and config parser (tests inject fakes).
  ImageService(ConfigHolder& config, std::unique_ptr<LayerStore> layers, std::unique_ptr<ImageStore> images,
               ConfigParser parse_config, Platform platform = host_platform());

  // Stops waiting (kCancelled) once `caller_gone` says so; see ImagePuller.
  Result<std::string> pull(const std::string& ref, const AuthConfig& auth, const CancelCheck& caller_gone = {});
  std::vector<ImageRecord> list();
  // By id, id prefix, tag or digest, short names resolved as for pulls;
  // nullopt when absent.
  std::optional<ImageRecord> status(const std::string& ref);
  // A tag drops that name (the image goes with its last name); an id or a
  // digest removes the image. Absent images are fine (CRI: idempotent).
  Status remove(const std::string& ref);
  Result<StoreUsage> fs_info();

  RegistryClient& registry() { return *registry_; }
  // The layers under the images, for container rootfs overlays.
  LayerStore& layers() { return *layers_; }
  ImagePuller& puller() { return *puller_; }

 private:
  std::optional<ImageRecord> find(const std::string& ref, std::string* matched_tag);
  void mark_pinned(ImageRecord& rec);

  ConfigHolder& config_;
  std::unique_ptr<LayerStore> layers_;
  std::unique_ptr<ImageStore> images_;
  std::unique_ptr<RegistryClient> registry_;
  std::unique_ptr<ImagePuller> puller_;
};

}  // namespace crid::image
