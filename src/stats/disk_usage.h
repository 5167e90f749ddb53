// Bytes and inodes under a directory (a container's overlay upper dir),
// and a cache that keeps them fresh off the RPC path.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "util/result.h"

namespace crid::stats {

struct DiskUsage {
  uint64_t bytes = 0;   // allocated blocks, as du counts them
  uint64_t inodes = 0;  // files, dirs, links, whiteouts; the top dir included
  int64_t timestamp_ns = 0;
};

// Walks `dir` through file descriptors: never follows a symlink, never
// descends into another filesystem (a mount below is skipped whole), and
// counts a hard-linked inode once. Entries vanishing mid-walk are skipped.
Result<DiskUsage> disk_usage(const std::string& dir);

// Usage per key (container id) of its dir, refreshed by a background
// thread every `refresh`; the first request of a key computes it on the
// spot. Keys not asked for during `forget_after` are dropped.
class DiskUsageCache {
 public:
  explicit DiskUsageCache(std::chrono::milliseconds refresh = std::chrono::seconds(5),
                          std::chrono::milliseconds forget_after = std::chrono::minutes(5));
  ~DiskUsageCache();
  DiskUsageCache(const DiskUsageCache&) = delete;
  DiskUsageCache& operator=(const DiskUsageCache&) = delete;

  Result<DiskUsage> get(const std::string& key, const std::string& dir);
  void forget(const std::string& key);

 private:
  struct Entry {
    std::string dir;
    DiskUsage usage;
    std::chrono::steady_clock::time_point last_asked;
  };
  void refresh_loop();

  std::chrono::milliseconds refresh_;
  std::chrono::milliseconds forget_after_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<std::string, Entry> entries_;
  std::thread thread_;
};

}  // namespace crid::stats
