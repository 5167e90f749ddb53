#include "container/rootfs.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sstream>
#include <thread>

#include "util/fs.h"
#include "util/unique_fd.h"

namespace crid::container {

namespace {

// The new mount API's constants, for headers that predate them.
#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSCONFIG_SET_STRING
#define FSCONFIG_SET_STRING 1
#endif
#ifndef FSCONFIG_CMD_CREATE
#define FSCONFIG_CMD_CREATE 6
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

int sys_fsopen(const char* fs, unsigned flags) { return static_cast<int>(::syscall(SYS_fsopen, fs, flags)); }
int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
  return static_cast<int>(::syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
int sys_fsmount(int fd, unsigned flags, unsigned attrs) {
  return static_cast<int>(::syscall(SYS_fsmount, fd, flags, attrs));
}
int sys_move_mount(int from_dfd, const char* from, int to_dfd, const char* to, unsigned flags) {
  return static_cast<int>(::syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags));
}

// The kernel's log for a failed fsconfig, read from the fs context fd.
std::string fs_context_message(int fd) {
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf - 1)) > 0) {
    if (!out.empty()) out += "; ";
    out.append(buf, static_cast<size_t>(n));
    while (!out.empty() && out.back() == '\n') out.pop_back();
  }
  return out;
}

// Result: Ok, or an error; `unsupported` set when this kernel lacks the API
// or per-layer "lowerdir+" (then the caller falls back to mount(2)).
Status mount_with_fsconfig(const RootfsPaths& p, const std::vector<std::string>& lowers,
                           bool& unsupported) {
  unsupported = false;
  UniqueFd fsfd(sys_fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fsfd.valid()) {
    if (errno == ENOSYS || errno == EPERM) unsupported = true;
    return sys_error("fsopen overlay for {}", p.merged());
  }
  auto set = [&](const char* key, const std::string& value) -> Status {
    if (sys_fsconfig(fsfd.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0) {
      int e = errno;
      std::string why = fs_context_message(fsfd.get());
      errno = e;
      return sys_error("overlay option {}={}{}{}", key, value, why.empty() ? "" : ": ", why);
    }
    return Ok();
  };
  // "lowerdir+" appends one layer (Linux 6.8+); EINVAL on older kernels.
  for (const auto& l : lowers) {
    auto s = set("lowerdir+", l);
    if (!s) {
      if (s.error().sys_errno() == EINVAL && &l == &lowers.front()) unsupported = true;
      return s;
    }
  }
  CRID_TRY(set("upperdir", p.upper()));
  CRID_TRY(set("workdir", p.work()));
  if (sys_fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    int e = errno;
    std::string why = fs_context_message(fsfd.get());
    errno = e;
    return sys_error("creating the overlay for {}{}{}", p.merged(), why.empty() ? "" : ": ", why);
  }
  UniqueFd mfd(sys_fsmount(fsfd.get(), FSMOUNT_CLOEXEC, 0));
  if (!mfd.valid()) return sys_error("fsmount overlay for {}", p.merged());
  if (sys_move_mount(mfd.get(), "", AT_FDCWD, p.merged().c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return sys_error("attaching the overlay at {}", p.merged());
  return Ok();
}

std::string common_parent(const std::vector<std::string>& paths) {
  std::string first = paths.front();
  std::string parent = first.substr(0, first.rfind('/'));
  while (!parent.empty()) {
    bool all = true;
    for (const auto& p : paths)
      if (p.compare(0, parent.size() + 1, parent + "/") != 0) all = false;
    if (all) return parent;
    parent = parent.substr(0, parent.rfind('/'));
  }
  return "";
}

// mount(2) with lower dirs relative to their common parent. The working
// directory is per process, so this runs on a short-lived thread that
// first unshares its fs context (CLONE_FS): its chdir is invisible to the
// daemon's other threads.
Status mount_relative(const RootfsPaths& p, const std::vector<std::string>& lowers) {
  std::string parent = common_parent(lowers);
  if (parent.empty())
    return make_error(ErrorKind::kInvalidArgument, "image layers of {} share no parent dir", p.merged());
  std::vector<std::string> rel;
  for (const auto& l : lowers) rel.push_back(l.substr(parent.size() + 1));
  std::string opts = overlay_options(rel, p.upper(), p.work());
  Status result = Ok();
  std::thread t([&] {
    if (::unshare(CLONE_FS) != 0) {
      result = sys_error("unsharing the fs context to mount {}", p.merged());
      return;
    }
    if (::chdir(parent.c_str()) != 0) {
      result = sys_error("entering {} to mount {}", parent, p.merged());
      return;
    }
    if (::mount("overlay", p.merged().c_str(), "overlay", 0, opts.c_str()) != 0)
      result = sys_error("mounting overlay at {} ({} layers)", p.merged(), lowers.size());
  });
  t.join();
  return result;
}

}  // namespace

std::string overlay_options(const std::vector<std::string>& lower_dirs, const std::string& upper,
                            const std::string& work) {
  std::string opts = "lowerdir=";
  for (size_t i = 0; i < lower_dirs.size(); ++i) {
    if (i) opts += ':';
    opts += lower_dirs[i];
  }
  opts += ",upperdir=" + upper + ",workdir=" + work;
  return opts;
}

bool is_mount_point(const std::string& path) {
  auto info = fs::read_file("/proc/self/mountinfo");
  if (!info) return false;
  std::istringstream in(*info);
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint ...
    std::istringstream f(line);
    std::string id, parent, dev, root, point;
    f >> id >> parent >> dev >> root >> point;
    if (point == path) return true;
  }
  return false;
}

Status mount_rootfs(const RootfsPaths& p, const std::vector<std::string>& lowers) {
  if (lowers.empty())
    return make_error(ErrorKind::kInvalidArgument, "mounting {}: the image has no layers", p.merged());
  for (const auto& d : {p.upper(), p.work(), p.merged()})
    CRID_TRY_CTX(fs::make_dirs(d, 0755), "preparing the rootfs of {}", p.dir);
  bool unsupported = false;
  auto s = mount_with_fsconfig(p, lowers, unsupported);
  if (s || !unsupported) return s;
  // Older kernels: one option string, at most a page.
  std::string opts = overlay_options(lowers, p.upper(), p.work());
  if (opts.size() < static_cast<size_t>(::getpagesize()) - 1) {
    if (::mount("overlay", p.merged().c_str(), "overlay", 0, opts.c_str()) != 0)
      return sys_error("mounting overlay at {} ({} layers)", p.merged(), lowers.size());
    return Ok();
  }
  return mount_relative(p, lowers);
}

Status unmount_rootfs(const RootfsPaths& p) {
  std::string m = p.merged();
  if (!is_mount_point(m)) return Ok();
  if (::umount2(m.c_str(), 0) == 0) return Ok();
  if (errno == EINVAL || errno == ENOENT) return Ok();
  if (errno == EBUSY) {
    // Something (a process that escaped, a leaked fd) still uses it: detach,
    // so the name is free and the kernel frees the mount with its last user.
    if (::umount2(m.c_str(), MNT_DETACH) == 0) return Ok();
  }
  return sys_error("unmounting rootfs {}", m);
}

Status remove_rootfs(const RootfsPaths& p) {
  CRID_TRY(unmount_rootfs(p));
  CRID_TRY_CTX(fs::remove_all(p.dir), "removing container dir {}", p.dir);
  return Ok();
}

Result<std::vector<oci::ImageVolume>> make_image_volumes(const RootfsPaths& p,
                                                         const std::vector<std::string>& volumes) {
  std::vector<oci::ImageVolume> out;
  for (size_t i = 0; i < volumes.size(); ++i) {
    if (volumes[i].empty() || volumes[i].front() != '/')
      return make_error(ErrorKind::kInvalidArgument, "image volume \"{}\" is not an absolute path",
                        volumes[i]);
    std::string dir = fmt::format("{}/{}", p.volumes(), i);
    CRID_TRY_CTX(fs::make_dirs(dir, 0755), "image volume {}", volumes[i]);
    out.push_back({volumes[i], dir});
  }
  return out;
}

}  // namespace crid::container
