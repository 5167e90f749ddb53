// Opening the real stores (and the real config parser), kept apart from the
// service logic so unit tests that inject fakes do not link the disk side.
#include <spdlog/spdlog.h>

#include "image/image_service.h"
#include "util/fs.h"

namespace crid::image {

namespace {

// The cheap integrity check of start-up: every layer of every image has its
// directory. An image with a layer gone (a disk repaired by hand, a partial
// restore) is dropped, so the next pull fetches it again, rather than served
// and failing at container start.
void drop_broken_images(ImageStore& images, LayerStore& layers) {
  for (const auto& img : images.list()) {
    std::string missing;
    for (const auto& chain : img.chain_ids)
      if (!layers.has(chain) || !fs::exists(layers.diff_dir(chain))) missing = chain;
    if (missing.empty()) continue;
    spdlog::warn("[ImageStore] image {} lost its layer {}: removing it (pull it again)", img.id, missing);
    if (auto st = images.remove(img.id); !st)
      spdlog::error("[ImageStore] removing broken image {}: {}", img.id, st.error().message());
  }
}

}  // namespace

Result<std::unique_ptr<ImageService>> ImageService::open(ConfigHolder& config, store::Database& db) {
  auto cfg = config.get();
  CRID_ASSIGN(auto layers, LayerStore::open(cfg->root + "/layers", db));
  CRID_ASSIGN(auto images, ImageStore::open(db, *layers));
  drop_broken_images(*images, *layers);
  return std::make_unique<ImageService>(config, std::move(layers), std::move(images), parse_image_config);
}

}  // namespace crid::image
