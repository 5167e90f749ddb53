#include "runtime/conmon_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>

#include <nlohmann/json.hpp>

#include "runtime/conmon_protocol.h"
#include "runtime/exec_reaper.h"
#include "runtime/exit_watcher.h"
#include "runtime/monitor_cgroup.h"
#include "runtime/process_probe.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/process.h"
#include "util/spawn_attributes.h"
#include "util/unique_fd.h"

extern char** environ;

namespace crid::runtime {

using json = nlohmann::json;
using namespace std::chrono_literals;

const char* to_string(ContainerStatus s) {
  switch (s) {
    case ContainerStatus::kCreating: return "creating";
    case ContainerStatus::kCreated: return "created";
    case ContainerStatus::kRunning: return "running";
    case ContainerStatus::kPaused: return "paused";
    case ContainerStatus::kStopped: return "stopped";
    case ContainerStatus::kUnknown: break;
  }
  return "unknown";
}

namespace {

constexpr const char* kRecordFile = "monitor.json";
constexpr const char* kPidFile = "pidfile";
constexpr const char* kConmonPidFile = "conmon-pidfile";
// Files conmon and the runtime leave in the bundle; removed on a failed
// create so the caller's bundle is as it was.
constexpr const char* kMonitorFiles[] = {kRecordFile, kPidFile, kConmonPidFile, "ctl",
                                         "winsz",     "attach", "oom"};
// conmon reports the sync pipe's fds through these variables; the fds are
// fixed by the spawn file actions below.
constexpr int kSyncPipeFd = 3;
constexpr int kStartPipeFd = 4;

json record_to_json(const MonitorRecord& r) {
  return json{{"id", r.id},
              {"name", r.name},
              {"pod_id", r.pod_id},
              {"bundle_dir", r.bundle_dir},
              {"runtime_path", r.handler.runtime_path},
              {"runtime_type", r.handler.runtime_type},
              {"runtime_root", r.handler.runtime_root},
              {"conmon_path", r.conmon_path},
              {"log_path", r.log_path},
              {"exit_dir", r.exit_dir},
              {"persist_dir", r.persist_dir},
              {"monitor_cgroup", r.monitor_cgroup},
              {"tty", r.tty},
              {"monitor_pid", r.monitor_pid},
              {"init_pid", r.init_pid}};
}

Result<MonitorRecord> record_from_json(const std::string& text, const std::string& path) {
  try {
    json j = json::parse(text);
    MonitorRecord r;
    r.id = j.at("id").get<std::string>();
    r.name = j.value("name", "");
    r.pod_id = j.value("pod_id", "");
    r.bundle_dir = j.at("bundle_dir").get<std::string>();
    r.handler.runtime_path = j.at("runtime_path").get<std::string>();
    r.handler.runtime_type = j.value("runtime_type", "oci");
    r.handler.runtime_root = j.value("runtime_root", "");
    r.conmon_path = j.at("conmon_path").get<std::string>();
    r.log_path = j.value("log_path", "");
    r.exit_dir = j.at("exit_dir").get<std::string>();
    r.persist_dir = j.value("persist_dir", "");
    r.monitor_cgroup = j.value("monitor_cgroup", "");
    r.tty = j.value("tty", false);
    r.monitor_pid = j.at("monitor_pid").get<pid_t>();
    r.init_pid = j.at("init_pid").get<pid_t>();
    return r;
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kInternal, "reading monitor record {}: {}", path, e.what());
  }
}

std::vector<std::string> runtime_argv(const MonitorRecord& r, std::vector<std::string> args) {
  std::vector<std::string> argv{r.handler.runtime_path};
  if (!r.handler.runtime_root.empty()) {
    argv.push_back("--root");
    argv.push_back(r.handler.runtime_root);
  }
  argv.insert(argv.end(), std::make_move_iterator(args.begin()),
              std::make_move_iterator(args.end()));
  return argv;
}

// Runs `<runtime> [--root R] <args>`; a failure carries the runtime's words.
Result<ProcessOutput> run_runtime(const MonitorRecord& r, std::vector<std::string> args,
                                  std::string stdin_data = "",
                                  std::chrono::milliseconds timeout = 2min) {
  std::string verb = args.empty() ? "" : args.front();
  SpawnOptions so;
  so.argv = runtime_argv(r, std::move(args));
  so.stdin_data = std::move(stdin_data);
  so.timeout = timeout;
  so.max_output = 1 << 20;
  CRID_ASSIGN(auto out, run_process(so));
  if (!out.success()) {
    // Both runc and crun say so when the container is gone.
    std::string lower = out.err;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool gone = lower.find("does not exist") != std::string::npos ||
                lower.find("not found") != std::string::npos;
    // ... and this when it exists but its process has ended.
    bool stopped = lower.find("not running") != std::string::npos ||
                   lower.find("no such process") != std::string::npos;
    out.err = runtime_message(std::move(out.err));
    return Error(gone      ? ErrorKind::kNotFound
                 : stopped ? ErrorKind::kFailedPrecondition
                           : ErrorKind::kInternal,
                 fmt::format("{} {} of container {}: {}", r.handler.runtime_path, verb, r.id,
                             out.describe()));
  }
  return out;
}

// Moves `fd` to a number above the fixed child fds, so the dup2 actions
// cannot overwrite each other's sources.
Result<UniqueFd> move_high(UniqueFd fd) {
  int high = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 10);
  if (high < 0) return sys_error("duplicating a pipe fd");
  return UniqueFd(high);
}

struct Pipe {
  UniqueFd read, write;
};

Result<Pipe> make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return sys_error("creating a pipe");
  Pipe out;
  CRID_ASSIGN(out.read, move_high(UniqueFd(p[0])));
  CRID_ASSIGN(out.write, move_high(UniqueFd(p[1])));
  return out;
}

// Starts conmon with posix_spawn: the sync pipe's write end on fd 3, the
// start pipe's read end on fd 4, stderr to `stderr_fd`, in the bundle dir
// (conmon drops its "oom" marker in its working directory).
Result<pid_t> spawn_conmon(const std::vector<std::string>& args, const std::string& cwd,
                           int sync_fd, int start_fd, int stderr_fd) {
  SpawnFileActions actions;
  posix_spawn_file_actions_t* fa = actions.get();
  posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(fa, stderr_fd, 2);
  posix_spawn_file_actions_adddup2(fa, sync_fd, kSyncPipeFd);
  posix_spawn_file_actions_adddup2(fa, start_fd, kStartPipeFd);
  posix_spawn_file_actions_addchdir_np(fa, cwd.c_str());
  SpawnAttributes attr(SpawnAttributes::Group::kOwn);

  // A clean environment: only PATH (the runtime may look up helpers) and
  // the pipe numbers.
  std::vector<std::string> env{fmt::format("_OCI_SYNCPIPE={}", kSyncPipeFd),
                               fmt::format("_OCI_STARTPIPE={}", kStartPipeFd)};
  const char* path = ::getenv("PATH");
  env.push_back(std::string("PATH=") +
                (path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0], fa, attr.get(), argv.data(), envp.data());
  if (rc != 0) {
    errno = rc;
    return sys_error("starting conmon {}", args[0]);
  }
  return pid;
}

// Reads what is there without blocking (conmon's early error messages).
std::string drain(int fd, size_t max = 8192) {
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  std::string out;
  char buf[4096];
  ssize_t n;
  while (out.size() < max && (n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, n);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// conmon writes one JSON object per line on the sync pipe: {"data": pid}
// on success, {"data": -1, "message": "<runtime stderr>"} on failure. EOF
// without a message means conmon died.
Result<SyncMessage> read_sync_message(int fd, std::chrono::milliseconds timeout,
                                      const std::string& id) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string buf;
  for (;;) {
    size_t nl = buf.find('\n');
    if (nl != std::string::npos) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return make_error(ErrorKind::kDeadlineExceeded,
                        "creating container {}: timed out after {}ms waiting for the runtime", id,
                        timeout.count());
    pollfd pfd{fd, POLLIN, 0};
    int pr = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) return sys_error("waiting for conmon of container {}", id);
    if (pr == 0) continue;
    char chunk[4096];
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (buf.empty())
        return make_error(ErrorKind::kInternal,
                          "creating container {}: conmon exited without reporting a result", id);
      break;
    }
    buf.append(chunk, n);
    if (buf.size() > (1 << 20))
      return make_error(ErrorKind::kInternal, "creating container {}: oversized sync message", id);
  }
  auto msg = parse_sync_message(std::string_view(buf).substr(0, buf.find('\n')));
  if (!msg) return msg.error().wrap(fmt::format("creating container {}", id));
  return msg;
}

Result<pid_t> read_pid_file(const std::string& path) {
  CRID_ASSIGN(std::string text, fs::read_file(path, 64));
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (v <= 0 || end == text.c_str())
    return make_error(ErrorKind::kInternal, "pid file {} holds \"{}\"", path, text.substr(0, 32));
  return static_cast<pid_t>(v);
}

// conmon's command line names the container id; checking it guards against
// a recycled pid after a reboot or a long downtime.
bool conmon_alive(const MonitorRecord& r) { return process_alive(r.monitor_pid, r.id); }

// Stops conmon for good: it normally exits by itself once the container is
// gone; SIGKILL if it lingers.
void stop_monitor(const MonitorRecord& r) {
  if (r.monitor_pid <= 0) return;
  if (wait_process_gone(r.monitor_pid, 5s, r.id)) return;
  spdlog::warn("[runtime ctr={}] conmon {} still running after delete, killing it",
               log::short_id(r.id), r.monitor_pid);
  ::kill(r.monitor_pid, SIGKILL);
  wait_process_gone(r.monitor_pid, 5s, r.id);
}

bool oom_marker(const MonitorRecord& r) {
  return (!r.persist_dir.empty() && fs::exists(r.persist_dir + "/oom")) ||
         fs::exists(r.bundle_dir + "/oom");
}

Status write_ctl(const MonitorRecord& r, CtlMessage type, int height, int width) {
  std::string path = r.bundle_dir + "/ctl";
  // Non-blocking open fails with ENXIO when no reader (conmon) is there,
  // instead of hanging.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return sys_error("opening conmon control fifo {} of container {}", path, r.id);
  std::string msg = ctl_line(type, height, width);
  if (::write(fd.get(), msg.data(), msg.size()) != static_cast<ssize_t>(msg.size()))
    return sys_error("writing to conmon control fifo of container {}", r.id);
  return Ok();
}

}  // namespace

Result<MonitorRecord> ConmonRuntime::lookup(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = records_.find(id);
  if (it == records_.end())
    return make_error(ErrorKind::kNotFound, "container {} is not known to the runtime", id);
  return it->second;
}

Result<CreatedContainer> ConmonRuntime::create(const CreateOptions& o) {
  if (o.id.empty() || o.bundle_dir.empty() || o.exit_dir.empty())
    return make_error(ErrorKind::kInvalidArgument,
                      "creating container {}: id, bundle dir and exit dir are required", o.id);
  if (o.handler.runtime_type != "oci")
    return make_error(
        ErrorKind::kUnimplemented,
        "creating container {}: runtime type \"{}\" is not supported by the conmon backend", o.id,
        o.handler.runtime_type);
  if (::access(o.handler.runtime_path.c_str(), X_OK) != 0)
    return sys_error("creating container {}: runtime binary {}", o.id, o.handler.runtime_path);
  if (::access(o.conmon_path.c_str(), X_OK) != 0)
    return sys_error("creating container {}: conmon binary {}", o.id, o.conmon_path);
  if (!fs::exists(o.bundle_dir + "/config.json"))
    return make_error(ErrorKind::kInvalidArgument,
                      "creating container {}: no config.json in bundle {}", o.id, o.bundle_dir);
  {
    std::lock_guard lock(mu_);
    if (records_.count(o.id) || creating_.count(o.id))
      return make_error(ErrorKind::kAlreadyExists, "container {} already exists", o.id);
    creating_.insert(o.id);
  }
  // Released on every way out, after the record is in place on success.
  struct Reservation {
    ConmonRuntime* self;
    std::string id;
    ~Reservation() {
      std::lock_guard lock(self->mu_);
      self->creating_.erase(id);
    }
  } reservation{this, o.id};

  MonitorRecord rec;
  rec.id = o.id;
  rec.name = o.name.empty() ? o.id : o.name;
  rec.pod_id = o.pod_id;
  rec.bundle_dir = o.bundle_dir;
  rec.handler = o.handler;
  rec.conmon_path = o.conmon_path;
  rec.log_path = o.log_path;
  rec.exit_dir = o.exit_dir;
  rec.persist_dir = o.persist_dir;
  rec.tty = o.tty;
  if (!o.monitor_cgroup_parent.empty())
    rec.monitor_cgroup = o.monitor_cgroup_parent + "/crid-conmon-" + o.id;

  CRID_TRY_CTX(fs::make_dirs(o.exit_dir, 0700), "creating container {}", o.id);
  if (!o.persist_dir.empty())
    CRID_TRY_CTX(fs::make_dirs(o.persist_dir, 0700), "creating container {}", o.id);
  if (!o.log_path.empty()) {
    auto slash = o.log_path.rfind('/');
    if (slash != std::string::npos && slash > 0)
      CRID_TRY_CTX(fs::make_dirs(o.log_path.substr(0, slash)), "creating container {}", o.id);
  }
  if (!o.handler.runtime_root.empty())
    CRID_TRY_CTX(fs::make_dirs(o.handler.runtime_root, 0700), "creating container {}", o.id);
  // A leftover exit file would read as this container having exited.
  ::unlink((o.exit_dir + "/" + o.id).c_str());

  // clang-format off
  std::vector<std::string> args{
      o.conmon_path,
      "--api-version",
      "-c", o.id,
      "-u", o.id,
      "-n", rec.name,
      "-r", o.handler.runtime_path,
      "-b", o.bundle_dir,
      "-p", o.bundle_dir + "/" + kPidFile,
      "-P", o.bundle_dir + "/" + kConmonPidFile,
      "--exit-dir", o.exit_dir,
      // The attach socket goes in the bundle, next to ctl and winsz;
      // conmon binds it through /proc/self/fd, so long paths are fine.
      "--full-attach",
      // conmon's own stderr is /dev/null once it has forked: its
      // warnings (runtime errors, OOM events) go to the node's syslog.
      "--syslog",
  };
  // clang-format on
  if (!o.handler.runtime_root.empty())
    args.push_back("--runtime-arg=--root=" + o.handler.runtime_root);
  if (!o.persist_dir.empty()) args.push_back("--persist-dir=" + o.persist_dir);
  if (!o.log_path.empty()) args.push_back("--log-path=k8s-file:" + o.log_path);
  if (o.log_size_max > 0) args.push_back(fmt::format("--log-size-max={}", o.log_size_max));
  if (o.no_pivot) args.push_back("--no-pivot");
  if (o.tty) {
    args.push_back("-t");
  } else if (o.stdin) {
    args.push_back("-i");
    if (!o.stdin_once) args.push_back("--leave-stdin-open");
  }
  if (spdlog::should_log(spdlog::level::debug)) args.push_back("--log-level=debug");

  CRID_ASSIGN(Pipe sync, make_pipe());
  CRID_ASSIGN(Pipe start_pipe, make_pipe());
  CRID_ASSIGN(Pipe err, make_pipe());

  // Declared before the rollback stack, whose steps read them.
  pid_t middle = -1;
  bool middle_reaped = false;
  Cleanup undo;
  undo.add("bundle monitor files", [&] {
    for (const char* f : kMonitorFiles) ::unlink((o.bundle_dir + "/" + f).c_str());
    ::unlink((o.exit_dir + "/" + o.id).c_str());
    if (!o.persist_dir.empty()) {
      ::unlink((o.persist_dir + "/exit").c_str());
      ::unlink((o.persist_dir + "/oom").c_str());
    }
    if (!o.log_path.empty()) ::unlink(o.log_path.c_str());
  });

  // A provisional record before anything runs: a daemon killed between here
  // and the final record still leaves enough (runtime, root, pid file) for
  // the next start-up to find and delete what this create started.
  CRID_TRY_CTX(
      fs::write_file_atomic(o.bundle_dir + "/" + kRecordFile, record_to_json(rec).dump(2), 0600),
      "creating container {}", o.id);

  spdlog::debug("[runtime ctr={}] starting conmon: {}", log::short_id(o.id), fmt::join(args, " "));
  CRID_ASSIGN(middle, spawn_conmon(args, o.bundle_dir, sync.write.get(), start_pipe.read.get(),
                                   err.write.get()));
  sync.write.reset();
  start_pipe.read.reset();
  err.write.reset();
  undo.add("conmon's first process", [&] {
    if (middle_reaped) return;
    ::kill(middle, SIGKILL);
    while (::waitpid(middle, nullptr, 0) < 0 && errno == EINTR) {
    }
  });

  // Before conmon forks anything, put it in its own cgroup; it waits on the
  // start pipe for exactly this.
  if (!rec.monitor_cgroup.empty()) {
    undo.add("monitor cgroup", [&] {
      if (rec.monitor_pid > 0) wait_process_gone(rec.monitor_pid, 5s, o.id);
      (void)remove_cgroup(rec.monitor_cgroup);
    });
    CRID_TRY_CTX(place_in_cgroup(rec.monitor_cgroup, middle), "creating container {}", o.id);
  }
  // A failed write means conmon already died (bad flags, unopenable log):
  // its exit status and stderr, read below, say why.
  ::signal(SIGPIPE, SIG_IGN);  // as run_process does: EPIPE, not death
  char go = 0;
  std::optional<Error> start_error;
  if (::write(start_pipe.write.get(), &go, 1) != 1)
    start_error = sys_error("creating container {}: signalling conmon to start", o.id);
  start_pipe.write.reset();

  // The first conmon process forks the real monitor and exits.
  int status = 0;
  while (::waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  middle_reaped = true;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string why = drain(err.read.get());
    return make_error(ErrorKind::kInternal, "creating container {}: conmon failed ({}){}{}", o.id,
                      WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                        : fmt::format("signal {}", WTERMSIG(status)),
                      why.empty() ? "" : ": ", why);
  }
  if (start_error) return *start_error;
  auto monitor_pid = read_pid_file(o.bundle_dir + "/" + kConmonPidFile);
  if (monitor_pid) rec.monitor_pid = *monitor_pid;
  undo.add("runtime state", [&] {
    // Whatever got created: kill conmon (its runtime child dies with it),
    // then make the runtime forget the container.
    if (rec.monitor_pid > 0 && conmon_alive(rec)) ::kill(rec.monitor_pid, SIGKILL);
    if (rec.monitor_pid > 0) wait_process_gone(rec.monitor_pid, 5s, o.id);
    (void)run_runtime(rec, {"delete", "--force", o.id}, "", 30s);
  });

  auto sync_msg = read_sync_message(sync.read.get(), o.timeout, o.id);
  if (!sync_msg) {
    std::string why = drain(err.read.get());
    return why.empty() ? sync_msg.error() : sync_msg.error().wrap(why);
  }
  if (sync_msg->data <= 0) {
    std::string runtime = o.handler.runtime_path.substr(o.handler.runtime_path.rfind('/') + 1);
    std::string msg = sync_msg->message.empty() ? "no message" : runtime_message(sync_msg->message);
    // runc already starts its message with "runc create failed".
    std::string prefix = runtime + " create failed";
    if (msg.rfind(prefix, 0) != 0) msg = prefix + ": " + msg;
    return make_error(ErrorKind::kInternal, "creating container {}: {}", o.id, msg);
  }
  rec.init_pid = sync_msg->data;
  if (!monitor_pid) return monitor_pid.error().wrap(fmt::format("creating container {}", o.id));

  CRID_TRY_CTX(
      fs::write_file_atomic(o.bundle_dir + "/" + kRecordFile, record_to_json(rec).dump(2), 0600),
      "creating container {}", o.id);
  {
    std::lock_guard lock(mu_);
    records_[o.id] = rec;
  }
  undo.dismiss();
  spdlog::info("[runtime ctr={}] created: init pid {}, conmon pid {}", log::short_id(o.id),
               rec.init_pid, rec.monitor_pid);
  return CreatedContainer{rec.init_pid, rec.monitor_pid};
}

Status ConmonRuntime::start(const std::string& id) {
  CRID_ASSIGN(auto rec, lookup(id));
  CRID_TRY(run_runtime(rec, {"start", id}));
  return Ok();
}

Result<ContainerState> ConmonRuntime::state(const std::string& id) {
  CRID_ASSIGN(auto rec, lookup(id));
  CRID_ASSIGN(auto out, run_runtime(rec, {"state", id}));
  try {
    json j = json::parse(out.out);
    ContainerState st;
    std::string s = j.value("status", "");
    st.status = s == "created"    ? ContainerStatus::kCreated
                : s == "running"  ? ContainerStatus::kRunning
                : s == "paused"   ? ContainerStatus::kPaused
                : s == "stopped"  ? ContainerStatus::kStopped
                : s == "creating" ? ContainerStatus::kCreating
                                  : ContainerStatus::kUnknown;
    st.pid = j.value("pid", 0);
    return st;
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kInternal, "parsing {} state of container {}: {}",
                      rec.handler.runtime_path, id, e.what());
  }
}

Status ConmonRuntime::kill(const std::string& id, int signal, bool all) {
  CRID_ASSIGN(auto rec, lookup(id));
  std::vector<std::string> args{"kill"};
  if (all) args.push_back("--all");
  args.push_back(id);
  args.push_back(std::to_string(signal));
  CRID_TRY(run_runtime(rec, std::move(args)));
  return Ok();
}

Status ConmonRuntime::remove(const std::string& id) {
  auto found = lookup(id);
  if (!found) return Ok();
  const MonitorRecord& rec = *found;
  auto del = run_runtime(rec, {"delete", "--force", id});
  if (!del && del.error().kind() != ErrorKind::kNotFound) return del.error();
  stop_monitor(rec);
  if (!rec.monitor_cgroup.empty())
    CRID_TRY_CTX(remove_cgroup(rec.monitor_cgroup), "removing container {}", id);
  ::unlink((rec.exit_dir + "/" + id).c_str());
  if (!rec.persist_dir.empty()) {
    ::unlink((rec.persist_dir + "/exit").c_str());
    ::unlink((rec.persist_dir + "/oom").c_str());
  }
  CRID_TRY_CTX(fs::remove_all(rec.bundle_dir), "removing bundle of container {}", id);
  {
    std::lock_guard lock(mu_);
    records_.erase(id);
  }
  spdlog::info("[runtime ctr={}] removed", log::short_id(id));
  return Ok();
}

Result<MonitorRecord> ConmonRuntime::lookup_running(const std::string& id) {
  CRID_ASSIGN(auto rec, lookup(id));
  CRID_ASSIGN(auto st, state(id));
  if (st.status != ContainerStatus::kRunning)
    return make_error(ErrorKind::kFailedPrecondition, "exec in container {}: container is {}", id,
                      to_string(st.status));
  return rec;
}

namespace {

// The exec'd process starts from the container's own process settings
// (user, env, cwd, capabilities), with our command.
Result<json> exec_process_json(const MonitorRecord& rec, const std::vector<std::string>& argv,
                               bool tty) {
  CRID_ASSIGN(std::string spec_text, fs::read_file(rec.bundle_dir + "/config.json"));
  json process;
  try {
    process = json::parse(spec_text).at("process");
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kInternal, "exec in container {}: reading its config.json: {}",
                      rec.id, e.what());
  }
  process["args"] = argv;
  process["terminal"] = tty;
  process.erase("consoleSize");
  return process;
}

struct ExecFiles {
  std::string process_file;
  std::string pid_file;
};

ExecFiles exec_files(const MonitorRecord& rec) {
  std::string tag = random_hex(8);
  return {rec.bundle_dir + "/exec-" + tag + ".json", rec.bundle_dir + "/exec-" + tag + ".pid"};
}

}  // namespace

Result<std::unique_ptr<ExecProcess>> ConmonRuntime::exec(const std::string& id,
                                                         const ExecOptions& opts) {
  if (opts.argv.empty())
    return make_error(ErrorKind::kInvalidArgument, "exec in container {}: empty command", id);
  CRID_ASSIGN(auto rec, lookup_running(id));
  CRID_ASSIGN(json process, exec_process_json(rec, opts.argv, opts.tty));
  if (opts.tty && opts.width > 0 && opts.height > 0)
    process["consoleSize"] = {{"width", opts.width}, {"height", opts.height}};
  ExecFiles files = exec_files(rec);
  // With a terminal, the container's pty master comes to us over a console
  // socket, so its line discipline is the only one on the way. crun sends
  // it in the foreground; runc only with --detach, so a runc exec runs
  // under `crid exec-reaper`, which collects the detached process's exit
  // status (runtime/exec_reaper.h).
  std::string runtime_name =
      rec.handler.runtime_path.substr(rec.handler.runtime_path.rfind('/') + 1);
  const bool detach = opts.tty && runtime_name != "crun";
  std::string console_socket;
  if (opts.tty) console_socket = files.pid_file.substr(0, files.pid_file.size() - 4) + ".sock";
  Cleanup undo;
  undo.add("exec files", [&] {
    ::unlink(files.process_file.c_str());
    ::unlink(files.pid_file.c_str());
    if (!console_socket.empty()) ::unlink(console_socket.c_str());
  });
  CRID_TRY_CTX(fs::write_file_atomic(files.process_file, process.dump(), 0600),
               "exec in container {}", id);
  std::vector<std::string> args{"exec", "--process", files.process_file, "--pid-file",
                                files.pid_file};
  if (opts.tty) args.push_back("--tty");
  if (detach) args.push_back("--detach");
  if (!console_socket.empty()) {
    args.push_back("--console-socket");
    // The reaper runs runc in the bundle directory: the full path may be
    // longer than a unix socket name can be (crun copes by itself).
    args.push_back(detach ? console_socket.substr(rec.bundle_dir.size() + 1) : console_socket);
  }
  args.push_back(id);
  std::vector<std::string> argv = runtime_argv(rec, std::move(args));
  // The daemon's own binary (/proc/self/exe of the spawned child, before
  // its exec), even if the file on disk was replaced since it started.
  if (detach)
    argv.insert(argv.begin(),
                {"/proc/self/exe", kExecReaperCommand, rec.bundle_dir, files.pid_file});
  ExecProcess::Parts parts;
  parts.id = id;
  parts.pid_file = files.pid_file;
  parts.console_socket = console_socket;
  parts.files = {files.process_file, files.pid_file};
  CRID_ASSIGN(auto proc, spawn_exec_process(argv, opts, std::move(parts)));
  undo.dismiss();  // the process removes them once reaped
  spdlog::debug("[runtime ctr={}] exec{}: {}", log::short_id(id), opts.tty ? " (tty)" : "",
                fmt::join(opts.argv, " "));
  return proc;
}

Result<ExecResult> ConmonRuntime::exec_sync(const std::string& id, const ExecSyncOptions& opts) {
  if (opts.argv.empty())
    return make_error(ErrorKind::kInvalidArgument, "exec in container {}: empty command", id);
  if (opts.tty)
    return make_error(ErrorKind::kUnimplemented,
                      "exec in container {}: a terminal is not supported for exec_sync", id);
  CRID_ASSIGN(auto rec, lookup_running(id));
  CRID_ASSIGN(json process, exec_process_json(rec, opts.argv, false));
  if (opts.env) process["env"] = *opts.env;
  if (opts.cwd) process["cwd"] = *opts.cwd;

  ExecFiles files = exec_files(rec);
  const std::string process_file = files.process_file;
  const std::string pid_file = files.pid_file;
  Cleanup undo;
  undo.add("exec files", [&] {
    ::unlink(process_file.c_str());
    ::unlink(pid_file.c_str());
  });
  CRID_TRY_CTX(fs::write_file_atomic(process_file, process.dump(), 0600), "exec in container {}",
               id);

  // runc exec directly rather than conmon --exec: output stays in memory
  // (capped), no log file round trip, one process fewer per probe.
  SpawnOptions so;
  so.argv = runtime_argv(rec, {"exec", "--process", process_file, "--pid-file", pid_file, id});
  so.timeout = opts.timeout;
  so.max_output = opts.max_output;
  // At the timeout, kill the exec'd process (and what it started) first and
  // let the runtime reap it: killing the runtime instead would orphan it to
  // the container's PID 1, which need not reap, leaving a zombie behind.
  so.on_timeout = [&pid_file](pid_t) {
    if (auto pid = read_pid_file(pid_file)) kill_process_tree(*pid);
  };
  CRID_ASSIGN(auto out, run_process(so));
  ExecResult r;
  r.out = std::move(out.out);
  r.err = std::move(out.err);
  r.truncated = out.truncated;
  if (out.timed_out) {
    // Normally gone already (on_timeout); this covers a runtime that had not
    // written the pid file by then.
    if (auto pid = read_pid_file(pid_file)) kill_process_tree(*pid);
    r.timed_out = true;
    r.exit_code = -1;
    return r;
  }
  r.exit_code = out.signal ? 128 + out.signal : out.exit_code;
  return r;
}

Status ConmonRuntime::update_resources(const std::string& id, const std::string& resources_json) {
  CRID_ASSIGN(auto rec, lookup(id));
  CRID_TRY(run_runtime(rec, {"update", "--resources", "-", id}, resources_json));
  return Ok();
}

Status ConmonRuntime::reopen_log(const std::string& id) {
  CRID_ASSIGN(auto rec, lookup(id));
  if (rec.log_path.empty())
    return make_error(ErrorKind::kFailedPrecondition, "container {} has no log file", id);
  if (!conmon_alive(rec))
    return make_error(ErrorKind::kFailedPrecondition,
                      "reopening log of container {}: its monitor is not running", id);
  size_t slash = rec.log_path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : rec.log_path.substr(0, slash);
  std::string base = rec.log_path.substr(slash == std::string::npos ? 0 : slash + 1);

  // conmon reopens by creating "<log>.tmp" and renaming it over the log:
  // watch for that to know it is done.
  UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!in.valid()) return sys_error("inotify for log reopen of container {}", id);
  if (::inotify_add_watch(in.get(), dir.c_str(), IN_CREATE | IN_MOVED_TO) < 0)
    return sys_error("watching log dir {} of container {}", dir, id);
  CRID_TRY(write_ctl(rec, CtlMessage::kReopenLog, 0, 0));

  auto deadline = std::chrono::steady_clock::now() + 10s;
  alignas(inotify_event) char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return make_error(ErrorKind::kDeadlineExceeded,
                        "reopening log of container {}: conmon did not recreate {}", id,
                        rec.log_path);
    pollfd pfd{in.get(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    for (char* p = buf; n > 0 && p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->len && base == ev->name) return Ok();
    }
  }
}

Result<std::optional<ExitInfo>> ConmonRuntime::exit_status(const std::string& id) {
  CRID_ASSIGN(auto rec, lookup(id));
  CRID_ASSIGN(auto ev, read_exit_file(rec.exit_dir, id));
  if (!ev) return std::optional<ExitInfo>();
  ExitInfo info;
  info.code = ev->code;
  info.finished_at = ev->finished_at;
  info.oom_killed = oom_marker(rec);
  return std::optional<ExitInfo>(info);
}

Result<std::string> ConmonRuntime::attach_socket_path(const std::string& id) {
  CRID_ASSIGN(auto rec, lookup(id));
  return rec.bundle_dir + "/attach";
}

Status ConmonRuntime::resize(const std::string& id, uint16_t width, uint16_t height) {
  CRID_ASSIGN(auto rec, lookup(id));
  if (!rec.tty)
    return make_error(ErrorKind::kFailedPrecondition, "resizing container {}: it has no terminal",
                      id);
  return write_ctl(rec, CtlMessage::kResize, height, width);
}

Result<RecoveredContainer> ConmonRuntime::recover(const std::string& id,
                                                  const std::string& bundle_dir) {
  std::string path = bundle_dir + "/" + kRecordFile;
  CRID_ASSIGN(std::string text, fs::read_file(path));
  CRID_ASSIGN(MonitorRecord rec, record_from_json(text, path));
  if (rec.id != id)
    return make_error(ErrorKind::kInternal, "monitor record {} is for container {}, not {}", path,
                      rec.id, id);
  // Only the provisional record: the create was cut short after conmon may
  // have started; its pid file says which process to stop.
  if (rec.monitor_pid <= 0) {
    if (auto pid = read_pid_file(bundle_dir + "/" + kConmonPidFile)) rec.monitor_pid = *pid;
  }
  RecoveredContainer out;
  out.init_pid = rec.init_pid;
  out.monitor_pid = rec.monitor_pid;
  out.monitor_alive = conmon_alive(rec);
  {
    std::lock_guard lock(mu_);
    records_[id] = rec;
  }
  CRID_ASSIGN(out.exit, exit_status(id));
  return out;
}

bool ConmonRuntime::oom_killed(const std::string& id) {
  auto rec = lookup(id);
  return rec && oom_marker(*rec);
}

bool ConmonRuntime::monitor_alive(const std::string& id) {
  auto rec = lookup(id);
  return rec && conmon_alive(*rec);
}

}  // namespace crid::runtime
