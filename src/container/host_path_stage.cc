#include "container/host_path_stage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "util/fs.h"

namespace crid::container {

namespace {

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

int sys_open_tree(int dfd, const char* path, unsigned flags) {
  return static_cast<int>(::syscall(SYS_open_tree, dfd, path, flags));
}
int sys_move_mount(int from_dfd, const char* from, int to_dfd, const char* to, unsigned flags) {
  return static_cast<int>(::syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags));
}

// The staging point itself: a dir for a dir, an empty file for anything
// else (a bind mount needs the same kind on both sides).
Status make_mount_point(const std::string& at, bool dir) {
  if (dir) {
    if (::mkdir(at.c_str(), 0700) != 0) return sys_error("creating staging point {}", at);
    return Ok();
  }
  UniqueFd fd(::open(at.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return sys_error("creating staging point {}", at);
  return Ok();
}

Status attach_clone(const ResolvedHostPath& r, const std::string& at) {
  UniqueFd tree(sys_open_tree(r.fd.get(), "",
                              OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE));
  if (tree.valid()) {
    if (sys_move_mount(tree.get(), "", AT_FDCWD, at.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
      return sys_error("attaching the clone of {} at {}", r.path, at);
    return Ok();
  }
  if (errno != ENOSYS) return sys_error("cloning the mount tree of {}", r.path);
  // Older kernels: the fd's magic link names the same object.
  std::string by_fd = "/proc/self/fd/" + std::to_string(r.fd.get());
  if (::mount(by_fd.c_str(), at.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    return sys_error("bind-mounting {} at {}", r.path, at);
  return Ok();
}

// Detaches every mount stacked at `at` (lazily: the container's own copy
// of it lives in the container's namespace and is not ours to wait for).
Status unmount_all(const std::string& at) {
  for (int i = 0; i < 64; ++i) {
    if (::umount2(at.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
      if (errno == EINVAL || errno == ENOENT) return Ok();  // not (or no longer) a mount
      return sys_error("unmounting staging point {}", at);
    }
  }
  return make_error(ErrorKind::kInternal, "staging point {} is still mounted after 64 unmounts", at);
}

}  // namespace

Result<std::string> stage_host_path(const ResolvedHostPath& resolved, const std::string& dir,
                                    size_t index) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return sys_error("creating staging dir {}", dir);
  std::string at = dir + "/" + std::to_string(index);
  CRID_TRY(make_mount_point(at, resolved.is_dir));
  if (auto s = attach_clone(resolved, at); !s) {
    (void)(resolved.is_dir ? ::rmdir(at.c_str()) : ::unlink(at.c_str()));
    return s.error();
  }
  return at;
}

Status unstage_host_paths(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* ent = ::readdir(d)) {
      std::string name = ent->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
  } else {
    if (errno == ENOENT) return Ok();
    return sys_error("listing staging dir {}", dir);
  }
  for (const auto& name : names) {
    std::string at = dir + "/" + name;
    CRID_TRY(unmount_all(at));
    // Not remove_all: if this is somehow still a mount of a host dir on the
    // same device, rmdir fails on it (busy or not empty) instead of
    // emptying the node's directory.
    struct stat st {};
    if (::lstat(at.c_str(), &st) != 0) continue;
    int rc = S_ISDIR(st.st_mode) ? ::rmdir(at.c_str()) : ::unlink(at.c_str());
    if (rc != 0 && errno != ENOENT) return sys_error("removing staging point {}", at);
  }
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return sys_error("removing staging dir {}", dir);
  return Ok();
}

}  // namespace crid::container
