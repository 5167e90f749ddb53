// A CNI bridge network private to one test: a unique bridge name and /24 in
// 10.x, host-local allocations under the test's own dir, and helpers that
// look for what a pod could leave behind (veths, IP allocations, mounts).
#pragma once

#include <string>
#include <vector>

#include "support/crid_process.h"

namespace crid::testing {

class TestNetwork {
 public:
  // Writes 10-<name>.conflist into `conf_dir` (bridge + host-local, then
  // `extra_plugins` as JSON objects, e.g. portmap).
  TestNetwork(const std::string& conf_dir, const TempDir& scratch,
              std::vector<std::string> extra_plugins = {R"({"type": "portmap",
                  "capabilities": {"portMappings": true}})"});
  ~TestNetwork();  // deletes the bridge

  const std::string& name() const { return name_; }
  const std::string& bridge() const { return bridge_; }
  const std::string& conflist_path() const { return conflist_; }
  const std::string& ipam_data_dir() const { return data_dir_; }
  std::string subnet_prefix() const { return prefix_; }  // "10.213.7."
  std::string gateway() const { return prefix_ + "1"; }

  // The conflist text with extra plugins (for tests that write variants).
  std::string conflist(const std::vector<std::string>& extra_plugins) const;

  // veths attached to the bridge right now.
  std::vector<std::string> veths() const;
  // host-local allocation files (one per allocated IP).
  std::vector<std::string> allocations() const;

 private:
  std::string name_, bridge_, prefix_, data_dir_, conflist_;
};

// Lines of /proc/self/mountinfo whose mount point lies under `dir`.
std::vector<std::string> mounts_under(const std::string& dir);

// Entries of a directory (empty when it does not exist).
std::vector<std::string> dir_entries(const std::string& dir);

}  // namespace crid::testing

namespace crid::testing {
// run_command with argv[0] looked up in the system directories ("ip",
// "nsenter", "busybox" ...), as a shell would.
CommandResult run_program(std::vector<std::string> argv, const std::string& input = "");
}  // namespace crid::testing
