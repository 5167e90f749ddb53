// In-memory stand-ins for the disk side (LayerStore, ImageStore) so the
// puller and the service can be unit-tested without unpacking anything.
// A "layer" here is any byte string: its diff id is the sha256 of the bytes
// as received (no compression).
#pragma once

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "image/image_store.h"
#include "image/layer_store.h"

namespace crid::image {

// Test-only stand-in for the disk side's chain_ids(); weak, so the real one
// wins once both sides are linked together (same formula either way).
__attribute__((weak)) std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  for (auto& d : diff_ids) out.push_back(out.empty() ? d : sha256_digest(out.back() + " " + d));
  return out;
}

// The parts of an image config the puller needs (the real parser is the
// disk side's parse_image_config, injected in the daemon).
inline Result<ImageConfig> fake_parse_image_config(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("rootfs"))
    return make_error(ErrorKind::kInvalidArgument, "invalid image config");
  ImageConfig c;
  for (auto& d : j["rootfs"]["diff_ids"]) c.diff_ids.push_back(d.get<std::string>());
  if (j.contains("config") && j["config"].contains("User")) c.user = j["config"]["User"].get<std::string>();
  return c;
}

class FakeLayerStore : public LayerStore {
 public:
  bool has(const std::string& chain_id) override {
    std::lock_guard lock(mu_);
    return layers_.count(chain_id) > 0;
  }

  Result<LayerInfo> create(int fd, const LayerSpec& spec) override {
    {
      std::lock_guard lock(mu_);
      if (layers_.count(spec.chain_id)) return layers_[spec.chain_id];
      // Like the real store: a layer is recorded on its parent.
      if (!spec.parent_chain_id.empty() && !layers_.count(spec.parent_chain_id))
        return make_error(ErrorKind::kFailedPrecondition, "parent layer {} is not in the store",
                          spec.parent_chain_id);
    }
    int now = ++active_;
    int seen = max_active_.load();
    while (now > seen && !max_active_.compare_exchange_weak(seen, now)) {
    }
    std::string data;
    char buf[8192];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        --active_;
        return make_error(ErrorKind::kInternal, "read failed");
      }
      if (n == 0) break;
      data.append(buf, static_cast<size_t>(n));
      if (fail_after_bytes_ >= 0 && static_cast<int64_t>(data.size()) > fail_after_bytes_) {
        --active_;
        return make_error(ErrorKind::kInternal, "fake store failure in layer {}", spec.chain_id);
      }
    }
    --active_;
    ++creates_;
    std::string got = sha256_digest(data);
    if (got != spec.diff_id)
      return make_error(ErrorKind::kInvalidArgument, "layer {}: uncompressed digest {} is not the diff id {}",
                        spec.compressed_digest, got, spec.diff_id);
    LayerInfo info{spec.chain_id, spec.parent_chain_id, spec.diff_id, spec.compressed_digest,
                   static_cast<int64_t>(data.size())};
    std::lock_guard lock(mu_);
    layers_[spec.chain_id] = info;
    contents_[spec.chain_id] = data;
    return info;
  }

  Status add_ref(const std::string& c) override {
    std::lock_guard lock(mu_);
    ++refs_[c];
    return Ok();
  }
  Status release(const std::string& c) override {
    std::lock_guard lock(mu_);
    if (--refs_[c] <= 0) {
      layers_.erase(c);
      contents_.erase(c);
    }
    return Ok();
  }
  Result<std::vector<std::string>> lower_dirs(const std::string& top) override {
    return std::vector<std::string>{top};
  }
  std::string diff_dir(const std::string& c) override { return "/fake/" + c; }
  Result<StoreUsage> usage() override {
    std::lock_guard lock(mu_);
    StoreUsage u;
    for (auto& [k, v] : layers_) {
      u.bytes += v.size;
      ++u.inodes;
    }
    u.mountpoint = "/fake";
    return u;
  }

  // Methods the disk side added to the interface later (no `override`, so
  // this fake compiles against either version of the header).
  Result<LayerInfo> info(const std::string& c) {
    std::lock_guard lock(mu_);
    if (!layers_.count(c)) return make_error(ErrorKind::kNotFound, "layer {} not found", c);
    return layers_[c];
  }
  Result<int64_t> refcount(const std::string& c) {
    std::lock_guard lock(mu_);
    return static_cast<int64_t>(refs_[c]);
  }
  Status add_ref_in_transaction(const std::string& c) { return add_ref(c); }
  Result<std::vector<std::string>> release_in_transaction(const std::string& c) {
    CRID_TRY(release(c));
    return std::vector<std::string>{};
  }
  void remove_released(const std::vector<std::string>&) {}

  size_t count() {
    std::lock_guard lock(mu_);
    return layers_.size();
  }
  std::string content(const std::string& chain) {
    std::lock_guard lock(mu_);
    return contents_.count(chain) ? contents_[chain] : "";
  }

  int64_t fail_after_bytes_ = -1;
  std::atomic<int> creates_{0};
  std::atomic<int> active_{0};
  std::atomic<int> max_active_{0};

 private:
  std::mutex mu_;
  std::map<std::string, LayerInfo> layers_;
  std::map<std::string, std::string> contents_;
  std::map<std::string, int> refs_;
};

class FakeImageStore : public ImageStore {
 public:
  explicit FakeImageStore(LayerStore& layers) : layers_(layers) {}

  Status put(const ImageRecord& rec) override {
    std::lock_guard lock(mu_);
    for (auto& [id, other] : images_)
      if (id != rec.id)
        for (auto& t : rec.repo_tags) std::erase(other.repo_tags, t);
    auto it = images_.find(rec.id);
    if (it == images_.end()) {
      for (auto& c : rec.chain_ids) (void)layers_.add_ref(c);
      images_[rec.id] = rec;
      return Ok();
    }
    for (auto& t : rec.repo_tags)
      if (std::find(it->second.repo_tags.begin(), it->second.repo_tags.end(), t) == it->second.repo_tags.end())
        it->second.repo_tags.push_back(t);
    for (auto& d : rec.repo_digests)
      if (std::find(it->second.repo_digests.begin(), it->second.repo_digests.end(), d) ==
          it->second.repo_digests.end())
        it->second.repo_digests.push_back(d);
    return Ok();
  }

  std::optional<ImageRecord> find(const std::string& ref) override {
    std::lock_guard lock(mu_);
    for (auto& [id, r] : images_) {
      if (id == ref || id == "sha256:" + ref) return r;
      if (ref.size() >= 6 && (id.substr(7).rfind(ref, 0) == 0)) return r;
      for (auto& t : r.repo_tags)
        if (t == ref) return r;
      for (auto& d : r.repo_digests)
        if (d == ref) return r;
    }
    return std::nullopt;
  }

  std::vector<ImageRecord> list() override {
    std::lock_guard lock(mu_);
    std::vector<ImageRecord> out;
    for (auto& [id, r] : images_) out.push_back(r);
    return out;
  }

  Status remove(const std::string& id) override {
    std::lock_guard lock(mu_);
    auto it = images_.find(id);
    if (it == images_.end()) return make_error(ErrorKind::kNotFound, "image {} not found", id);
    for (auto& c : it->second.chain_ids) (void)layers_.release(c);
    images_.erase(it);
    return Ok();
  }

  Status untag(const std::string& tag) override {
    std::string drop;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, r] : images_) {
        if (std::find(r.repo_tags.begin(), r.repo_tags.end(), tag) == r.repo_tags.end()) continue;
        std::erase(r.repo_tags, tag);
        if (r.repo_tags.empty()) drop = id;
        break;
      }
    }
    if (!drop.empty()) return remove(drop);
    return Ok();
  }

 private:
  LayerStore& layers_;
  std::mutex mu_;
  std::map<std::string, ImageRecord> images_;
};

}  // namespace crid::image
