#include "util/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/spawn_attributes.h"
#include "util/unique_fd.h"

extern char** environ;

namespace crid {

std::string ProcessOutput::describe() const {
  std::string what;
  if (timed_out)
    what = "timed out";
  else if (signal != 0)
    what = fmt::format("killed by signal {}", signal);
  else
    what = fmt::format("exited with status {}", exit_code);
  std::string msg = err.empty() ? out : err;
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (!msg.empty()) what += ": " + msg;
  return what;
}

namespace {

std::vector<char*> to_cstrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("creating a pipe");
  return std::make_pair(UniqueFd(p[0]), UniqueFd(p[1]));
}

}  // namespace

Result<ProcessOutput> run_process(const SpawnOptions& opts) {
  if (opts.argv.empty()) return make_error(ErrorKind::kInternal, "run_process: empty argv");
  CRID_ASSIGN(auto in, make_pipe());
  CRID_ASSIGN(auto out, make_pipe());
  CRID_ASSIGN(auto err, make_pipe());

  SpawnFileActions actions;
  posix_spawn_file_actions_adddup2(actions.get(), in.first.get(), 0);
  posix_spawn_file_actions_adddup2(actions.get(), out.second.get(), 1);
  posix_spawn_file_actions_adddup2(actions.get(), err.second.get(), 2);
  // Each fd to hand over is first copied above every target (3 .. 3+n-1),
  // so no dup2 below overwrites a source a later one still reads.
  std::vector<UniqueFd> handed;
  const int first_free = 3 + static_cast<int>(opts.pass_fds.size());
  for (size_t i = 0; i < opts.pass_fds.size(); ++i) {
    UniqueFd copy(::fcntl(opts.pass_fds[i], F_DUPFD_CLOEXEC, first_free));
    if (!copy.valid()) return sys_error("handing fd {} to {}", opts.pass_fds[i], opts.argv[0]);
    posix_spawn_file_actions_adddup2(actions.get(), copy.get(), 3 + static_cast<int>(i));
    handed.push_back(std::move(copy));
  }
  SpawnAttributes attr(SpawnAttributes::Group::kDaemons);

  auto argv = to_cstrings(opts.argv);
  std::vector<char*> envp = opts.env ? to_cstrings(*opts.env) : std::vector<char*>{};
  pid_t pid = -1;
  const std::string& program = opts.program.empty() ? opts.argv[0] : opts.program;
  int rc = ::posix_spawn(&pid, program.c_str(), actions.get(), attr.get(), argv.data(),
                         opts.env ? envp.data() : environ);
  handed.clear();
  if (rc != 0) {
    errno = rc;
    return sys_error("starting {}", program);
  }
  in.first.reset();
  out.second.reset();
  err.second.reset();

  ProcessOutput result;
  size_t in_off = 0;
  if (opts.stdin_data.empty()) in.second.reset();
  auto deadline = std::chrono::steady_clock::now() + opts.timeout;
  ::fcntl(in.second.get(), F_SETFL, O_NONBLOCK);
  ::signal(SIGPIPE, SIG_IGN);

  while (out.first.valid() || err.first.valid()) {
    pollfd fds[3];
    int n = 0;
    auto add = [&](UniqueFd& fd, short ev) {
      if (fd.valid()) fds[n++] = pollfd{fd.get(), ev, 0};
    };
    add(out.first, POLLIN);
    add(err.first, POLLIN);
    add(in.second, POLLOUT);
    int wait_ms = -1;
    if (opts.timeout.count() > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        if (result.timed_out || !opts.on_timeout) {
          ::kill(pid, SIGKILL);
          result.timed_out = true;
          break;
        }
        result.timed_out = true;
        opts.on_timeout(pid);
        deadline = std::chrono::steady_clock::now() + opts.stop_grace;
        continue;
      }
      wait_ms = static_cast<int>(left.count());
    }
    int pr = ::poll(fds, n, wait_ms);
    if (pr < 0 && errno != EINTR) break;
    for (int i = 0; i < n; i++) {
      if (!fds[i].revents) continue;
      if (in.second.valid() && fds[i].fd == in.second.get()) {
        ssize_t w = ::write(in.second.get(), opts.stdin_data.data() + in_off,
                            opts.stdin_data.size() - in_off);
        if (w > 0) in_off += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) in.second.reset();
        if (in_off >= opts.stdin_data.size()) in.second.reset();
        continue;
      }
      bool is_out = out.first.valid() && fds[i].fd == out.first.get();
      UniqueFd& src = is_out ? out.first : err.first;
      std::string& dst = is_out ? result.out : result.err;
      char buf[16384];
      ssize_t r = ::read(src.get(), buf, sizeof buf);
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        src.reset();
        continue;
      }
      size_t room = opts.max_output > dst.size() ? opts.max_output - dst.size() : 0;
      if (static_cast<size_t>(r) > room) result.truncated = true;
      dst.append(buf, std::min(room, static_cast<size_t>(r)));
    }
  }

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

}  // namespace crid
