#include "stats/cpu_rate.h"

namespace crid::stats {

std::optional<uint64_t> CpuRateTracker::update(const std::string& key, uint64_t usage_ns,
                                               int64_t timestamp_ns) {
  std::lock_guard lock(mu_);
  forget_stale(timestamp_ns);
  auto it = previous_.find(key);
  if (it == previous_.end() || usage_ns < it->second.usage_ns ||
      timestamp_ns < it->second.timestamp_ns) {
    previous_[key] = Previous{usage_ns, timestamp_ns, std::nullopt};
    return std::nullopt;
  }
  Previous& p = it->second;
  int64_t dt = timestamp_ns - p.timestamp_ns;
  if (dt < kMinIntervalNs) return p.rate;
  // ns of CPU per ns of wall time, scaled to nano cores; long double keeps
  // the product of two large counters exact enough.
  long double rate = static_cast<long double>(usage_ns - p.usage_ns) * 1e9L / dt;
  p = Previous{usage_ns, timestamp_ns, static_cast<uint64_t>(rate)};
  return p.rate;
}

size_t CpuRateTracker::size() const {
  std::lock_guard lock(mu_);
  return previous_.size();
}

void CpuRateTracker::forget_stale(int64_t now_ns) {
  if (now_ns - last_sweep_ns_ < kForgetAfterNs / 10) return;
  last_sweep_ns_ = now_ns;
  for (auto it = previous_.begin(); it != previous_.end();) {
    if (now_ns - it->second.timestamp_ns > kForgetAfterNs)
      it = previous_.erase(it);
    else
      ++it;
  }
}

}  // namespace crid::stats
