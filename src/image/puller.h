// Pulling an image: resolve the name, fetch the manifest (choosing the
// host's platform from an index), the config and the missing layers (in
// parallel; a layer whose parent is in place streams from the registry
// straight into the layer store through a pipe, others spool to an unlinked
// temp file until their parent lands), then record the image. Concurrent pulls of one reference
// share one operation; pulls of different images run side by side.
#pragma once

#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>

#include "config/config_holder.h"
#include "image/image_store.h"
#include "image/layer_store.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/registry_client.h"
#include "util/unique_fd.h"

namespace crid::image {

// Reads an image config blob (image::parse_image_config in the daemon).
using ConfigParser = std::function<Result<ImageConfig>(std::string_view json)>;

class ImagePuller {
 public:
  ImagePuller(ConfigHolder& config, RegistryClient& registry, LayerStore& layers, ImageStore& images,
              ConfigParser parse_config, Platform platform = host_platform());

  // Returns the image id ("sha256:<config digest>").
  Result<std::string> pull(const std::string& ref, const AuthConfig& auth);

  // Pull operations started (not joined) so far; for tests and metrics.
  int64_t operations_started() const;

 private:
  Result<std::string> pull_resolved(const std::string& text, const AuthConfig& auth);
  Result<std::string> pull_one(const Reference& ref, const AuthConfig& auth);
  Status fetch_layers(const Reference& ref, const std::vector<Descriptor>& layers,
                      const std::vector<LayerSpec>& specs, const AuthConfig& auth, int64_t& total_size);
  // Downloads into the layer store through a pipe, while the store unpacks.
  Result<LayerInfo> stream_layer(const Reference& ref, const Descriptor& desc, const LayerSpec& spec,
                                 const AuthConfig& auth);
  // Downloads (verified) into an unlinked file under `dir`, rewound.
  Result<UniqueFd> spool_layer(const Reference& ref, const Descriptor& desc, const AuthConfig& auth,
                               const std::string& dir);

  ConfigHolder& config_;
  RegistryClient& registry_;
  LayerStore& layers_;
  ImageStore& images_;
  ConfigParser parse_config_;
  Platform platform_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_future<Result<std::string>>> in_flight_;
  int64_t started_ = 0;
};

}  // namespace crid::image
