// Image metadata in the database: id (config digest), tags, digests and the
// layer chain; taking and dropping layer references with the record in one
// transaction so a crash never leaves a tag pointing at missing layers.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "image/layer_store.h"
#include "image/types.h"
#include "store/database.h"

namespace crid::image {

class ImageStore {
 public:
  static Result<std::unique_ptr<ImageStore>> open(store::Database& db, LayerStore& layers);
  virtual ~ImageStore() = default;

  // Stores or updates `rec` (merging tags and digests into an existing image
  // with the same id; a tag moving to this image is removed from the other).
  virtual Status put(const ImageRecord& rec) = 0;

  // By full id ("sha256:..." or bare hex), unique id prefix, repo tag or repo digest
  // (fully qualified, e.g. "docker.io/library/busybox:latest").
  virtual std::optional<ImageRecord> find(const std::string& ref) = 0;
  virtual std::vector<ImageRecord> list() = 0;

  // Removes the image (all its tags) and releases its layers; NotFound if absent.
  virtual Status remove(const std::string& id) = 0;
  // Removes one tag; when it was the image's last name, removes the image.
  virtual Status untag(const std::string& repo_tag) = 0;
};

// Parses the fields of an OCI/Docker image config that crid uses.
Result<ImageConfig> parse_image_config(std::string_view json);

}  // namespace crid::image
