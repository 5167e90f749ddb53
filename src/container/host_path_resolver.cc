#include "container/host_path_resolver.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <deque>

#include "util/printable.h"

namespace crid::container {

namespace {

// One directory of the walk: no symlink was followed to name it.
struct Level {
  UniqueFd fd;
  std::string path;
  bool container_writable = false;  // it, or a directory above it on the walk
};

std::deque<std::string> split(const std::string& path) {
  std::deque<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string child_path(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

bool listed(const HostPathPolicy& policy, const struct stat& st) {
  return std::binary_search(policy.container_writable.begin(), policy.container_writable.end(),
                            FileId{st.st_dev, st.st_ino});
}

Result<std::string> read_link(int fd, const std::string& where) {
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(fd, "", buf.data(), buf.size());
    if (n < 0) return sys_error("reading symlink {}", where);
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    if (buf.size() >= 65536)
      return make_error(ErrorKind::kInvalidArgument, "symlink {} is too long", where);
    buf.resize(buf.size() * 2);
  }
}

// Whether the symlink `link` (in directory `dir`) may be followed; an
// InvalidArgument error saying why not otherwise.
Status check_symlink(const std::string& host_path, const Level& dir, const std::string& link,
                     const struct stat& st, const std::string& target, const HostPathPolicy& policy) {
  if (dir.container_writable)
    return make_error(ErrorKind::kInvalidArgument,
                      "host path {} goes through symlink {} -> {}, which lies in a directory "
                      "containers can write (a read-write hostPath mount or container storage); "
                      "it could have been planted by a container, so it is not followed",
                      printable(host_path), printable(link), printable(target));
  if (st.st_uid != policy.trusted_owner)
    return make_error(ErrorKind::kInvalidArgument,
                      "host path {} goes through symlink {} -> {}, owned by uid {}; only symlinks "
                      "owned by uid {} are followed",
                      printable(host_path), printable(link), printable(target), st.st_uid,
                      policy.trusted_owner);
  struct statfs fs {};
  if (::fstatfs(dir.fd.get(), &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC)
    return make_error(ErrorKind::kInvalidArgument,
                      "host path {} goes through symlink {} on procfs, whose text is not where "
                      "it leads; give the path it resolves to",
                      printable(host_path), printable(link));
  return Ok();
}

}  // namespace

bool file_id_of(const std::string& path, FileId* out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  *out = FileId{st.st_dev, st.st_ino};
  return true;
}

Result<ResolvedHostPath> resolve_host_path(const std::string& host_path, const HostPathPolicy& policy) {
  if (host_path.empty() || host_path.front() != '/')
    return make_error(ErrorKind::kInvalidArgument, "host path \"{}\" is not absolute",
                      printable(host_path));
  if (host_path.find('\0') != std::string::npos)
    return make_error(ErrorKind::kInvalidArgument, "host path {} contains NUL", printable(host_path));

  auto open_root = [&]() -> Result<Level> {
    Level root;
    root.fd = UniqueFd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root.fd.valid()) return sys_error("opening / to resolve host path {}", printable(host_path));
    struct stat st {};
    if (::fstat(root.fd.get(), &st) != 0) return sys_error("stat /");
    root.path = "/";
    root.container_writable = listed(policy, st);
    return root;
  };
  // The directories the walk went through, "/" first: ".." goes back one.
  std::vector<Level> walk;
  CRID_ASSIGN(Level root, open_root());
  walk.push_back(std::move(root));
  std::deque<std::string> todo = split(host_path);
  int links = 0;
  bool last_is_dir = true;
  UniqueFd last;  // the object the path names, when it is not a directory
  std::string last_path;

  while (!todo.empty()) {
    std::string name = std::move(todo.front());
    todo.pop_front();
    if (name == ".") continue;
    if (name == "..") {
      if (walk.size() > 1) walk.pop_back();
      continue;
    }
    Level& dir = walk.back();
    std::string where = child_path(dir.path, name);
    UniqueFd fd(::openat(dir.fd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT || errno == ENOTDIR)
        return make_error(ErrorKind::kNotFound, "host path {} does not exist ({} is missing)",
                          printable(host_path), printable(where));
      return sys_error("opening {} to resolve host path {}", printable(where), printable(host_path));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return sys_error("stat {}", printable(where));

    if (S_ISLNK(st.st_mode)) {
      if (++links > policy.max_symlinks)
        return make_error(ErrorKind::kInvalidArgument,
                          "host path {}: more than {} symlinks (a loop?) at {}",
                          printable(host_path), policy.max_symlinks, printable(where));
      CRID_ASSIGN(std::string target, read_link(fd.get(), where));
      CRID_TRY(check_symlink(host_path, dir, where, st, target, policy));
      if (target.empty())
        return make_error(ErrorKind::kNotFound, "host path {}: symlink {} is empty",
                          printable(host_path), printable(where));
      std::deque<std::string> parts = split(target);
      todo.insert(todo.begin(), parts.begin(), parts.end());
      if (target.front() == '/') walk.resize(1);
      continue;
    }
    if (!todo.empty() && !S_ISDIR(st.st_mode))
      return make_error(ErrorKind::kNotFound, "host path {} does not exist ({} is not a directory)",
                        printable(host_path), printable(where));
    if (S_ISDIR(st.st_mode)) {
      Level next;
      next.fd = std::move(fd);
      next.path = std::move(where);
      next.container_writable = dir.container_writable || listed(policy, st);
      walk.push_back(std::move(next));
      last_is_dir = true;
    } else {
      // Only ever the last component (checked above).
      last = std::move(fd);
      last_path = std::move(where);
      last_is_dir = false;
    }
  }

  ResolvedHostPath out;
  out.is_dir = last_is_dir;
  if (last_is_dir) {
    out.fd = std::move(walk.back().fd);
    out.path = walk.back().path;
  } else {
    out.fd = std::move(last);
    out.path = std::move(last_path);
  }
  return out;
}

}  // namespace crid::container
