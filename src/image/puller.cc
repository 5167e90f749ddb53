#include "image/puller.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "util/log.h"
#include "util/unique_fd.h"

namespace crid::image {

namespace {

// Image configs are small JSON documents; anything bigger is hostile.
constexpr int64_t kMaxConfigBytes = 16 << 20;
// Bytes of a layer held back until its digest is verified, so the layer
// store never sees a complete stream whose digest turns out wrong.
constexpr size_t kHeldBack = 64 << 10;

Status write_all(int fd, const char* data, size_t len, const std::string& what) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE)
        return make_error(ErrorKind::kCancelled, "{}: the layer store stopped reading", what);
      return sys_error("{}: writing to the layer store pipe", what);
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return Ok();
}

// A write into a pipe whose reader is gone raises SIGPIPE; this thread
// blocks it (and eats the pending one) so the daemon sees EPIPE instead.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SigpipeBlocked() {
    timespec zero{0, 0};
    while (sigtimedwait(&set_, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t set_, old_;
};

std::string short_digest(const std::string& d) { return d.substr(0, 19); }

}  // namespace

ImagePuller::ImagePuller(ConfigHolder& config, RegistryClient& registry, LayerStore& layers,
                         ImageStore& images, Platform platform)
    : config_(config), registry_(registry), layers_(layers), images_(images), platform_(std::move(platform)) {}

int64_t ImagePuller::operations_started() const {
  std::lock_guard lock(mu_);
  return started_;
}

Result<std::string> ImagePuller::pull(const std::string& text, const AuthConfig& auth) {
  auto cfg = config_.get();
  CRID_ASSIGN(auto candidates, resolve_reference(text, cfg->unqualified_search_registries));
  std::string key = candidates.front().str();

  std::promise<Result<std::string>> promise;
  {
    std::unique_lock lock(mu_);
    auto it = in_flight_.find(key);
    if (it != in_flight_.end()) {
      auto shared = it->second;
      lock.unlock();
      spdlog::info("[PullImage {}] joining the pull already in progress", key);
      return shared.get();
    }
    in_flight_.emplace(key, promise.get_future().share());
    ++started_;
  }
  Result<std::string> result = pull_resolved(text, auth);
  promise.set_value(result);
  {
    std::lock_guard lock(mu_);
    in_flight_.erase(key);
  }
  return result;
}

Result<std::string> ImagePuller::pull_resolved(const std::string& text, const AuthConfig& auth) {
  auto cfg = config_.get();
  CRID_ASSIGN(auto candidates, resolve_reference(text, cfg->unqualified_search_registries));
  std::optional<Error> first;
  std::string tried;
  for (const auto& ref : candidates) {
    auto r = pull_one(ref, auth);
    if (r) return r;
    if (candidates.size() == 1) return r.error();
    if (!first) first = r.error();
    tried += (tried.empty() ? "" : "; ") + r.error().message();
  }
  return Error(first->kind(), fmt::format("pulling {} from every search registry failed: {}", text, tried));
}

Result<std::string> ImagePuller::pull_one(const Reference& ref, const AuthConfig& auth) {
  auto cfg = config_.get();
  std::string name = ref.str();
  std::string ctx = "pulling image " + name;
  spdlog::info("[PullImage {}] fetching the manifest", name);

  CRID_ASSIGN(FetchedManifest top, registry_.get_manifest(ref, ref.manifest_ref(), auth));
  std::string repo_digest = top.digest;
  auto parsed_r = parse_manifest(top.body, top.media_type, cfg->max_manifest_bytes);
  if (!parsed_r) return parsed_r.error().wrap(ctx);
  ParsedManifest manifest = std::move(parsed_r).value();
  if (manifest.is_index) {
    auto chosen = select_platform(manifest, platform_);
    if (!chosen) return chosen.error().wrap(ctx);
    spdlog::info("[PullImage {}] index {}: using {} for {}", name, short_digest(repo_digest),
                 short_digest(chosen->digest), format_platform(platform_));
    CRID_ASSIGN(FetchedManifest platform_manifest, registry_.get_manifest(ref, chosen->digest, auth));
    auto inner = parse_manifest(platform_manifest.body, platform_manifest.media_type, cfg->max_manifest_bytes);
    if (!inner) return inner.error().wrap(fmt::format("{}: manifest {}", ctx, chosen->digest));
    if (inner->is_index)
      return make_error(ErrorKind::kInvalidArgument, "{}: index entry {} is itself an index", ctx, chosen->digest);
    manifest = std::move(inner).value();
  }

  auto config_json = registry_.get_blob_bytes(ref, manifest.config, auth, kMaxConfigBytes);
  if (!config_json) return config_json.error().wrap(ctx);
  auto image_config = parse_image_config(*config_json);
  if (!image_config) return image_config.error().wrap(fmt::format("{}: config {}", ctx, manifest.config.digest));
  if (image_config->diff_ids.size() != manifest.layers.size())
    return make_error(ErrorKind::kInvalidArgument, "{}: the config lists {} layers (diff_ids), the manifest {}",
                      ctx, image_config->diff_ids.size(), manifest.layers.size());

  std::vector<std::string> chains = chain_ids(image_config->diff_ids);
  std::vector<LayerSpec> specs;
  for (size_t i = 0; i < chains.size(); ++i)
    specs.push_back({chains[i], i == 0 ? "" : chains[i - 1], image_config->diff_ids[i],
                     manifest.layers[i].digest, name});
  int64_t size = 0;
  CRID_TRY_CTX(fetch_layers(ref, manifest.layers, specs, auth, size), "{}", ctx);

  ImageRecord rec;
  rec.id = manifest.config.digest;
  if (!ref.tag.empty()) rec.repo_tags.push_back(ref.tagged());
  rec.repo_digests.push_back(ref.digested(repo_digest));
  rec.chain_ids = chains;
  rec.size = size;
  rec.config_json = *config_json;
  rec.created_unix_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  CRID_TRY_CTX(images_.put(rec), "{}: recording the image", ctx);
  spdlog::info("[PullImage {}] pulled image {} ({} layers)", name, log::short_id(rec.id.substr(7)), chains.size());
  return rec.id;
}

Status ImagePuller::fetch_layers(const Reference& ref, const std::vector<Descriptor>& layers,
                                 const std::vector<LayerSpec>& specs, const AuthConfig& auth, int64_t& total_size) {
  std::vector<size_t> missing;
  std::vector<int64_t> sizes(specs.size(), 0);
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!layers_.has(specs[i].chain_id)) {
      missing.push_back(i);
      continue;
    }
    // Present already: creating it again is a no-op that reports its size.
    UniqueFd empty(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (auto info = layers_.create(empty.get(), specs[i])) sizes[i] = info->size;
  }
  int64_t workers = std::clamp<int64_t>(config_.get()->max_concurrent_downloads, 1, 64);
  workers = std::min<int64_t>(workers, static_cast<int64_t>(missing.size()));

  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex err_mu;
  std::optional<Error> first_error;
  auto work = [&] {
    for (;;) {
      if (failed) return;
      size_t k = next.fetch_add(1);
      if (k >= missing.size()) return;
      size_t i = missing[k];
      auto info = fetch_layer(ref, layers[i], specs[i], auth);
      if (!info) {
        std::lock_guard lock(err_mu);
        if (!first_error) first_error = info.error();
        failed = true;
        return;
      }
      sizes[i] = info->size;
    }
  };
  std::vector<std::thread> threads;
  for (int64_t w = 0; w < workers; ++w) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  if (first_error) return *first_error;
  for (auto s : sizes) total_size += s;
  return Ok();
}

Result<LayerInfo> ImagePuller::fetch_layer(const Reference& ref, const Descriptor& desc, const LayerSpec& spec,
                                           const AuthConfig& auth) {
  std::string what = fmt::format("layer {}", desc.digest);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sys_error("{}: creating a pipe", what);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  spdlog::info("[PullImage {}] fetching {} ({} bytes)", ref.str(), what, desc.size);

  Status download = Ok();
  std::thread downloader([&] {
    SigpipeBlocked no_sigpipe;
    std::string held;
    BlobSink sink = [&](const char* data, size_t len) -> Status {
      held.append(data, len);
      if (held.size() > 2 * kHeldBack) {
        size_t n = held.size() - kHeldBack;
        CRID_TRY(write_all(write_end.get(), held.data(), n, what));
        held.erase(0, n);
      }
      return Ok();
    };
    download = registry_.get_blob(ref, desc, auth, sink,
                                  fmt::format("PullImage {} {}", ref.str(), short_digest(desc.digest)));
    if (download) download = write_all(write_end.get(), held.data(), held.size(), what);
    // EOF for the store: a full stream after success, a cut one on failure.
    write_end.reset();
  });
  auto created = layers_.create(read_end.get(), spec);
  // If the store failed early, this turns the downloader's writes into EPIPE.
  read_end.reset();
  downloader.join();
  if (!download && download.error().kind() != ErrorKind::kCancelled) {
    if (created)
      spdlog::error("[PullImage {}] {} was stored although its download failed", ref.str(), what);
    return download.error();
  }
  if (!created) return created.error().wrap(what);
  return created;
}

}  // namespace crid::image
