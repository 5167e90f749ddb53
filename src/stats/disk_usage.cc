#include "stats/disk_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <set>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "util/unique_fd.h"
#include "util/clock.h"

namespace crid::stats {

namespace {

struct Walk {
  dev_t dev;
  std::set<std::pair<dev_t, ino_t>> linked;  // inodes with nlink > 1 seen so far
  DiskUsage usage;

  void count(const struct stat& st) {
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !linked.insert({st.st_dev, st.st_ino}).second)
      return;
    usage.inodes++;
    usage.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  }

  // `fd` is an open directory on the walked filesystem; takes ownership.
  Status walk_dir(UniqueFd fd, const std::string& path) {
    DIR* d = ::fdopendir(fd.get());
    if (!d) return sys_error("listing {}", path);
    fd.release();
    struct Closer {
      DIR* d;
      ~Closer() { ::closedir(d); }
    } closer{d};
    while (true) {
      errno = 0;
      dirent* e = ::readdir(d);
      if (!e) {
        if (errno != 0) return sys_error("listing {}", path);
        return Ok();
      }
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st;
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed while we walk
        return sys_error("stat {}/{}", path, name);
      }
      if (st.st_dev != dev) continue;  // a mount point: not ours to count
      count(st);
      if (!S_ISDIR(st.st_mode)) continue;
      UniqueFd child(::openat(::dirfd(d), e->d_name,
                              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child.valid()) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;  // replaced meanwhile
        return sys_error("opening {}/{}", path, name);
      }
      CRID_TRY(walk_dir(std::move(child), path + "/" + name));
    }
  }
};

}  // namespace

Result<DiskUsage> disk_usage(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return sys_error("opening {} to measure its usage", dir);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return sys_error("stat {}", dir);
  Walk w{st.st_dev, {}, {}};
  w.usage.timestamp_ns = now_ns();
  w.count(st);
  CRID_TRY_CTX(w.walk_dir(std::move(fd), dir), "measuring {}", dir);
  return w.usage;
}

DiskUsageCache::DiskUsageCache(std::chrono::milliseconds refresh,
                               std::chrono::milliseconds forget_after)
    : refresh_(refresh), forget_after_(forget_after), thread_([this] { refresh_loop(); }) {}

DiskUsageCache::~DiskUsageCache() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Result<DiskUsage> DiskUsageCache::get(const std::string& key, const std::string& dir) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.dir == dir) {
      it->second.last_asked = std::chrono::steady_clock::now();
      return it->second.usage;
    }
  }
  // First request: measure now (outside the lock), then hand it to the
  // background refresh.
  CRID_ASSIGN(DiskUsage u, disk_usage(dir));
  std::lock_guard lock(mu_);
  entries_[key] = Entry{dir, u, std::chrono::steady_clock::now()};
  return u;
}

void DiskUsageCache::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  entries_.erase(key);
}

void DiskUsageCache::refresh_loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, refresh_, [this] { return stopping_; });
    if (stopping_) break;
    auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<std::string, std::string>> todo;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (now - it->second.last_asked > forget_after_) {
        it = entries_.erase(it);
        continue;
      }
      todo.emplace_back(it->first, it->second.dir);
      ++it;
    }
    // The walks run unlocked: an RPC only ever waits for the map.
    for (auto& [key, dir] : todo) {
      lock.unlock();
      auto u = disk_usage(dir);
      lock.lock();
      if (stopping_) return;
      auto it = entries_.find(key);
      if (it == entries_.end() || it->second.dir != dir) continue;
      if (u)
        it->second.usage = *u;
      else if (u.error().sys_errno() == ENOENT)
        entries_.erase(it);  // the container went away
      else
        spdlog::warn("[stats ctr={}] writable layer usage: {}", key.substr(0, 12),
                     u.error().message());
    }
  }
}

}  // namespace crid::stats
