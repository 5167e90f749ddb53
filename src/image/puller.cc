#include "image/puller.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <optional>
#include <thread>

#include "util/fs.h"
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
                         ImageStore& images, ConfigParser parse_config, Platform platform)
    : config_(config),
      registry_(registry),
      layers_(layers),
      images_(images),
      parse_config_(std::move(parse_config)),
      platform_(std::move(platform)) {}

Result<std::string> ImagePuller::pull_resolved(const std::string& text, const AuthConfig& auth,
                                               const CancelCheck& gone) {
  auto cfg = config_.get();
  CRID_ASSIGN(auto candidates, resolve_reference(text, cfg->unqualified_search_registries));
  std::optional<Error> first;
  std::string tried;
  for (const auto& ref : candidates) {
    auto r = pull_one(ref, auth, gone);
    if (r) return r;
    // Given up: no other search registry either.
    if (candidates.size() == 1 || r.error().kind() == ErrorKind::kCancelled) return r.error();
    if (!first) first = r.error();
    tried += (tried.empty() ? "" : "; ") + r.error().message();
  }
  return Error(first->kind(), fmt::format("pulling {} from every search registry failed: {}", text, tried));
}

Result<std::string> ImagePuller::pull_one(const Reference& ref, const AuthConfig& auth, const CancelCheck& gone) {
  auto cfg = config_.get();
  std::string name = ref.str();
  std::string ctx = "pulling image " + name;
  spdlog::info("[PullImage {}] fetching the manifest", name);

  auto fetched = registry_.get_manifest(ref, ref.manifest_ref(), auth, gone);
  if (!fetched) return fetched.error().wrap(ctx);
  FetchedManifest top = std::move(fetched).value();
  std::string repo_digest = top.digest;
  auto parsed_r = parse_manifest(top.body, top.media_type, cfg->max_manifest_bytes);
  if (!parsed_r) return parsed_r.error().wrap(ctx);
  ParsedManifest manifest = std::move(parsed_r).value();
  if (manifest.is_index) {
    auto chosen = select_platform(manifest, platform_);
    if (!chosen) return chosen.error().wrap(ctx);
    spdlog::info("[PullImage {}] index {}: using {} for {}", name, short_digest(repo_digest),
                 short_digest(chosen->digest), format_platform(platform_));
    auto platform_fetched = registry_.get_manifest(ref, chosen->digest, auth, gone);
    if (!platform_fetched) return platform_fetched.error().wrap(ctx);
    FetchedManifest platform_manifest = std::move(platform_fetched).value();
    auto inner = parse_manifest(platform_manifest.body, platform_manifest.media_type, cfg->max_manifest_bytes);
    if (!inner) return inner.error().wrap(fmt::format("{}: manifest {}", ctx, chosen->digest));
    if (inner->is_index)
      return make_error(ErrorKind::kInvalidArgument, "{}: index entry {} is itself an index", ctx, chosen->digest);
    manifest = std::move(inner).value();
  }

  auto config_json = registry_.get_blob_bytes(ref, manifest.config, auth, kMaxConfigBytes, gone);
  if (!config_json) return config_json.error().wrap(ctx);
  auto image_config = parse_config_(*config_json);
  if (!image_config) return image_config.error().wrap(fmt::format("{}: config {}", ctx, manifest.config.digest));
  if (image_config->diff_ids.size() != manifest.layers.size())
    return make_error(ErrorKind::kInvalidArgument, "{}: the config lists {} layers (diff_ids), the manifest {}",
                      ctx, image_config->diff_ids.size(), manifest.layers.size());

  std::vector<std::string> chains = chain_ids(image_config->diff_ids);
  std::vector<LayerSpec> specs;
  for (size_t i = 0; i < chains.size(); ++i) {
    LayerSpec spec;
    spec.chain_id = chains[i];
    spec.parent_chain_id = i == 0 ? "" : chains[i - 1];
    spec.diff_id = image_config->diff_ids[i];
    spec.compressed_digest = manifest.layers[i].digest;
    spec.image_ref = name;
    spec.cancelled = gone;
    specs.push_back(std::move(spec));
  }
  ImageRecord rec;
  rec.id = manifest.config.digest;
  if (!ref.tag.empty()) rec.repo_tags.push_back(ref.tagged());
  rec.repo_digests.push_back(ref.digested(repo_digest));
  rec.chain_ids = chains;
  rec.config_json = *config_json;
  // A RemoveImage sharing a layer can release it (its row goes at refcount
  // zero) between fetch_layers finding it present and the record taking a
  // reference: the record then fails NotFound, and fetching again brings
  // the layer back. Bounded, since each round can lose the race again.
  for (int attempt = 1;; ++attempt) {
    int64_t size = 0;
    CRID_TRY_CTX(fetch_layers(ref, manifest.layers, specs, auth, size, gone), "{}", ctx);
    // Every layer is in, but nobody waits for the image: record nothing, so
    // the callers' CANCELLED is the truth (the layers serve the retry).
    if (cancelled(gone))
      return make_error(ErrorKind::kCancelled, "{}: stopped before recording the image, every caller gave up", ctx);
    rec.size = size;
    rec.created_unix_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
    Status put = images_.put(rec);
    if (put) break;
    if (put.error().kind() != ErrorKind::kNotFound || attempt == 3)
      return put.error().wrap(fmt::format("{}: recording the image", ctx));
    spdlog::warn("[PullImage {}] a layer was removed meanwhile ({}): fetching again", name,
                 put.error().message());
  }
  spdlog::info("[PullImage {}] pulled image {} ({} layers)", name, log::short_id(rec.id.substr(7)), chains.size());
  return rec.id;
}

namespace {

// Layers are created bottom-up (the store records each on its parent), while
// downloads run in parallel: a layer whose parent is in place streams straight
// into the store; one that would have to wait spools to an unlinked temp file
// first and is created when its turn comes.
class LayerSequence {
 public:
  explicit LayerSequence(std::vector<bool> ready) : ready_(std::move(ready)) {}

  bool turn_of(size_t i) {
    std::lock_guard lock(mu_);
    return all_below(i);
  }
  // Waits until every layer below `i` is in the store; false if the pull failed.
  bool wait_turn(size_t i) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return failed_ || all_below(i); });
    return !failed_;
  }
  void done(size_t i) {
    std::lock_guard lock(mu_);
    ready_[i] = true;
    cv_.notify_all();
  }
  void fail(Error e) {
    std::lock_guard lock(mu_);
    if (!error_) error_ = std::move(e);
    failed_ = true;
    cv_.notify_all();
  }
  bool failed() {
    std::lock_guard lock(mu_);
    return failed_;
  }
  std::optional<Error> error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  bool all_below(size_t i) {
    for (size_t j = 0; j < i; ++j)
      if (!ready_[j]) return false;
    return true;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<bool> ready_;
  bool failed_ = false;
  std::optional<Error> error_;
};

// A counting semaphore for download slots (max_concurrent_downloads).
class Slots {
 public:
  explicit Slots(int64_t n) : free_(n) {}
  void acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void release() {
    std::lock_guard lock(mu_);
    ++free_;
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t free_;
};

}  // namespace

Status ImagePuller::fetch_layers(const Reference& ref, const std::vector<Descriptor>& layers,
                                 const std::vector<LayerSpec>& specs, const AuthConfig& auth, int64_t& total_size,
                                 const CancelCheck& gone) {
  auto cfg = config_.get();
  std::vector<int64_t> sizes(specs.size(), 0);
  std::vector<bool> present(specs.size(), false);
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!layers_.has(specs[i].chain_id)) continue;
    present[i] = true;
    // Present already: creating it again is a no-op that reports its size.
    UniqueFd empty(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (auto info = layers_.create(empty.get(), specs[i])) sizes[i] = info->size;
  }
  LayerSequence sequence(present);
  Slots slots(std::clamp<int64_t>(cfg->max_concurrent_downloads, 1, 64));
  std::string spool_dir = cfg->root + "/tmp";

  auto work = [&](size_t i) {
    slots.acquire();
    if (!sequence.failed() && cancelled(gone))
      sequence.fail(make_error(ErrorKind::kCancelled, "layer {}: not fetched, every caller gave up", layers[i].digest));
    if (sequence.failed()) {
      slots.release();
      return;
    }
    Result<LayerInfo> info = Error(ErrorKind::kInternal, "not run");
    if (sequence.turn_of(i)) {
      info = stream_layer(ref, layers[i], specs[i], auth, gone);
      slots.release();
    } else {
      auto spooled = spool_layer(ref, layers[i], auth, spool_dir, gone);
      slots.release();
      if (!spooled) {
        sequence.fail(spooled.error());
        return;
      }
      if (!sequence.wait_turn(i)) return;
      info = layers_.create(spooled->get(), specs[i]);
      if (!info) info = info.error().wrap(fmt::format("layer {}", layers[i].digest));
    }
    if (!info) {
      sequence.fail(info.error());
      return;
    }
    sizes[i] = info->size;
    sequence.done(i);
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < specs.size(); ++i)
    if (!present[i]) threads.emplace_back(work, i);
  for (auto& t : threads) t.join();
  if (auto e = sequence.error()) return *e;
  for (auto s : sizes) total_size += s;
  return Ok();
}

Result<UniqueFd> ImagePuller::spool_layer(const Reference& ref, const Descriptor& desc, const AuthConfig& auth,
                                          const std::string& dir, const CancelCheck& gone) {
  std::string what = fmt::format("layer {}", desc.digest);
  CRID_TRY_CTX(fs::make_dirs(dir, 0700), "{}: creating spool dir", what);
  std::string tmpl = dir + "/layer-XXXXXX";
  UniqueFd fd(::mkostemp(tmpl.data(), O_CLOEXEC));
  if (!fd.valid()) return sys_error("{}: creating a spool file in {}", what, dir);
  // Unlinked at once: a crash mid-pull leaves nothing behind.
  ::unlink(tmpl.c_str());
  spdlog::info("[PullImage {}] fetching {} ({} bytes) ahead of its parent", ref.str(), what, desc.size);
  CRID_TRY(registry_.get_blob(ref, desc, auth, [&](const char* data, size_t len) -> Status {
    return write_all(fd.get(), data, len, what);
  }, fmt::format("PullImage {} {}", ref.str(), short_digest(desc.digest)), gone));
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return sys_error("{}: rewinding the spool file", what);
  return fd;
}

Result<LayerInfo> ImagePuller::stream_layer(const Reference& ref, const Descriptor& desc, const LayerSpec& spec,
                                            const AuthConfig& auth, const CancelCheck& gone) {
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
                                  fmt::format("PullImage {} {}", ref.str(), short_digest(desc.digest)), gone);
    if (download) download = write_all(write_end.get(), held.data(), held.size(), what);
    // EOF for the store: a full stream after success, a cut one on failure.
    write_end.reset();
  });
  auto created = layers_.create(read_end.get(), spec);
  // If the store failed early, this turns the downloader's writes into EPIPE.
  read_end.reset();
  downloader.join();
  if (!created && cancelled(gone)) {
    // The store saw a stream cut short by the cancel, or stopped itself:
    // report the cancel, not the cut.
    if (created.error().kind() == ErrorKind::kCancelled) return created.error().wrap(what);
    if (!download) return download.error();
  }
  if (!download && download.error().kind() != ErrorKind::kCancelled) {
    if (created)
      spdlog::error("[PullImage {}] {} was stored although its download failed", ref.str(), what);
    return download.error();
  }
  if (!created) return created.error().wrap(what);
  return created;
}

}  // namespace crid::image
