#include "support/crid_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "util/process.h"

extern char** environ;

namespace crid::testing {

TempDir::TempDir(const std::string& prefix) {
  // Short paths: unix socket paths must fit in 108 bytes.
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& rel, const std::string& text) const {
  std::string p = file(rel);
  std::filesystem::create_directories(std::filesystem::path(p).parent_path());
  std::ofstream(p) << text;
  return p;
}

std::string crid_binary() { return CRID_BINARY; }

namespace {
// gRPC's C++ client only notices a server's GOAWAY when its backup poller
// runs (every 5 s by default), which would make every graceful shutdown in
// these tests wait for it. The kubelet's Go client has no such delay.
const bool kFastClientPolling = [] {
  ::setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "50", 0);
  return true;
}();
}  // namespace

std::shared_ptr<grpc::Channel> connect_cri(const std::string& target) {
  grpc::ChannelArguments args;
  // A fresh connection per daemon start, retried quickly while it comes up.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

CridProcess::CridProcess(std::string extra_config, std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)) {
  root_ = dir_.file("root");
  runroot_ = dir_.file("run");
  socket_ = dir_.file("run/crid.sock");
  cni_conf_dir_ = dir_.file("cni");
  log_path_ = dir_.file("crid.log");
  std::filesystem::create_directories(cni_conf_dir_);
  std::string conf = "root = \"" + root_ + "\"\nrunroot = \"" + runroot_ + "\"\nlisten = \"" +
                     socket_ + "\"\nlog_level = \"debug\"\n" + extra_config;
  // The network section is appended only if the test did not set it.
  if (extra_config.find("[network]") == std::string::npos)
    conf += "\n[network]\ncni_conf_dir = \"" + cni_conf_dir_ + "\"\n";
  config_path_ = dir_.write("crid.conf", conf);
}

CridProcess::~CridProcess() {
  if (pid_ > 0) stop(SIGKILL);
}

bool CridProcess::start(std::string* error) {
  std::vector<std::string> args = launch_prefix_;
  for (auto a : {crid_binary(), std::string("--config"), config_path_, std::string("--config-dir"),
                 dir_.file("crid.conf.d")})
    args.push_back(a);
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    if (error) *error = "posix_spawn failed";
    pid_ = -1;
    return false;
  }
  channel_ = connect_cri("unix://" + socket_);
  runtime_ = v1::RuntimeService::NewStub(channel_);
  images_ = v1::ImageService::NewStub(channel_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) {
      if (error) *error = "crid exited during start-up:\n" + log();
      return false;
    }
    if (std::filesystem::exists(socket_)) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      v1::VersionResponse resp;
      if (runtime_->Version(&ctx, v1::VersionRequest(), &resp).ok()) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (error) *error = "crid did not answer within 30s:\n" + log();
  return false;
}

std::vector<std::string> private_mount_namespace_without(const std::string& mount_point) {
  // sh's $0/$@ carry crid's argv through unchanged.
  return {"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
          "umount -l '" + mount_point + "' && exec \"$0\" \"$@\""};
}

bool CridProcess::running() {
  if (pid_ <= 0) return false;
  int status;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int CridProcess::stop(int sig, std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

std::string CridProcess::log() const {
  std::ifstream f(log_path_);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

v1::RuntimeService::Stub& CridProcess::runtime() { return *runtime_; }
v1::ImageService::Stub& CridProcess::images() { return *images_; }

std::unique_ptr<grpc::ClientContext> call_context(std::chrono::seconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

CommandResult run_command(const std::vector<std::string>& argv, const std::string& input) {
  SpawnOptions opts;
  opts.argv = argv;
  opts.stdin_data = input;
  opts.timeout = std::chrono::minutes(5);
  auto r = run_process(opts);
  if (!r) return {127, r.error().message()};
  return {r->timed_out ? 124 : (r->signal ? 128 + r->signal : r->exit_code), r->out + r->err};
}

}  // namespace crid::testing
