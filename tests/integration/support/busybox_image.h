// A busybox image for container tests with a config worth testing against
// (entrypoint, cmd, env, working dir, stop signal, volumes) and an
// /etc/passwd + /etc/group with a named user, served by a local registry
// and pulled by a crid under test.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "support/crid_process.h"
#include "support/registry.h"

namespace crid::testing {

struct ImageConfigSpec {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd{"/bin/sh"};
  std::vector<std::string> env{"PATH=/bin"};
  std::string working_dir;
  std::string user;
  std::string stop_signal;
  std::vector<std::string> volumes;
};

// Builds the image (busybox layer + a layer with passwd, group and the
// working dir) as an OCI layout under `dir` and pushes it to
// `<registry>/<repo>:latest`. Returns "" or the error.
std::string push_busybox_image(const std::string& dir, const LocalRegistry& registry,
                               const std::string& repo, const ImageConfigSpec& spec);

// A local registry serving one busybox image built from `spec` as
// `<registry>/<repo>:latest`, for a whole test binary (hold it in a
// function-local static). Without root nothing is started and error() is
// empty: the tests skip on CRID_REQUIRE_ROOT first.
class ServedImage {
 public:
  ServedImage(const std::string& repo, const ImageConfigSpec& spec);
  const std::string& error() const { return error_; }
  const LocalRegistry& registry() const { return registry_; }
  std::string image() const { return registry_.host() + "/" + repo_ + ":latest"; }

 private:
  std::string repo_;
  LocalRegistry registry_;
  TempDir dir_{"crid-it-image"};
  std::string error_;
};

// crid config (TOML) that lets it pull from `registry` over plain http.
std::string insecure_registry_conf(const LocalRegistry& registry);

// PullImage of `ref` through `crid`; returns "" or the error.
std::string pull_image(CridProcess& crid, const std::string& ref);

}  // namespace crid::testing
