// usage_nano_cores: CPU time used per second of wall time over the last
// interval, from the previous sample of the same cgroup kept in memory.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace crid::stats {

class CpuRateTracker {
 public:
  // Samples closer than this to the stored one keep the stored one, so
  // two calls in a row do not turn scheduling noise into a rate.
  static constexpr int64_t kMinIntervalNs = 100'000'000;
  // Entries not updated for this long (removed containers) are dropped.
  static constexpr int64_t kForgetAfterNs = int64_t{600} * 1'000'000'000;

  // Records a sample of `key` (cumulative `usage_ns` at `timestamp_ns`) and
  // returns the rate since the previous one: nullopt for the first sample
  // or after the counter went backwards (the cgroup was recreated).
  std::optional<uint64_t> update(const std::string& key, uint64_t usage_ns, int64_t timestamp_ns);

  size_t size() const;

 private:
  struct Previous {
    uint64_t usage_ns = 0;
    int64_t timestamp_ns = 0;
    std::optional<uint64_t> rate;
  };
  void forget_stale(int64_t now_ns);

  mutable std::mutex mu_;
  std::map<std::string, Previous> previous_;
  int64_t last_sweep_ns_ = 0;
};

}  // namespace crid::stats
