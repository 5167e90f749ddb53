// Opening the real stores (and the real config parser), kept apart from the
// service logic so unit tests that inject fakes do not link the disk side.
#include "image/image_service.h"

namespace crid::image {

Result<std::unique_ptr<ImageService>> ImageService::open(ConfigHolder& config, store::Database& db) {
  auto cfg = config.get();
  CRID_ASSIGN(auto layers, LayerStore::open(cfg->root + "/layers", db));
  CRID_ASSIGN(auto images, ImageStore::open(db, *layers));
  return std::make_unique<ImageService>(config, std::move(layers), std::move(images), parse_image_config);
}

}  // namespace crid::image
