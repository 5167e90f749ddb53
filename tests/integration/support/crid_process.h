// A real crid daemon for integration tests: its own temporary root, runroot,
// socket and config, talked to through the generated CRI stubs.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "runtime/v1/api.grpc.pb.h"

namespace crid::testing {

namespace v1 = ::runtime::v1;

// A directory removed (with everything under it) when the object dies.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "crid-it");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& rel) const { return path_ + "/" + rel; }
  // Writes `text` to path()/rel, creating parent dirs.
  std::string write(const std::string& rel, const std::string& text) const;

 private:
  std::string path_;
};

// Skips the current test unless running as root (integration tests need it).
#define CRID_REQUIRE_ROOT()                                        \
  do {                                                             \
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";            \
  } while (0)

class CridProcess {
 public:
  // `extra_config` is appended to the generated crid.conf (TOML).
  explicit CridProcess(std::string extra_config = "", std::vector<std::string> extra_args = {});
  ~CridProcess();

  // Starts the daemon and waits until its socket answers Version.
  // Returns false (with the log in `error`) if it exits or times out.
  bool start(std::string* error = nullptr);
  // Sends `sig` and waits for exit; returns the exit status (or -signal).
  int stop(int sig = SIGTERM, std::chrono::seconds timeout = std::chrono::seconds(20));
  bool running();

  // Runs the daemon through `prefix` (argv words put before crid's own), e.g.
  // a private mount namespace: see private_mount_namespace_without().
  void set_launch_prefix(std::vector<std::string> prefix) { launch_prefix_ = std::move(prefix); }

  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  const std::string& root() const { return root_; }
  const std::string& runroot() const { return runroot_; }
  const std::string& cni_conf_dir() const { return cni_conf_dir_; }
  const std::string& config_path() const { return config_path_; }
  const TempDir& dir() const { return dir_; }
  std::string log() const;

  v1::RuntimeService::Stub& runtime();
  v1::ImageService::Stub& images();

 private:
  TempDir dir_;
  std::string root_, runroot_, socket_, cni_conf_dir_, config_path_, log_path_;
  std::vector<std::string> extra_args_;
  std::vector<std::string> launch_prefix_;
  pid_t pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<v1::ImageService::Stub> images_;
};

// A launch prefix that starts crid in a private mount namespace in which
// `mount_point` is unmounted first (e.g. "/sys/fs/cgroup/unified": crun 1.8
// refuses a hybrid cgroup layout). The daemon keeps its pid (unshare and sh
// exec), but its mounts are visible only in /proc/<pid>/mountinfo.
std::vector<std::string> private_mount_namespace_without(const std::string& mount_point);

// A ClientContext with a deadline, for one call.
std::unique_ptr<grpc::ClientContext> call_context(
    std::chrono::seconds timeout = std::chrono::seconds(60));

// Runs a command, returning its exit status and (merged) output.
struct CommandResult {
  int status;
  std::string output;
};
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = "");

// A CRI channel tuned for tests (fast reconnects to restarted daemons).
std::shared_ptr<grpc::Channel> connect_cri(const std::string& target);

// The crid binary under test.
std::string crid_binary();

}  // namespace crid::testing
