#include "daemon/listen_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "util/fs.h"
#include "util/unique_fd.h"

namespace crid {

namespace {

bool someone_listens(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

Status prepare_socket_path(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path)
    return make_error(ErrorKind::kInvalidArgument, "listen socket path {} is longer than {} bytes",
                      path, sizeof addr.sun_path - 1);
  auto slash = path.rfind('/');
  std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  CRID_TRY_CTX(fs::make_dirs(dir, 0750), "creating the socket directory");
  struct stat st;
  // Whoever can write the directory can put their own socket where the
  // kubelet will connect (or race crid for the name).
  if (::stat(dir.c_str(), &st) != 0) return sys_error("stat socket directory {}", dir);
  if (st.st_mode & S_IWOTH)
    return make_error(ErrorKind::kFailedPrecondition,
                      "socket directory {} is world-writable (mode {:o}); the CRI socket needs a "
                      "directory others cannot write",
                      dir, st.st_mode & 07777);
  if (::lstat(path.c_str(), &st) != 0) return Ok();
  if (!S_ISSOCK(st.st_mode))
    return make_error(ErrorKind::kFailedPrecondition,
                      "listen socket path {} exists and is not a socket", path);
  if (someone_listens(path))
    return make_error(ErrorKind::kFailedPrecondition,
                      "listen socket {} is in use by another process", path);
  if (::unlink(path.c_str()) != 0) return sys_error("removing stale socket {}", path);
  return Ok();
}

Status secure_socket(const std::string& path) {
  if (::chown(path.c_str(), 0, 0) != 0 && errno != EPERM) return sys_error("chown {}", path);
  if (::chmod(path.c_str(), 0660) != 0) return sys_error("chmod {}", path);
  return Ok();
}

}  // namespace crid
