#include "support/registry.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace crid::testing {

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

namespace {

// Status code of GET <url>, or 0 when nothing answers.
int http_status(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return 0;
  }
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  char buf[64] = {};
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n < 12) return 0;
  return std::atoi(buf + 9);
}

}  // namespace

LocalRegistry::LocalRegistry(Options opts) : opts_(std::move(opts)), dir_("crid-registry") {}

LocalRegistry::~LocalRegistry() { stop(); }

bool LocalRegistry::start(std::string* error) {
  port_ = free_loopback_port();
  std::string auth;
  if (!opts_.user.empty()) {
    auto r = run_command({"/usr/bin/htpasswd", "-Bbn", opts_.user, opts_.password});
    if (r.status != 0) {
      if (error) *error = "htpasswd (apache2-utils) failed: " + r.output;
      return false;
    }
    dir_.write("htpasswd", r.output);
    auth = "auth:\n  htpasswd:\n    realm: crid-test\n    path: " + dir_.file("htpasswd") + "\n";
  }
  std::string config = "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n"
                       "storage:\n  filesystem:\n    rootdirectory: " + dir_.file("data") +
                       "\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:" + std::to_string(port_) +
                       "\n" + auth;
  dir_.write("config.yml", config);
  std::string log = dir_.file("registry.log");
  std::vector<std::string> args = {"/usr/bin/docker-registry", "serve", dir_.file("config.yml")};
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    pid_ = -1;
    if (error) *error = "cannot start /usr/bin/docker-registry";
    return false;
  }
  for (int i = 0; i < 200; ++i) {
    int st = http_status(port_, "/v2/");
    if (st == 200 || st == 401) return true;
    int wst;
    if (::waitpid(pid_, &wst, WNOHANG) == pid_) {
      pid_ = -1;
      if (error) *error = "docker-registry exited: " + this->log();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (error) *error = "docker-registry did not answer on " + host() + ": " + this->log();
  stop();
  return false;
}

void LocalRegistry::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string LocalRegistry::log() const {
  std::ifstream f(dir_.file("registry.log"));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int LocalRegistry::count_requests(const std::string& needle) const {
  std::istringstream in(log());
  std::string line;
  int n = 0;
  // Access-log lines look like: 127.0.0.1 - - [...] "GET /v2/... HTTP/1.1" 200 ...
  while (std::getline(in, line))
    if (line.find("\"" + needle) != std::string::npos && line.find(" HTTP/1.1\"") != std::string::npos) ++n;
  return n;
}

}  // namespace crid::testing
