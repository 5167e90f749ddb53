// Fault injection: worker threads drive a random mix of pulls and pod and
// container lifecycles against a real crid; the daemon is SIGKILLed at a
// random instant (sometimes a conmon or a container process too), started
// again on the same root, and the invariants are checked through CRI and
// through the kernel: everything is either fully there and controllable or
// fully gone, with nothing leaked (mounts, pins, veths, IPs, cgroups,
// processes, runtime state). Seeded: the seed is printed, and
// CRID_FAULT_SEED replays it; CRID_FAULT_ITERATIONS raises the count
// (25 by default, so CI runs it in a few minutes).
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/restart_env.h"

namespace crid::testing {
namespace {

using namespace std::chrono_literals;
namespace fsys = std::filesystem;

// Pods the workers keep alive at most; beyond it they remove old ones.
constexpr size_t kMaxPods = 8;

int env_int(const char* name, int fallback) {
  const char* v = ::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// The 64-hex id after `marker` ("/containers/", "/pods/") in `path`, or "".
std::string id_after(const std::string& path, const std::string& marker) {
  auto at = path.find(marker);
  if (at == std::string::npos) return "";
  return path.substr(at + marker.size(), 64);
}

std::string mount_point(const std::string& mountinfo_line) {
  std::istringstream fields(mountinfo_line);
  std::string id, parent, dev, root, point;
  fields >> id >> parent >> dev >> root >> point;
  return point;
}

class RestartFaultTest : public RestartRigTest {
 protected:
  // Counts a passed check; reports a failed one.
  void check(bool ok, const std::string& what) {
    if (ok) {
      ++checks_;
    } else {
      ADD_FAILURE() << "[iteration " << iteration_ << ", seed " << seed_ << "] " << what;
    }
  }

  // A call made while the daemon was certainly alive must not fail, except
  // that another worker may have removed or stopped the pod meanwhile
  // (`pod_may_go`: NotFound / FailedPrecondition are then right answers).
  void worker_call(const grpc::Status& st, const std::string& what, bool pod_may_go = true) {
    if (st.ok() || killed_.load()) return;
    if (pod_may_go && (st.error_code() == grpc::StatusCode::NOT_FOUND ||
                       st.error_code() == grpc::StatusCode::FAILED_PRECONDITION))
      return;
    std::lock_guard lock(mu_);
    worker_errors_.push_back(what + ": " + st.error_message());
  }

  void worker(uint32_t seed) {
    std::mt19937 r(seed);
    auto& images = RestartImages::get();
    while (!stop_.load()) {
      int op = static_cast<int>(r() % 10);
      if (op < 2) {
        std::string ref = images.pull_image(static_cast<int>(r() % images.pull_count()));
        worker_call(rig_->pull(ref), "pulling " + ref, false);
      } else if (op < 3) {
        std::string ref = images.pull_image(static_cast<int>(r() % images.pull_count()));
        auto st = rig_->remove_image(ref);
        if (st.error_code() != grpc::StatusCode::NOT_FOUND) worker_call(st, "removing image " + ref);
      } else {
        pod_lifecycle(r);
      }
    }
  }

  void pod_lifecycle(std::mt19937& r) {
    v1::ListPodSandboxResponse list;
    if (!rig_->rt().ListPodSandbox(call_context().get(), {}, &list).ok()) return;
    if (list.items_size() >= static_cast<int>(kMaxPods)) {
      const auto& victim = list.items(static_cast<int>(r() % list.items_size()));
      worker_call(rig_->remove_pod(victim.id()), "removing pod " + victim.id());
      return;
    }
    std::string name;
    {
      std::lock_guard lock(mu_);
      name = "f" + std::to_string(names_++);
    }
    bool cni = r() % 3 != 0;
    bool pod_pid = r() % 3 == 0;
    std::string pod;
    auto st = rig_->run_pod(name, cni, pod_pid, &pod);
    worker_call(st, "running pod " + name, false);
    if (!st.ok()) return;
    std::vector<std::string> ctrs;
    int n = 1 + static_cast<int>(r() % 2);
    for (int i = 0; i < n && !stop_.load(); ++i) {
      bool quick = r() % 2;
      std::vector<std::string> cmd =
          quick ? std::vector<std::string>{"/bin/sh", "-c", "sleep 0." + std::to_string(r() % 9 + 1) + "; exit 3"}
                : std::vector<std::string>{"/bin/sleep", "1000"};
      std::string id;
      st = rig_->create(pod, "c" + std::to_string(i), cmd, RestartImages::get().image(), &id,
                        {{"expect", quick ? "3" : "none"}});
      worker_call(st, "creating a container in pod " + name);
      if (!st.ok()) return;
      ctrs.push_back(id);
      if (r() % 4) {
        st = rig_->start(id);
        worker_call(st, "starting container " + id);
        if (!st.ok()) return;
      }
    }
    switch (r() % 4) {
      case 0: return;  // left running
      case 1:
        for (auto& id : ctrs) {
          worker_call(rig_->stop(id, 0), "stopping container " + id);
          if (r() % 2) worker_call(rig_->remove(id), "removing container " + id);
        }
        return;
      case 2: worker_call(rig_->stop_pod(pod), "stopping pod " + name); return;
      default: worker_call(rig_->remove_pod(pod), "removing pod " + name); return;
    }
  }

  // runc's view of a container: status and pid.
  std::pair<std::string, pid_t> runc_state(const std::string& id) {
    auto r = run_program({"runc", "--root", rig_->runc_root(), "state", id});
    if (r.status != 0) return {"", 0};
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    if (j.is_discarded()) return {"", 0};
    return {j.value("status", ""), j.value("pid", 0)};
  }

  // While no daemon runs: SIGKILL a container's process or its conmon.
  void extra_fault(std::mt19937& r) {
    auto conmons = rig_->conmons();
    std::vector<std::pair<pid_t, std::string>> running;
    for (auto& [pid, id] : conmons)
      if (runc_state(id).first == "running") running.push_back({pid, id});
    if (running.empty()) return;
    auto [conmon, id] = running[r() % running.size()];
    if (r() % 2) {
      pid_t pid = runc_state(id).second;
      if (pid > 0 && ::kill(pid, SIGKILL) == 0) {
        killed_ctrs_.insert(id);
        ++extra_faults_;
        for (int i = 0; i < 200 && process_runs(pid); ++i) std::this_thread::sleep_for(10ms);
      }
    } else if (::kill(conmon, SIGKILL) == 0) {
      killed_conmons_.insert(id);
      ++extra_faults_;
      for (int i = 0; i < 200 && process_runs(conmon); ++i) std::this_thread::sleep_for(10ms);
    }
  }

  // What systemd does to a dead daemon's cgroup, or waiting for the
  // helpers to finish their work: both happen on real nodes.
  void settle_helpers(bool kill_them) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
      auto helpers = rig_->daemon_helpers();
      if (helpers.empty()) return;
      if (kill_them || std::chrono::steady_clock::now() > deadline) {
        for (pid_t p : helpers) ::kill(p, SIGKILL);
        kill_them = true;
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  void check_invariants(std::mt19937& r) {
    auto pods = rig_->pods();
    auto ctrs = rig_->containers();
    std::map<std::string, v1::PodSandbox> pod_by_id;
    for (auto& p : pods) pod_by_id[p.id()] = p;
    std::set<std::string> ctr_ids;
    for (auto& c : ctrs) ctr_ids.insert(c.id());
    const std::string root = rig_->crid().root(), runroot = rig_->crid().runroot();

    size_t ready_cni = 0;
    std::set<std::string> ready_cni_ids;
    for (auto& p : pods) {
      v1::PodSandboxStatusResponse resp;
      auto st = rig_->pod_status(p.id(), &resp);
      check(st.ok(), "status of pod " + p.id() + ": " + st.error_message());
      if (!st.ok()) continue;
      auto info = nlohmann::json::parse(resp.info().at("info"), nullptr, false);
      bool ready = resp.status().state() == v1::SANDBOX_READY;
      bool cni = p.labels().at("net") == "cni";
      bool pod_pid = p.labels().at("pid") == "pod";
      std::string pins = runroot + "/pods/" + p.id() + "/ns";
      if (ready) {
        check(fsys::exists(runroot + "/pods/" + p.id()), "ready pod " + p.id() + " has its dir");
        if (cni) {
          ++ready_cni;
          ready_cni_ids.insert(p.id());
          check(!mounts_under(pins + "/net").empty(), "ready pod " + p.id() + " has its netns pinned");
          check(!resp.status().network().ip().empty(), "ready pod " + p.id() + " has an IP");
        }
        if (pod_pid) check(process_runs(info.value("pid", 0)), "ready pod " + p.id() + " has its pause");
      } else {
        check(mounts_under(runroot + "/pods/" + p.id()).empty(),
              "stopped pod " + p.id() + " holds no pins or shm");
        check(info.value("pid", 0) == 0, "stopped pod " + p.id() + " has no pause");
        check(!fsys::exists(root + "/cni-cache/" + p.id() + ".json"),
              "stopped pod " + p.id() + " has no CNI attachment");
      }
    }

    check(unfinished_operations(root).empty(),
          "the journal is empty after start-up (every interrupted create undone)");
    // No pause outlives its pod's readiness (a RunPodSandbox cut after the
    // pause started is undone from the operations journal).
    std::set<std::string> ready_pid_pods;
    for (auto& p : pods)
      if (p.state() == v1::SANDBOX_READY && p.labels().at("pid") == "pod") ready_pid_pods.insert(p.id());
    for (auto& [pid, pod] : labelled_pauses())
      if (seen_pods_.count(pod))
        check(ready_pid_pods.count(pod) == 1,
              "pause " + std::to_string(pid) + " of pod " + pod + " runs, the pod is not ready");

    std::vector<std::string> running;
    for (auto& c : ctrs) {
      const std::string& id = c.id();
      check(pod_by_id.count(c.pod_sandbox_id()) == 1, "container " + id + " belongs to a listed pod");
      v1::ContainerStatusResponse resp;
      auto st = rig_->status(id, &resp);
      check(st.ok(), "status of container " + id + ": " + st.error_message());
      if (!st.ok()) continue;
      const auto& s = resp.status();
      check(fsys::exists(root + "/containers/" + id), "container " + id + " has its storage");
      auto [rstate, rpid] = runc_state(id);
      bool exits_by_itself = s.labels().count("expect") && s.labels().at("expect") == "3";
      if (s.state() == v1::CONTAINER_RUNNING && exits_by_itself &&
          !(process_runs(rig_->pid_of(id)) && rstate == "running")) {
        // A quick container may end between its status and this look: then
        // crid must report its exit, with its own code, soon after.
        bool reported = false;
        for (int i = 0; i < 100 && !reported; ++i) {
          v1::ContainerStatusResponse again;
          bool killed = killed_ctrs_.count(id) || killed_conmons_.count(id);
          reported = rig_->status(id, &again).ok() &&
                     again.status().state() == v1::CONTAINER_EXITED &&
                     (again.status().exit_code() == 3 || killed);
          if (!reported) std::this_thread::sleep_for(50ms);
        }
        check(reported, "quick container " + id + " whose process ended is reported exited");
      } else if (s.state() == v1::CONTAINER_RUNNING) {
        pid_t pid = rig_->pid_of(id);
        check(process_runs(pid), "running container " + id + " has a live process");
        check(rstate == "running", "runc says running container " + id + " runs (" + rstate + ")");
        running.push_back(id);
      } else if (s.state() == v1::CONTAINER_CREATED) {
        check(rstate == "created", "runc holds created container " + id + " (" + rstate + ")");
      } else if (s.state() == v1::CONTAINER_EXITED) {
        check(rstate != "running", "exited container " + id + " does not run");
        int code = s.exit_code();
        std::string expect = s.labels().count("expect") ? s.labels().at("expect") : "";
        if (killed_ctrs_.count(id)) {
          check(code == 137, "container " + id + " SIGKILLed while no daemon ran exited 137, not " +
                                 std::to_string(code));
        } else if (killed_conmons_.count(id)) {
          check(code == 137 || code == -1, "container " + id + " whose conmon died: " +
                                               std::to_string(code) + " " + s.message());
        } else {
          bool ok = code == 137 || code == 143 || (expect == "3" && code == 3);
          check(ok, "container " + id + " (expect " + expect + ") exit code " + std::to_string(code) +
                        " " + s.reason() + " " + s.message());
        }
        check(!s.reason().empty(), "exited container " + id + " has a reason");
      } else {
        check(false, "container " + id + " is in state " + std::to_string(s.state()));
      }
    }

    // Controllable: running sleepers (the others may be exiting by
    // themselves right now) answer exec and stop with 137.
    std::shuffle(running.begin(), running.end(), r);
    bool execed = false;
    for (size_t i = 0; i < running.size(); ++i) {
      const std::string& id = running[i];
      auto found = std::find_if(ctrs.begin(), ctrs.end(), [&](auto& c) { return c.id() == id; });
      if (found == ctrs.end() || found->labels().at("expect") != "none") continue;
      if (!execed) {
        execed = true;
        int code = 0;
        std::string out = rig_->exec(id, {"echo", "alive"}, &code);
        check(code == 0 && out == "alive\n", "exec in running container " + id + ": " + out);
      }
      if (r() % 2) continue;
      auto st = rig_->stop(id, 0);
      check(st.ok(), "stopping container " + id + ": " + st.error_message());
      auto s = rig_->wait_exited(id, 60s);
      check(s.state() == v1::CONTAINER_EXITED && s.exit_code() == 137,
            "stopped container " + id + " exited 137, not " + std::to_string(s.exit_code()));
    }

    // Nothing without an owner.
    for (auto& e : dir_entries(runroot + "/pods"))
      check(pod_by_id.count(e) == 1, "pod dir " + e + " belongs to a listed pod");
    for (auto& e : dir_entries(root + "/containers"))
      check(ctr_ids.count(e) == 1, "container storage " + e + " belongs to a listed container");
    for (auto& e : dir_entries(runroot + "/containers"))
      check(ctr_ids.count(e) == 1, "bundle " + e + " belongs to a listed container");
    for (auto& e : dir_entries(root + "/cni-cache"))
      check(ready_cni_ids.count(e.substr(0, 64)) == 1, "CNI cache entry " + e + " belongs to a ready pod");
    for (const auto& dir : {root, runroot}) {
      for (auto& line : mounts_under(dir)) {
        std::string point = mount_point(line);
        std::string cid = id_after(point, "/containers/"), pid = id_after(point, "/pods/");
        bool owned = (!cid.empty() && ctr_ids.count(cid)) ||
                     (!pid.empty() && pod_by_id.count(pid) &&
                      pod_by_id[pid].state() == v1::SANDBOX_READY);
        check(owned, "mount " + point + " belongs to a listed container or ready pod");
      }
    }
    check(rig_->net().veths().size() == ready_cni,
          "veths on the bridge (" + std::to_string(rig_->net().veths().size()) + ") = ready CNI pods (" +
              std::to_string(ready_cni) + ")");
    auto allocations = rig_->net().allocations();
    check(allocations.size() == ready_cni, "host-local reservations (" + std::to_string(allocations.size()) +
                                               ") = ready CNI pods (" + std::to_string(ready_cni) + ")");
    for (auto& a : allocations) {
      std::string owner = read_text(rig_->net().ipam_data_dir() + "/" + rig_->net().name() + "/" + a);
      check(ready_cni_ids.count(owner.substr(0, 64)) == 1, "IP " + a + " is held by a ready pod");
    }
    for (auto& [pid, id] : rig_->conmons())
      check(ctr_ids.count(id) == 1, "conmon " + std::to_string(pid) + " monitors a listed container");
    for (auto& id : rig_->runc_containers())
      check(ctr_ids.count(id) == 1, "runc state " + id + " belongs to a listed container");
    for (auto& dir : rig_->cgroups()) {
      std::string name = fsys::path(dir).filename();
      check(name.starts_with("crid-") && ctr_ids.count(name.substr(5)) == 1,
            "cgroup " + dir + " belongs to a listed container");
    }

    // Images: every listed one answers, and a fresh pull runs.
    v1::ListImagesResponse images;
    check(rig_->crid().images().ListImages(call_context().get(), {}, &images).ok(), "ListImages answers");
    for (auto& img : images.images()) {
      v1::ImageStatusRequest req;
      req.mutable_image()->set_image(img.id());
      v1::ImageStatusResponse resp;
      auto st = rig_->crid().images().ImageStatus(call_context().get(), req, &resp);
      check(st.ok() && resp.has_image(), "image " + img.id() + " has a status");
    }
    int which = static_cast<int>(r() % RestartImages::get().pull_count());
    std::string ref = RestartImages::get().pull_image(which);
    auto st = rig_->pull(ref);
    check(st.ok(), "pulling " + ref + " after the restart: " + st.error_message());
    std::string pod, ctr;
    st = rig_->run_pod("img" + std::to_string(iteration_), false, false, &pod);
    check(st.ok(), "a pod runs after the restart: " + st.error_message());
    if (!st.ok()) return;
    st = rig_->create(pod, "tag", {"/bin/cat", "/fault-tag"}, ref, &ctr);
    check(st.ok(), "a container of " + ref + " is created: " + st.error_message());
    if (st.ok()) {
      check(rig_->start(ctr).ok(), "and starts");
      auto s = rig_->wait_exited(ctr, 60s);
      check(s.state() == v1::CONTAINER_EXITED && s.exit_code() == 0,
            "a container of " + ref + " exits 0, not " + std::to_string(s.exit_code()));
      std::string log = read_text(rig_->crid().dir().file("logs/img" + std::to_string(iteration_) + "/tag.log"));
      check(log.find("pull-" + std::to_string(which)) != std::string::npos, "its log shows the image's file: " + log);
    }
    check(rig_->remove_pod(pod).ok(), "the image pod is removed");
  }

  uint32_t seed_ = 0;
  int iteration_ = 0;
  size_t checks_ = 0;
  size_t extra_faults_ = 0;
  std::atomic<bool> stop_{false}, killed_{false};
  std::mutex mu_;
  int names_ = 0;
  std::vector<std::string> worker_errors_;
  std::set<std::string> killed_ctrs_, killed_conmons_;
  std::set<std::string> seen_pods_;
};

TEST_F(RestartFaultTest, SigkillAtRandomInstantsLosesAndLeaksNothing) {
  seed_ = static_cast<uint32_t>(env_int("CRID_FAULT_SEED", static_cast<int>(std::random_device()() & 0x7fffffff)));
  int iterations = env_int("CRID_FAULT_ITERATIONS", 25);
  std::cout << "[fault] seed " << seed_ << " (CRID_FAULT_SEED to replay), " << iterations << " iterations"
            << std::endl;
  std::mt19937 r(seed_);
  size_t kill_points = 0;
  for (iteration_ = 0; iteration_ < iterations && !HasFailure(); ++iteration_) {
    stop_ = false;
    killed_ = false;
    std::vector<std::thread> workers;
    for (int w = 0; w < 3; ++w) workers.emplace_back([this, s = r()] { worker(s); });
    auto delay = std::chrono::milliseconds(20 + r() % 2500);
    std::this_thread::sleep_for(delay);
    killed_ = true;
    rig_->crid().stop(SIGKILL);
    ++kill_points;
    // Every pod the daemon began, finished or not: a RunPodSandbox makes
    // the pod dir before its pause.
    for (auto& id : dir_entries(rig_->crid().runroot() + "/pods")) seen_pods_.insert(id);
    stop_ = true;
    for (auto& t : workers) t.join();
    {
      std::lock_guard lock(mu_);
      for (auto& e : worker_errors_) ADD_FAILURE() << "[iteration " << iteration_ << ", seed " << seed_
                                                   << "] with the daemon up: " << e;
      worker_errors_.clear();
    }
    settle_helpers(r() % 2);
    if (r() % 3 == 0) extra_fault(r);
    std::string err;
    ASSERT_TRUE(rig_->start_daemon(&err)) << err;
    size_t before = checks_;
    check_invariants(r);
    std::cout << "[fault] iteration " << iteration_ << ": killed after " << delay.count() << " ms, "
              << rig_->pods().size() << " pods, " << rig_->containers().size() << " containers, "
              << checks_ - before << " checks passed" << std::endl;
  }

  // The end: everything removed leaves nothing at all.
  rig_->remove_everything();
  const std::string root = rig_->crid().root(), runroot = rig_->crid().runroot();
  check(rig_->containers().empty(), "no container is left");
  check(mounts_under(root).empty() && mounts_under(runroot).empty(), "no mount is left");
  check(dir_entries(runroot + "/pods").empty(), "no pod dir is left");
  check(dir_entries(root + "/containers").empty(), "no container storage is left");
  check(dir_entries(runroot + "/containers").empty(), "no bundle is left");
  check(dir_entries(root + "/cni-cache").empty(), "no CNI cache entry is left");
  check(rig_->net().veths().empty(), "no veth is left");
  check(rig_->net().allocations().empty(), "no IP reservation is left");
  check(rig_->conmons().empty(), "no conmon is left");
  check(rig_->runc_containers().empty(), "no runc state is left");
  for (auto& dir : rig_->cgroups())
    check(fsys::path(dir).filename().string().rfind("crid-", 0) != 0, "cgroup " + dir + " is removed");
  for (int i = 0; i < RestartImages::get().pull_count(); ++i)
    (void)rig_->remove_image(RestartImages::get().pull_image(i));
  // How many kills landed inside a create the journal then undid (the log
  // accumulates over the restarts).
  auto count = [log = rig_->crid().log()](const std::string& what) {
    size_t n = 0;
    for (auto at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
    return n;
  };
  rig_->crid().stop(SIGTERM);
  std::cout << "[fault] seed " << seed_ << ": " << kill_points << " daemon kill points, " << extra_faults_
            << " conmon/container kills, " << checks_ << " invariant checks passed; undone from the "
            << "journal: " << count("undoing an interrupted RunPodSandbox") << " pod and "
            << count("undoing an interrupted CreateContainer") << " container creates" << std::endl;
}

}  // namespace
}  // namespace crid::testing
