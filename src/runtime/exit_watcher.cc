#include "runtime/exit_watcher.h"

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <charconv>
#include <climits>

#include "util/fs.h"
#include "util/ids.h"
#include "util/log.h"

namespace crid::runtime {

namespace {

// conmon's temp files are "<id>.XXXXXX"; only bare ids are exit files.
bool is_exit_file_name(std::string_view name) { return !name.empty() && is_hex_id(name); }

}  // namespace

Result<std::optional<ExitEvent>> read_exit_file(const std::string& dir, const std::string& id) {
  std::string path = dir + "/" + id;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<ExitEvent>();
    return sys_error("reading exit file {}", path);
  }
  CRID_ASSIGN(std::string text, fs::read_file(path, 64));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  int code = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), code);
  if (ec != std::errc() || p != text.data() + text.size())
    return make_error(ErrorKind::kInternal, "exit file {} holds \"{}\", not an exit code", path,
                      text.substr(0, 32));
  ExitEvent ev;
  ev.id = id;
  ev.code = code;
  ev.finished_at = WallTime(std::chrono::duration_cast<WallTime::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  return std::optional<ExitEvent>(std::move(ev));
}

ExitWatcher::~ExitWatcher() { stop(); }

Status ExitWatcher::start(const std::string& dir, Callback cb, bool replay_existing) {
  if (thread_.joinable()) return make_error(ErrorKind::kInternal, "exit watcher already started");
  CRID_TRY(fs::make_dirs(dir, 0700));
  dir_ = dir;
  cb_ = std::move(cb);
  inotify_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!inotify_.valid()) return sys_error("inotify_init for exit dir {}", dir);
  // IN_MOVED_TO: conmon renames its temp file into place; IN_CLOSE_WRITE
  // covers writers that write the file in place.
  if (::inotify_add_watch(inotify_.get(), dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
    return sys_error("watching exit dir {}", dir);
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_.valid()) return sys_error("eventfd for exit watcher");

  // Watch first, then list: an exit landing in between is seen twice
  // rather than never; callers treat exits idempotently.
  if (replay_existing) {
    if (DIR* d = ::opendir(dir.c_str())) {
      while (auto* e = ::readdir(d))
        if (is_exit_file_name(e->d_name)) deliver(e->d_name);
      ::closedir(d);
    }
  }
  thread_ = std::thread([this] { run(); });
  return Ok();
}

void ExitWatcher::stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  thread_.join();
  inotify_.reset();
  wake_.reset();
}

void ExitWatcher::deliver(const std::string& name) {
  auto ev = read_exit_file(dir_, name);
  if (!ev) {
    spdlog::warn("[ExitWatcher ctr={}] {}", log::short_id(name), ev.error().message());
    return;
  }
  if (!*ev || !cb_) return;
  if (oom_check_) (*ev)->oom_killed = oom_check_(name);
  cb_(**ev);
}

void ExitWatcher::run() {
  alignas(inotify_event) char buf[16 * (sizeof(inotify_event) + NAME_MAX + 1)];
  for (;;) {
    pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("[ExitWatcher {}] poll: {}", dir_, std::strerror(errno));
      return;
    }
    if (fds[1].revents) return;
    ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
    if (n <= 0) continue;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        // Events were lost: rescan so no exit goes unnoticed.
        spdlog::warn("[ExitWatcher {}] inotify queue overflow, rescanning", dir_);
        if (DIR* d = ::opendir(dir_.c_str())) {
          while (auto* e = ::readdir(d))
            if (is_exit_file_name(e->d_name)) deliver(e->d_name);
          ::closedir(d);
        }
        continue;
      }
      if (ev->len == 0) continue;
      std::string name(ev->name);
      if (is_exit_file_name(name)) deliver(name);
    }
  }
}

}  // namespace crid::runtime
