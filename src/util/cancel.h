// Cancellation of long work whose caller may go away (a CRI call cancelled
// by its client, or past its deadline): the work asks a plain callback,
// which the gRPC edge builds from ServerContext::IsCancelled().
#pragma once

#include <chrono>
#include <functional>
#include <utility>

namespace crid {

// True once the caller no longer waits. An empty check never cancels.
using CancelCheck = std::function<bool()>;

inline bool cancelled(const CancelCheck& check) { return check && check(); }

// Asks a check at most once per interval, for hot loops (every received
// chunk, every tar entry) where the check itself takes a lock. Once it said
// yes it keeps saying yes. Not thread-safe: one per loop.
class CancelPoll {
 public:
  explicit CancelPoll(CancelCheck check,
                      std::chrono::milliseconds interval = std::chrono::milliseconds(20))
      : check_(std::move(check)), interval_(interval) {}

  bool operator()() {
    if (gone_) return true;
    if (!check_) return false;
    auto now = std::chrono::steady_clock::now();
    if (asked_ && now - last_ < interval_) return false;
    asked_ = true;
    last_ = now;
    gone_ = check_();
    return gone_;
  }

 private:
  CancelCheck check_;
  std::chrono::milliseconds interval_;
  bool asked_ = false;
  bool gone_ = false;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace crid
