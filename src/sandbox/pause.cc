#include "sandbox/pause.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "util/fs.h"
#include "util/process.h"
#include "util/unique_fd.h"

namespace crid::sandbox {

namespace {

std::string g_self_exe;

// Fields of /proc/<pid>/stat after the command name: state (3) and
// starttime (22).
bool read_stat(pid_t pid, char* state, uint64_t* start) {
  auto text = fs::read_file(fmt::format("/proc/{}/stat", pid), 4096);
  if (!text) return false;
  auto close = text->rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream in(text->substr(close + 2));
  std::string field;
  in >> *state;
  for (int i = 4; i <= 22 && in >> field; ++i)
    if (i == 22) *start = std::strtoull(field.c_str(), nullptr, 10);
  return !in.fail();
}

// The arguments after argv[0] of a `crid pause [<pod id>]` process (the
// pod id, or "" for a pause of an older daemon), or nullopt.
std::optional<std::string> pause_label(pid_t pid) {
  auto text = fs::read_file(fmt::format("/proc/{}/cmdline", pid), 4096);
  if (!text) return std::nullopt;
  auto nul = text->find('\0');
  if (nul == std::string::npos) return std::nullopt;
  std::string rest = text->substr(nul + 1);
  if (rest == std::string("pause\0", 6)) return std::string();
  const std::string prefix("pause\0", 6);
  if (!rest.starts_with(prefix) || rest.back() != '\0') return std::nullopt;
  std::string label = rest.substr(prefix.size(), rest.size() - prefix.size() - 1);
  if (label.find('\0') != std::string::npos) return std::nullopt;
  return label;
}

bool is_pause_cmdline(pid_t pid) { return pause_label(pid).has_value(); }

}  // namespace

void remember_self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) g_self_exe.assign(buf, n);
}

const std::string& self_exe() {
  if (g_self_exe.empty()) remember_self_exe();
  return g_self_exe;
}

std::string pause_program() {
  const std::string& crid = self_exe();
  std::string beside = crid.substr(0, crid.rfind('/') + 1) + "crid-pause";
  if (crid.find('/') != std::string::npos && ::access(beside.c_str(), X_OK) == 0) return beside;
  return crid;
}

Result<InfraProcess> start_pause(const PodNamespaces& pins, const std::string& pod_id,
                                 const std::string& what) {
  if (self_exe().empty())
    return make_error(ErrorKind::kInternal, "{}: cannot tell crid's own path for the pause",
                      what);
  // The pins go over as open fds (3, 4, ...) that the launcher joins itself:
  // no nsenter in between, and no path it could resolve to something else.
  std::vector<UniqueFd> ns_fds;
  for (const std::string* pin : {&pins.net, &pins.ipc, &pins.uts}) {
    if (pin->empty()) continue;
    UniqueFd fd(::open(pin->c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return sys_error("{}: opening namespace pin {} for the pause", what, *pin);
    ns_fds.push_back(std::move(fd));
  }
  SpawnOptions opts;
  opts.program = pause_program();
  // Always crid's own name: recovery and people find a pause by it (pause.h).
  opts.argv = {self_exe(), "pause", pod_id};
  opts.env = std::vector<std::string>{fmt::format("{}={}", kPauseNamespaceFdsEnv, ns_fds.size())};
  for (auto& fd : ns_fds) opts.pass_fds.push_back(fd.get());
  opts.timeout = std::chrono::seconds(30);
  CRID_ASSIGN(ProcessOutput out, run_process(opts));
  if (!out.success())
    return make_error(ErrorKind::kInternal, "{}: starting the pause: {}", what, out.describe());
  InfraProcess p;
  p.pid = static_cast<pid_t>(std::strtol(out.out.c_str(), nullptr, 10));
  char state = 0;
  if (p.pid <= 0 || !read_stat(p.pid, &state, &p.start_time))
    return make_error(ErrorKind::kInternal, "{}: the pause did not report a live pid (\"{}\")",
                      what, out.out);
  return p;
}

bool pause_alive(const InfraProcess& p) {
  if (p.empty()) return false;
  char state = 0;
  uint64_t start = 0;
  if (!read_stat(p.pid, &state, &start)) return false;
  return state != 'Z' && state != 'X' && start == p.start_time && is_pause_cmdline(p.pid);
}

namespace {

// True once the pause `p` is dead: no task under its pid, another one
// reusing it, or a zombie. Reads the task itself, not pause_alive(): an
// exiting task's cmdline reads empty while, as PID 1, it still waits for
// the rest of its namespace to die (the sanitizer build's slower teardown
// showed Stop returning early).
bool pause_gone(const InfraProcess& p) {
  char state = 0;
  uint64_t start = 0;
  return !read_stat(p.pid, &state, &start) || start != p.start_time || state == 'Z' ||
         state == 'X';
}

// The pidfd of the pause `p`, or an invalid fd if the pause is gone or the
// kernel has no pidfd_open (Linux < 5.3). Opened before the identity check:
// a pid whose start time still matches after the open was the pause all
// along, so the fd cannot name a process that reused the pid.
UniqueFd open_pause_pidfd(const InfraProcess& p) {
#ifdef SYS_pidfd_open
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0)));
  if (fd.valid() && pause_alive(p)) return fd;
#endif
  return UniqueFd();
}

// Waits on the pidfd until the kernel reports the pause exited. It does so
// only once the pause, as PID 1 of its namespace, has seen every other task
// of the namespace die, the same moment its stat turns 'Z'.
Status wait_pidfd(int pidfd, const InfraProcess& p, const std::string& what,
                  std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return make_error(ErrorKind::kInternal, "{}: the pause (pid {}) survived SIGKILL", what,
                        p.pid);
    pollfd pfd{pidfd, POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (n > 0) return Ok();
    if (n < 0 && errno != EINTR) return sys_error("{}: waiting for the pause (pid {})", what, p.pid);
  }
}

}  // namespace

Status kill_pause(const InfraProcess& p, const std::string& what) {
  if (p.empty()) return Ok();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // Not our child (its launcher exited), so no waitpid. A pidfd tells the
  // exit without the 5 ms polling sleeps (an eighth of a StopPodSandbox)
  // and signals that very process, whatever happened to its pid meanwhile.
  // Nothing is recorded here: a daemon killed while waiting leaves the
  // caller's last commit (a NOTREADY pod, or a journal note naming the
  // pause), and start-up calls this again, which finds the pause dead or
  // kills it.
#ifdef SYS_pidfd_send_signal
  if (UniqueFd pidfd = open_pause_pidfd(p); pidfd.valid()) {
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0) != 0 &&
        errno != ESRCH)
      return sys_error("{}: killing the pause (pid {})", what, p.pid);
    return wait_pidfd(pidfd.get(), p, what, deadline);
  }
#endif
  // No pidfd: the pause is gone, or the kernel predates pidfd_open.
  if (!pause_alive(p)) return Ok();
  if (::kill(p.pid, SIGKILL) != 0 && errno != ESRCH)
    return sys_error("{}: killing the pause (pid {})", what, p.pid);
  while (!pause_gone(p)) {
    if (std::chrono::steady_clock::now() > deadline)
      return make_error(ErrorKind::kInternal, "{}: the pause (pid {}) survived SIGKILL", what,
                        p.pid);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Ok();
}

namespace {

// Kills every process `is_pause(pid)` picks (from one pass over /proc,
// before any kill, so a pid reused meanwhile is caught by kill_pause's
// start-time check).
Status kill_pauses_where(const std::function<bool(pid_t)>& is_pause, const std::string& what) {
  DIR* proc = ::opendir("/proc");
  if (!proc) return sys_error("{}: listing /proc", what);
  std::vector<InfraProcess> found;
  while (dirent* ent = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(ent->d_name, &end, 10);
    if (pid <= 0 || *end || !is_pause(static_cast<pid_t>(pid))) continue;
    InfraProcess p;
    char state = 0;
    p.pid = static_cast<pid_t>(pid);
    if (read_stat(p.pid, &state, &p.start_time)) found.push_back(p);
  }
  ::closedir(proc);
  for (auto& p : found) CRID_TRY(kill_pause(p, what));
  return Ok();
}

}  // namespace

Status kill_pauses_in(const PodNamespaces& pins, const std::string& what) {
  struct stat pin_st[2];
  const std::string* paths[2] = {&pins.net, &pins.ipc};
  const char* kinds[2] = {"net", "ipc"};
  bool have[2] = {false, false};
  for (int i = 0; i < 2; ++i)
    have[i] = !paths[i]->empty() && ::stat(paths[i]->c_str(), &pin_st[i]) == 0;
  if (!have[0] && !have[1]) return Ok();
  return kill_pauses_where(
      [&](pid_t pid) {
        if (!is_pause_cmdline(pid)) return false;
        for (int i = 0; i < 2; ++i) {
          struct stat st;
          if (have[i] && ::stat(fmt::format("/proc/{}/ns/{}", pid, kinds[i]).c_str(), &st) == 0 &&
              st.st_ino == pin_st[i].st_ino && st.st_dev == pin_st[i].st_dev)
            return true;
        }
        return false;
      },
      what);
}

Status kill_pauses_of_pod(const std::string& pod_id, const std::string& what) {
  if (pod_id.empty()) return Ok();
  return kill_pauses_where(
      [&](pid_t pid) {
        auto label = pause_label(pid);
        return label && *label == pod_id;
      },
      what);
}

Status write_infra_file(const std::string& path, const InfraProcess& p) {
  // Under the runroot: replaced atomically, not fsynced (see fs.h).
  return fs::write_file_replace(path, fmt::format("{} {}\n", p.pid, p.start_time), 0644);
}

InfraProcess read_infra_file(const std::string& path) {
  InfraProcess p;
  auto text = fs::read_file(path, 256);
  if (!text) return p;
  std::istringstream in(*text);
  in >> p.pid >> p.start_time;
  if (in.fail()) return {};
  return p;
}

}  // namespace crid::sandbox
