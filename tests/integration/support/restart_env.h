// What the restart tests share: a crid on a CNI bridge of its own, with its
// runc state, cgroups and IPAM all under names private to the test (so
// leftovers can be told apart from other tests' objects on the host), a
// local registry with a container image and a few pullable images, short
// CRI helpers, and looks at the kernel for what a crid may leave behind.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/crid_process.h"
#include "support/registry.h"
#include "support/test_network.h"

namespace crid::testing {

// One registry for the whole binary: `image()` is a busybox image for
// containers; `pull_image(i)` are `pull_count()` images of distinct layers
// (each pull commits fresh layers) whose /fault-tag file says which one.
class RestartImages {
 public:
  static RestartImages& get();
  const std::string& error() const { return error_; }
  const LocalRegistry& registry() const { return registry_; }
  std::string image() const;
  int pull_count() const { return 3; }
  std::string pull_image(int i) const;

 private:
  RestartImages();
  LocalRegistry registry_;
  TempDir dir_{"crid-it-restart-images"};
  std::string error_;
};

// A crid whose every host-visible name is private: runc --root under the
// runroot (a reboot wipes it with the runroot), pods' cgroups under
// /<cgroup_parent()>, a bridge network of its own.
class RestartRig {
 public:
  RestartRig();
  ~RestartRig();

  CridProcess& crid() { return *crid_; }
  // Starts (or restarts) the daemon, allowing a long recovery on a busy
  // machine: CridProcess gives up after 30 s, this waits up to 3 minutes.
  bool start_daemon(std::string* error);
  TestNetwork& net() { return *net_; }
  v1::RuntimeService::Stub& rt() { return crid_->runtime(); }
  const std::string& cgroup_parent() const { return cgroup_parent_; }
  std::string runc_root() const { return crid_->runroot() + "/runc"; }

  // --- CRI helpers (errors come back as the status) ---
  // Pods are labelled net=cni|host and pid=pod|container.
  grpc::Status run_pod(const std::string& name, bool cni, bool pod_pid, std::string* id,
                       std::chrono::milliseconds deadline = std::chrono::seconds(60));
  grpc::Status create(const std::string& pod, const std::string& name,
                      const std::vector<std::string>& cmd, const std::string& image,
                      std::string* id, std::map<std::string, std::string> labels = {},
                      std::chrono::milliseconds deadline = std::chrono::seconds(60));
  grpc::Status start(const std::string& id);
  grpc::Status stop(const std::string& id, int64_t timeout);
  grpc::Status remove(const std::string& id);
  grpc::Status stop_pod(const std::string& id);
  grpc::Status remove_pod(const std::string& id);
  grpc::Status pod_status(const std::string& id, v1::PodSandboxStatusResponse* resp);
  grpc::Status status(const std::string& id, v1::ContainerStatusResponse* resp);
  grpc::Status pull(const std::string& ref);
  grpc::Status remove_image(const std::string& ref);
  std::vector<v1::PodSandbox> pods();
  std::vector<v1::Container> containers();
  // The container's init pid (verbose status), 0 if unknown.
  pid_t pid_of(const std::string& id);
  // Polls until the container is EXITED; its last status.
  v1::ContainerStatus wait_exited(const std::string& id, std::chrono::seconds limit);
  std::string exec(const std::string& id, const std::vector<std::string>& cmd, int* exit_code);
  void remove_everything();

  // --- the host's view ---
  // Processes (not zombies) other than conmon whose command line or
  // environment names this test's directory: CNI plugins, runtime
  // commands, conmon's first process: helpers of a daemon, not monitors.
  std::vector<pid_t> daemon_helpers() const;
  // conmon processes of this crid: pid -> container id.
  std::map<pid_t, std::string> conmons() const;
  // Containers runc knows under runc_root().
  std::vector<std::string> runc_containers() const;
  // cgroup directories under cgroup_parent() in every hierarchy.
  std::vector<std::string> cgroups() const;

 private:
  std::unique_ptr<CridProcess> crid_;
  std::unique_ptr<TestNetwork> net_;
  std::string cgroup_parent_;
};

// A test with a started RestartRig that has pulled RestartImages' image.
// TearDown prints the daemon's log (its tail) on failure and removes every
// pod the daemon still knows.
class RestartRigTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  std::unique_ptr<RestartRig> rig_;
};

// A process that runs (zombies count as gone).
bool process_runs(pid_t pid);
std::string cmdline_of(pid_t pid);
// Operations the journal of the daemon with this root holds unfinished
// ("pod-create <id>", ...): after a start-up, none should be left.
std::vector<std::string> unfinished_operations(const std::string& root);
// Running pauses of the crid under test, labelled with their pod
// (`crid pause <pod id>`): pid -> pod id.
std::map<pid_t, std::string> labelled_pauses();
std::string read_text(const std::string& path);

}  // namespace crid::testing
