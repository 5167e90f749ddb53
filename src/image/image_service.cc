#include "image/image_service.h"

#include <algorithm>

#include "util/log.h"

namespace crid::image {

ImageService::ImageService(ConfigHolder& config, std::unique_ptr<LayerStore> layers,
                           std::unique_ptr<ImageStore> images, ConfigParser parse_config, Platform platform)
    : config_(config),
      layers_(std::move(layers)),
      images_(std::move(images)),
      registry_(std::make_unique<RegistryClient>(config)),
      puller_(std::make_unique<ImagePuller>(config, *registry_, *layers_, *images_, std::move(parse_config),
                                            std::move(platform))) {}

Result<std::string> ImageService::pull(const std::string& ref, const AuthConfig& auth,
                                       const CancelCheck& caller_gone) {
  return puller_->pull(ref, auth, caller_gone);
}

void ImageService::mark_pinned(ImageRecord& rec) {
  auto cfg = config_.get();
  for (const auto& p : cfg->pinned_images) {
    std::vector<std::string> forms{p};
    if (auto resolved = resolve_reference(p, cfg->unqualified_search_registries))
      for (auto& r : *resolved) forms.push_back(r.str());
    for (const auto& f : forms) {
      bool hit = f == rec.id || std::find(rec.repo_tags.begin(), rec.repo_tags.end(), f) != rec.repo_tags.end() ||
                 std::find(rec.repo_digests.begin(), rec.repo_digests.end(), f) != rec.repo_digests.end();
      if (hit) {
        rec.pinned = true;
        return;
      }
    }
  }
}

std::vector<ImageRecord> ImageService::list() {
  auto all = images_->list();
  for (auto& r : all) mark_pinned(r);
  return all;
}

std::optional<ImageRecord> ImageService::find(const std::string& ref, std::string* matched_tag) {
  if (ref.empty()) return std::nullopt;
  // Ids and id prefixes first: they are not valid names when they contain
  // "sha256:", and a bare hex id must not be read as a docker.io name.
  if (auto hit = images_->find(ref)) {
    if (matched_tag && std::find(hit->repo_tags.begin(), hit->repo_tags.end(), ref) != hit->repo_tags.end())
      *matched_tag = ref;
    return hit;
  }
  auto resolved = resolve_reference(ref, config_.get()->unqualified_search_registries);
  if (!resolved) return std::nullopt;
  for (const auto& r : *resolved) {
    // name:tag@digest is found by its digest.
    std::string key = r.digest.empty() ? r.tagged() : r.digested(r.digest);
    if (auto hit = images_->find(key)) {
      if (matched_tag && r.digest.empty()) *matched_tag = key;
      return hit;
    }
  }
  return std::nullopt;
}

std::optional<ImageRecord> ImageService::status(const std::string& ref) {
  auto rec = find(ref, nullptr);
  if (rec) mark_pinned(*rec);
  return rec;
}

Status ImageService::remove(const std::string& ref) {
  std::string tag;
  auto rec = find(ref, &tag);
  if (!rec) {
    spdlog::info("[RemoveImage {}] not present; nothing to do", ref);
    return Ok();
  }
  if (!tag.empty() && rec->repo_tags.size() > 1) {
    spdlog::info("[RemoveImage {}] removing tag {} of {}", ref, tag, log::short_id(rec->id.substr(7)));
    auto st = images_->untag(tag);
    if (!st && st.error().kind() != ErrorKind::kNotFound) return st;
    return Ok();
  }
  spdlog::info("[RemoveImage {}] removing image {}", ref, log::short_id(rec->id.substr(7)));
  auto st = images_->remove(rec->id);
  // A concurrent removal got there first: still gone, as asked.
  if (!st && st.error().kind() != ErrorKind::kNotFound) return st;
  return Ok();
}

Result<StoreUsage> ImageService::fs_info() { return layers_->usage(); }

}  // namespace crid::image
