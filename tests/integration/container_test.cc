// Containers end to end: a real crid pulling a busybox image from a local
// registry, real runc and crun under conmon, real overlay mounts and
// cgroups. Pods use the host network (no CNI needed) unless a test says
// otherwise; every test checks that removal leaves nothing behind.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "container/container_manager.h"
#include "runtime/log_format.h"
#include "support/busybox_image.h"
#include "support/crid_process.h"
#include "support/registry.h"

namespace crid::testing {
namespace {

using namespace std::chrono_literals;
namespace fsys = std::filesystem;

const char* kRepo = "it/ctr";

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// One registry and one image for the whole suite.
struct ImageEnv {
  static ServedImage& get() {
    static ServedImage env(kRepo, [] {
      ImageConfigSpec spec;
      spec.entrypoint = {"/bin/echo", "ep"};
      spec.cmd = {"image-cmd"};
      spec.env = {"PATH=/bin", "FROM_IMAGE=yes"};
      spec.working_dir = "/work";
      spec.stop_signal = "SIGUSR1";
      spec.volumes = {"/data"};
      return spec;
    }());
    return env;
  }
};

class ContainerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    CRID_REQUIRE_ROOT();
    auto& env = ImageEnv::get();
    ASSERT_EQ(env.error(), "");
    crid_ = std::make_unique<CridProcess>(insecure_registry_conf(env.registry()));
    // crun 1.8 refuses the host's hybrid cgroup layout: hide cgroup2 from it.
    if (handler() == "crun" && fsys::exists("/sys/fs/cgroup/unified/cgroup.controllers"))
      crid_->set_launch_prefix(private_mount_namespace_without("/sys/fs/cgroup/unified"));
    std::string err;
    ASSERT_TRUE(crid_->start(&err)) << err;
    ASSERT_EQ(pull_image(*crid_, env.image()), "");
  }

  void TearDown() override {
    if (!crid_) return;
    if (HasFailure()) std::cerr << "---- crid log ----\n" << crid_->log() << "\n";
    // Pods take their containers with them.
    v1::ListPodSandboxResponse pods;
    crid_->runtime().ListPodSandbox(call_context().get(), v1::ListPodSandboxRequest(), &pods);
    for (const auto& p : pods.items()) {
      v1::RemovePodSandboxRequest r;
      r.set_pod_sandbox_id(p.id());
      v1::RemovePodSandboxResponse resp;
      crid_->runtime().RemovePodSandbox(call_context().get(), r, &resp);
    }
    crid_->stop();
  }

  std::string handler() const { return GetParam(); }
  v1::RuntimeService::Stub& rt() { return crid_->runtime(); }

  std::string run_pod(const std::string& name, bool privileged = false,
                      v1::NamespaceMode pid_mode = v1::CONTAINER) {
    v1::RunPodSandboxRequest req;
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_metadata()->set_namespace_("it");
    c->mutable_metadata()->set_uid("uid-" + name);
    c->set_hostname(name);
    c->set_log_directory(crid_->dir().file("logs/" + name));
    auto* ns = c->mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(v1::NODE);
    ns->set_pid(pid_mode);
    c->mutable_linux()->mutable_security_context()->set_privileged(privileged);
    req.set_runtime_handler(handler());
    pod_configs_[name] = *c;
    v1::RunPodSandboxResponse resp;
    auto st = rt().RunPodSandbox(call_context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.pod_sandbox_id();
  }

  v1::ContainerConfig config(const std::string& name, std::vector<std::string> command = {},
                             std::vector<std::string> args = {}) {
    v1::ContainerConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_image()->set_image(ImageEnv::get().image());
    for (auto& a : command) c.add_command(a);
    for (auto& a : args) c.add_args(a);
    c.set_log_path(name + ".log");
    (*c.mutable_labels())["ctr"] = name;
    return c;
  }

  // A shell script as the container's program.
  v1::ContainerConfig script(const std::string& name, const std::string& sh) {
    return config(name, {"/bin/sh", "-c", sh});
  }

  grpc::Status create(const std::string& pod, const v1::ContainerConfig& c, std::string* id) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod);
    *req.mutable_config() = c;
    for (auto& [name, pc] : pod_configs_)
      if (name.size()) *req.mutable_sandbox_config() = pc;
    v1::CreateContainerResponse resp;
    auto st = rt().CreateContainer(call_context().get(), req, &resp);
    *id = resp.container_id();
    return st;
  }

  std::string create_ok(const std::string& pod, const v1::ContainerConfig& c) {
    std::string id;
    auto st = create(pod, c, &id);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return id;
  }

  grpc::Status start(const std::string& id) {
    v1::StartContainerRequest req;
    req.set_container_id(id);
    v1::StartContainerResponse resp;
    return rt().StartContainer(call_context().get(), req, &resp);
  }

  std::string run_ok(const std::string& pod, const v1::ContainerConfig& c) {
    std::string id = create_ok(pod, c);
    auto st = start(id);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return id;
  }

  grpc::Status status(const std::string& id, v1::ContainerStatusResponse* resp, bool verbose = false) {
    v1::ContainerStatusRequest req;
    req.set_container_id(id);
    req.set_verbose(verbose);
    return rt().ContainerStatus(call_context().get(), req, resp);
  }

  v1::ContainerStatus wait_exited(const std::string& id, std::chrono::seconds limit = 60s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    v1::ContainerStatusResponse resp;
    while (std::chrono::steady_clock::now() < deadline) {
      resp.Clear();
      auto st = status(id, &resp);
      if (!st.ok()) {
        ADD_FAILURE() << st.error_message();
        break;
      }
      if (resp.status().state() == v1::CONTAINER_EXITED) return resp.status();
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "container " << id << " did not exit";
    return resp.status();
  }

  grpc::Status stop(const std::string& id, int64_t timeout) {
    v1::StopContainerRequest req;
    req.set_container_id(id);
    req.set_timeout(timeout);
    v1::StopContainerResponse resp;
    return rt().StopContainer(call_context(120s).get(), req, &resp);
  }

  grpc::Status remove(const std::string& id) {
    v1::RemoveContainerRequest req;
    req.set_container_id(id);
    v1::RemoveContainerResponse resp;
    return rt().RemoveContainer(call_context(120s).get(), req, &resp);
  }

  grpc::Status exec(const std::string& id, std::vector<std::string> cmd, v1::ExecSyncResponse* resp,
                    int64_t timeout = 0) {
    v1::ExecSyncRequest req;
    req.set_container_id(id);
    for (auto& a : cmd) req.add_cmd(a);
    req.set_timeout(timeout);
    return rt().ExecSync(call_context().get(), req, resp);
  }

  // stdout of a command that must succeed.
  std::string exec_out(const std::string& id, std::vector<std::string> cmd) {
    v1::ExecSyncResponse resp;
    auto st = exec(id, cmd, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.exit_code(), 0) << resp.stderr();
    return resp.stdout();
  }

  std::string log_path(const std::string& id) {
    v1::ContainerStatusResponse resp;
    EXPECT_TRUE(status(id, &resp).ok());
    return resp.status().log_path();
  }

  // What the container wrote on one stream, from its CRI log file.
  std::string log_text(const std::string& id, runtime::LogStream s = runtime::LogStream::kStdout) {
    auto recs = runtime::parse_log(read_text(log_path(id)));
    EXPECT_TRUE(recs.ok()) << (recs.ok() ? "" : recs.error().message());
    return recs.ok() ? runtime::stream_text(*recs, s) : "";
  }

  void wait_log(const std::string& id, const std::string& needle) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (contains(read_text(log_path(id)), needle)) return;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "no \"" << needle << "\" in the log of " << id;
  }

  // Mounts in the daemon's mount namespace (it may have its own).
  std::string daemon_mountinfo() { return read_text("/proc/" + std::to_string(crid_->pid()) + "/mountinfo"); }

  // The container's cgroup dir in the v1 memory hierarchy, from its pid.
  std::string memory_cgroup(pid_t pid) {
    std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/cgroup"));
    std::string line;
    while (std::getline(in, line)) {
      auto p = line.find(":memory:");
      if (p != std::string::npos) return "/sys/fs/cgroup/memory" + line.substr(p + 8);
    }
    return "";
  }

  pid_t pid_of(const std::string& id) {
    v1::ContainerStatusResponse resp;
    EXPECT_TRUE(status(id, &resp, true).ok());
    return nlohmann::json::parse(resp.info().at("info")).value("pid", 0);
  }

  // Nothing of `id` left: no mount, no dirs, no conmon, no cgroup.
  void expect_no_trace(const std::string& id) {
    EXPECT_FALSE(contains(daemon_mountinfo(), id)) << "a mount of " << id << " is left";
    EXPECT_FALSE(fsys::exists(crid_->root() + "/containers/" + id));
    EXPECT_FALSE(fsys::exists(crid_->runroot() + "/containers/" + id));
    EXPECT_FALSE(fsys::exists(crid_->runroot() + "/hostpaths/" + id));
    for (auto& p : fsys::directory_iterator("/proc")) {
      std::string name = p.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = read_text(p.path().string() + "/cmdline");
      EXPECT_FALSE(contains(cmdline, id)) << "process " << name << " still names " << id;
    }
    for (auto& h : fsys::directory_iterator("/sys/fs/cgroup")) {
      std::error_code ec;
      for (auto it = fsys::recursive_directory_iterator(h.path(), ec); !ec && it != fsys::recursive_directory_iterator();
           it.increment(ec)) {
        if (it->is_directory() && contains(it->path().filename(), id))
          ADD_FAILURE() << "cgroup " << it->path() << " is left";
        if (it.depth() > 4) it.disable_recursion_pending();
      }
    }
  }

  std::unique_ptr<CridProcess> crid_;
  std::map<std::string, v1::PodSandboxConfig> pod_configs_;
};

TEST_P(ContainerTest, CommandArgsEnvWorkdirAndLogs) {
  std::string pod = run_pod("proc");
  // Image: Entrypoint [echo ep], Cmd [image-cmd].
  std::string a = run_ok(pod, config("imagedefaults"));
  std::string b = run_ok(pod, config("argsonly", {}, {"a1", "a2"}));
  std::string c = run_ok(pod, config("command", {"/bin/echo", "own"}));
  for (auto& id : {a, b, c}) {
    auto s = wait_exited(id);
    EXPECT_EQ(s.exit_code(), 0);
    EXPECT_EQ(s.reason(), "Completed");
    EXPECT_GT(s.finished_at(), 0);
    EXPECT_GE(s.finished_at(), s.started_at());
  }
  EXPECT_EQ(log_text(a), "ep image-cmd\n");
  EXPECT_EQ(log_text(b), "ep a1 a2\n");
  EXPECT_EQ(log_text(c), "own\n");
  EXPECT_EQ(log_path(a), crid_->dir().file("logs/proc/imagedefaults.log"));

  // Both streams and a partial line, in CRI format.
  std::string d = run_ok(pod, script("streams", "echo out; echo err >&2; printf partial"));
  wait_exited(d);
  EXPECT_EQ(log_text(d), "out\npartial");
  EXPECT_EQ(log_text(d, runtime::LogStream::kStderr), "err\n");
  auto recs = runtime::parse_log(read_text(log_path(d)));
  ASSERT_TRUE(recs.ok());
  bool partial = false;
  for (auto& r : *recs) partial |= r.partial && r.text == "partial";
  EXPECT_TRUE(partial);

  // Env (image + request + HOSTNAME), working dir, default user.
  auto cfg = config("env", {"/bin/sleep", "1000"});
  auto* kv = cfg.add_envs();
  kv->set_key("FROM_REQUEST");
  kv->set_value("a b");
  std::string e = run_ok(pod, cfg);
  std::string env = exec_out(e, {"env"});
  EXPECT_TRUE(contains(env, "FROM_IMAGE=yes\n")) << env;
  EXPECT_TRUE(contains(env, "FROM_REQUEST=a b\n")) << env;
  EXPECT_TRUE(contains(env, "PATH=/bin\n")) << env;
  EXPECT_EQ(exec_out(e, {"pwd"}), "/work\n");
  // Like containerd and CRI-O: the primary group is among the process groups.
  EXPECT_EQ(exec_out(e, {"id"}), "uid=0(root) gid=0(root) groups=0(root)\n");
  // The image volume is a writable empty dir.
  EXPECT_EQ(exec_out(e, {"sh", "-c", "ls -A /data; echo x > /data/f && cat /data/f"}), "x\n");

  for (auto& id : {a, b, c, d, e}) {
    ASSERT_TRUE(remove(id).ok());
    expect_no_trace(id);
  }
}

TEST_P(ContainerTest, UsersAndGroups) {
  std::string pod = run_pod("users");
  auto byname = config("byname", {"/bin/sleep", "1000"});
  byname.mutable_linux()->mutable_security_context()->set_run_as_username("app");
  std::string a = run_ok(pod, byname);
  EXPECT_EQ(exec_out(a, {"id", "-u"}), "1000\n");
  EXPECT_EQ(exec_out(a, {"id", "-g"}), "1000\n");
  // From the image's /etc/group, which lists app in "extra".
  EXPECT_TRUE(contains(exec_out(a, {"id", "-G"}), "2000")) << exec_out(a, {"id"});
  // The primary group is one of the process's groups, listed first.
  EXPECT_EQ(exec_out(a, {"id", "-G"}).rfind("1000 ", 0), 0u) << exec_out(a, {"id"});

  auto byuid = config("byuid", {"/bin/sleep", "1000"});
  auto* sc = byuid.mutable_linux()->mutable_security_context();
  sc->mutable_run_as_user()->set_value(1234);
  sc->mutable_run_as_group()->set_value(4321);
  sc->add_supplemental_groups(555);
  std::string b = run_ok(pod, byuid);
  EXPECT_EQ(exec_out(b, {"id", "-u"}), "1234\n");
  EXPECT_EQ(exec_out(b, {"id", "-g"}), "4321\n");
  EXPECT_EQ(exec_out(b, {"id", "-G"}), "4321 555\n") << exec_out(b, {"id"});
  v1::ContainerStatusResponse resp;
  ASSERT_TRUE(status(b, &resp).ok());
  EXPECT_EQ(resp.status().user().linux().uid(), 1234);
  EXPECT_EQ(resp.status().user().linux().gid(), 4321);

  // An unknown name is refused naming it, and leaves nothing.
  auto bad = config("badname", {"/bin/true"});
  bad.mutable_linux()->mutable_security_context()->set_run_as_username("nobody-here");
  std::string id;
  auto st = create(pod, bad, &id);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(contains(st.error_message(), "nobody-here")) << st.error_message();
  std::vector<std::string> dirs;
  for (auto& p : fsys::directory_iterator(crid_->root() + "/containers")) dirs.push_back(p.path().filename());
  EXPECT_EQ(dirs.size(), 2u);
}

TEST_P(ContainerTest, SecurityContext) {
  std::string pod = run_pod("sec", true);
  std::string plain = run_ok(pod, config("plain", {"/bin/sleep", "1000"}));
  // CRI-O's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE.
  EXPECT_TRUE(contains(exec_out(plain, {"grep", "CapEff", "/proc/self/status"}), "00000000000005fb"));
  v1::ExecSyncResponse r;
  ASSERT_TRUE(exec(plain, {"mount", "-t", "tmpfs", "none", "/mnt"}, &r).ok());
  EXPECT_NE(r.exit_code(), 0) << "an unprivileged container mounted a tmpfs";
  // Unconfined: creating a user namespace needs no capability.
  r.Clear();
  ASSERT_TRUE(exec(plain, {"unshare", "-U", "true"}, &r).ok());
  EXPECT_EQ(r.exit_code(), 0) << r.stderr();

  auto added = config("netadmin", {"/bin/sleep", "1000"});
  added.mutable_linux()->mutable_security_context()->mutable_capabilities()->add_add_capabilities("NET_ADMIN");
  std::string na = run_ok(pod, added);
  EXPECT_TRUE(contains(exec_out(na, {"grep", "CapEff", "/proc/self/status"}), "00000000000015fb"));

  auto seccomp = config("seccomp", {"/bin/sleep", "1000"});
  seccomp.mutable_linux()->mutable_security_context()->mutable_seccomp()->set_profile_type(
      v1::SecurityProfile::RuntimeDefault);
  std::string sc = run_ok(pod, seccomp);
  r.Clear();
  ASSERT_TRUE(exec(sc, {"unshare", "-U", "true"}, &r).ok());
  EXPECT_NE(r.exit_code(), 0) << "the default seccomp profile let unshare through";

  auto priv = config("priv", {"/bin/sleep", "1000"});
  priv.mutable_linux()->mutable_security_context()->set_privileged(true);
  std::string p = run_ok(pod, priv);
  r.Clear();
  ASSERT_TRUE(exec(p, {"mount", "-t", "tmpfs", "none", "/mnt"}, &r).ok());
  EXPECT_EQ(r.exit_code(), 0) << r.stderr();

  auto ro = config("ro", {"/bin/sleep", "1000"});
  ro.mutable_linux()->mutable_security_context()->set_readonly_rootfs(true);
  std::string rid = run_ok(pod, ro);
  r.Clear();
  ASSERT_TRUE(exec(rid, {"touch", "/newfile"}, &r).ok());
  EXPECT_NE(r.exit_code(), 0);
  EXPECT_TRUE(contains(r.stderr(), "Read-only file system")) << r.stderr();

  for (auto& id : {plain, na, sc, p, rid}) {
    ASSERT_TRUE(remove(id).ok());
    expect_no_trace(id);
  }
}

TEST_P(ContainerTest, MountsAndPodFiles) {
  std::string pod = run_pod("mounts");
  TempDir host("crid-it-bind");
  host.write("hello", "from the host\n");
  auto cfg = config("binds", {"/bin/sleep", "1000"});
  auto* m = cfg.add_mounts();
  m->set_container_path("/ro");
  m->set_host_path(host.path());
  m->set_readonly(true);
  auto* m2 = cfg.add_mounts();
  m2->set_container_path("/rw");
  m2->set_host_path(host.path());
  std::string id = run_ok(pod, cfg);
  EXPECT_EQ(exec_out(id, {"cat", "/ro/hello"}), "from the host\n");
  v1::ExecSyncResponse r;
  ASSERT_TRUE(exec(id, {"touch", "/ro/x"}, &r).ok());
  EXPECT_NE(r.exit_code(), 0);
  exec_out(id, {"touch", "/rw/y"});
  EXPECT_TRUE(fsys::exists(host.file("y")));

  std::string pod_dir = crid_->runroot() + "/pods/" + pod;
  for (auto f : {"hosts", "resolv.conf", "hostname"})
    EXPECT_EQ(exec_out(id, {"cat", std::string("/etc/") + f}), read_text(pod_dir + "/" + f)) << f;

  v1::ContainerStatusResponse resp;
  ASSERT_TRUE(status(id, &resp).ok());
  ASSERT_EQ(resp.status().mounts_size(), 2);
  EXPECT_EQ(resp.status().mounts(0).container_path(), "/ro");
  EXPECT_TRUE(resp.status().mounts(0).readonly());
  ASSERT_TRUE(remove(id).ok());
  expect_no_trace(id);
}

TEST_P(ContainerTest, ExitCodesAndOom) {
  std::string pod = run_pod("exits");
  std::string zero = run_ok(pod, script("zero", "exit 0"));
  std::string one = run_ok(pod, script("one", "exit 1"));
  auto hog = script("hog", "tail /dev/zero");
  hog.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(16 << 20);
  std::string oom = run_ok(pod, hog);
  auto s0 = wait_exited(zero);
  EXPECT_EQ(s0.exit_code(), 0);
  EXPECT_EQ(s0.reason(), "Completed");
  auto s1 = wait_exited(one);
  EXPECT_EQ(s1.exit_code(), 1);
  EXPECT_EQ(s1.reason(), "Error");
  auto so = wait_exited(oom);
  EXPECT_EQ(so.exit_code(), 137);
  EXPECT_EQ(so.reason(), "OOMKilled");

  // Exited containers: stop is a no-op, exec and start are refused.
  EXPECT_TRUE(stop(one, 10).ok());
  v1::ExecSyncResponse r;
  EXPECT_EQ(exec(one, {"true"}, &r).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(start(one).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  for (auto& id : {zero, one, oom}) {
    ASSERT_TRUE(remove(id).ok());
    expect_no_trace(id);
  }
}

TEST_P(ContainerTest, StopUsesTheImageSignalThenKills) {
  std::string pod = run_pod("stops");
  // The image's StopSignal is SIGUSR1.
  std::string polite = run_ok(pod, script("polite", "trap 'echo got-usr1; exit 3' USR1; echo ready; "
                                                    "while true; do sleep 0.1; done"));
  std::string stubborn = run_ok(pod, script("stubborn", "trap '' USR1 TERM; echo ready; "
                                                        "while true; do sleep 0.1; done"));
  wait_log(polite, "ready");
  wait_log(stubborn, "ready");
  ASSERT_TRUE(stop(polite, 30).ok());
  v1::ContainerStatusResponse resp;
  ASSERT_TRUE(status(polite, &resp).ok());
  EXPECT_EQ(resp.status().state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(resp.status().exit_code(), 3);
  EXPECT_EQ(log_text(polite), "ready\ngot-usr1\n");

  ASSERT_TRUE(stop(stubborn, 1).ok());
  resp.Clear();
  ASSERT_TRUE(status(stubborn, &resp).ok());
  EXPECT_EQ(resp.status().state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(resp.status().exit_code(), 137);
  EXPECT_TRUE(stop(stubborn, 1).ok()) << "stop is idempotent";

  // The request's stop signal beats the image's.
  auto cfg = script("term", "trap 'exit 4' TERM; echo ready; while true; do sleep 0.1; done");
  cfg.set_stop_signal(v1::SIGNAL_SIGTERM);
  std::string term = run_ok(pod, cfg);
  wait_log(term, "ready");
  ASSERT_TRUE(stop(term, 30).ok());
  resp.Clear();
  ASSERT_TRUE(status(term, &resp).ok());
  EXPECT_EQ(resp.status().exit_code(), 4);
  EXPECT_EQ(resp.status().stop_signal(), v1::SIGNAL_SIGTERM);

  for (auto& id : {polite, stubborn, term}) {
    ASSERT_TRUE(remove(id).ok());
    expect_no_trace(id);
  }
}

TEST_P(ContainerTest, ExecSyncOutputExitCodeAndTimeout) {
  std::string pod = run_pod("exec");
  std::string id = run_ok(pod, config("sleeper", {"/bin/sleep", "1000"}));
  v1::ExecSyncResponse r;
  ASSERT_TRUE(exec(id, {"sh", "-c", "echo o; echo e >&2; exit 7"}, &r).ok());
  EXPECT_EQ(r.stdout(), "o\n");
  EXPECT_EQ(r.stderr(), "e\n");
  EXPECT_EQ(r.exit_code(), 7);
  r.Clear();
  auto st = exec(id, {"sleep", "30"}, &r, 1);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
  // The timed-out command is gone from the container, not even a zombie
  // (busybox ps shows one as "[sleep]"): critest checks this with pgrep.
  std::string ps = exec_out(id, {"ps"});
  EXPECT_FALSE(contains(ps, "sleep 30")) << ps;
  EXPECT_FALSE(contains(ps, "[sleep]")) << ps;
  ASSERT_TRUE(remove(id).ok()) << "remove kills a running container";
  expect_no_trace(id);
}

TEST_P(ContainerTest, MemoryLimitAndUpdate) {
  std::string pod = run_pod("mem");
  auto cfg = config("limited", {"/bin/sleep", "1000"});
  cfg.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(64 << 20);
  std::string id = run_ok(pod, cfg);
  std::string cg = memory_cgroup(pid_of(id));
  ASSERT_NE(cg, "");
  EXPECT_TRUE(contains(cg, id)) << cg;
  EXPECT_EQ(read_text(cg + "/memory.limit_in_bytes"), std::to_string(64 << 20) + "\n");

  v1::UpdateContainerResourcesRequest req;
  req.set_container_id(id);
  req.mutable_linux()->set_memory_limit_in_bytes(128 << 20);
  v1::UpdateContainerResourcesResponse resp;
  auto st = rt().UpdateContainerResources(call_context().get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(read_text(cg + "/memory.limit_in_bytes"), std::to_string(128 << 20) + "\n");
  v1::ContainerStatusResponse s;
  ASSERT_TRUE(status(id, &s).ok());
  EXPECT_EQ(s.status().resources().linux().memory_limit_in_bytes(), 128 << 20);

  ASSERT_TRUE(remove(id).ok());
  EXPECT_FALSE(fsys::exists(cg));
  expect_no_trace(id);
}

// Found comparing a crictl session with containerd's: a pod created without
// a hostname (crictl runp with a minimal config) showed the node's name in
// /etc/hostname and `hostname`, but its containers had no HOSTNAME variable.
TEST_P(ContainerTest, PodWithoutHostnameGivesContainersTheNodesNameAsHostname) {
  v1::RunPodSandboxRequest req;
  auto* c = req.mutable_config();
  c->mutable_metadata()->set_name("nohost");
  c->mutable_metadata()->set_namespace_("it");
  c->mutable_metadata()->set_uid("uid-nohost");
  c->set_log_directory(crid_->dir().file("logs/nohost"));
  c->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(v1::NODE);
  req.set_runtime_handler(handler());
  pod_configs_["nohost"] = *c;
  v1::RunPodSandboxResponse resp;
  auto st = rt().RunPodSandbox(call_context().get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();

  std::string id = run_ok(resp.pod_sandbox_id(), config("c", {"/bin/sleep", "1000"}));
  char node[256] = {};
  ::gethostname(node, sizeof node - 1);
  std::string env = exec_out(id, {"env"});
  EXPECT_TRUE(contains(env, std::string("HOSTNAME=") + node + "\n")) << env;
  EXPECT_EQ(exec_out(id, {"cat", "/etc/hostname"}), std::string(node) + "\n");
  ASSERT_TRUE(remove(id).ok());
  expect_no_trace(id);
}

// Found by comparing `crictl ps -o json` with containerd's: a kubelet before
// 1.30 takes each listed container's image_ref as the id of an image in use
// and matches it against ListImages ids; a repo digest there made the image of
// a running container look unused to its image garbage collector.
TEST_P(ContainerTest, ListedImageRefMatchesAListImagesId) {
  std::string pod = run_pod("imgref");
  std::string id = run_ok(pod, config("c", {"/bin/sleep", "1000"}));

  v1::ListImagesResponse images;
  ASSERT_TRUE(crid_->images().ListImages(call_context().get(), {}, &images).ok());
  std::set<std::string> image_ids;
  for (const auto& i : images.images()) image_ids.insert(i.id());

  v1::ListContainersResponse listed;
  ASSERT_TRUE(rt().ListContainers(call_context().get(), {}, &listed).ok());
  ASSERT_EQ(listed.containers_size(), 1);
  const auto& c = listed.containers(0);
  EXPECT_EQ(c.id(), id);
  EXPECT_EQ(image_ids.count(c.image_ref()), 1u) << c.image_ref();
  EXPECT_EQ(c.image_id(), c.image_ref());

  // Status names the image by its repo digest, as pod status shows it.
  v1::ContainerStatusResponse s;
  ASSERT_TRUE(status(id, &s).ok());
  EXPECT_TRUE(contains(s.status().image_ref(), "@sha256:")) << s.status().image_ref();
  EXPECT_EQ(s.status().image_id(), c.image_ref());
  ASSERT_TRUE(remove(id).ok());
  expect_no_trace(id);
}

TEST_P(ContainerTest, ListStatusAndErrors) {
  std::string pod = run_pod("list");
  std::string a = create_ok(pod, config("a", {"/bin/sleep", "1000"}));
  std::string b = run_ok(pod, config("b", {"/bin/sleep", "1000"}));

  v1::ContainerStatusResponse s;
  ASSERT_TRUE(status(a, &s, true).ok());
  EXPECT_EQ(s.status().state(), v1::CONTAINER_CREATED);
  EXPECT_EQ(s.status().metadata().name(), "a");
  EXPECT_EQ(s.status().image().image(), ImageEnv::get().image());
  EXPECT_TRUE(s.status().image_ref().rfind("sha256:", 0) == 0 || contains(s.status().image_ref(), "@sha256:"));
  auto info = nlohmann::json::parse(s.info().at("info"));
  EXPECT_EQ(info["sandboxID"], pod);
  EXPECT_EQ(info["runtimeHandler"], handler());
  EXPECT_TRUE(info["runtimeSpec"].contains("process"));

  auto list = [&](const v1::ContainerFilter& f) {
    v1::ListContainersRequest req;
    *req.mutable_filter() = f;
    v1::ListContainersResponse resp;
    EXPECT_TRUE(rt().ListContainers(call_context().get(), req, &resp).ok());
    std::set<std::string> ids;
    for (auto& c : resp.containers()) ids.insert(c.id());
    return ids;
  };
  v1::ContainerFilter f;
  EXPECT_EQ(list(f), (std::set<std::string>{a, b}));
  f.mutable_state()->set_state(v1::CONTAINER_RUNNING);
  EXPECT_EQ(list(f), (std::set<std::string>{b}));
  f.Clear();
  (*f.mutable_label_selector())["ctr"] = "a";
  EXPECT_EQ(list(f), (std::set<std::string>{a}));
  f.Clear();
  f.set_id(b.substr(0, 12));
  EXPECT_EQ(list(f), (std::set<std::string>{b}));
  f.Clear();
  f.set_pod_sandbox_id("0000");
  EXPECT_EQ(list(f), (std::set<std::string>{}));

  // Name taken in the pod: refused naming the holder.
  std::string dup;
  auto st = create(pod, config("a", {"/bin/true"}), &dup);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(contains(st.error_message(), a)) << st.error_message();

  // Unknown ids.
  s.Clear();
  EXPECT_EQ(status("ffffffffffff", &s).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stop("ffffffffffff", 1).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(remove("ffffffffffff").ok());
  v1::ExecSyncResponse r;
  EXPECT_EQ(exec("ffffffffffff", {"true"}, &r).error_code(), grpc::StatusCode::NOT_FOUND);

  // Missing image: NotFound naming it, nothing left.
  auto missing = config("missing", {"/bin/true"});
  missing.mutable_image()->set_image(ImageEnv::get().registry().host() + "/no/such:image");
  st = create(pod, missing, &dup);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(contains(st.error_message(), "no/such:image")) << st.error_message();
  // Unknown pod.
  st = create("abcdef", config("nopod", {"/bin/true"}), &dup);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  size_t n = 0;
  for (auto& p : fsys::directory_iterator(crid_->root() + "/containers")) n += !p.path().empty();
  EXPECT_EQ(n, 2u);
}

TEST_P(ContainerTest, PodStopAndRemoveTakeTheirContainers) {
  std::string pod = run_pod("owner");
  std::string a = run_ok(pod, config("a", {"/bin/sleep", "1000"}));
  std::string b = run_ok(pod, script("b", "trap '' USR1; while true; do sleep 0.1; done"));
  std::string c = create_ok(pod, config("c", {"/bin/true"}));
  v1::StopPodSandboxRequest sreq;
  sreq.set_pod_sandbox_id(pod);
  v1::StopPodSandboxResponse sresp;
  auto st = rt().StopPodSandbox(call_context(120s).get(), sreq, &sresp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  for (auto& id : {a, b, c}) {
    v1::ContainerStatusResponse s;
    ASSERT_TRUE(status(id, &s).ok());
    EXPECT_EQ(s.status().state(), v1::CONTAINER_EXITED) << id;
  }
  v1::RemovePodSandboxRequest rreq;
  rreq.set_pod_sandbox_id(pod);
  v1::RemovePodSandboxResponse rresp;
  st = rt().RemovePodSandbox(call_context(120s).get(), rreq, &rresp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::ListContainersResponse list;
  ASSERT_TRUE(rt().ListContainers(call_context().get(), v1::ListContainersRequest(), &list).ok());
  EXPECT_EQ(list.containers_size(), 0);
  for (auto& id : {a, b, c}) expect_no_trace(id);
}

TEST_P(ContainerTest, ReopenLogAfterRotation) {
  std::string pod = run_pod("logs");
  std::string id = run_ok(pod, script("ticker", "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.1; done"));
  wait_log(id, "tick1");
  std::string path = log_path(id);
  fsys::rename(path, path + ".1");
  v1::ReopenContainerLogRequest req;
  req.set_container_id(id);
  v1::ReopenContainerLogResponse resp;
  auto st = rt().ReopenContainerLog(call_context().get(), req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  wait_log(id, "tick");
  EXPECT_FALSE(contains(read_text(path), "tick0\n")) << "the new file starts after the rotation";
  EXPECT_TRUE(contains(read_text(path + ".1"), "tick0"));
  ASSERT_TRUE(stop(id, 0).ok());
  st = rt().ReopenContainerLog(call_context().get(), req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(remove(id).ok());
  expect_no_trace(id);
}

TEST_P(ContainerTest, DaemonRestartKeepsContainersAndSeesExitsMissedMeanwhile) {
  std::string pod = run_pod("restart");
  std::string keeps = run_ok(pod, config("keeps", {"/bin/sleep", "1000"}));
  std::string dies = run_ok(pod, config("dies", {"/bin/sleep", "1000"}));
  pid_t victim = pid_of(dies);
  ASSERT_GT(victim, 0);
  crid_->stop(SIGKILL);
  // The container ends while no daemon runs; conmon records it.
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  for (int i = 0; i < 200 && ::kill(victim, 0) == 0; ++i) std::this_thread::sleep_for(50ms);
  std::string err;
  ASSERT_TRUE(crid_->start(&err)) << err;
  auto s = wait_exited(dies);
  EXPECT_EQ(s.exit_code(), 137);
  v1::ContainerStatusResponse resp;
  ASSERT_TRUE(status(keeps, &resp).ok());
  EXPECT_EQ(resp.status().state(), v1::CONTAINER_RUNNING);
  EXPECT_EQ(exec_out(keeps, {"echo", "still here"}), "still here\n");
  ASSERT_TRUE(stop(keeps, 0).ok());
  EXPECT_EQ(wait_exited(keeps).exit_code(), 137);
  for (auto& id : {keeps, dies}) {
    ASSERT_TRUE(remove(id).ok());
    expect_no_trace(id);
  }
}

// The pod's pause process (verbose PodSandboxStatus "pid"), 0 for none.
pid_t pause_pid(v1::RuntimeService::Stub& rt, const std::string& pod) {
  v1::PodSandboxStatusRequest req;
  req.set_pod_sandbox_id(pod);
  req.set_verbose(true);
  v1::PodSandboxStatusResponse resp;
  auto st = rt.PodSandboxStatus(call_context().get(), req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  if (!st.ok()) return 0;
  return nlohmann::json::parse(resp.info().at("info")).value("pid", 0);
}

// A process that runs (zombies count as gone: this machine's init may not
// reap the orphans it inherits).
bool process_runs(pid_t pid) {
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] != 'Z';
}

std::string cmdline_of(pid_t pid) {
  std::string c = read_text("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(c.begin(), c.end(), '\0', ' ');
  return c;
}

TEST_P(ContainerTest, PodWidePidNamespaceIsSharedAndHeldByThePause) {
  std::string pod = run_pod("sharedpid", false, v1::POD);
  pid_t pause = pause_pid(rt(), pod);
  ASSERT_GT(pause, 0);
  EXPECT_TRUE(process_runs(pause));
  // Labelled with its pod, so a restarted daemon can find it by that alone.
  EXPECT_TRUE(cmdline_of(pause).ends_with(" pause " + pod + " ")) << cmdline_of(pause);
  EXPECT_TRUE(fsys::exists(crid_->runroot() + "/pods/" + pod + "/infra.pid"));

  std::string a = run_ok(pod, config("a", {"/bin/sleep", "1000"}));
  std::string b = run_ok(pod, config("b", {"/bin/sleep", "1001"}));
  EXPECT_TRUE(contains(exec_out(a, {"cat", "/proc/1/cmdline"}), "pause"));
  // Every process of the namespace, seen from a: the pause and both sleeps.
  std::string all = exec_out(a, {"sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"});
  EXPECT_TRUE(contains(all, "sleep 1000")) << all;
  EXPECT_TRUE(contains(all, "sleep 1001")) << all;
  EXPECT_TRUE(contains(exec_out(b, {"ps"}), "sleep 1000"));
  // The host pid namespace's view agrees: a's process is in the pause's.
  pid_t a_pid = pid_of(a);
  ASSERT_GT(a_pid, 0);
  EXPECT_EQ(fsys::read_symlink("/proc/" + std::to_string(a_pid) + "/ns/pid"),
            fsys::read_symlink("/proc/" + std::to_string(pause) + "/ns/pid"));

  // A pod without the mode: the container's program is its PID 1.
  std::string own_pod = run_pod("ownpid");
  EXPECT_EQ(pause_pid(rt(), own_pod), 0);
  std::string own = run_ok(own_pod, config("own", {"/bin/sleep", "1002"}));
  EXPECT_EQ(exec_out(own, {"cat", "/proc/1/cmdline"}), std::string("/bin/sleep\0" "1002\0", 16));
  EXPECT_FALSE(contains(exec_out(own, {"ps"}), "sleep 1000"));

  // A daemon killed and restarted leaves the pause alone; new containers join
  // it. Not under crun here: its test daemon runs in a private mount
  // namespace made afresh at each start, where the old one's pin mounts
  // do not exist.
  std::vector<std::string> ctrs = {a, b};
  if (handler() == "runc") {
    crid_->stop(SIGKILL);
    std::string err;
    ASSERT_TRUE(crid_->start(&err)) << err;
    EXPECT_TRUE(process_runs(pause));
    EXPECT_EQ(pause_pid(rt(), pod), pause);
    std::string c = run_ok(pod, config("c", {"/bin/sleep", "1003"}));
    EXPECT_TRUE(contains(exec_out(c, {"cat", "/proc/1/cmdline"}), "pause"));
    EXPECT_TRUE(contains(exec_out(c, {"ps"}), "sleep 1000"));
    ctrs.push_back(c);
  }

  // Stop kills the pause (and with it the namespace); twice is fine.
  v1::StopPodSandboxRequest sreq;
  sreq.set_pod_sandbox_id(pod);
  v1::StopPodSandboxResponse sresp;
  for (int i = 0; i < 2; ++i) {
    auto st = rt().StopPodSandbox(call_context(120s).get(), sreq, &sresp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_FALSE(process_runs(pause));
  EXPECT_EQ(pause_pid(rt(), pod), 0);
  for (auto& id : ctrs) {
    v1::ContainerStatusResponse s;
    ASSERT_TRUE(status(id, &s).ok());
    EXPECT_EQ(s.status().state(), v1::CONTAINER_EXITED) << id;
  }
  v1::RemovePodSandboxRequest rreq;
  rreq.set_pod_sandbox_id(pod);
  v1::RemovePodSandboxResponse rresp;
  auto st = rt().RemovePodSandbox(call_context(120s).get(), rreq, &rresp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(fsys::exists(crid_->runroot() + "/pods/" + pod));
  for (auto& id : ctrs) expect_no_trace(id);
}

// The pause dies while no daemon runs: the pod comes back NOTREADY and
// refuses new containers rather than joining a recycled pid's namespace.
TEST_P(ContainerTest, PodWhosePauseDiedIsNotReadyAfterRestart) {
  std::string pod = run_pod("deadpause", false, v1::POD);
  pid_t pause = pause_pid(rt(), pod);
  ASSERT_GT(pause, 0);
  crid_->stop(SIGKILL);
  ASSERT_EQ(::kill(pause, SIGKILL), 0);
  for (int i = 0; i < 200 && process_runs(pause); ++i) std::this_thread::sleep_for(50ms);
  std::string err;
  ASSERT_TRUE(crid_->start(&err)) << err;
  v1::PodSandboxStatusRequest req;
  req.set_pod_sandbox_id(pod);
  v1::PodSandboxStatusResponse resp;
  ASSERT_TRUE(rt().PodSandboxStatus(call_context().get(), req, &resp).ok());
  EXPECT_EQ(resp.status().state(), v1::SANDBOX_NOTREADY);
  std::string id;
  EXPECT_EQ(create(pod, config("late", {"/bin/sleep", "1000"}), &id).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_P(ContainerTest, DevicesAreMappedWithTheirPermissions) {
  std::string pod = run_pod("dev");
  auto cfg = config("dev", {"/bin/sleep", "1000"});
  auto* rw = cfg.add_devices();
  rw->set_host_path("/dev/null");
  rw->set_container_path("/dev/mydev");
  rw->set_permissions("rw");
  // /dev/kmsg: not among the devices every container gets (null, zero,
  // full, random, urandom, tty), so only the request's rule applies.
  auto* ro = cfg.add_devices();
  ro->set_host_path("/dev/kmsg");
  ro->set_container_path("/dev/mykmsg");
  ro->set_permissions("r");
  std::string id = run_ok(pod, cfg);
  // The host's device numbers (stat prints them in hex): null 1:3, kmsg 1:11.
  EXPECT_EQ(exec_out(id, {"busybox", "stat", "-c", "%F %t:%T", "/dev/mydev"}),
            "character special file 1:3\n");
  EXPECT_EQ(exec_out(id, {"busybox", "stat", "-c", "%t:%T", "/dev/mykmsg"}), "1:b\n");
  EXPECT_EQ(exec_out(id, {"sh", "-c", "echo data > /dev/mydev && busybox cat /dev/mydev && echo ok"}),
            "ok\n");
  // "r" only: the device cgroup refuses opening it for writing.
  v1::ExecSyncResponse r;
  ASSERT_TRUE(exec(id, {"sh", "-c", "echo crid-device-test > /dev/mykmsg"}, &r).ok());
  EXPECT_NE(r.exit_code(), 0) << "wrote to a device granted read-only";
  EXPECT_TRUE(contains(r.stderr(), "Operation not permitted")) << r.stderr();
  // A missing host device is refused naming it, leaving nothing behind.
  auto missing = config("nodev", {"/bin/true"});
  missing.add_devices()->set_host_path("/dev/crid-no-such-device");
  missing.mutable_devices(0)->set_container_path("/dev/x");
  std::string bad;
  auto st = create(pod, missing, &bad);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(contains(st.error_message(), "/dev/crid-no-such-device")) << st.error_message();
  ASSERT_TRUE(remove(id).ok());
  expect_no_trace(id);
}

TEST_P(ContainerTest, LocalhostSeccompProfileBlocksItsSyscalls) {
  // Anywhere on the node, as the kubelet passes it: not under the
  // configured seccomp_profile_root.
  TempDir profiles{"crid-it-seccomp"};
  std::string path = profiles.write("no-mkdir.json", R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
  })");
  std::string pod = run_pod("seccomp-local");
  auto cfg = config("nomkdir", {"/bin/sleep", "1000"});
  auto* sc = cfg.mutable_linux()->mutable_security_context()->mutable_seccomp();
  sc->set_profile_type(v1::SecurityProfile::Localhost);
  sc->set_localhost_ref(path);
  std::string id = run_ok(pod, cfg);
  v1::ExecSyncResponse r;
  ASSERT_TRUE(exec(id, {"mkdir", "/tmp/x"}, &r).ok());
  EXPECT_NE(r.exit_code(), 0) << "mkdir got through the profile";
  EXPECT_TRUE(contains(r.stderr(), "Operation not permitted")) << r.stderr();
  EXPECT_EQ(exec_out(id, {"sh", "-c", "touch /tmp/y && echo ok"}), "ok\n");

  // A missing or malformed profile: InvalidArgument/NotFound naming it.
  for (const auto& [ref, contents] : std::vector<std::pair<std::string, std::string>>{
           {profiles.file("absent.json"), ""}, {profiles.file("bad.json"), "{not json"}}) {
    if (!contents.empty()) profiles.write("bad.json", contents);
    auto bad = config("badprofile", {"/bin/true"});
    auto* b = bad.mutable_linux()->mutable_security_context()->mutable_seccomp();
    b->set_profile_type(v1::SecurityProfile::Localhost);
    b->set_localhost_ref(ref);
    std::string none;
    auto st = create(pod, bad, &none);
    EXPECT_FALSE(st.ok()) << ref;
    EXPECT_TRUE(contains(st.error_message(), ref)) << st.error_message();
  }
  ASSERT_TRUE(remove(id).ok());
  expect_no_trace(id);
}

TEST_P(ContainerTest, ExecSyncOutputIsTruncatedAtTheCap) {
  std::string pod = run_pod("exec-cap");
  std::string id = run_ok(pod, config("chatty", {"/bin/sleep", "1000"}));
  // More than the cap on both streams at once: the answer must still fit
  // one gRPC message (crid and the kubelet cap those at 16 MiB).
  size_t over = container::kExecSyncMaxOutput + (1 << 20);
  std::string sh = "head -c " + std::to_string(over) + " /dev/zero | tr '\\0' o; head -c " +
                   std::to_string(over) + " /dev/zero | tr '\\0' e >&2; exit 3";
  v1::ExecSyncResponse r;
  auto st = exec(id, {"sh", "-c", sh}, &r);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(r.exit_code(), 3);
  EXPECT_EQ(r.stdout().size(), container::kExecSyncMaxOutput);
  EXPECT_EQ(r.stderr().size(), container::kExecSyncMaxOutput);
  EXPECT_EQ(r.stdout().find_first_not_of('o'), std::string::npos);
  EXPECT_EQ(r.stderr().find_first_not_of('e'), std::string::npos);
  // The container is fine afterwards.
  EXPECT_EQ(exec_out(id, {"echo", "still"}), "still\n");
  ASSERT_TRUE(remove(id).ok());
  expect_no_trace(id);
}

// Ids, names and log paths from requests never reach outside crid's and
// the pod's directories.
TEST_P(ContainerTest, HostileIdsNamesAndLogPathsStayInside) {
  std::string pod = run_pod("hostile");
  TempDir victim{"crid-it-victim"};
  std::string marker = victim.write("keep", "x");
  for (std::string id : {"../../../../" + marker, std::string("/etc"), std::string("..")}) {
    v1::ContainerStatusResponse s;
    EXPECT_EQ(status(id, &s).error_code(), grpc::StatusCode::NOT_FOUND) << id;
    EXPECT_TRUE(remove(id).ok()) << id;  // nothing to remove, nothing removed
  }
  EXPECT_TRUE(fsys::exists(marker));

  // A log path climbing out of the pod's log directory is refused.
  auto escape = config("escape", {"/bin/true"});
  std::string target = victim.file("owned.log");
  escape.set_log_path("../../../../../../../../.." + target);
  std::string none;
  auto st = create(pod, escape, &none);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_TRUE(contains(st.error_message(), "escape")) << st.error_message();
  EXPECT_FALSE(fsys::exists(target));

  // A name full of path syntax is only a name: storage is keyed by id.
  auto odd_cfg = config("../../x/y", {"/bin/sleep", "1000"});
  odd_cfg.set_log_path("odd.log");
  std::string odd = run_ok(pod, odd_cfg);
  EXPECT_TRUE(fsys::is_directory(crid_->root() + "/containers/" + odd));
  EXPECT_FALSE(fsys::exists(crid_->root() + "/x"));
  EXPECT_FALSE(fsys::exists(fsys::path(crid_->root()).parent_path() / "x"));
  ASSERT_TRUE(remove(odd).ok());
  expect_no_trace(odd);
}

// One container plants a symlink to "/" in a directory the node shares
// with another; the other's working dir goes through it. The runtime
// resolves (and creates) the working dir inside the container after
// pivot_root, so the symlink means the container's "/" and the node's root
// stays untouched.
TEST_P(ContainerTest, WorkingDirThroughAPlantedSymlinkStaysInTheContainer) {
  std::string pod = run_pod("planted");
  TempDir shared{"crid-it-shared"};
  auto with_share = [&](v1::ContainerConfig c) {
    auto* m = c.add_mounts();
    m->set_container_path("/shared");
    m->set_host_path(shared.path());
    return c;
  };
  std::string planter = run_ok(pod, with_share(config("planter", {"/bin/sleep", "1000"})));
  exec_out(planter, {"busybox", "ln", "-s", "../../../../../../../../..", "/shared/up"});
  ASSERT_TRUE(fsys::is_symlink(shared.file("up")));

  std::string unique = "crid-it-wd-" + fsys::path(shared.path()).filename().string();
  auto victim = with_share(config("victim", {"/bin/sleep", "1000"}));
  victim.set_working_dir("/shared/up/" + unique);
  std::string id = run_ok(pod, victim);
  EXPECT_EQ(exec_out(id, {"busybox", "readlink", "/proc/1/cwd"}), "/" + unique + "\n");
  EXPECT_FALSE(fsys::exists("/" + unique)) << "the working dir was created on the node";
  for (auto& c : {planter, id}) {
    ASSERT_TRUE(remove(c).ok());
    expect_no_trace(c);
  }
}

// Host paths of bind mounts go to the runtime as staging mounts of the
// object crid checked (<runroot>/hostpaths/<id>/<n>), never as the request's path:
// dirs and files, read-only and read-write, through a legit root-owned
// symlink outside anything containers write. Removal unmounts them all.
TEST_P(ContainerTest, HostPathMountsOfDirsAndFilesAreStagedAndUnmounted) {
  std::string pod = run_pod("staged");
  TempDir host{"crid-it-hostpath"};
  host.write("real/f", "from the node\n");
  host.write("term", "");
  fsys::create_symlink(host.file("real"), host.file("link"));
  auto cfg = config("staged", {"/bin/sleep", "1000"});
  auto add = [&](const std::string& dest, const std::string& src, bool ro) {
    auto* m = cfg.add_mounts();
    m->set_container_path(dest);
    m->set_host_path(src);
    m->set_readonly(ro);
  };
  add("/d-ro", host.file("link"), true);
  add("/d-rw", host.file("real"), false);
  add("/f-ro", host.file("real/f"), true);
  add("/dev/termination-log", host.file("term"), false);
  std::string id = run_ok(pod, cfg);

  EXPECT_EQ(exec_out(id, {"cat", "/d-ro/f"}), "from the node\n");
  EXPECT_EQ(exec_out(id, {"cat", "/f-ro"}), "from the node\n");
  v1::ExecSyncResponse r;
  ASSERT_TRUE(exec(id, {"touch", "/d-ro/x"}, &r).ok());
  EXPECT_NE(r.exit_code(), 0) << "a read-only dir mount was writable";
  r.Clear();
  ASSERT_TRUE(exec(id, {"/bin/sh", "-c", "echo no > /f-ro"}, &r).ok());
  EXPECT_NE(r.exit_code(), 0) << "a read-only file mount was writable";
  exec_out(id, {"touch", "/d-rw/made-inside"});
  EXPECT_TRUE(fsys::exists(host.file("real/made-inside")));
  exec_out(id, {"/bin/sh", "-c", "echo bye > /dev/termination-log"});
  EXPECT_EQ(read_text(host.file("term")), "bye\n");

  // The runtime was given the staging points; status keeps the request's paths.
  std::string stage = crid_->runroot() + "/hostpaths/" + id + "/";
  v1::ContainerStatusResponse resp;
  ASSERT_TRUE(status(id, &resp, true).ok());
  auto spec = nlohmann::json::parse(resp.info().at("info"))["runtimeSpec"];
  int staged = 0;
  for (const auto& m : spec["mounts"]) {
    std::string dest = m["destination"];
    if (dest == "/d-ro" || dest == "/d-rw" || dest == "/f-ro" || dest == "/dev/termination-log") {
      EXPECT_EQ(m["source"].get<std::string>().rfind(stage, 0), 0u) << m.dump();
      ++staged;
    }
  }
  EXPECT_EQ(staged, 4);
  ASSERT_EQ(resp.status().mounts_size(), 4);
  EXPECT_EQ(resp.status().mounts(0).host_path(), host.file("link"));
  EXPECT_TRUE(contains(daemon_mountinfo(), stage)) << daemon_mountinfo();

  ASSERT_TRUE(remove(id).ok());
  expect_no_trace(id);
  EXPECT_EQ(read_text(host.file("real/f")), "from the node\n") << "removal touched the node's files";
}

// A container with a read-write hostPath plants symlinks in it; a later
// container asking for a path through them is refused (InvalidArgument
// naming the container, the host path and the symlink), and the refused
// create leaves no bundle and no mount behind.
TEST_P(ContainerTest, HostPathSymlinkPlantedByAContainerIsNotFollowed) {
  std::string pod = run_pod("planted-mount");
  TempDir shared{"crid-it-hp-shared"};
  fsys::create_directories(shared.file("data"));
  auto with_mount = [&](v1::ContainerConfig c, const std::string& dest, const std::string& src,
                        bool ro) {
    auto* m = c.add_mounts();
    m->set_container_path(dest);
    m->set_host_path(src);
    m->set_readonly(ro);
    return c;
  };
  std::string planter =
      run_ok(pod, with_mount(config("planter", {"/bin/sleep", "1000"}), "/shared", shared.path(), false));
  exec_out(planter, {"busybox", "ln", "-s", "/", "/shared/data/sub"});
  exec_out(planter, {"busybox", "ln", "-s", "/etc/hostname", "/shared/data/file"});
  exec_out(planter, {"busybox", "ln", "-s", "../../../../../../..", "/shared/up"});
  ASSERT_TRUE(fsys::is_symlink(shared.file("data/sub")));

  auto bundles = [&] {
    size_t n = 0;
    for (auto& e : fsys::directory_iterator(crid_->runroot() + "/containers")) n += e.is_directory();
    return n;
  };
  size_t before = bundles();
  int attempt = 0;
  for (const std::string& rel : {"data/sub", "data/sub/etc", "data/file", "up/etc"}) {
    auto victim = config("victim", {"/bin/sleep", "1000"});
    victim.mutable_metadata()->set_attempt(++attempt);
    std::string id;
    auto st = create(pod, with_mount(victim, "/host", shared.file(rel), true), &id);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << rel << ": " << st.error_message();
    EXPECT_TRUE(contains(st.error_message(), "container victim")) << st.error_message();
    EXPECT_TRUE(contains(st.error_message(), shared.file(rel))) << st.error_message();
    EXPECT_TRUE(contains(st.error_message(), "symlink")) << st.error_message();
  }
  EXPECT_EQ(bundles(), before) << "a refused create left its bundle";
  // The only staging mounts are the planter's.
  std::istringstream mounts(daemon_mountinfo());
  for (std::string line; std::getline(mounts, line);)
    if (contains(line, crid_->runroot() + "/hostpaths/"))
      EXPECT_TRUE(contains(line, planter)) << "left behind: " << line;
  for (auto& e : fsys::directory_iterator(crid_->runroot() + "/hostpaths"))
    EXPECT_EQ(e.path().filename(), planter) << "a refused create left its staging dir";

  // The shared dir itself, and a plain dir in it, are still fine to mount.
  auto ok = with_mount(config("reader", {"/bin/sleep", "1000"}), "/host", shared.file("data"), true);
  std::string reader = run_ok(pod, ok);
  EXPECT_TRUE(contains(exec_out(reader, {"ls", "/host"}), "sub"));
  for (auto& c : {planter, reader}) {
    ASSERT_TRUE(remove(c).ok());
    expect_no_trace(c);
  }
}

// The staging clone of a shared mount is in its peer group: a mount made
// on the node under a HostToContainer host path reaches the container, and
// one made by a privileged container under a Bidirectional one reaches the
// node. crid runs in a private mount namespace for crun here, so only runc.
TEST_P(ContainerTest, MountPropagationReachesThroughStagedHostPaths) {
  if (handler() == "crun") GTEST_SKIP() << "crid runs in a private mount namespace for crun";
  TempDir host{"crid-it-prop"};
  fsys::create_directories(host.file("from-node"));
  fsys::create_directories(host.file("from-ctr"));
  ASSERT_EQ(run_command({"/usr/bin/mount", "--bind", host.path(), host.path()}).status, 0);
  ASSERT_EQ(run_command({"/usr/bin/mount", "--make-shared", host.path()}).status, 0);
  std::string pod = run_pod("prop", /*privileged=*/true);
  auto cfg = config("prop", {"/bin/sleep", "1000"});
  cfg.mutable_linux()->mutable_security_context()->set_privileged(true);
  auto* slave = cfg.add_mounts();
  slave->set_container_path("/slave");
  slave->set_host_path(host.path());
  slave->set_propagation(v1::PROPAGATION_HOST_TO_CONTAINER);
  auto* shared = cfg.add_mounts();
  shared->set_container_path("/shared");
  shared->set_host_path(host.path());
  shared->set_propagation(v1::PROPAGATION_BIDIRECTIONAL);
  std::string id = run_ok(pod, cfg);

  ASSERT_EQ(run_command({"/usr/bin/mount", "-t", "tmpfs", "-o", "size=1m", "node-tmpfs", host.file("from-node")}).status, 0);
  host.write("from-node/hello", "hi\n");
  EXPECT_EQ(exec_out(id, {"cat", "/slave/from-node/hello"}), "hi\n");
  exec_out(id, {"mount", "-t", "tmpfs", "ctr-tmpfs", "/shared/from-ctr"});
  exec_out(id, {"/bin/sh", "-c", "echo back > /shared/from-ctr/x"});
  EXPECT_EQ(read_text(host.file("from-ctr/x")), "back\n") << "the container's mount did not reach the node";

  ASSERT_TRUE(remove(id).ok());
  expect_no_trace(id);
  for (auto* p : {"from-ctr", "from-node"}) run_command({"/usr/bin/umount", "-l", host.file(p)});
  ASSERT_EQ(run_command({"/usr/bin/umount", "-l", host.path()}).status, 0);
}

// Restart safety: a container's read-write host path stays suspect across
// a daemon restart (what it plants afterwards is still refused), its
// staging mount is still unmounted at removal, and the staging mounts of a
// create cut short (a bundle with no row) are unmounted and swept at start,
// leaving the node's dir intact.
TEST_P(ContainerTest, HostPathStagingSurvivesRestartAndLeftoversAreSwept) {
  if (handler() == "crun") GTEST_SKIP() << "crid restarts into a fresh private mount namespace for crun";
  std::string pod = run_pod("hp-restart");
  TempDir shared{"crid-it-hp-restart"};
  shared.write("keep", "node data\n");
  auto cfg = config("planter", {"/bin/sleep", "1000"});
  auto* m = cfg.add_mounts();
  m->set_container_path("/shared");
  m->set_host_path(shared.path());
  std::string planter = run_ok(pod, cfg);

  // What a daemon killed in the middle of a create leaves: a staged mount
  // of a node dir for a container with no row.
  std::string leftover = crid_->runroot() + "/hostpaths/" + std::string(64, 'e');
  fsys::create_directories(leftover + "/0");
  ASSERT_EQ(run_command({"/usr/bin/mount", "--bind", shared.path(), leftover + "/0"}).status, 0);

  ASSERT_EQ(crid_->stop(SIGKILL), -SIGKILL);
  std::string err;
  ASSERT_TRUE(crid_->start(&err)) << err;
  EXPECT_FALSE(fsys::exists(leftover)) << "the unfinished create's staging dir was kept";
  EXPECT_FALSE(contains(read_text("/proc/self/mountinfo"), leftover)) << "its staging mount is left";
  EXPECT_EQ(read_text(shared.file("keep")), "node data\n");

  exec_out(planter, {"busybox", "ln", "-s", "/", "/shared/sub"});
  auto victim = config("victim", {"/bin/sleep", "1000"});
  auto* vm = victim.add_mounts();
  vm->set_container_path("/host");
  vm->set_host_path(shared.file("sub"));
  std::string none;
  auto st = create(pod, victim, &none);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();

  ASSERT_TRUE(remove(planter).ok());
  expect_no_trace(planter);
  EXPECT_EQ(read_text(shared.file("keep")), "node data\n");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ContainerTest, ::testing::Values("runc", "crun"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace crid::testing
