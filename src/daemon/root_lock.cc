#include "daemon/root_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include "util/fs.h"

namespace crid {

Result<UniqueFd> lock_root(const std::string& root) {
  std::string path = root + "/crid.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return sys_error("opening lock file {}", path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      auto holder = fs::read_file(path, 64);
      std::string pid = holder ? *holder : "unknown";
      while (!pid.empty() && pid.back() == '\n') pid.pop_back();
      return make_error(ErrorKind::kFailedPrecondition,
                        "another crid (pid {}) is already using root {}", pid, root);
    }
    return sys_error("locking {}", path);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0)
    return sys_error("writing {}", path);
  return fd;
}

}  // namespace crid
