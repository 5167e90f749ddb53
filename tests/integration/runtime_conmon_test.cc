// ConmonRuntime against the real thing: conmon, runc and crun running
// busybox bundles built by the test.
//
// crun 1.8 refuses a hybrid cgroup layout (cgroup v1 controllers plus a
// cgroup2 mount at /sys/fs/cgroup/unified). The Crun/* cases therefore run
// in a child copy of this binary inside a private mount namespace with that
// mount detached: CrunLauncher.RunsCrunCasesInPrivateMountNamespace starts
//   unshare -m sh -c 'umount /sys/fs/cgroup/unified; exec "$0" "$@"'
//     <this binary> --gtest_filter=Crun/*
// with CRID_IT_CRUN_CHILD=1; outside that child the Crun/* cases skip.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "runtime/conmon_runtime.h"
#include "runtime/exit_watcher.h"
#include "runtime/log_format.h"
#include "runtime/monitor_cgroup.h"
#include "runtime/process_probe.h"
#include "support/bundle.h"
#include "support/crid_process.h"
#include "util/fs.h"
#include "util/ids.h"
#include "util/process.h"
#include "util/unique_fd.h"

namespace crid::runtime {
namespace {

using namespace std::chrono_literals;
using testing::BundleOptions;
using testing::TempDir;

constexpr const char* kCrunChildEnv = "CRID_IT_CRUN_CHILD";

std::string runtime_binary(const std::string& name) {
  return name == "crun" ? "/usr/bin/crun" : "/usr/sbin/runc";
}

// Polls `pred` every 50ms for up to `timeout`.
template <typename F>
bool eventually(F pred, std::chrono::milliseconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// Any process whose command line mentions `needle` (conmon carries the id).
bool any_process_mentions(const std::string& needle) {
  bool found = false;
  if (DIR* d = ::opendir("/proc")) {
    while (auto* e = ::readdir(d)) {
      pid_t p = static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10));
      if (p > 0 && p != ::getpid() && process_alive(p, needle)) found = true;
    }
    ::closedir(d);
  }
  return found;
}

class ConmonRuntimeTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    CRID_REQUIRE_ROOT();
    if (GetParam() == "crun" && !std::getenv(kCrunChildEnv))
      GTEST_SKIP() << "crun cases run inside CrunLauncher's private mount namespace";
    cgroup_parent_ = "/crid-it-" + random_hex(6);
    handler_ = RuntimeHandler{runtime_binary(GetParam()), "oci", dir_.file("runtime-root")};
    watcher_.set_oom_check([this](const std::string& id) { return rt_.oom_killed(id); });
    ASSERT_TRUE(watcher_.start(dir_.file("exits"), [this](const ExitEvent& ev) {
      std::lock_guard lock(mu_);
      exits_[ev.id] = ev;
      cv_.notify_all();
    }));
  }

  void TearDown() override {
    watcher_.stop();
    for (const auto& id : created_) {
      auto s = rt_.remove(id);
      EXPECT_TRUE(s) << s.error().message();
    }
    if (!cgroup_parent_.empty()) {
      auto s = remove_cgroup(cgroup_parent_);
      EXPECT_TRUE(s) << s.error().message();
    }
  }

  std::string bundle_dir(const std::string& id) { return dir_.file("bundles/" + id); }
  std::string log_path(const std::string& id) { return dir_.file("logs/" + id + ".log"); }
  std::string container_cgroup(const std::string& id) { return cgroup_parent_ + "/" + id; }

  CreateOptions options_for(const std::string& id, BundleOptions b) {
    b.cgroups_path = container_cgroup(id);
    EXPECT_TRUE(testing::write_busybox_bundle(bundle_dir(id), b));
    CreateOptions o;
    o.id = id;
    o.name = "test-" + id.substr(0, 6);
    o.pod_id = "pod";
    o.bundle_dir = bundle_dir(id);
    o.handler = handler_;
    o.log_path = log_path(id);
    o.tty = b.tty;
    o.exit_dir = dir_.file("exits");
    o.persist_dir = dir_.file("persist/" + id);
    o.monitor_cgroup_parent = cgroup_parent_;
    o.timeout = 60s;
    return o;
  }

  // Creates (and by default starts) a container running `args`.
  std::string run(std::vector<std::string> args, bool start = true, BundleOptions b = {}) {
    std::string id = new_id();
    b.args = std::move(args);
    auto created = rt_.create(options_for(id, b));
    EXPECT_TRUE(created) << created.error().message();
    if (!created) return id;
    created_.push_back(id);
    EXPECT_GT(created->init_pid, 0);
    EXPECT_GT(created->monitor_pid, 0);
    if (start) {
      auto s = rt_.start(id);
      EXPECT_TRUE(s) << s.error().message();
    }
    return id;
  }

  std::optional<ExitEvent> wait_exit(const std::string& id, std::chrono::seconds t = 30s) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, t, [&] { return exits_.count(id) > 0; })) return std::nullopt;
    return exits_[id];
  }

  std::vector<LogRecord> log_records(const std::string& path) {
    auto text = fs::read_file(path);
    if (!text) return {};
    auto recs = parse_log(*text);
    EXPECT_TRUE(recs) << recs.error().message();
    return recs ? *recs : std::vector<LogRecord>{};
  }

  std::string log_text(const std::string& id, LogStream s) {
    return stream_text(log_records(log_path(id)), s);
  }

  std::string memory_cgroup_file(const std::string& id, const std::string& file) {
    return "/sys/fs/cgroup/memory" + container_cgroup(id) + "/" + file;
  }

  TempDir dir_{"crid-rt"};
  std::string cgroup_parent_;
  RuntimeHandler handler_;
  ConmonRuntime rt_;
  ExitWatcher watcher_;
  std::vector<std::string> created_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, ExitEvent> exits_;
};

TEST_P(ConmonRuntimeTest, ExitCodesZeroAndOneComeFromTheExitFile) {
  std::string ok = run({"/bin/sh", "-c", "exit 0"}, false);
  std::string bad = run({"/bin/sh", "-c", "exit 1"}, false);
  for (const auto& id : {ok, bad}) {
    auto st = rt_.state(id);
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_EQ(st->status, ContainerStatus::kCreated);
    EXPECT_GT(st->pid, 0);
    ASSERT_TRUE(rt_.start(id));
  }
  auto e0 = wait_exit(ok);
  auto e1 = wait_exit(bad);
  ASSERT_TRUE(e0 && e1) << "exit watcher saw no exit";
  EXPECT_EQ(e0->code, 0);
  EXPECT_EQ(e1->code, 1);
  EXPECT_FALSE(e1->oom_killed);
  auto s1 = rt_.exit_status(bad);
  ASSERT_TRUE(s1);
  ASSERT_TRUE(s1->has_value());
  EXPECT_EQ((*s1)->code, 1);
  EXPECT_FALSE((*s1)->oom_killed);
  auto st = rt_.state(bad);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->status, ContainerStatus::kStopped);
}

TEST_P(ConmonRuntimeTest, SigtermDeathIsRecordedAs143) {
  // In its own pid namespace the program would be pid 1, which ignores
  // signals it has no handler for; share the host's so SIGTERM kills it.
  BundleOptions b;
  b.pid_namespace = false;
  std::string id = run({"/bin/sleep", "1000"}, true, b);
  ASSERT_TRUE(eventually([&] {
    auto st = rt_.state(id);
    return st && st->status == ContainerStatus::kRunning;
  }));
  ASSERT_TRUE(rt_.kill(id, SIGTERM));
  auto e = wait_exit(id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 128 + SIGTERM);
}

TEST_P(ConmonRuntimeTest, SigkillIsRecordedAs137) {
  std::string id = run({"/bin/sleep", "1000"});
  ASSERT_TRUE(rt_.kill(id, SIGKILL));
  auto e = wait_exit(id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 137);
  auto st = rt_.exit_status(id);
  ASSERT_TRUE(st && st->has_value());
  EXPECT_EQ((*st)->code, 137);
}

TEST_P(ConmonRuntimeTest, KillAllReachesEveryProcess) {
  std::string id = run({"/bin/sh", "-c", "sleep 1000 & sleep 1000 & wait"});
  ExecSyncOptions ps;
  ps.argv = {"/bin/sh", "-c", "ps | grep -c '[s]leep 1000$'"};
  ASSERT_TRUE(eventually([&] {
    auto r = rt_.exec_sync(id, ps);
    return r && r->out.rfind("2", 0) == 0;
  })) << rt_.exec_sync(id, ps)->out
      << rt_.exec_sync(id, ps)->err;
  // The shell is pid 1 of the container and ignores SIGTERM; only the
  // sleeps die of it, and then the shell's `wait` returns and it exits 0.
  // Without --all the signal would go to the shell alone and change nothing.
  ASSERT_TRUE(rt_.kill(id, SIGTERM, /*all=*/true));
  auto e = wait_exit(id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 0);
}

TEST_P(ConmonRuntimeTest, LogsBothStreamsAndPartialLinesInCriFormat) {
  std::string id = run({"/bin/sh", "-c", "echo out1; echo err1 >&2; echo out2; printf abc"});
  ASSERT_TRUE(wait_exit(id));
  auto text = fs::read_file(log_path(id));
  ASSERT_TRUE(text);
  auto recs = parse_log(*text);
  ASSERT_TRUE(recs) << recs.error().message() << "\n" << *text;
  EXPECT_EQ(stream_text(*recs, LogStream::kStdout), "out1\nout2\nabc") << *text;
  EXPECT_EQ(stream_text(*recs, LogStream::kStderr), "err1\n") << *text;
  // conmon marks the unterminated "abc" partial and writes nothing more.
  ASSERT_FALSE(recs->empty());
  const LogRecord* last_out = nullptr;
  for (const auto& r : *recs)
    if (r.stream == LogStream::kStdout) last_out = &r;
  ASSERT_NE(last_out, nullptr);
  EXPECT_TRUE(last_out->partial);
  EXPECT_EQ(last_out->text, "abc");
}

TEST_P(ConmonRuntimeTest, TtyContainerWritesItsTerminalToStdout) {
  BundleOptions b;
  b.tty = true;
  std::string id = run({"/bin/sh", "-c", "[ -t 1 ] && echo is-a-tty; stty size"}, true, b);
  ASSERT_TRUE(wait_exit(id));
  std::string out = log_text(id, LogStream::kStdout);
  EXPECT_NE(out.find("is-a-tty"), std::string::npos) << out;
  EXPECT_NE(out.find("24 80"), std::string::npos) << out;
  EXPECT_EQ(log_text(id, LogStream::kStderr), "");
}

TEST_P(ConmonRuntimeTest, ResizeReachesTheTerminal) {
  BundleOptions b;
  b.tty = true;
  std::string id = run({"/bin/sh", "-c", "while :; do stty size; sleep 0.1; done"}, true, b);
  ASSERT_TRUE(eventually(
      [&] { return log_text(id, LogStream::kStdout).find("24 80") != std::string::npos; }));
  ASSERT_TRUE(rt_.resize(id, 132, 43));
  EXPECT_TRUE(eventually(
      [&] { return log_text(id, LogStream::kStdout).find("43 132") != std::string::npos; }));
  auto sock = rt_.attach_socket_path(id);
  ASSERT_TRUE(sock);
  struct stat st;
  ASSERT_EQ(::stat(sock->c_str(), &st), 0) << *sock;
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
}

// Connects to conmon's attach socket (SOCK_SEQPACKET) through
// /proc/self/fd, so the bundle path may exceed sun_path.
UniqueFd connect_attach(const std::string& path) {
  size_t slash = path.rfind('/');
  UniqueFd dir(::open(path.substr(0, slash).c_str(), O_PATH | O_CLOEXEC));
  if (!dir.valid()) return UniqueFd();
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string via = fmt::format("/proc/self/fd/{}/{}", dir.get(), path.substr(slash + 1));
  std::strncpy(addr.sun_path, via.c_str(), sizeof addr.sun_path - 1);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return UniqueFd();
  return sock;
}

TEST_P(ConmonRuntimeTest, StdinThroughTheAttachSocket) {
  std::string id = new_id();
  BundleOptions b;
  b.args = {"/bin/cat"};
  auto o = options_for(id, b);
  o.stdin = true;
  o.stdin_once = true;
  auto created = rt_.create(o);
  ASSERT_TRUE(created) << created.error().message();
  created_.push_back(id);
  auto path = rt_.attach_socket_path(id);
  ASSERT_TRUE(path);
  UniqueFd sock = connect_attach(*path);
  ASSERT_TRUE(sock.valid()) << "connecting to " << *path << ": " << std::strerror(errno);
  ASSERT_TRUE(rt_.start(id));
  ASSERT_EQ(::send(sock.get(), "hello\n", 6, 0), 6);
  // Output comes back as packets: one byte naming the stream, then data.
  char buf[8192];
  ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
  ASSERT_GT(n, 1) << std::strerror(errno);
  EXPECT_EQ(buf[0], kAttachStdout);
  EXPECT_EQ(std::string(buf + 1, n - 1), "hello\n");
  // stdin_once: the client going away closes the container's stdin.
  sock.reset();
  auto e = wait_exit(id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 0);
  EXPECT_EQ(log_text(id, LogStream::kStdout), "hello\n");
}

TEST_P(ConmonRuntimeTest, LogSizeMaxBoundsTheLogFile) {
  std::string id = new_id();
  BundleOptions b;
  b.args = {"/bin/sh", "-c",
            "i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
            "i=$((i+1)); done"};
  auto o = options_for(id, b);
  o.log_size_max = 4096;
  auto created = rt_.create(o);
  ASSERT_TRUE(created) << created.error().message();
  created_.push_back(id);
  ASSERT_TRUE(rt_.start(id));
  ASSERT_TRUE(wait_exit(id));
  struct stat st;
  ASSERT_EQ(::stat(o.log_path.c_str(), &st), 0);
  EXPECT_LE(st.st_size, 4096);
  // What is left is still well-formed and ends with the last line.
  auto recs = log_records(o.log_path);
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs.back().text.rfind("line-199-", 0), 0u) << recs.back().text;
}

TEST_P(ConmonRuntimeTest, ExecSyncReturnsOutputAndExitCode) {
  std::string id = run({"/bin/sleep", "1000"});
  ExecSyncOptions e;
  e.argv = {"/bin/sh", "-c", "echo hi; echo oops >&2; exit 3"};
  auto r = rt_.exec_sync(id, e);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->out, "hi\n");
  EXPECT_EQ(r->err, "oops\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);

  e.argv = {"/bin/sh", "-c", "echo $GREETING; pwd"};
  e.env = std::vector<std::string>{"PATH=/bin", "GREETING=hello"};
  e.cwd = "/tmp";
  r = rt_.exec_sync(id, e);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->out, "hello\n/tmp\n");
  EXPECT_EQ(r->exit_code, 0);

  // A command that does not exist is the command's failure, not ours: a
  // non-zero exit code and the runtime's explanation on stderr.
  ExecSyncOptions missing;
  missing.argv = {"/no/such/probe"};
  r = rt_.exec_sync(id, missing);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->err.find("/no/such/probe"), std::string::npos) << r->err;
}

TEST_P(ConmonRuntimeTest, ExecSyncCapsOutput) {
  std::string id = run({"/bin/sleep", "1000"});
  ExecSyncOptions e;
  e.argv = {"/bin/sh", "-c", "yes | head -c 100000"};
  e.max_output = 1000;
  auto r = rt_.exec_sync(id, e);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->out.size(), 1000u);
  EXPECT_TRUE(r->truncated);
}

TEST_P(ConmonRuntimeTest, ExecSyncTimeoutKillsTheProcess) {
  std::string id = run({"/bin/sleep", "1000"});
  ExecSyncOptions e;
  e.argv = {"/bin/sh", "-c", "echo started; sleep 4242"};
  e.timeout = 1s;
  auto r = rt_.exec_sync(id, e);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->timed_out);
  // Nothing of the timed-out command is left in the container.
  ExecSyncOptions ps;
  ps.argv = {"/bin/ps"};
  EXPECT_TRUE(eventually([&] {
    auto out = rt_.exec_sync(id, ps);
    return out && out->out.find("4242") == std::string::npos;
  })) << rt_.exec_sync(id, ps)->out;
}

TEST_P(ConmonRuntimeTest, ExecSyncInStoppedContainerFails) {
  std::string id = run({"/bin/true"});
  ASSERT_TRUE(wait_exit(id));
  ExecSyncOptions e;
  e.argv = {"/bin/true"};
  auto r = rt_.exec_sync(id, e);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(id), std::string::npos);
}

TEST_P(ConmonRuntimeTest, UpdateResourcesChangesTheMemoryLimit) {
  std::string id = run({"/bin/sleep", "1000"});
  std::string limit_file = memory_cgroup_file(id, "memory.limit_in_bytes");
  ASSERT_TRUE(fs::exists(limit_file)) << limit_file;
  ASSERT_TRUE(rt_.update_resources(id, R"({"memory": {"limit": 67108864}})"));
  auto text = fs::read_file(limit_file);
  ASSERT_TRUE(text);
  EXPECT_EQ(std::stoll(*text), 67108864);
  auto bad = rt_.update_resources(id, "{not json");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find(id), std::string::npos);
}

TEST_P(ConmonRuntimeTest, OomKillIsReported) {
  BundleOptions b;
  b.memory_limit = 32 << 20;
  // The string doubles until the cgroup's limit is hit.
  std::string id = run({"/bin/sh", "-c", "x=aaaaaaaa; while :; do x=$x$x; done"}, true, b);
  auto e = wait_exit(id, 60s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 137);
  EXPECT_TRUE(e->oom_killed) << "the exit event carries the OOM kill";
  auto st = rt_.exit_status(id);
  ASSERT_TRUE(st && st->has_value());
  EXPECT_TRUE((*st)->oom_killed);
}

TEST_P(ConmonRuntimeTest, ReopenLogStartsANewFile) {
  std::string id =
      run({"/bin/sh", "-c", "i=0; while :; do echo line$i; i=$((i+1)); sleep 0.05; done"});
  std::string path = log_path(id);
  ASSERT_TRUE(eventually([&] { return log_records(path).size() >= 2; }));
  std::string rotated = path + ".1";
  ASSERT_EQ(::rename(path.c_str(), rotated.c_str()), 0);
  auto s = rt_.reopen_log(id);
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_TRUE(eventually([&] { return log_records(path).size() >= 2; }));
  auto old_recs = log_records(rotated);
  auto new_recs = log_records(path);
  ASSERT_FALSE(old_recs.empty());
  ASSERT_FALSE(new_recs.empty());
  // The new file continues where the old one stopped.
  EXPECT_GT(new_recs.front().time, old_recs.front().time);
  EXPECT_EQ(new_recs.front().text.rfind("line", 0), 0u);
}

TEST_P(ConmonRuntimeTest, RemoveLeavesNothingBehind) {
  std::string id = run({"/bin/sleep", "1000"});
  auto rec = rt_.recover(id, bundle_dir(id));  // reads the record: conmon pid
  ASSERT_TRUE(rec);
  ASSERT_TRUE(rec->monitor_alive);
  ASSERT_TRUE(cgroup_exists(container_cgroup(id)));
  ASSERT_TRUE(cgroup_exists(cgroup_parent_ + "/crid-conmon-" + id));
  auto s = rt_.remove(id);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_FALSE(process_alive(rec->monitor_pid));
  EXPECT_FALSE(process_alive(rec->init_pid));
  EXPECT_FALSE(any_process_mentions(id));
  EXPECT_FALSE(fs::exists(handler_.runtime_root + "/" + id));
  EXPECT_FALSE(fs::exists(bundle_dir(id)));
  EXPECT_FALSE(fs::exists(dir_.file("exits/" + id)));
  EXPECT_FALSE(cgroup_exists(container_cgroup(id)));
  EXPECT_FALSE(cgroup_exists(cgroup_parent_ + "/crid-conmon-" + id));
  EXPECT_FALSE(rt_.state(id));
  EXPECT_TRUE(rt_.remove(id)) << "removing twice is fine";
}

// The caller's bundle (config.json + rootfs) is all that may remain after
// a failed create.
void expect_clean_failure(const std::string& id, const std::string& bundle, const std::string& log,
                          const std::string& runtime_root, const std::string& exit_file) {
  std::vector<std::string> left;
  for (const auto& f : {"pidfile", "conmon-pidfile", "monitor.json", "ctl", "winsz", "attach"})
    if (fs::exists(bundle + "/" + f)) left.push_back(f);
  EXPECT_TRUE(left.empty()) << "left in bundle: " << left.front();
  EXPECT_TRUE(fs::exists(bundle + "/config.json"));
  EXPECT_FALSE(fs::exists(log));
  EXPECT_FALSE(fs::exists(runtime_root + "/" + id));
  EXPECT_FALSE(fs::exists(exit_file));
  EXPECT_TRUE(eventually([&] { return !any_process_mentions(id); }, 10s));
}

TEST_P(ConmonRuntimeTest, MissingRuntimeBinaryIsAClearError) {
  std::string id = new_id();
  BundleOptions b;
  auto o = options_for(id, b);
  o.handler.runtime_path = "/nonexistent/" + GetParam();
  auto r = rt_.create(o);
  ASSERT_FALSE(r);
  std::cout << "error: " << r.error().message() << "\n";
  EXPECT_NE(r.error().message().find(id), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("/nonexistent/" + GetParam()), std::string::npos)
      << r.error().message();
  expect_clean_failure(id, o.bundle_dir, o.log_path, handler_.runtime_root,
                       dir_.file("exits/" + id));
  EXPECT_FALSE(cgroup_exists(cgroup_parent_ + "/crid-conmon-" + id));
}

TEST_P(ConmonRuntimeTest, BadEntrypointIsAClearError) {
  std::string id = new_id();
  BundleOptions b;
  b.args = {"/nonexistent"};
  auto o = options_for(id, b);
  auto r = rt_.create(o);
  if (r) {
    // A runtime that defers the lookup to start must fail there.
    created_.push_back(id);
    auto s = rt_.start(id);
    ASSERT_FALSE(s) << "starting a container whose entrypoint does not exist succeeded";
    std::cout << "error at start: " << s.error().message() << "\n";
    EXPECT_NE(s.error().message().find("/nonexistent"), std::string::npos) << s.error().message();
    return;
  }
  std::string msg = r.error().message();
  std::cout << "error: " << msg << "\n";
  EXPECT_NE(msg.find(id), std::string::npos) << msg;
  EXPECT_NE(msg.find("create failed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/nonexistent"), std::string::npos) << msg;
  expect_clean_failure(id, o.bundle_dir, o.log_path, handler_.runtime_root,
                       dir_.file("exits/" + id));
  EXPECT_FALSE(cgroup_exists(container_cgroup(id)));
  EXPECT_FALSE(cgroup_exists(cgroup_parent_ + "/crid-conmon-" + id));
}

TEST_P(ConmonRuntimeTest, ConmonStartupFailureIsReported) {
  std::string id = new_id();
  auto o = options_for(id, BundleOptions{});
  // conmon cannot open a directory as its log file and says so on stderr
  // before it forks.
  o.log_path = dir_.path();
  auto r = rt_.create(o);
  ASSERT_FALSE(r);
  std::string msg = r.error().message();
  std::cout << "error: " << msg << "\n";
  EXPECT_NE(msg.find(id), std::string::npos) << msg;
  EXPECT_NE(msg.find("conmon failed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("log"), std::string::npos) << msg;
  EXPECT_TRUE(fs::exists(dir_.path())) << "the log path given was not ours to remove";
  expect_clean_failure(id, o.bundle_dir, "/nonexistent-log", handler_.runtime_root,
                       dir_.file("exits/" + id));
  EXPECT_FALSE(cgroup_exists(cgroup_parent_ + "/crid-conmon-" + id));
}

TEST_P(ConmonRuntimeTest, CreateTimeoutKillsTheMonitor) {
  // A runtime whose create hangs: the create must give up, kill conmon
  // (and the hung runtime with it) and leave nothing behind.
  std::string fake = dir_.write("hung-runtime",
                                "#!/bin/sh\n"
                                "case \"$*\" in *create*) exec sleep 3600 ;; esac\n"
                                "exit 1\n");
  ASSERT_EQ(::chmod(fake.c_str(), 0755), 0);
  std::string id = new_id();
  auto o = options_for(id, BundleOptions{});
  o.handler.runtime_path = fake;
  o.timeout = 1s;
  auto r = rt_.create(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kDeadlineExceeded);
  EXPECT_NE(r.error().message().find(id), std::string::npos) << r.error().message();
  expect_clean_failure(id, o.bundle_dir, o.log_path, handler_.runtime_root,
                       dir_.file("exits/" + id));
  EXPECT_TRUE(eventually([&] { return !cgroup_exists(cgroup_parent_ + "/crid-conmon-" + id); }));
}

TEST_P(ConmonRuntimeTest, KillOfAnExitedContainerIsAPreconditionError) {
  std::string id = run({"/bin/true"});
  ASSERT_TRUE(wait_exit(id));
  auto s = rt_.kill(id, SIGTERM);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().kind(), ErrorKind::kFailedPrecondition) << s.error().message();
}

TEST_P(ConmonRuntimeTest, RecoverFindsTheRunningContainerAndItsMonitor) {
  std::string id = run({"/bin/sleep", "1000"});
  pid_t init_pid = rt_.state(id)->pid;
  // A fresh runtime object: what a restarted daemon has.
  ConmonRuntime fresh;
  EXPECT_FALSE(fresh.state(id));
  auto rec = fresh.recover(id, bundle_dir(id));
  ASSERT_TRUE(rec) << rec.error().message();
  EXPECT_TRUE(rec->monitor_alive);
  EXPECT_EQ(rec->init_pid, init_pid);
  EXPECT_FALSE(rec->exit.has_value());
  EXPECT_TRUE(fresh.monitor_alive(id));
  auto st = fresh.state(id);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->status, ContainerStatus::kRunning);
  ASSERT_TRUE(fresh.kill(id, SIGKILL));
  ASSERT_TRUE(wait_exit(id));
  EXPECT_TRUE(eventually([&] { return !fresh.monitor_alive(id); }));
  auto again = fresh.recover(id, bundle_dir(id));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->monitor_alive);
  ASSERT_TRUE(again->exit.has_value());
  EXPECT_EQ(again->exit->code, 137);
  EXPECT_TRUE(fresh.remove(id));
  EXPECT_FALSE(fs::exists(bundle_dir(id)));
}

TEST_P(ConmonRuntimeTest, CreatingAnIdTwiceIsRefused) {
  std::string id = run({"/bin/sleep", "1000"}, false);
  CreateOptions o;
  o.id = id;
  o.bundle_dir = bundle_dir(id);
  o.handler = handler_;
  o.exit_dir = dir_.file("exits");
  auto r = rt_.create(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kAlreadyExists);
  // The first one is untouched.
  auto st = rt_.state(id);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->status, ContainerStatus::kCreated);
}

TEST_P(ConmonRuntimeTest, RecoverOfAMissingBundleIsNotFound) {
  std::string id = new_id();
  ConmonRuntime fresh;
  auto r = fresh.recover(id, bundle_dir(id));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(r.error().message().find(bundle_dir(id)), std::string::npos) << r.error().message();
  EXPECT_FALSE(fresh.state(id));
}

INSTANTIATE_TEST_SUITE_P(Runc, ConmonRuntimeTest, ::testing::Values("runc"));
INSTANTIATE_TEST_SUITE_P(Crun, ConmonRuntimeTest, ::testing::Values("crun"));

TEST(CrunLauncher, RunsCrunCasesInPrivateMountNamespace) {
  CRID_REQUIRE_ROOT();
  if (std::getenv(kCrunChildEnv)) GTEST_SKIP() << "already the child";
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  self[n] = '\0';
  SpawnOptions so;
  so.argv = {"/usr/bin/unshare",
             "-m",
             "/bin/sh",
             "-c",
             "umount /sys/fs/cgroup/unified 2>/dev/null; exec \"$0\" \"$@\"",
             self,
             "--gtest_filter=Crun/*"};
  std::vector<std::string> env;
  for (char** e = environ; *e; e++) env.emplace_back(*e);
  env.push_back(std::string(kCrunChildEnv) + "=1");
  so.env = env;
  so.timeout = 10min;
  auto out = run_process(so);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_TRUE(out->success()) << out->describe() << "\n" << out->out << out->err;
  // The child really ran the cases (none skipped for a missing runtime).
  EXPECT_NE(out->out.find("[  PASSED  ]"), std::string::npos) << out->out;
  EXPECT_EQ(out->out.find("SKIPPED"), std::string::npos) << out->out;
}

}  // namespace
}  // namespace crid::runtime
