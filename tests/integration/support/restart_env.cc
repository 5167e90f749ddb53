#include "support/restart_env.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/operation_journal.h"
#include "support/busybox_image.h"
#include "support/test_images.h"

namespace crid::testing {

namespace fsys = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string random_tag() {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 8; i++) out += "0123456789abcdef"[rd() % 16];
  return out;
}

std::unique_ptr<grpc::ClientContext> context_for(std::chrono::milliseconds deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  return ctx;
}

bool is_pid(const std::string& name) {
  return !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool process_runs(pid_t pid) {
  if (pid <= 0) return false;
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] != 'Z';
}

std::string cmdline_of(pid_t pid) {
  std::string c = read_text("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(c.begin(), c.end(), '\0', ' ');
  return c;
}

std::vector<std::string> unfinished_operations(const std::string& root) {
  std::vector<std::string> out;
  auto db = store::Database::open(root + "/crid.db");
  if (!db) return {"cannot open the database: " + db.error().message()};
  auto journal = store::OperationJournal::open(**db);
  if (!journal) return {"cannot open the journal: " + journal.error().message()};
  for (const char* kind : {"pod-create", "container-create"}) {
    auto ops = (*journal)->pending(kind);
    if (!ops) return {"cannot read the journal: " + ops.error().message()};
    for (auto& op : *ops) out.push_back(op.kind + " " + op.id);
  }
  return out;
}

std::map<pid_t, std::string> labelled_pauses() {
  std::map<pid_t, std::string> out;
  const std::string crid = fsys::weakly_canonical(crid_binary()).string();
  for (auto& p : fsys::directory_iterator("/proc")) {
    std::string name = p.path().filename();
    if (!is_pid(name)) continue;
    pid_t pid = std::stoi(name);
    std::string c = read_text(p.path().string() + "/cmdline");
    std::vector<std::string> argv;
    for (size_t at = 0; at < c.size();) {
      size_t nul = c.find('\0', at);
      if (nul == std::string::npos) nul = c.size();
      argv.push_back(c.substr(at, nul - at));
      at = nul + 1;
    }
    if (argv.size() == 3 && argv[0] == crid && argv[1] == "pause" && process_runs(pid))
      out[pid] = argv[2];
  }
  return out;
}

// --- images ---

RestartImages& RestartImages::get() {
  static RestartImages images;
  return images;
}

RestartImages::RestartImages() {
  if (::geteuid() != 0) return;
  if (!registry_.start(&error_)) return;
  ImageConfigSpec spec;
  spec.cmd = {"/bin/sh"};
  error_ = push_busybox_image(dir_.file("main"), registry_, "it/restart", spec);
  if (!error_.empty()) return;
  for (int i = 0; i < pull_count(); ++i) {
    // A marker inside the busybox layer makes each image's layers its own.
    TestLayer layer = busybox_layer(i % 2 ? Compression::kZstd : Compression::kGzip);
    layer.entries.push_back({LayerEntry::kFile, "fault-tag", "pull-" + std::to_string(i) + "\n"});
    OciLayout layout(dir_.file("pull" + std::to_string(i)));
    std::string tag = "v" + std::to_string(i);
    layout.add_image({layer}, Platform{"linux", host_architecture(), ""}, tag);
    error_ = skopeo_push(layout.dir(), tag, registry_.host() + "/it/pull:" + tag);
    if (!error_.empty()) return;
  }
}

std::string RestartImages::image() const { return registry_.host() + "/it/restart:latest"; }

std::string RestartImages::pull_image(int i) const {
  return registry_.host() + "/it/pull:v" + std::to_string(i);
}

// --- the rig ---

RestartRig::RestartRig() {
  auto& images = RestartImages::get();
  cgroup_parent_ = "/crid-it-restart-" + random_tag();
  // The runc root is filled in once the runroot is known.
  crid_ = std::make_unique<CridProcess>("");
  std::string conf = insecure_registry_conf(images.registry()) + "[runtime]\ndefault_cgroup_parent = \"" +
                     cgroup_parent_ + "\"\n[runtime.handlers.runc]\nruntime_root = \"" +
                     crid_->runroot() + "/runc\"\n";
  // Rewrite the config with our sections (CridProcess wrote its own first).
  std::string base = read_text(crid_->config_path());
  std::ofstream(crid_->config_path(), std::ios::trunc) << base << "\n" << conf;
  net_ = std::make_unique<TestNetwork>(crid_->cni_conf_dir(), crid_->dir());
}

RestartRig::~RestartRig() {
  if (crid_ && crid_->running()) crid_->stop(SIGKILL);
  // Cgroup dirs left by a failed test: empty ones can be removed.
  auto dirs = cgroups();
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) ::rmdir(it->c_str());
  for (auto& h : fsys::directory_iterator("/sys/fs/cgroup"))
    ::rmdir((h.path().string() + cgroup_parent_).c_str());
  ::rmdir(("/sys/fs/cgroup" + cgroup_parent_).c_str());
}

bool RestartRig::start_daemon(std::string* error) {
  if (crid_->start(error)) return true;
  auto deadline = std::chrono::steady_clock::now() + 150s;
  while (crid_->running() && std::chrono::steady_clock::now() < deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 2s);
    v1::VersionResponse resp;
    if (rt().Version(&ctx, v1::VersionRequest(), &resp).ok()) return true;
    std::this_thread::sleep_for(100ms);
  }
  if (error) *error += "\n(and not within 3 minutes either)";
  return false;
}

grpc::Status RestartRig::run_pod(const std::string& name, bool cni, bool pod_pid, std::string* id,
                                 std::chrono::milliseconds deadline) {
  v1::RunPodSandboxRequest req;
  auto* c = req.mutable_config();
  c->mutable_metadata()->set_name(name);
  c->mutable_metadata()->set_namespace_("it");
  c->mutable_metadata()->set_uid("uid-" + name);
  c->set_hostname(name);
  c->set_log_directory(crid_->dir().file("logs/" + name));
  (*c->mutable_labels())["net"] = cni ? "cni" : "host";
  (*c->mutable_labels())["pid"] = pod_pid ? "pod" : "container";
  auto* ns = c->mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns->set_network(cni ? v1::POD : v1::NODE);
  ns->set_pid(pod_pid ? v1::POD : v1::CONTAINER);
  v1::RunPodSandboxResponse resp;
  auto st = rt().RunPodSandbox(context_for(deadline).get(), req, &resp);
  *id = resp.pod_sandbox_id();
  return st;
}

grpc::Status RestartRig::create(const std::string& pod, const std::string& name,
                                const std::vector<std::string>& cmd, const std::string& image,
                                std::string* id, std::map<std::string, std::string> labels,
                                std::chrono::milliseconds deadline) {
  v1::CreateContainerRequest req;
  req.set_pod_sandbox_id(pod);
  auto* c = req.mutable_config();
  c->mutable_metadata()->set_name(name);
  c->mutable_image()->set_image(image);
  for (auto& a : cmd) c->add_command(a);
  c->set_log_path(name + ".log");
  for (auto& [k, v] : labels) (*c->mutable_labels())[k] = v;
  v1::CreateContainerResponse resp;
  auto st = rt().CreateContainer(context_for(deadline).get(), req, &resp);
  *id = resp.container_id();
  return st;
}

grpc::Status RestartRig::start(const std::string& id) {
  v1::StartContainerRequest req;
  req.set_container_id(id);
  v1::StartContainerResponse resp;
  return rt().StartContainer(call_context().get(), req, &resp);
}

grpc::Status RestartRig::stop(const std::string& id, int64_t timeout) {
  v1::StopContainerRequest req;
  req.set_container_id(id);
  req.set_timeout(timeout);
  v1::StopContainerResponse resp;
  return rt().StopContainer(call_context(120s).get(), req, &resp);
}

grpc::Status RestartRig::remove(const std::string& id) {
  v1::RemoveContainerRequest req;
  req.set_container_id(id);
  v1::RemoveContainerResponse resp;
  return rt().RemoveContainer(call_context(120s).get(), req, &resp);
}

grpc::Status RestartRig::stop_pod(const std::string& id) {
  v1::StopPodSandboxRequest req;
  req.set_pod_sandbox_id(id);
  v1::StopPodSandboxResponse resp;
  return rt().StopPodSandbox(call_context(120s).get(), req, &resp);
}

grpc::Status RestartRig::remove_pod(const std::string& id) {
  v1::RemovePodSandboxRequest req;
  req.set_pod_sandbox_id(id);
  v1::RemovePodSandboxResponse resp;
  return rt().RemovePodSandbox(call_context(120s).get(), req, &resp);
}

grpc::Status RestartRig::pod_status(const std::string& id, v1::PodSandboxStatusResponse* resp) {
  v1::PodSandboxStatusRequest req;
  req.set_pod_sandbox_id(id);
  req.set_verbose(true);
  return rt().PodSandboxStatus(call_context().get(), req, resp);
}

grpc::Status RestartRig::status(const std::string& id, v1::ContainerStatusResponse* resp) {
  v1::ContainerStatusRequest req;
  req.set_container_id(id);
  req.set_verbose(true);
  return rt().ContainerStatus(call_context().get(), req, resp);
}

grpc::Status RestartRig::pull(const std::string& ref) {
  v1::PullImageRequest req;
  req.mutable_image()->set_image(ref);
  v1::PullImageResponse resp;
  return crid_->images().PullImage(call_context(120s).get(), req, &resp);
}

grpc::Status RestartRig::remove_image(const std::string& ref) {
  v1::RemoveImageRequest req;
  req.mutable_image()->set_image(ref);
  v1::RemoveImageResponse resp;
  return crid_->images().RemoveImage(call_context().get(), req, &resp);
}

std::vector<v1::PodSandbox> RestartRig::pods() {
  v1::ListPodSandboxResponse resp;
  auto st = rt().ListPodSandbox(call_context().get(), {}, &resp);
  if (!st.ok()) ADD_FAILURE() << "ListPodSandbox: " << st.error_message();
  return {resp.items().begin(), resp.items().end()};
}

std::vector<v1::Container> RestartRig::containers() {
  v1::ListContainersResponse resp;
  auto st = rt().ListContainers(call_context().get(), {}, &resp);
  if (!st.ok()) ADD_FAILURE() << "ListContainers: " << st.error_message();
  return {resp.containers().begin(), resp.containers().end()};
}

pid_t RestartRig::pid_of(const std::string& id) {
  v1::ContainerStatusResponse resp;
  if (!status(id, &resp).ok() || !resp.info().count("info")) return 0;
  return nlohmann::json::parse(resp.info().at("info"), nullptr, false).value("pid", 0);
}

v1::ContainerStatus RestartRig::wait_exited(const std::string& id, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  v1::ContainerStatusResponse resp;
  while (std::chrono::steady_clock::now() < deadline) {
    resp.Clear();
    if (!status(id, &resp).ok()) break;
    if (resp.status().state() == v1::CONTAINER_EXITED) return resp.status();
    std::this_thread::sleep_for(50ms);
  }
  return resp.status();
}

std::string RestartRig::exec(const std::string& id, const std::vector<std::string>& cmd, int* exit_code) {
  v1::ExecSyncRequest req;
  req.set_container_id(id);
  for (auto& a : cmd) req.add_cmd(a);
  req.set_timeout(30);
  v1::ExecSyncResponse resp;
  auto st = rt().ExecSync(call_context().get(), req, &resp);
  *exit_code = st.ok() ? resp.exit_code() : -1000;
  return st.ok() ? resp.stdout() : st.error_message();
}

void RestartRig::remove_everything() {
  for (auto& p : pods()) {
    auto st = remove_pod(p.id());
    EXPECT_TRUE(st.ok()) << "removing pod " << p.id() << ": " << st.error_message();
  }
}

std::vector<pid_t> RestartRig::daemon_helpers() const {
  std::vector<pid_t> out;
  const std::string& dir = crid_->dir().path();
  for (auto& p : fsys::directory_iterator("/proc")) {
    std::string name = p.path().filename();
    if (!is_pid(name)) continue;
    pid_t pid = std::stoi(name);
    if (pid == ::getpid() || !process_runs(pid)) continue;
    std::string cmd = cmdline_of(pid);
    if (cmd.find("conmon") == 0 || cmd.find("/conmon ") != std::string::npos) continue;
    std::string env = read_text(p.path().string() + "/environ");
    if (cmd.find(dir) != std::string::npos || env.find(dir) != std::string::npos) out.push_back(pid);
  }
  return out;
}

std::map<pid_t, std::string> RestartRig::conmons() const {
  std::map<pid_t, std::string> out;
  for (auto& p : fsys::directory_iterator("/proc")) {
    std::string name = p.path().filename();
    if (!is_pid(name)) continue;
    pid_t pid = std::stoi(name);
    std::string raw = read_text(p.path().string() + "/cmdline");
    std::vector<std::string> argv;
    for (size_t b = 0, e; b < raw.size(); b = e + 1) {
      e = raw.find('\0', b);
      if (e == std::string::npos) e = raw.size();
      argv.push_back(raw.substr(b, e - b));
    }
    if (argv.empty() || !argv[0].ends_with("conmon") || !process_runs(pid)) continue;
    if (raw.find(crid_->runroot() + "/") == std::string::npos) continue;
    for (size_t i = 0; i + 1 < argv.size(); ++i)
      if (argv[i] == "-c") out[pid] = argv[i + 1];
  }
  return out;
}

std::vector<std::string> RestartRig::runc_containers() const {
  std::vector<std::string> out;
  for (auto& e : dir_entries(runc_root()))
    if (fsys::is_directory(runc_root() + "/" + e)) out.push_back(e);
  return out;
}

std::vector<std::string> RestartRig::cgroups() const {
  std::vector<std::string> out;
  std::vector<std::string> tops{"/sys/fs/cgroup" + cgroup_parent_};
  for (auto& h : fsys::directory_iterator("/sys/fs/cgroup"))
    tops.push_back(h.path().string() + cgroup_parent_);
  for (auto& top : tops) {
    std::error_code ec;
    for (auto it = fsys::recursive_directory_iterator(top, ec);
         !ec && it != fsys::recursive_directory_iterator(); it.increment(ec))
      if (it->is_directory(ec)) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void RestartRigTest::SetUp() {
  CRID_REQUIRE_ROOT();
  ASSERT_EQ(RestartImages::get().error(), "");
  rig_ = std::make_unique<RestartRig>();
  std::string err;
  ASSERT_TRUE(rig_->start_daemon(&err)) << err;
  ASSERT_TRUE(rig_->pull(RestartImages::get().image()).ok());
}

void RestartRigTest::TearDown() {
  if (!rig_) return;
  if (HasFailure()) {
    // The fault loop's log is long: its end tells what went wrong.
    std::string log = rig_->crid().log();
    std::cerr << "---- crid log (tail) ----\n"
              << log.substr(log.size() > 60000 ? log.size() - 60000 : 0) << "\n";
  }
  if (rig_->crid().running()) rig_->remove_everything();
}

}  // namespace crid::testing
