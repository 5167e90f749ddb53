// SHA-256 content digests ("sha256:<hex>") computed while data streams by.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace crid::image {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t len);
  // "sha256:<64 hex>"; the object must not be updated afterwards.
  std::string finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string sha256_digest(std::string_view data);

}  // namespace crid::image
