// Restarts that are not crashes: a graceful SIGTERM (containers keep
// running and are reattached), a host reboot (root kept; runroot wiped or
// kept on disk), and the kubelet's retry of a RunPodSandbox or
// CreateContainer whose deadline passed while the daemon was still working
// on it.
#include <signal.h>
#include <sys/mount.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/restart_env.h"

namespace crid::testing {
namespace {

using namespace std::chrono_literals;
namespace fsys = std::filesystem;

class RestartTest : public RestartRigTest {
 protected:
  std::string run_pod(const std::string& name, bool cni, bool pod_pid = false) {
    std::string id;
    auto st = rig_->run_pod(name, cni, pod_pid, &id);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return id;
  }
  std::string run_ctr(const std::string& pod, const std::string& name, std::vector<std::string> cmd) {
    std::string id;
    auto st = rig_->create(pod, name, cmd, RestartImages::get().image(), &id);
    EXPECT_TRUE(st.ok()) << st.error_message();
    st = rig_->start(id);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return id;
  }
  pid_t pause_of(const std::string& pod) {
    v1::PodSandboxStatusResponse resp;
    if (!rig_->pod_status(pod, &resp).ok()) return 0;
    return nlohmann::json::parse(resp.info().at("info")).value("pid", 0);
  }

  void reboot_and_check(bool runroot_on_disk);

  // Everything of the daemon gone from the host after the pods are removed.
  void expect_nothing_left() {
    rig_->remove_everything();
    const std::string root = rig_->crid().root(), runroot = rig_->crid().runroot();
    EXPECT_EQ(mounts_under(root), std::vector<std::string>{});
    EXPECT_EQ(mounts_under(runroot), std::vector<std::string>{});
    EXPECT_EQ(dir_entries(runroot + "/pods"), std::vector<std::string>{});
    EXPECT_EQ(dir_entries(root + "/containers"), std::vector<std::string>{});
    EXPECT_EQ(dir_entries(runroot + "/containers"), std::vector<std::string>{});
    EXPECT_EQ(dir_entries(root + "/cni-cache"), std::vector<std::string>{});
    EXPECT_EQ(rig_->net().veths(), std::vector<std::string>{});
    EXPECT_EQ(rig_->net().allocations(), std::vector<std::string>{});
    EXPECT_TRUE(rig_->conmons().empty());
    EXPECT_EQ(rig_->runc_containers(), std::vector<std::string>{});
    for (auto& dir : rig_->cgroups())
      EXPECT_NE(fsys::path(dir).filename().string().rfind("crid-", 0), 0u) << dir << " is left";
  }
};

// The program exits 7 on SIGTERM, so its exit code proves who stopped it.
const std::vector<std::string> kTrapsTerm = {"/bin/sh", "-c",
                                             "trap 'exit 7' TERM; while true; do sleep 0.1; done"};

TEST_F(RestartTest, SigtermLeavesContainersRunningAndTheNextDaemonStopsThem) {
  std::string pod = run_pod("graceful", true);
  std::string traps = run_ctr(pod, "traps", kTrapsTerm);
  std::string sleeper = run_ctr(pod, "sleeper", {"/bin/sleep", "1000"});
  pid_t traps_pid = rig_->pid_of(traps), sleeper_pid = rig_->pid_of(sleeper);
  ASSERT_GT(traps_pid, 0);
  ASSERT_GT(sleeper_pid, 0);

  EXPECT_EQ(rig_->crid().stop(SIGTERM), 0);
  EXPECT_TRUE(process_runs(traps_pid));
  EXPECT_TRUE(process_runs(sleeper_pid));
  EXPECT_EQ(rig_->conmons().size(), 2u) << "monitors outlive the daemon";

  std::string err;
  ASSERT_TRUE(rig_->start_daemon(&err)) << err;
  v1::PodSandboxStatusResponse ps;
  ASSERT_TRUE(rig_->pod_status(pod, &ps).ok());
  EXPECT_EQ(ps.status().state(), v1::SANDBOX_READY);
  for (auto& id : {traps, sleeper}) {
    v1::ContainerStatusResponse cs;
    ASSERT_TRUE(rig_->status(id, &cs).ok());
    EXPECT_EQ(cs.status().state(), v1::CONTAINER_RUNNING) << id;
  }
  EXPECT_EQ(rig_->pid_of(traps), traps_pid);
  int code = -1;
  EXPECT_EQ(rig_->exec(sleeper, {"echo", "reattached"}, &code), "reattached\n");
  EXPECT_EQ(code, 0);

  ASSERT_TRUE(rig_->stop(traps, 10).ok());
  auto s = rig_->wait_exited(traps, 30s);
  EXPECT_EQ(s.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(s.exit_code(), 7);
  EXPECT_EQ(s.reason(), "Error");
  ASSERT_TRUE(rig_->stop(sleeper, 0).ok());
  EXPECT_EQ(rig_->wait_exited(sleeper, 30s).exit_code(), 137);
  EXPECT_FALSE(process_runs(traps_pid));
  EXPECT_FALSE(process_runs(sleeper_pid));
  expect_nothing_left();
}

// A host reboot as crid sees it: every process, mount and cgroup gone, the
// root and CNI's IPAM dir kept; the runroot wiped (a tmpfs, as /run is) or
// kept with its now plain pin files (a runroot on disk). Then: pods not
// ready, containers exited, nothing stale, and new pods run.
void RestartTest::reboot_and_check(bool runroot_on_disk) {
  std::string net_pod = run_pod("rebootnet", true);
  std::string pid_pod = run_pod("rebootpid", false, true);
  std::string a = run_ctr(net_pod, "a", {"/bin/sleep", "1000"});
  std::string b = run_ctr(pid_pod, "b", {"/bin/sleep", "1000"});
  std::string done = run_ctr(net_pod, "done", {"/bin/sh", "-c", "exit 5"});
  EXPECT_EQ(rig_->wait_exited(done, 30s).exit_code(), 5);
  ASSERT_EQ(rig_->net().allocations().size(), 1u);
  std::vector<pid_t> doomed{rig_->pid_of(a), rig_->pid_of(b), pause_of(pid_pod)};
  for (auto& [pid, id] : rig_->conmons()) doomed.push_back(pid);

  // The reboot: the daemon and every process gone, every mount gone,
  // cgroups gone.
  rig_->crid().stop(SIGKILL);
  for (pid_t p : doomed) ASSERT_EQ(::kill(p, SIGKILL), 0) << p;
  for (pid_t p : doomed)
    for (int i = 0; i < 500 && process_runs(p); ++i) std::this_thread::sleep_for(10ms);
  const std::string root = rig_->crid().root(), runroot = rig_->crid().runroot();
  for (const auto& dir : {runroot, root}) {
    auto mounts = mounts_under(dir);
    std::vector<std::string> points;
    for (auto& m : mounts) {
      std::istringstream f(m);
      std::string x, point;
      f >> x >> x >> x >> x >> point;
      points.push_back(point);
    }
    std::sort(points.rbegin(), points.rend());  // children first
    for (auto& p : points) ASSERT_EQ(::umount2(p.c_str(), MNT_DETACH), 0) << p;
  }
  if (!runroot_on_disk) fsys::remove_all(runroot);
  auto cgroups = rig_->cgroups();
  for (auto it = cgroups.rbegin(); it != cgroups.rend(); ++it) ::rmdir(it->c_str());
  ASSERT_EQ(rig_->net().veths(), std::vector<std::string>{}) << "the netns died with its pin";

  std::string err;
  ASSERT_TRUE(rig_->start_daemon(&err)) << err;
  for (auto& pod : {net_pod, pid_pod}) {
    v1::PodSandboxStatusResponse ps;
    ASSERT_TRUE(rig_->pod_status(pod, &ps).ok());
    EXPECT_EQ(ps.status().state(), v1::SANDBOX_NOTREADY) << pod;
    EXPECT_EQ(pause_of(pod), 0);
  }
  for (auto& id : {a, b}) {
    v1::ContainerStatusResponse cs;
    ASSERT_TRUE(rig_->status(id, &cs).ok());
    EXPECT_EQ(cs.status().state(), v1::CONTAINER_EXITED) << id;
    EXPECT_EQ(cs.status().reason(), "Error");
    EXPECT_NE(cs.status().message(), "");
    EXPECT_NE(cs.status().finished_at(), 0);
  }
  v1::ContainerStatusResponse cs;
  ASSERT_TRUE(rig_->status(done, &cs).ok());
  EXPECT_EQ(cs.status().exit_code(), 5) << "an exit recorded before the reboot stays";
  // Nothing stale: the IP the pod held is released, no pins, no cache.
  EXPECT_EQ(rig_->net().allocations(), std::vector<std::string>{});
  EXPECT_EQ(dir_entries(root + "/cni-cache"), std::vector<std::string>{});
  EXPECT_EQ(mounts_under(runroot), std::vector<std::string>{});
  // The pod can be stopped and removed, and new pods run.
  std::string id;
  EXPECT_EQ(rig_->create(net_pod, "late", {"/bin/true"}, RestartImages::get().image(), &id).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(rig_->stop_pod(net_pod).ok());
  std::string fresh = run_pod("afterboot", true);
  std::string c = run_ctr(fresh, "c", {"/bin/sleep", "1000"});
  int code = -1;
  EXPECT_EQ(rig_->exec(c, {"echo", "up"}, &code), "up\n");
  expect_nothing_left();
}

TEST_F(RestartTest, RebootWipingTheRunrootLeavesExitedContainersAndNotReadyPods) {
  reboot_and_check(false);
}

// The pin files outlive their namespaces here: recovery must look at what a
// pin holds, not whether the file is there.
TEST_F(RestartTest, RebootKeepingARunrootOnDiskLeavesExitedContainersAndNotReadyPods) {
  reboot_and_check(true);
}

// Deadlines shorter than any set-up; a call whose deadline passes before the
// daemon even sees it is simply not made, so a few are tried until one
// reaches the daemon and is abandoned there (its log says so).
const std::vector<std::chrono::milliseconds> kShortDeadlines = {1ms, 1ms, 5ms, 20ms, 50ms};

TEST_F(RestartTest, RetryAfterTheCallersDeadlineGetsTheObjectMadeMeanwhile) {
  std::string pod, name;
  for (size_t i = 0; i < kShortDeadlines.size() && pod.empty(); ++i) {
    name = "slow" + std::to_string(i);
    std::string first;
    auto st = rig_->run_pod(name, true, false, &first, kShortDeadlines[i]);
    ASSERT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
    std::string retried;
    st = rig_->run_pod(name, true, false, &retried);
    ASSERT_TRUE(st.ok()) << st.error_message();
    if (rig_->crid().log().find("it/" + name + "] ready after its caller gave up") != std::string::npos) {
      pod = retried;
    } else {
      ASSERT_TRUE(rig_->remove_pod(retried).ok());
    }
  }
  ASSERT_FALSE(pod.empty()) << "no RunPodSandbox outlived its caller";
  auto pods = rig_->pods();
  ASSERT_EQ(pods.size(), 1u) << "the retry made no second pod";
  EXPECT_EQ(pods[0].id(), pod);
  EXPECT_EQ(pods[0].state(), v1::SANDBOX_READY);
  // Only the abandoned call's pod is handed out: a third Run is a conflict.
  std::string third;
  EXPECT_EQ(rig_->run_pod(name, true, false, &third).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  std::string ctr, cname;
  for (size_t i = 0; i < kShortDeadlines.size() && ctr.empty(); ++i) {
    cname = "slowc" + std::to_string(i);
    std::string ignored, retried;
    auto st = rig_->create(pod, cname, {"/bin/sleep", "1000"}, RestartImages::get().image(), &ignored, {},
                           kShortDeadlines[i]);
    ASSERT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
    st = rig_->create(pod, cname, {"/bin/sleep", "1000"}, RestartImages::get().image(), &retried);
    ASSERT_TRUE(st.ok()) << st.error_message();
    if (rig_->crid().log().find("name=" + cname + " pod=" + pod.substr(0, 12) +
                                "] created after its caller gave up") != std::string::npos) {
      ctr = retried;
    } else {
      ASSERT_TRUE(rig_->remove(retried).ok());
    }
  }
  ASSERT_FALSE(ctr.empty()) << "no CreateContainer outlived its caller";
  auto ctrs = rig_->containers();
  ASSERT_EQ(ctrs.size(), 1u) << "the retry made no second container";
  EXPECT_EQ(ctrs[0].id(), ctr);
  std::string ignored;
  EXPECT_EQ(rig_->create(pod, cname, {"/bin/sleep", "1000"}, RestartImages::get().image(), &ignored)
                .error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  ASSERT_TRUE(rig_->start(ctr).ok());
  ASSERT_TRUE(rig_->stop(ctr, 0).ok());
  EXPECT_EQ(rig_->wait_exited(ctr, 30s).exit_code(), 137);
  expect_nothing_left();
}

TEST_F(RestartTest, ImageWithALostLayerIsDroppedAtStartAndPullsAgain) {
  const std::string layers = rig_->crid().root() + "/layers";
  auto before = dir_entries(layers);
  std::string ref = RestartImages::get().pull_image(1);
  ASSERT_TRUE(rig_->pull(ref).ok());
  std::vector<std::string> added;
  for (auto& e : dir_entries(layers))
    if (std::find(before.begin(), before.end(), e) == before.end() && e.size() == 64) added.push_back(e);
  ASSERT_EQ(added.size(), 1u) << "the image's own layer";
  EXPECT_EQ(rig_->crid().stop(SIGTERM), 0);
  fsys::remove_all(layers + "/" + added[0]);
  std::string err;
  ASSERT_TRUE(rig_->start_daemon(&err)) << err;

  v1::ImageStatusRequest req;
  req.mutable_image()->set_image(ref);
  v1::ImageStatusResponse resp;
  ASSERT_TRUE(rig_->crid().images().ImageStatus(call_context().get(), req, &resp).ok());
  EXPECT_FALSE(resp.has_image()) << "a broken image is not served";
  EXPECT_NE(rig_->crid().log().find("lost its layer"), std::string::npos);
  // The main image is untouched, and the broken one comes back whole.
  req.mutable_image()->set_image(RestartImages::get().image());
  ASSERT_TRUE(rig_->crid().images().ImageStatus(call_context().get(), req, &resp).ok());
  EXPECT_TRUE(resp.has_image());
  ASSERT_TRUE(rig_->pull(ref).ok());
  std::string pod = run_pod("relayer", false), ctr;
  ASSERT_TRUE(rig_->create(pod, "tag", {"/bin/cat", "/fault-tag"}, ref, &ctr).ok());
  ASSERT_TRUE(rig_->start(ctr).ok());
  EXPECT_EQ(rig_->wait_exited(ctr, 30s).exit_code(), 0);
  expect_nothing_left();
}

}  // namespace
}  // namespace crid::testing
