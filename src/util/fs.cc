#include "util/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "util/unique_fd.h"
#include "util/printable.h"

namespace crid::fs {

Status make_dirs(const std::string& path, mode_t mode) {
  if (path.empty()) return Ok();
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      return sys_error("creating directory {}", cur);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return sys_error("stat {}", path);
  if (!S_ISDIR(st.st_mode))
    return make_error(ErrorKind::kFailedPrecondition, "{} exists and is not a directory", path);
  return Ok();
}

namespace {

Status write_and_rename(const std::string& path, std::string_view data, mode_t mode, bool sync) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return sys_error("creating {}", tmp);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto err = sys_error("writing {}", tmp);
      ::unlink(tmp.c_str());
      return err;
    }
    off += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), mode) != 0 || (sync && ::fsync(fd.get()) != 0)) {
    auto err = sys_error("syncing {}", tmp);
    ::unlink(tmp.c_str());
    return err;
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = sys_error("renaming {} to {}", tmp, path);
    ::unlink(tmp.c_str());
    return err;
  }
  return Ok();
}

}  // namespace

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
  return write_and_rename(path, data, mode, true);
}

Status write_file_replace(const std::string& path, std::string_view data, mode_t mode) {
  return write_and_rename(path, data, mode, false);
}

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("opening {}", path);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("reading {}", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes)
      return make_error(ErrorKind::kResourceExhausted, "{} is larger than {} bytes", path,
                        max_bytes);
  }
  return out;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

namespace {
// A bind mount of a dir on the same file system has the same st_dev: only
// the mount id tells it apart. 0: unknown (kernels before 5.8), then
// st_dev alone decides.
uint64_t mount_id_of(const std::string& path) {
  struct statx sx {};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) != 0) return 0;
  return (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
}

Status remove_tree(const std::string& path, dev_t root_dev, uint64_t root_mnt) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Ok();
    return sys_error("stat {}", path);
  }
  if (S_ISDIR(st.st_mode)) {
    uint64_t mnt = mount_id_of(path);
    if (st.st_dev != root_dev || (root_mnt != 0 && mnt != 0 && mnt != root_mnt))
      return make_error(ErrorKind::kFailedPrecondition,
                        "refusing to remove {}: it is a mount point", path);
    std::error_code ec;
    std::vector<std::string> children;
    for (auto it = std::filesystem::directory_iterator(path, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
      children.push_back(it->path().string());
    if (ec) return make_error(ErrorKind::kInternal, "listing {}: {}", path, ec.message());
    for (auto& c : children) CRID_TRY(remove_tree(c, root_dev, root_mnt));
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return sys_error("removing {}", path);
    return Ok();
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("removing {}", path);
  return Ok();
}
}  // namespace

Status remove_all(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Ok();
    return sys_error("stat {}", path);
  }
  return remove_tree(path, st.st_dev, mount_id_of(path));
}

Result<std::string> join_within(const std::string& root, std::string_view rel) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string_view::npos) j = rel.size();
    std::string_view part = rel.substr(i, j - i);
    if (part.find('\0') != std::string_view::npos)
      return make_error(ErrorKind::kInvalidArgument, "path {} contains NUL", printable(rel));
    if (part == "..") {
      if (parts.empty())
        return make_error(ErrorKind::kInvalidArgument, "path {} escapes {}", std::string(rel),
                          root);
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out = root;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  for (auto p : parts) {
    out += '/';
    out += p;
  }
  return out;
}

}  // namespace crid::fs
