// How callers share one pull, and how they give up on it: the pull runs on
// its own thread; a caller that stops waiting leaves at once, and the pull
// stops only when nobody is left waiting, so a cancelled kubelet call never
// breaks another caller's pull of the same image.
#include <chrono>
#include <thread>

#include "image/puller.h"
#include "util/log.h"

namespace crid::image {

namespace {

// How often a waiting caller looks whether its own call is still alive.
constexpr auto kWaiterPoll = std::chrono::milliseconds(50);

Error gave_up(const std::string& key) {
  return make_error(ErrorKind::kCancelled, "pulling image {}: the caller gave up (cancelled or past its deadline)",
                    key);
}

}  // namespace

ImagePuller::~ImagePuller() {
  std::unique_lock lock(mu_);
  all_stopped_.wait(lock, [&] { return running_ == 0; });
}

int64_t ImagePuller::operations_started() const {
  std::lock_guard lock(mu_);
  return started_;
}

int64_t ImagePuller::callers_waiting() const {
  std::lock_guard lock(mu_);
  int64_t n = 0;
  for (auto& [key, op] : in_flight_) n += static_cast<int64_t>(op->waiters.size());
  return n;
}

Result<std::string> ImagePuller::pull(const std::string& text, const AuthConfig& auth,
                                      const CancelCheck& caller_gone) {
  auto cfg = config_.get();
  CRID_ASSIGN(auto candidates, resolve_reference(text, cfg->unqualified_search_registries));
  std::string key = candidates.front().str();

  for (;;) {
    std::unique_lock lock(mu_);
    auto it = in_flight_.find(key);
    if (it == in_flight_.end()) {
      auto op = std::make_shared<Operation>();
      std::promise<Result<std::string>> promise;
      op->result = promise.get_future().share();
      int me = op->next_waiter++;
      op->waiters.emplace(me, caller_gone);
      in_flight_.emplace(key, op);
      ++started_;
      ++running_;
      // Detached, and counted in running_ so that the destructor waits.
      std::thread(&ImagePuller::run, this, op, std::move(promise), text, key, auth).detach();
      auto result = op->result;
      lock.unlock();
      return await(*op, std::move(result), me, key, caller_gone);
    }
    std::shared_ptr<Operation> op = it->second;
    auto result = op->result;
    if (op->abandoned) {
      // Stopping: wait until its temporary files are gone and its finished
      // layers recorded, then start afresh (reusing those layers).
      lock.unlock();
      spdlog::info("[PullImage {}] waiting for the given-up pull of it to stop", key);
      while (result.wait_for(kWaiterPoll) != std::future_status::ready)
        if (cancelled(caller_gone)) return gave_up(key);
      continue;
    }
    int me = op->next_waiter++;
    op->waiters.emplace(me, caller_gone);
    lock.unlock();
    spdlog::info("[PullImage {}] joining the pull already in progress", key);
    return await(*op, std::move(result), me, key, caller_gone);
  }
}

void ImagePuller::run(std::shared_ptr<Operation> op, std::promise<Result<std::string>> promise,
                      const std::string& text, const std::string& key, const AuthConfig& auth) {
  CancelCheck nobody_waits = [this, op, key] { return abandoned(*op, key); };
  Result<std::string> result = pull_resolved(text, auth, nobody_waits);
  if (!result && nobody_waits()) {
    spdlog::info("[PullImage {}] stopped, no caller waits for it: {}", key, result.error().message());
    // Whatever failed last, the cause was the callers leaving.
    if (result.error().kind() != ErrorKind::kCancelled) result = gave_up(key);
  }
  std::lock_guard lock(mu_);
  // Published under the lock: a caller finding the entry gone finds the
  // result set, and the destructor cannot pass before this thread is done
  // with the puller.
  promise.set_value(std::move(result));
  auto it = in_flight_.find(key);
  if (it != in_flight_.end() && it->second == op) in_flight_.erase(it);
  --running_;
  all_stopped_.notify_all();
}

bool ImagePuller::abandoned(Operation& op, const std::string& key) {
  std::lock_guard lock(mu_);
  if (op.abandoned) return true;
  for (auto& [id, gone] : op.waiters)
    if (!cancelled(gone)) return false;
  op.abandoned = true;
  spdlog::info("[PullImage {}] every caller gave up: stopping the pull", key);
  return true;
}

Result<std::string> ImagePuller::await(Operation& op, std::shared_future<Result<std::string>> result, int waiter,
                                       const std::string& key, const CancelCheck& caller_gone) {
  for (;;) {
    if (result.wait_for(kWaiterPoll) == std::future_status::ready) {
      std::lock_guard lock(mu_);
      op.waiters.erase(waiter);
      return result.get();
    }
    // Under the lock: once erased, this caller's check (which may point into
    // a finished call) is never asked again.
    std::lock_guard lock(mu_);
    if (cancelled(caller_gone)) {
      op.waiters.erase(waiter);
      // The last one out stops the pull now, so that a caller arriving
      // later starts afresh instead of joining a pull about to stop. Either
      // here or in abandoned(), whichever sees it first, the stop is logged
      // once.
      if (op.waiters.empty() && !op.abandoned) {
        op.abandoned = true;
        spdlog::info("[PullImage {}] every caller gave up: stopping the pull", key);
      } else {
        spdlog::info("[PullImage {}] a caller gave up; {} still wait for the pull", key, op.waiters.size());
      }
      return gave_up(key);
    }
  }
}

}  // namespace crid::image
