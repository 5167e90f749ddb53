// The operations journal against a real daemon: crid is killed at an exact
// step of RunPodSandbox or CreateContainer (CRID_FAILPOINT, see
// util/failpoint.h), and the next start undoes exactly what that operation
// made. Also the kubelet's retry of a create whose caller gave up, asked of
// a restarted daemon.
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "support/restart_env.h"

namespace crid::testing {
namespace {

using namespace std::chrono_literals;
namespace fsys = std::filesystem;

// Running `crid pause <pod id>` processes of that pod.
std::vector<pid_t> pauses_of(const std::string& pod_id) {
  std::vector<pid_t> out;
  for (auto& [pid, pod] : labelled_pauses())
    if (pod == pod_id) out.push_back(pid);
  return out;
}

class RestartJournalTest : public RestartRigTest {
 protected:
  void TearDown() override {
    ::unsetenv("CRID_FAILPOINT");
    RestartRigTest::TearDown();
  }

  // Restarts the daemon with `failpoint` armed ("" disarms).
  void restart_with(const std::string& failpoint, int sig = SIGTERM) {
    if (rig_->crid().running()) rig_->crid().stop(sig);
    if (failpoint.empty()) ::unsetenv("CRID_FAILPOINT");
    else ::setenv("CRID_FAILPOINT", failpoint.c_str(), 1);
    std::string err;
    ASSERT_TRUE(rig_->start_daemon(&err)) << err;
    ::unsetenv("CRID_FAILPOINT");
  }
  // The daemon killed itself at the failpoint: reap it.
  void expect_died_at(const std::string& failpoint) {
    for (int i = 0; i < 500 && rig_->crid().running(); ++i) std::this_thread::sleep_for(10ms);
    // running() reaped it.
    ASSERT_FALSE(rig_->crid().running()) << "the daemon did not die at " << failpoint;
    EXPECT_NE(rig_->crid().log().find("failpoint " + failpoint), std::string::npos);
  }
  // The pods whose RunPodSandbox was cut: dirs under <runroot>/pods.
  std::vector<std::string> pod_dirs() { return dir_entries(rig_->crid().runroot() + "/pods"); }

  grpc::Status run_pod(const std::string& name, bool cni, bool host_ipc, std::string* id,
                       std::chrono::seconds deadline = 60s) {
    v1::RunPodSandboxRequest req;
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_metadata()->set_namespace_("it");
    c->mutable_metadata()->set_uid("uid-" + name);
    c->set_hostname(name);
    auto* ns = c->mutable_linux()->mutable_security_context()->mutable_namespace_options();
    ns->set_network(cni ? v1::POD : v1::NODE);
    ns->set_ipc(host_ipc ? v1::NODE : v1::POD);
    ns->set_pid(v1::POD);  // a pause of its own
    v1::RunPodSandboxResponse resp;
    auto st = rig_->rt().RunPodSandbox(call_context(deadline).get(), req, &resp);
    *id = resp.pod_sandbox_id();
    return st;
  }

  void expect_pod_runs_and_goes(const std::string& name, bool cni, bool host_ipc) {
    std::string id;
    auto st = run_pod(name, cni, host_ipc, &id);
    ASSERT_TRUE(st.ok()) << "the name is free again: " << st.error_message();
    EXPECT_EQ(pauses_of(id).size(), 1u);
    ASSERT_TRUE(rig_->remove_pod(id).ok());
    EXPECT_EQ(pauses_of(id), std::vector<pid_t>{});
  }

};

// docs/status.md used to list this leak: a pod on the host's network and
// IPC namespaces has no pin to find its pause by.
TEST_F(RestartJournalTest, PauseOfAHostNamespacePodStartedJustBeforeTheKillIsKilledAtTheNextStart) {
  restart_with("pod-pause-started");
  std::string id;
  auto st = run_pod("hostpause", false, true, &id);
  EXPECT_FALSE(st.ok());
  expect_died_at("pod-pause-started");

  auto dirs = pod_dirs();
  ASSERT_EQ(dirs.size(), 1u);
  const std::string pod = dirs[0];
  auto leaked = pauses_of(pod);
  ASSERT_EQ(leaked.size(), 1u) << "the pause outlived the daemon";
  EXPECT_FALSE(fsys::exists(rig_->crid().runroot() + "/pods/" + pod + "/infra.pid"))
      << "killed before infra.pid was written";

  EXPECT_EQ(unfinished_operations(rig_->crid().root()), std::vector<std::string>{"pod-create " + pod});
  restart_with("");
  EXPECT_EQ(unfinished_operations(rig_->crid().root()), std::vector<std::string>{});
  EXPECT_FALSE(process_runs(leaked[0])) << "the next start killed the pause";
  EXPECT_EQ(pod_dirs(), std::vector<std::string>{});
  EXPECT_TRUE(rig_->pods().empty());
  EXPECT_NE(rig_->crid().log().find("undoing an interrupted RunPodSandbox of hostpause_it_"),
            std::string::npos);
  expect_pod_runs_and_goes("hostpause", false, true);
}

TEST_F(RestartJournalTest, PodKilledAfterCniAddHasItsAttachmentDeletedAtTheNextStart) {
  restart_with("pod-cni-added");
  std::string id;
  EXPECT_FALSE(run_pod("cnicut", true, false, &id).ok());
  expect_died_at("pod-cni-added");

  auto dirs = pod_dirs();
  ASSERT_EQ(dirs.size(), 1u);
  const std::string pod = dirs[0];
  auto leaked = pauses_of(pod);
  ASSERT_EQ(leaked.size(), 1u);
  ASSERT_EQ(rig_->net().allocations().size(), 1u) << "an IP was reserved";
  ASSERT_EQ(rig_->net().veths().size(), 1u);

  restart_with("");
  EXPECT_EQ(unfinished_operations(rig_->crid().root()), std::vector<std::string>{});
  EXPECT_FALSE(process_runs(leaked[0]));
  EXPECT_EQ(rig_->net().allocations(), std::vector<std::string>{});
  EXPECT_EQ(rig_->net().veths(), std::vector<std::string>{});
  EXPECT_EQ(dir_entries(rig_->crid().root() + "/cni-cache"), std::vector<std::string>{});
  EXPECT_EQ(mounts_under(rig_->crid().runroot()), std::vector<std::string>{});
  EXPECT_EQ(pod_dirs(), std::vector<std::string>{});
  EXPECT_TRUE(rig_->pods().empty());
  expect_pod_runs_and_goes("cnicut", true, false);
}

TEST_F(RestartJournalTest, ContainerKilledAfterTheRuntimeMadeItIsUndoneAtTheNextStart) {
  std::string pod;
  ASSERT_TRUE(rig_->run_pod("ctrcut", true, false, &pod).ok());
  restart_with("container-created");
  std::string ignored;
  EXPECT_FALSE(rig_->create(pod, "cut", {"/bin/sleep", "1000"}, RestartImages::get().image(),
                            &ignored)
                   .ok());
  expect_died_at("container-created");

  auto ctrs = dir_entries(rig_->crid().runroot() + "/containers");
  ASSERT_EQ(ctrs.size(), 1u);
  const std::string ctr = ctrs[0];
  auto monitors = rig_->conmons();
  ASSERT_EQ(monitors.size(), 1u) << "conmon outlived the daemon";
  pid_t conmon = monitors.begin()->first;
  EXPECT_EQ(rig_->runc_containers(), std::vector<std::string>{ctr});

  EXPECT_EQ(unfinished_operations(rig_->crid().root()),
            std::vector<std::string>{"container-create " + ctr});
  restart_with("");
  EXPECT_EQ(unfinished_operations(rig_->crid().root()), std::vector<std::string>{});
  EXPECT_FALSE(process_runs(conmon));
  EXPECT_TRUE(rig_->conmons().empty());
  EXPECT_EQ(rig_->runc_containers(), std::vector<std::string>{});
  EXPECT_EQ(dir_entries(rig_->crid().runroot() + "/containers"), std::vector<std::string>{});
  EXPECT_EQ(dir_entries(rig_->crid().root() + "/containers"), std::vector<std::string>{});
  EXPECT_TRUE(rig_->containers().empty());
  EXPECT_NE(rig_->crid().log().find("undoing an interrupted CreateContainer of " + pod + "/cut/0"),
            std::string::npos);
  for (auto& m : mounts_under(rig_->crid().root()))
    EXPECT_EQ(m.find(ctr), std::string::npos) << "rootfs still mounted: " << m;

  // The name is free, and the pod still works.
  std::string id;
  ASSERT_TRUE(rig_->create(pod, "cut", {"/bin/sleep", "1000"}, RestartImages::get().image(), &id).ok());
  ASSERT_TRUE(rig_->start(id).ok());
  int code = -1;
  EXPECT_EQ(rig_->exec(id, {"echo", "up"}, &code), "up\n");
  ASSERT_TRUE(rig_->remove_pod(pod).ok());
  EXPECT_TRUE(rig_->conmons().empty());
}

// Deadlines shorter than any set-up; a call whose deadline passes before the
// daemon even sees it is not made at all, so a few are tried until one
// reaches the daemon and is abandoned there (its log says so).
const std::vector<std::chrono::milliseconds> kShortDeadlines = {5ms, 20ms, 50ms, 100ms, 200ms};

// Polls the log for `line` (the first call finishing in the background).
bool log_shows(CridProcess& crid, const std::string& line, std::chrono::seconds limit = 20s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (crid.log().find(line) != std::string::npos) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST_F(RestartJournalTest, RetryAfterARestartGetsThePodAndContainerMadeForTheCallerThatGaveUp) {
  std::string pod, name;
  for (size_t i = 0; i < kShortDeadlines.size() && pod.empty(); ++i) {
    name = "slowboot" + std::to_string(i);
    std::string first;
    auto st = rig_->run_pod(name, true, false, &first, kShortDeadlines[i]);
    ASSERT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
    // The first call's log line comes last; wait for it before the kill.
    if (!log_shows(rig_->crid(), "it/" + name + "] ready (ips")) continue;  // never reached it
    if (rig_->crid().log().find("it/" + name + "] ready after its caller gave up") != std::string::npos) {
      auto pods = rig_->pods();
      ASSERT_EQ(pods.size(), 1u);
      pod = pods[0].id();
    } else {
      for (auto& p : rig_->pods()) ASSERT_TRUE(rig_->remove_pod(p.id()).ok());
    }
  }
  ASSERT_FALSE(pod.empty()) << "no RunPodSandbox outlived its caller";

  // The kubelet's retry reaches a daemon that never saw the first call.
  rig_->crid().stop(SIGKILL);
  restart_with("");
  std::string retried;
  auto st = rig_->run_pod(name, true, false, &retried);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(retried, pod);
  ASSERT_EQ(rig_->pods().size(), 1u) << "the retry made no second pod";
  std::string third;
  EXPECT_EQ(rig_->run_pod(name, true, false, &third).error_code(), grpc::StatusCode::ALREADY_EXISTS)
      << "only the abandoned call's pod is handed out, once";

  std::string ctr, cname;
  for (size_t i = 0; i < kShortDeadlines.size() && ctr.empty(); ++i) {
    cname = "slowbootc" + std::to_string(i);
    std::string ignored;
    st = rig_->create(pod, cname, {"/bin/sleep", "1000"}, RestartImages::get().image(), &ignored, {},
                      kShortDeadlines[i]);
    ASSERT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
    std::string prefix = "name=" + cname + " pod=" + pod.substr(0, 12) + "] created";
    if (!log_shows(rig_->crid(), prefix + " from")) continue;
    if (rig_->crid().log().find(prefix + " after its caller gave up") != std::string::npos) {
      auto ctrs = rig_->containers();
      ASSERT_EQ(ctrs.size(), 1u);
      ctr = ctrs[0].id();
    } else {
      for (auto& c : rig_->containers()) ASSERT_TRUE(rig_->remove(c.id()).ok());
    }
  }
  ASSERT_FALSE(ctr.empty()) << "no CreateContainer outlived its caller";

  rig_->crid().stop(SIGKILL);
  restart_with("");
  std::string again;
  st = rig_->create(pod, cname, {"/bin/sleep", "1000"}, RestartImages::get().image(), &again);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(again, ctr);
  ASSERT_EQ(rig_->containers().size(), 1u) << "the retry made no second container";
  std::string ignored;
  EXPECT_EQ(rig_->create(pod, cname, {"/bin/sleep", "1000"}, RestartImages::get().image(), &ignored)
                .error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  ASSERT_TRUE(rig_->start(ctr).ok());
  ASSERT_TRUE(rig_->stop(ctr, 0).ok());
  EXPECT_EQ(rig_->wait_exited(ctr, 30s).exit_code(), 137);
  ASSERT_TRUE(rig_->remove_pod(pod).ok());
  EXPECT_TRUE(rig_->conmons().empty());
}

}  // namespace
}  // namespace crid::testing
