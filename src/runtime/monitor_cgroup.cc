#include "runtime/monitor_cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "util/fs.h"
#include "util/unique_fd.h"

namespace crid::runtime {

namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

bool is_cgroup_fs(const std::string& path, bool* v2 = nullptr) {
  struct statfs sfs;
  if (::statfs(path.c_str(), &sfs) != 0) return false;
  if (v2) *v2 = sfs.f_type == CGROUP2_SUPER_MAGIC;
  return sfs.f_type == CGROUP_SUPER_MAGIC || sfs.f_type == CGROUP2_SUPER_MAGIC;
}

// Mount points of the hierarchies: the root itself on a unified (v2) host,
// else each non-symlink directory under it ("cpu,cpuacct" aliases are
// symlinks).
std::vector<std::string> hierarchies() {
  if (is_cgroup_fs(kCgroupRoot)) return {kCgroupRoot};
  std::vector<std::string> out;
  DIR* d = ::opendir(kCgroupRoot);
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string path = std::string(kCgroupRoot) + "/" + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    if (is_cgroup_fs(path)) out.push_back(path);
  }
  ::closedir(d);
  return out;
}

}  // namespace

Status place_in_cgroup(const std::string& rel_path, pid_t pid) {
  for (const auto& h : hierarchies()) {
    if (h == std::string(kCgroupRoot) + "/cpuset") continue;
    CRID_ASSIGN(std::string dir, fs::join_within(h, rel_path));
    CRID_TRY_CTX(fs::make_dirs(dir), "creating monitor cgroup");
    std::string procs = dir + "/cgroup.procs";
    UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    std::string text = std::to_string(pid);
    if (!fd.valid() || ::write(fd.get(), text.data(), text.size()) < 0)
      return sys_error("moving monitor pid {} into {}", pid, procs);
  }
  return Ok();
}

Status remove_cgroup(const std::string& rel_path) {
  Status result;
  for (const auto& h : hierarchies()) {
    auto dir = fs::join_within(h, rel_path);
    if (!dir) return dir.error();
    if (*dir == h) continue;  // never the root
    // A process that just exited can keep the cgroup busy for a moment.
    int rc;
    for (int attempt = 0; (rc = ::rmdir(dir->c_str())) != 0 && errno == EBUSY && attempt < 100;
         attempt++)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (rc != 0 && errno != ENOENT && result) result = sys_error("removing cgroup {}", *dir);
  }
  return result;
}

bool cgroup_exists(const std::string& rel_path) {
  for (const auto& h : hierarchies()) {
    auto dir = fs::join_within(h, rel_path);
    if (dir && *dir != h && fs::exists(*dir)) return true;
  }
  return false;
}

}  // namespace crid::runtime
