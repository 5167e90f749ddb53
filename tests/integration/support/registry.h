// Debian's docker-registry (the CNCF distribution registry) on a free
// 127.0.0.1 port with its storage in a temporary dir; optionally behind
// htpasswd basic auth. Stopped (and reaped) on destruction.
#pragma once

#include <sys/types.h>

#include <string>

#include "support/crid_process.h"

namespace crid::testing {

class LocalRegistry {
 public:
  struct Options {
    std::string user;  // with a password: htpasswd (bcrypt) basic auth
    std::string password;
  };
  LocalRegistry() : LocalRegistry(Options{}) {}
  explicit LocalRegistry(Options opts);
  ~LocalRegistry();
  LocalRegistry(const LocalRegistry&) = delete;

  // Starts the registry and waits until /v2/ answers.
  bool start(std::string* error);
  void stop();

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + host(); }
  // The registry's log (one access-log line per request).
  std::string log() const;
  // Requests whose access-log line contains `needle` (e.g. "GET /v2/app/blobs/sha256:...").
  int count_requests(const std::string& needle) const;

 private:
  Options opts_;
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A TCP port on 127.0.0.1 that nothing listens on (at the time of the call).
int free_loopback_port();

}  // namespace crid::testing
