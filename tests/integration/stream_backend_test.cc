// ContainerStreamBackend against the real parts, in this process: the
// daemon's services (database, pods, images pulled from a local registry,
// ConmonRuntime over runc or crun, containers) built as the daemon builds
// them, and the backend called directly with pipes, the way the streaming
// protocols call it.
//
// crun 1.8 refuses the host's hybrid cgroup layout, so the Crun/* cases run
// in a child copy of this binary in a private mount namespace without
// /sys/fs/cgroup/unified (StreamCrunLauncher), as runtime_conmon_test does.
// This binary's main() also serves as the pods' pause (`<binary> pause`).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "config/loader.h"
#include "runtime/conmon_runtime.h"
#include "runtime/exec_reaper.h"
#include "sandbox/pause.h"
#include "server/backend.h"
#include "server/container_translate.h"
#include "server/pod_sandbox_translate.h"
#include "stream/container_stream_backend.h"
#include "support/busybox_image.h"
#include "support/crid_process.h"
#include "support/registry.h"
#include "support/test_network.h"
#include "util/fs.h"
#include "util/process.h"

extern char** environ;

namespace crid::stream {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;
namespace v1 = ::runtime::v1;

constexpr const char* kCrunChildEnv = "CRID_IT_STREAM_CRUN_CHILD";
constexpr const char* kRepo = "it/stream";

struct Pipe {
  UniqueFd read, write;
};

Pipe make_pipe() {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  return {UniqueFd(p[0]), UniqueFd(p[1])};
}

// The client's side of a session: what it writes to stdin, reads from
// stdout/stderr, plus resize and cancel; the backend's side in `io`.
struct Client {
  StdioFds io;
  UniqueFd in, out, err, resize, cancel;

  Client(bool with_in, bool with_err, bool with_resize) {
    if (with_in) {
      auto p = make_pipe();
      io.in = std::move(p.read);
      in = std::move(p.write);
    }
    auto o = make_pipe();
    io.out = std::move(o.write);
    out = std::move(o.read);
    if (with_err) {
      auto e = make_pipe();
      io.err = std::move(e.write);
      err = std::move(e.read);
    }
    if (with_resize) {
      auto r = make_pipe();
      io.resize = std::move(r.read);
      resize = std::move(r.write);
    }
    auto c = make_pipe();
    io.cancel = std::move(c.read);
    cancel = std::move(c.write);
  }

  void send(const std::string& s) const {
    ASSERT_EQ(::write(in.get(), s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }
  void send_size(uint16_t width, uint16_t height) const {
    TerminalSize ts{width, height};
    ASSERT_EQ(::write(resize.get(), &ts, sizeof ts), static_cast<ssize_t>(sizeof ts));
  }
};

// Reads `fd` until EOF (or `timeout`, then gives up with what it has).
std::string read_all(int fd, std::chrono::milliseconds timeout = 30s) {
  std::string s;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return s;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return s;
    s.append(buf, n);
  }
}

// Reads from `fd` into `acc` until it contains `needle`; calls `nudge`
// every 200ms meanwhile (e.g. to send another line).
bool read_until(int fd, std::string& acc, const std::string& needle,
                const std::function<void()>& nudge = {}, std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (acc.find(needle) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) {
      if (nudge) nudge();
      continue;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return acc.find(needle) != std::string::npos;
    acc.append(buf, n);
  }
  return true;
}

int open_fd_count() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (auto* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n - 1;  // the DIR's own
}

// Host processes whose command line is exactly `argv` joined by NULs.
int processes_running(const std::vector<std::string>& argv) {
  std::string want;
  for (const auto& a : argv) want += a + '\0';
  int found = 0;
  if (DIR* d = ::opendir("/proc")) {
    while (auto* e = ::readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      std::ifstream f(std::string("/proc/") + e->d_name + "/cmdline");
      std::stringstream ss;
      ss << f.rdbuf();
      if (ss.str() == want) ++found;
    }
    ::closedir(d);
  }
  return found;
}

// Children of this process that exited and were never reaped.
int zombie_children() {
  int zombies = 0;
  std::string me = std::to_string(::getpid());
  if (DIR* d = ::opendir("/proc")) {
    while (auto* e = ::readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
      std::string stat((std::istreambuf_iterator<char>(f)), {});
      auto close = stat.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(stat.substr(close + 2));
      std::string state, ppid;
      rest >> state >> ppid;
      if (state == "Z" && ppid == me) ++zombies;
    }
    ::closedir(d);
  }
  return zombies;
}

// One registry and one image for the whole binary.
struct ImageEnv {
  static testing::ServedImage& get() {
    static testing::ServedImage env(kRepo, [] {
      testing::ImageConfigSpec spec;
      spec.cmd = {"/bin/sh"};
      spec.env = {"PATH=/bin", "HOME=/"};
      return spec;
    }());
    return env;
  }
};

Config load(const testing::CridProcess& files) {
  ConfigSources src;
  src.file = files.config_path();
  src.file_required = true;
  src.drop_in_dir = files.dir().file("crid.conf.d");
  auto cfg = load_config(src);
  if (!cfg) throw std::runtime_error(cfg.error().message());
  return *cfg;
}

// The daemon's services, in this process, on a temporary root (the config
// file a CridProcess writes; that daemon itself is never started).
class Stack {
 public:
  explicit Stack(const std::string& extra_conf)
      : files_(extra_conf), holder_(load(files_)), backend_(holder_) {}

  // Pods take their containers with them; anything left is a failure.
  ~Stack() {
    if (!backend_.pods) return;
    auto pods = backend_.pods->list({});
    EXPECT_TRUE(pods) << pods.error().message();
    if (!pods) return;
    for (const auto& p : *pods) {
      auto stopped = backend_.pods->stop(p.id);
      EXPECT_TRUE(stopped) << stopped.error().message();
      auto removed = backend_.pods->remove(p.id);
      EXPECT_TRUE(removed) << removed.error().message();
    }
  }

  std::string open() {
    auto& b = backend_;
    // What the daemon's start-up creates first.
    for (const auto& dir : {holder_.get()->root, holder_.get()->runroot})
      if (auto made = fs::make_dirs(dir, 0700); !made) return made.error().message();
    auto db = store::Database::open(holder_.get()->root + "/crid.db");
    if (!db) return db.error().message();
    b.db = std::move(*db);
    auto pods = sandbox::SandboxManager::open(holder_, *b.db, [] { return std::string(); });
    if (!pods) return pods.error().message();
    b.pods = std::move(*pods);
    auto images = image::ImageService::open(holder_, *b.db);
    if (!images) return images.error().message();
    b.images = std::move(*images);
    b.runtime = std::make_unique<runtime::ConmonRuntime>();
    auto ctrs = container::ContainerManager::open({holder_, *b.db, *b.pods, *b.images, *b.runtime});
    if (!ctrs) return ctrs.error().message();
    b.containers = std::move(*ctrs);
    b.stream_backend =
        std::make_unique<ContainerStreamBackend>(*b.containers, *b.pods, *b.runtime);
    auto pulled = b.images->pull(ImageEnv::get().image(), {});
    if (!pulled) return pulled.error().message();
    return "";
  }

  server::Backend& backend() { return backend_; }
  StreamBackend& stream() { return *backend_.stream_backend; }
  const testing::CridProcess& files() const { return files_; }

 private:
  testing::CridProcess files_;
  ConfigHolder holder_;
  server::Backend backend_;
};

struct CtrOpts {
  bool tty = false;
  bool stdin = false;
  bool stdin_once = false;
};

class StreamBackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    CRID_REQUIRE_ROOT();
    if (GetParam() == "crun" && !std::getenv(kCrunChildEnv))
      GTEST_SKIP() << "crun cases run inside StreamCrunLauncher's private mount namespace";
    ASSERT_EQ(ImageEnv::get().error(), "");
    stack_ = std::make_unique<Stack>(testing::insecure_registry_conf(ImageEnv::get().registry()));
    ASSERT_EQ(stack_->open(), "");
  }
  void TearDown() override { stack_.reset(); }

  server::Backend& b() { return stack_->backend(); }
  StreamBackend& stream() { return stack_->stream(); }

  // A pod on the host network unless `own_network`.
  std::string run_pod(const std::string& name, bool own_network = false) {
    v1::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_namespace_("it");
    c.mutable_metadata()->set_uid("uid-" + name);
    c.set_hostname(name);
    c.set_log_directory(stack_->files().dir().file("logs/" + name));
    auto* ns = c.mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(own_network ? v1::POD : v1::NODE);
    pod_configs_[name] = c;
    auto cfg = server::to_pod_config(c);
    EXPECT_TRUE(cfg) << cfg.error().message();
    auto id = b().pods->run(*cfg, GetParam());
    EXPECT_TRUE(id) << id.error().message();
    return id ? *id : "";
  }

  // Creates and starts a container running `cmd`.
  std::string run_container(const std::string& pod_name, const std::string& pod_id,
                            const std::string& name, std::vector<std::string> cmd,
                            CtrOpts o = {}) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod_id);
    *req.mutable_sandbox_config() = pod_configs_[pod_name];
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_image()->set_image(ImageEnv::get().image());
    for (auto& a : cmd) c->add_command(a);
    c->set_log_path(name + ".log");
    c->set_tty(o.tty);
    c->set_stdin(o.stdin);
    c->set_stdin_once(o.stdin_once);
    auto cr = server::to_create_request(req);
    EXPECT_TRUE(cr) << cr.error().message();
    if (!cr) return "";
    auto id = b().containers->create(*cr);
    EXPECT_TRUE(id) << id.error().message();
    if (!id) return "";
    auto st = b().containers->start(*id);
    EXPECT_TRUE(st) << st.error().message();
    return *id;
  }

  // A running `sleep` container in a host-network pod, for execs.
  std::string sleeper() {
    std::string pod = run_pod("execpod");
    return run_container("execpod", pod, "sleeper", {"/bin/sleep", "100000"});
  }

  struct ExecOutcome {
    Result<int> code = 0;
    std::string out, err;
  };
  // Runs an exec to completion; `stdin` (if set) is written then closed.
  ExecOutcome exec(const std::string& id, std::vector<std::string> cmd,
                   std::optional<std::string> stdin = std::nullopt) {
    Client c(stdin.has_value(), true, false);
    ExecRequest req{id, std::move(cmd), false, stdin.has_value(), true, true};
    auto fut = std::async(std::launch::async,
                          [&] { return stream().exec(req, std::move(c.io)); });
    // Written while the output is read: a big input would fill the pipes.
    std::thread writer([&] {
      if (!stdin) return;
      c.send(*stdin);
      c.in.reset();
    });
    ExecOutcome o;
    auto err_fut = std::async(std::launch::async, [&] { return read_all(c.err.get()); });
    o.out = read_all(c.out.get());
    o.err = err_fut.get();
    writer.join();
    o.code = fut.get();
    return o;
  }

  container::ContainerRecord status(const std::string& id) {
    auto r = b().containers->status(id);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : container::ContainerRecord{};
  }

  std::unique_ptr<testing::TestNetwork> net_;  // declared first: goes last
  std::unique_ptr<Stack> stack_;
  std::map<std::string, v1::PodSandboxConfig> pod_configs_;
};

TEST_P(StreamBackendTest, ExecWiresStdioAndReturnsExitCodes) {
  std::string id = sleeper();
  auto echo = exec(id, {"echo", "hello", "world"});
  ASSERT_TRUE(echo.code) << echo.code.error().message();
  EXPECT_EQ(*echo.code, 0);
  EXPECT_EQ(echo.out, "hello world\n");
  EXPECT_EQ(echo.err, "");

  // stdin piped through, EOF included (cat ends).
  std::string big(200000, 'x');
  auto cat = exec(id, {"cat"}, "first line\n" + big);
  ASSERT_TRUE(cat.code) << cat.code.error().message();
  EXPECT_EQ(*cat.code, 0);
  EXPECT_EQ(cat.out, "first line\n" + big);

  auto three = exec(id, {"sh", "-c", "echo to-out; echo to-err >&2; exit 3"});
  ASSERT_TRUE(three.code) << three.code.error().message();
  EXPECT_EQ(*three.code, 3);
  EXPECT_EQ(three.out, "to-out\n");
  EXPECT_EQ(three.err, "to-err\n");

  // Without a stdin the process reads /dev/null.
  auto no_in = exec(id, {"cat"});
  ASSERT_TRUE(no_in.code);
  EXPECT_EQ(*no_in.code, 0);
  EXPECT_EQ(no_in.out, "");
}

TEST_P(StreamBackendTest, ExecFailuresNameTheContainer) {
  std::string id = sleeper();
  Client c(false, true, false);
  auto unknown = stream().exec({"0123456789abcdef", {"true"}, false, false, true, true},
                               std::move(c.io));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind(), ErrorKind::kNotFound) << unknown.error().message();
  EXPECT_NE(unknown.error().message().find("0123456789abcdef"), std::string::npos);

  Client c2(false, true, false);
  auto empty = stream().exec({id, {}, false, false, true, true}, std::move(c2.io));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().kind(), ErrorKind::kInvalidArgument);

  // A program that is not there: the runtime fails and says so on stderr.
  auto missing = exec(id, {"/no/such/program"});
  ASSERT_TRUE(missing.code) << missing.code.error().message();
  EXPECT_NE(*missing.code, 0);
  EXPECT_NE(missing.err.find("/no/such/program"), std::string::npos) << missing.err;

  // An exited container.
  std::string pod = run_pod("donepod");
  std::string done = run_container("donepod", pod, "done", {"/bin/true"});
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (status(done).state != container::ContainerState::kExited &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  Client c3(false, true, false);
  auto exited = stream().exec({done, {"true"}, false, false, true, true}, std::move(c3.io));
  ASSERT_FALSE(exited);
  EXPECT_EQ(exited.error().kind(), ErrorKind::kFailedPrecondition) << exited.error().message();
  EXPECT_NE(exited.error().message().find(done), std::string::npos);
}

TEST_P(StreamBackendTest, TtyExecAppliesInitialSizeAndResizes) {
  std::string id = sleeper();
  Client c(true, false, true);
  // Sent before the exec starts: the terminal's first size.
  c.send_size(100, 30);
  // crun 1.8 sets the first size on the pty only after starting the process
  // (docs/status.md), so under crun the shell waits until its terminal has
  // a size before asking; runc sizes it first.
  std::string first = GetParam() == "crun"
                          ? "i=0; while [ \"$(stty size)\" = \"0 0\" ] && [ $i -lt 100 ]; do "
                            "sleep 0.05; i=$((i+1)); done; "
                          : "";
  ExecRequest req{id, {"sh", "-c", first + "stty size; while read x; do stty size; done"}, true,
                  true, true, false};
  auto fut = std::async(std::launch::async, [&] { return stream().exec(req, std::move(c.io)); });
  std::string out;
  EXPECT_TRUE(read_until(c.out.get(), out, "30 100")) << out;
  c.send_size(120, 40);
  // The new size travels as SIGWINCH through the runtime: ask until seen.
  EXPECT_TRUE(read_until(c.out.get(), out, "40 120", [&] { c.send("\n"); })) << out;
  // Through a terminal, end of input is ^D at the start of a line: read
  // fails, the loop and the shell end.
  c.send("\x04");
  out += read_all(c.out.get());
  auto code = fut.get();
  ASSERT_TRUE(code) << code.error().message();
  EXPECT_EQ(*code, 0) << out;
}

TEST_P(StreamBackendTest, TtyExecExitCodeAndOutput) {
  std::string id = sleeper();
  Client c(false, false, false);
  ExecRequest req{id, {"sh", "-c", "test -t 1 && echo is-a-tty; exit 3"}, true, false, true, false};
  auto fut = std::async(std::launch::async, [&] { return stream().exec(req, std::move(c.io)); });
  std::string out = read_all(c.out.get());
  auto code = fut.get();
  ASSERT_TRUE(code) << code.error().message();
  EXPECT_EQ(*code, 3);
  EXPECT_NE(out.find("is-a-tty"), std::string::npos) << out;
}

TEST_P(StreamBackendTest, CancelKillsTheExecdProcess) {
  std::string id = sleeper();
  for (bool tty : {false, true}) {
    SCOPED_TRACE(tty ? "tty" : "no tty");
    const std::vector<std::string> cmd{"sleep", "1000"};
    Client c(true, !tty, false);
    ExecRequest req{id, cmd, tty, true, true, !tty};
    auto fut = std::async(std::launch::async, [&] { return stream().exec(req, std::move(c.io)); });
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (processes_running(cmd) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(50ms);
    ASSERT_EQ(processes_running(cmd), 1);
    c.cancel.reset();  // the client went away
    ASSERT_EQ(fut.wait_for(60s), std::future_status::ready);
    auto code = fut.get();
    ASSERT_TRUE(code) << code.error().message();
    EXPECT_EQ(*code, 128 + SIGKILL);
    EXPECT_EQ(processes_running(cmd), 0);
    // The backend closed its ends: the client's reads end.
    read_all(c.out.get(), 10s);
    EXPECT_EQ(zombie_children(), 0);
  }
  // The container itself lives on.
  EXPECT_EQ(status(id).state, container::ContainerState::kRunning);
}

TEST_P(StreamBackendTest, ManyExecsLeaveNoFdsOrProcesses) {
  std::string id = sleeper();
  // Warm up whatever opens lazily (logging, the runtime's first state call).
  ASSERT_TRUE(exec(id, {"true"}).code);
  int before = open_fd_count();
  for (int i = 0; i < 20; ++i) {
    auto r = exec(id, {"echo", std::to_string(i)});
    ASSERT_TRUE(r.code) << r.code.error().message();
    EXPECT_EQ(r.out, std::to_string(i) + "\n");
    Client c(false, false, true);
    ExecRequest req{id, {"echo", "tty"}, true, false, true, false};
    auto fut = std::async(std::launch::async, [&] { return stream().exec(req, std::move(c.io)); });
    std::string out = read_all(c.out.get());
    ASSERT_TRUE(fut.get());
    EXPECT_NE(out.find("tty"), std::string::npos);
  }
  EXPECT_EQ(open_fd_count(), before);
  EXPECT_EQ(zombie_children(), 0);
  // No exec files left in the bundle.
  std::string bundle = b().containers->bundle_dir(id);
  for (const auto& f : testing::dir_entries(bundle)) EXPECT_EQ(f.rfind("exec-", 0), std::string::npos) << f;
}

TEST_P(StreamBackendTest, AttachRelaysOutputAndStdinAndDetachesOnStdinEof) {
  std::string pod = run_pod("attachpod");
  std::string id = run_container("attachpod", pod, "cat", {"/bin/cat"}, {.stdin = true});
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    Client c(true, true, false);
    AttachRequest req{id, false, true, true, true};
    auto fut = std::async(std::launch::async, [&] { return stream().attach(req, std::move(c.io)); });
    std::string out;
    std::string line = "ping " + std::to_string(round) + "\n";
    // Attaching takes a moment: resend until the echo comes back.
    EXPECT_TRUE(read_until(c.out.get(), out, line, [&] { c.send(line); })) << out;
    // stdin not "once": our EOF ends the session, the container keeps running.
    c.in.reset();
    ASSERT_EQ(fut.wait_for(30s), std::future_status::ready);
    auto st = fut.get();
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_EQ(status(id).state, container::ContainerState::kRunning);
  }
}

TEST_P(StreamBackendTest, AttachStdinOnceClosesContainerStdin) {
  std::string pod = run_pod("oncepod");
  std::string id = run_container("oncepod", pod, "once",
                                 {"/bin/sh", "-c", "echo ready; cat; echo stdin-closed"},
                                 {.stdin = true, .stdin_once = true});
  Client c(true, true, false);
  AttachRequest req{id, false, true, true, true};
  auto fut = std::async(std::launch::async, [&] { return stream().attach(req, std::move(c.io)); });
  std::string out;
  EXPECT_TRUE(read_until(c.out.get(), out, "hello\n", [&] { c.send("hello\n"); })) << out;
  c.in.reset();
  // conmon closes the container's stdin: cat ends, the script says so and
  // exits, and the session ends with the container.
  EXPECT_TRUE(read_until(c.out.get(), out, "stdin-closed")) << out;
  ASSERT_EQ(fut.wait_for(30s), std::future_status::ready);
  auto st = fut.get();
  ASSERT_TRUE(st) << st.error().message();
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (status(id).state != container::ContainerState::kExited &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  EXPECT_EQ(status(id).state, container::ContainerState::kExited);
  EXPECT_EQ(status(id).exit_code, 0);
}

TEST_P(StreamBackendTest, AttachReadsOutputUntilCancelAndLeavesContainerRunning) {
  std::string pod = run_pod("tickpod");
  std::string id = run_container(
      "tickpod", pod, "ticker",
      {"/bin/sh", "-c", "i=0; while true; do echo tick $i; echo tock $i >&2; i=$((i+1)); sleep 0.1; done"});
  Client c(false, true, false);
  AttachRequest req{id, false, false, true, true};
  auto fut = std::async(std::launch::async, [&] { return stream().attach(req, std::move(c.io)); });
  std::string out, err;
  EXPECT_TRUE(read_until(c.out.get(), out, "tick")) << out;
  EXPECT_TRUE(read_until(c.err.get(), err, "tock")) << err;
  EXPECT_EQ(out.find("tock"), std::string::npos) << out;
  c.cancel.reset();
  ASSERT_EQ(fut.wait_for(30s), std::future_status::ready);
  ASSERT_TRUE(fut.get());
  EXPECT_EQ(status(id).state, container::ContainerState::kRunning);
}

TEST_P(StreamBackendTest, AttachWithTtyResizes) {
  std::string pod = run_pod("ttypod");
  std::string id = run_container("ttypod", pod, "tty",
                                 {"/bin/sh", "-c", "while read x; do stty size; done"},
                                 {.tty = true, .stdin = true});
  Client c(true, false, true);
  AttachRequest req{id, true, true, true, false};
  auto fut = std::async(std::launch::async, [&] { return stream().attach(req, std::move(c.io)); });
  c.send_size(150, 50);
  std::string out;
  EXPECT_TRUE(read_until(c.out.get(), out, "50 150", [&] { c.send("\n"); })) << out;
  c.send_size(90, 20);
  EXPECT_TRUE(read_until(c.out.get(), out, "20 90", [&] { c.send("\n"); })) << out;
  c.cancel.reset();
  ASSERT_EQ(fut.wait_for(30s), std::future_status::ready);
  ASSERT_TRUE(fut.get());
  EXPECT_EQ(status(id).state, container::ContainerState::kRunning);
}

TEST_P(StreamBackendTest, AttachToStoppedContainerFails) {
  Client c(false, true, false);
  auto st = stream().attach({"fedcba9876543210", false, false, true, true}, std::move(c.io));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind(), ErrorKind::kNotFound);
}

std::string read_some(int fd, size_t want, std::chrono::milliseconds timeout = 10s) {
  std::string s;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[1024];
  while (s.size() < want && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    s.append(buf, n);
  }
  return s;
}

TEST_P(StreamBackendTest, ConnectPortReachesServerInPodNetwork) {
  // Outlives the stack (a fixture member), so pods are torn down first.
  net_ = std::make_unique<testing::TestNetwork>(stack_->files().cni_conf_dir(),
                                                stack_->files().dir());
  std::string pod = run_pod("netpod", /*own_network=*/true);
  ASSERT_FALSE(pod.empty());
  // A port nothing on the host listens on: only the pod's loopback has it.
  int port = testing::free_loopback_port();
  run_container("netpod", pod, "echo-server",
                {"/bin/busybox", "nc", "-ll", "-p", std::to_string(port), "-e", "/bin/cat"});
  for (int i = 0; i < 10; ++i) {
    SCOPED_TRACE(i);
    Result<UniqueFd> fd = make_error(ErrorKind::kInternal, "not tried");
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      fd = stream().connect_port(pod, static_cast<uint16_t>(port));
      if (fd) break;
      std::this_thread::sleep_for(100ms);  // the server is starting
    }
    ASSERT_TRUE(fd) << fd.error().message();
    std::string msg = "hello " + std::to_string(i) + "\n";
    ASSERT_EQ(::send(fd->get(), msg.data(), msg.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(msg.size()));
    EXPECT_EQ(read_some(fd->get(), msg.size()), msg);
  }
  // The server is in the pod's namespace only: the host's loopback has no
  // such port.
  {
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_NE(::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  }
  // A closed port: refused, naming pod and port.
  auto closed = stream().connect_port(pod, static_cast<uint16_t>(port == 1 ? 2 : port - 1));
  ASSERT_FALSE(closed);
  EXPECT_NE(closed.error().message().find(pod), std::string::npos) << closed.error().message();
  EXPECT_NE(closed.error().message().find("connection refused"), std::string::npos)
      << closed.error().message();
  EXPECT_NE(closed.error().message().find(std::to_string(port == 1 ? 2 : port - 1)),
            std::string::npos);
  // Unknown pod.
  auto unknown = stream().connect_port("feedfacefeedface", 80);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind(), ErrorKind::kNotFound);
  // Pods go before the network's bridge.
}

TEST_P(StreamBackendTest, ConnectPortOnHostNetworkPod) {
  std::string pod = run_pod("hostpod");
  // A listener of this test on the host's loopback stands for the server.
  UniqueFd lsn(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lsn.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lsn.get(), 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(lsn.get(), reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t port = ntohs(a.sin_port);
  auto fd = stream().connect_port(pod, port);
  ASSERT_TRUE(fd) << fd.error().message();
  UniqueFd peer(::accept4(lsn.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(peer.valid());
  ASSERT_EQ(::write(peer.get(), "x", 1), 1);
  EXPECT_EQ(read_some(fd->get(), 1), "x");
  lsn.reset();
  auto refused = stream().connect_port(pod, port);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("connection refused"), std::string::npos)
      << refused.error().message();
}

INSTANTIATE_TEST_SUITE_P(Runc, StreamBackendTest, ::testing::Values("runc"));
INSTANTIATE_TEST_SUITE_P(Crun, StreamBackendTest, ::testing::Values("crun"));

TEST(StreamCrunLauncher, RunsCrunCasesInPrivateMountNamespace) {
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
  EXPECT_NE(out->out.find("[  PASSED  ]"), std::string::npos) << out->out;
  EXPECT_EQ(out->out.find("SKIPPED"), std::string::npos) << out->out;
}

}  // namespace
}  // namespace crid::stream

// The pods' pause process is `<this program> pause`, and a runc tty exec's
// parent `<this program> exec-reaper` (the daemon's own binary runs them;
// here the daemon's parts live in this test binary).
int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "pause") return crid::sandbox::run_pause_command();
  if (argc > 1 && std::string(argv[1]) == crid::runtime::kExecReaperCommand)
    return crid::runtime::run_exec_reaper_command(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
