#include "support/test_network.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace crid::testing {

namespace {

std::string random_hex(int n) {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < n; i++) out += "0123456789abcdef"[rd() % 16];
  return out;
}

}  // namespace

TestNetwork::TestNetwork(const std::string& conf_dir, const TempDir& scratch,
                         std::vector<std::string> extra_plugins) {
  std::string tag = random_hex(6);
  name_ = "crid-it-" + tag;
  bridge_ = "crt" + tag;  // 9 chars: within IFNAMSIZ
  std::random_device rd;
  prefix_ = "10." + std::to_string(200 + rd() % 50) + "." + std::to_string(rd() % 250) + ".";
  data_dir_ = scratch.file("cni-ipam");
  conflist_ = conf_dir + "/10-" + name_ + ".conflist";
  std::filesystem::create_directories(conf_dir);
  std::ofstream(conflist_) << conflist(extra_plugins);
}

std::string TestNetwork::conflist(const std::vector<std::string>& extra_plugins) const {
  std::string plugins = R"({"type": "bridge", "bridge": ")" + bridge_ +
                        R"(", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {"type": "host-local", "dataDir": ")" + data_dir_ +
                        R"(", "ranges": [[{"subnet": ")" + prefix_ + R"(0/24"}]],
               "routes": [{"dst": "0.0.0.0/0"}]}})";
  for (auto& p : extra_plugins) plugins += ",\n    " + p;
  return R"({"cniVersion": "1.0.0", "name": ")" + name_ + R"(", "plugins": [
    )" + plugins + "]}";
}

TestNetwork::~TestNetwork() { run_program({"ip", "link", "del", bridge_}); }

std::vector<std::string> TestNetwork::veths() const {
  auto r = run_program({"ip", "-o", "link", "show", "master", bridge_});
  std::vector<std::string> out;
  if (r.status != 0) return out;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::vector<std::string> TestNetwork::allocations() const {
  std::vector<std::string> out;
  for (auto& f : dir_entries(data_dir_ + "/" + name_))
    if (f != "lock" && !f.starts_with("last_reserved_ip")) out.push_back(f);
  return out;
}

std::vector<std::string> mounts_under(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mount_point;
    fields >> id >> parent >> dev >> root >> mount_point;
    if (mount_point.starts_with(dir)) out.push_back(line);
  }
  return out;
}

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    out.push_back(it->path().filename());
  return out;
}

}  // namespace crid::testing

namespace crid::testing {
CommandResult run_program(std::vector<std::string> argv, const std::string& input) {
  if (!argv.empty() && argv[0].find('/') == std::string::npos) {
    for (const char* dir : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
                            "/sbin", "/bin"}) {
      std::string p = std::string(dir) + "/" + argv[0];
      if (::access(p.c_str(), X_OK) == 0) {
        argv[0] = p;
        break;
      }
    }
  }
  return run_command(argv, input);
}
}  // namespace crid::testing
