// Pulling an image: resolve the name, fetch the manifest (choosing the
// host's platform from an index), the config and the missing layers (in
// parallel; a layer whose parent is in place streams from the registry
// straight into the layer store through a pipe, others spool to an unlinked
// temp file until their parent lands), then record the image. Concurrent pulls of one reference
// share one operation; pulls of different images run side by side.
//
// Each pull runs on a thread of its own that every caller, the first one
// included, waits on. A caller may give up (its CRI call cancelled or past
// its deadline): it stops waiting at once, and the operation stops only
// when no caller waits on it any more. A stopped pull removes its temporary files
// and records no image; layers it had fully stored stay (valid, shared, and
// what a retry resumes from; the layer store drops unreferenced ones at its
// next open). A pull arriving while a stopped one unwinds waits for it.
#pragma once

#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "config/config_holder.h"
#include "image/image_store.h"
#include "image/layer_store.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "image/registry_client.h"
#include "util/cancel.h"
#include "util/unique_fd.h"

namespace crid::image {

// Reads an image config blob (image::parse_image_config in the daemon).
using ConfigParser = std::function<Result<ImageConfig>(std::string_view json)>;

class ImagePuller {
 public:
  ImagePuller(ConfigHolder& config, RegistryClient& registry, LayerStore& layers, ImageStore& images,
              ConfigParser parse_config, Platform platform = host_platform());
  // Waits for pull threads still unwinding (nobody waits on them by then).
  ~ImagePuller();

  // Returns the image id ("sha256:<config digest>"). `caller_gone` says
  // when this caller stopped waiting (then: kCancelled naming the image).
  Result<std::string> pull(const std::string& ref, const AuthConfig& auth, const CancelCheck& caller_gone = {});

  // Pull operations started (not joined) so far; for tests and metrics.
  int64_t operations_started() const;
  // Callers waiting on pulls in progress now (leaders and joiners); for tests.
  int64_t callers_waiting() const;

 private:
  // One pull shared by every caller of the same reference.
  struct Operation {
    std::shared_future<Result<std::string>> result;
    std::map<int, CancelCheck> waiters;  // callers still waiting (under mu_)
    int next_waiter = 0;
    bool abandoned = false;  // every waiter gave up; never reset (under mu_)
  };
  // True once no caller waits on `op`; then marks it abandoned.
  bool abandoned(Operation& op, const std::string& key);
  // Waits for `op` unless `caller_gone` says first; kCancelled then.
  // `result` is the caller's own copy of op.result (copies may be used
  // from several threads, one object may not).
  Result<std::string> await(Operation& op, std::shared_future<Result<std::string>> result, int waiter,
                            const std::string& key, const CancelCheck& caller_gone);
  // The operation's thread: pulls, publishes the result, leaves in_flight_.
  void run(std::shared_ptr<Operation> op, std::promise<Result<std::string>> promise, const std::string& text,
           const std::string& key, const AuthConfig& auth);

  // `gone` below is the operation's check: every caller gave up.
  Result<std::string> pull_resolved(const std::string& text, const AuthConfig& auth, const CancelCheck& gone);
  Result<std::string> pull_one(const Reference& ref, const AuthConfig& auth, const CancelCheck& gone);
  Status fetch_layers(const Reference& ref, const std::vector<Descriptor>& layers,
                      const std::vector<LayerSpec>& specs, const AuthConfig& auth, int64_t& total_size,
                      const CancelCheck& gone);
  // Downloads into the layer store through a pipe, while the store unpacks.
  Result<LayerInfo> stream_layer(const Reference& ref, const Descriptor& desc, const LayerSpec& spec,
                                 const AuthConfig& auth, const CancelCheck& gone);
  // Downloads (verified) into an unlinked file under `dir`, rewound.
  Result<UniqueFd> spool_layer(const Reference& ref, const Descriptor& desc, const AuthConfig& auth,
                               const std::string& dir, const CancelCheck& gone);

  ConfigHolder& config_;
  RegistryClient& registry_;
  LayerStore& layers_;
  ImageStore& images_;
  ConfigParser parse_config_;
  Platform platform_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Operation>> in_flight_;
  int64_t started_ = 0;
  int64_t running_ = 0;  // operation threads alive
  std::condition_variable all_stopped_;
};

}  // namespace crid::image
