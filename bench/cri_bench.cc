// cri-bench: drives any CRI v1 endpoint (crid, containerd, CRI-O) through the
// same scenarios and reports per-operation latency figures. It only speaks the
// public CRI API, so the numbers of two runtimes are comparable.
//
//   cri-bench --endpoint unix:///run/crid/crid.sock --scenario pod --iterations 50
//
// Failed calls are counted per operation and the first message of each is
// kept: a runtime that answers UNIMPLEMENTED shows up in the table instead of
// stopping the run.

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "runtime/v1/api.grpc.pb.h"

namespace v1 = runtime::v1;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string endpoint;
  std::string scenario = "pod";
  std::string image;
  std::string container_image;
  bool cold = false;
  int iterations = 10;
  int concurrency = 1;
  int timeout_s = 300;
  std::string json_path;
  std::string label;
  std::string ids_file;
  std::string log_dir = "/tmp/cri-bench-logs";
  std::string cgroup_parent;
  // Bind mounts of every container: HOST:CONTAINER or HOST:CONTAINER:ro.
  std::vector<std::string> mounts;
};

// Latencies and failures of one named operation.
struct OpStats {
  std::vector<double> ms;
  int errors = 0;
  std::string first_error;
};

class Recorder {
 public:
  void add(const std::string& op, double ms, const grpc::Status& st) {
    std::lock_guard lock(mu_);
    OpStats& s = ops_[op];
    if (st.ok()) {
      s.ms.push_back(ms);
    } else {
      ++s.errors;
      if (s.first_error.empty())
        s.first_error = fmt::format("{}: {}", code_name(st.error_code()), st.error_message());
    }
    ++calls_;
  }
  long calls() const { return calls_.load(); }
  long errors() const {
    std::lock_guard lock(mu_);
    long n = 0;
    for (const auto& [_, s] : ops_) n += s.errors;
    return n;
  }
  std::map<std::string, OpStats> snapshot() const {
    std::lock_guard lock(mu_);
    return ops_;
  }

  static std::string code_name(grpc::StatusCode c) {
    switch (c) {
      case grpc::StatusCode::UNIMPLEMENTED:
        return "UNIMPLEMENTED";
      case grpc::StatusCode::NOT_FOUND:
        return "NOT_FOUND";
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return "DEADLINE_EXCEEDED";
      case grpc::StatusCode::UNAVAILABLE:
        return "UNAVAILABLE";
      case grpc::StatusCode::INVALID_ARGUMENT:
        return "INVALID_ARGUMENT";
      case grpc::StatusCode::ALREADY_EXISTS:
        return "ALREADY_EXISTS";
      case grpc::StatusCode::FAILED_PRECONDITION:
        return "FAILED_PRECONDITION";
      case grpc::StatusCode::UNKNOWN:
        return "UNKNOWN";
      case grpc::StatusCode::INTERNAL:
        return "INTERNAL";
      case grpc::StatusCode::ABORTED:
        return "ABORTED";
      default:
        return fmt::format("code {}", static_cast<int>(c));
    }
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, OpStats> ops_;
  std::atomic<long> calls_{0};
};

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

class Bench {
 public:
  explicit Bench(Options opts) : opts_(std::move(opts)) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    auto channel =
        grpc::CreateCustomChannel(opts_.endpoint, grpc::InsecureChannelCredentials(), args);
    runtime_ = v1::RuntimeService::NewStub(channel);
    images_ = v1::ImageService::NewStub(channel);
    std::random_device rd;
    run_tag_ = fmt::format("{:08x}", rd());
  }

  Recorder& recorder() { return rec_; }

  // Times one RPC under `op`; returns its status.
  template <typename Fn>
  grpc::Status timed(const std::string& op, Fn&& call) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(opts_.timeout_s));
    auto start = Clock::now();
    grpc::Status st = call(ctx);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    rec_.add(op, ms, st);
    return st;
  }

  grpc::Status pull(const std::string& image, const std::string& op = "PullImage") {
    v1::PullImageRequest req;
    req.mutable_image()->set_image(image);
    v1::PullImageResponse resp;
    return timed(op, [&](auto& ctx) { return images_->PullImage(&ctx, req, &resp); });
  }

  grpc::Status remove_image(const std::string& image) {
    v1::RemoveImageRequest req;
    req.mutable_image()->set_image(image);
    v1::RemoveImageResponse resp;
    return timed("RemoveImage", [&](auto& ctx) { return images_->RemoveImage(&ctx, req, &resp); });
  }

  v1::PodSandboxConfig pod_config(int n) {
    v1::PodSandboxConfig cfg;
    auto* md = cfg.mutable_metadata();
    md->set_name(fmt::format("bench-{}-{}", run_tag_, n));
    md->set_uid(fmt::format("uid-{}-{}", run_tag_, n));
    md->set_namespace_("cri-bench");
    md->set_attempt(0);
    cfg.set_hostname(fmt::format("bench-{}", n));
    cfg.set_log_directory(fmt::format("{}/{}-{}", opts_.log_dir, run_tag_, n));
    (*cfg.mutable_labels())["cri-bench"] = run_tag_;
    if (!opts_.cgroup_parent.empty()) cfg.mutable_linux()->set_cgroup_parent(opts_.cgroup_parent);
    return cfg;
  }

  // Empty string when RunPodSandbox failed.
  std::string run_pod(const v1::PodSandboxConfig& cfg) {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = cfg;
    v1::RunPodSandboxResponse resp;
    auto st = timed("RunPodSandbox",
                    [&](auto& ctx) { return runtime_->RunPodSandbox(&ctx, req, &resp); });
    return st.ok() ? resp.pod_sandbox_id() : "";
  }

  // True when both calls succeeded.
  bool stop_and_remove_pod(const std::string& id) {
    v1::StopPodSandboxRequest sreq;
    sreq.set_pod_sandbox_id(id);
    v1::StopPodSandboxResponse sresp;
    bool ok = timed("StopPodSandbox", [&](auto& ctx) {
                return runtime_->StopPodSandbox(&ctx, sreq, &sresp);
              }).ok();
    v1::RemovePodSandboxRequest rreq;
    rreq.set_pod_sandbox_id(id);
    v1::RemovePodSandboxResponse rresp;
    return timed("RemovePodSandbox",
                 [&](auto& ctx) { return runtime_->RemovePodSandbox(&ctx, rreq, &rresp); })
               .ok() &&
           ok;
  }

  // Create + start a long-sleeping container in `pod`; empty when creation
  // failed, `started` false when the start did.
  std::string start_container(const std::string& pod, const v1::PodSandboxConfig& pod_cfg, int n,
                              bool* started) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod);
    *req.mutable_sandbox_config() = pod_cfg;
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(fmt::format("ctr-{}", n));
    c->mutable_image()->set_image(opts_.container_image);
    c->add_command("/bin/sleep");
    c->add_args("3600");
    c->set_log_path("ctr.log");
    for (const auto& spec : opts_.mounts) {
      auto first = spec.find(':');
      auto second = spec.find(':', first + 1);
      auto* m = c->add_mounts();
      m->set_host_path(spec.substr(0, first));
      m->set_container_path(spec.substr(first + 1, second == std::string::npos ? std::string::npos
                                                                                : second - first - 1));
      m->set_readonly(second != std::string::npos && spec.substr(second + 1) == "ro");
    }
    v1::CreateContainerResponse resp;
    auto st = timed("CreateContainer",
                    [&](auto& ctx) { return runtime_->CreateContainer(&ctx, req, &resp); });
    if (!st.ok()) return "";
    v1::StartContainerRequest sreq;
    sreq.set_container_id(resp.container_id());
    v1::StartContainerResponse sresp;
    *started = timed("StartContainer", [&](auto& ctx) {
                 return runtime_->StartContainer(&ctx, sreq, &sresp);
               }).ok();
    return resp.container_id();
  }

  // True when both calls succeeded.
  bool stop_and_remove_container(const std::string& id) {
    v1::StopContainerRequest sreq;
    sreq.set_container_id(id);
    sreq.set_timeout(0);  // CRI: 0 kills at once; sleep ignores nothing, so both runtimes SIGKILL.
    v1::StopContainerResponse sresp;
    bool ok = timed("StopContainer", [&](auto& ctx) {
                return runtime_->StopContainer(&ctx, sreq, &sresp);
              }).ok();
    v1::RemoveContainerRequest rreq;
    rreq.set_container_id(id);
    v1::RemoveContainerResponse rresp;
    return timed("RemoveContainer",
                 [&](auto& ctx) { return runtime_->RemoveContainer(&ctx, rreq, &rresp); })
               .ok() &&
           ok;
  }

  // One whole pod lifecycle, also timed end to end as "pod-total" (or
  // "lifecycle-total" with a container). A cycle with any failed step counts
  // as an error of the total, so totals of two runtimes compare like with like.
  void pod_cycle(int n, bool with_container) {
    auto start = Clock::now();
    auto cfg = pod_config(n);
    std::string pod = run_pod(cfg);
    bool ok = !pod.empty();
    if (ok && with_container) {
      bool started = false;
      std::string ctr = start_container(pod, cfg, n, &started);
      ok = !ctr.empty() && stop_and_remove_container(ctr) && started;
    }
    if (!pod.empty()) ok = stop_and_remove_pod(pod) && ok;
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    rec_.add(with_container ? "lifecycle-total" : "pod-total", ms,
             ok ? grpc::Status::OK
                : grpc::Status(grpc::StatusCode::ABORTED, "a step of the cycle failed"));
  }

  // Runs body(i) for i in [0, iterations) on `concurrency` threads.
  void parallel(const std::function<void(int)>& body) {
    std::atomic<int> next{0};
    std::vector<std::thread> workers;
    for (int w = 0; w < opts_.concurrency; ++w)
      workers.emplace_back([&] {
        for (int i = next++; i < opts_.iterations; i = next++) body(i);
      });
    for (auto& t : workers) t.join();
  }

  void scenario_pull() {
    if (!opts_.cold) pull(opts_.image, "warm-up PullImage");  // make sure it is present
    for (int i = 0; i < opts_.iterations; ++i) {
      if (opts_.cold) remove_image(opts_.image);
      pull(opts_.image);
    }
  }

  void scenario_exec_sync() {
    auto cfg = pod_config(0);
    std::string pod = run_pod(cfg);
    if (pod.empty()) return;
    bool started = false;
    std::string ctr = start_container(pod, cfg, 0, &started);
    if (!ctr.empty() && started) {
      parallel([&](int) {
        v1::ExecSyncRequest req;
        req.set_container_id(ctr);
        req.add_cmd("/bin/true");
        req.set_timeout(30);
        v1::ExecSyncResponse resp;
        timed("ExecSync", [&](auto& ctx) { return runtime_->ExecSync(&ctx, req, &resp); });
      });
    }
    if (!ctr.empty()) stop_and_remove_container(ctr);
    stop_and_remove_pod(pod);
  }

  // Pod lifecycles on `concurrency` threads while as many pollers list and
  // ask for status, the way kubelet's PLEG and probes do.
  void scenario_status_storm() {
    std::atomic<bool> done{false};
    std::vector<std::thread> pollers;
    for (int p = 0; p < opts_.concurrency; ++p)
      pollers.emplace_back([&] {
        while (!done) {
          v1::ListPodSandboxRequest lp;
          v1::ListPodSandboxResponse lpr;
          timed("ListPodSandbox",
                [&](auto& ctx) { return runtime_->ListPodSandbox(&ctx, lp, &lpr); });
          v1::ListContainersRequest lc;
          v1::ListContainersResponse lcr;
          timed("ListContainers",
                [&](auto& ctx) { return runtime_->ListContainers(&ctx, lc, &lcr); });
          v1::StatusRequest sr;
          v1::StatusResponse srr;
          timed("Status", [&](auto& ctx) { return runtime_->Status(&ctx, sr, &srr); });
        }
      });
    parallel([&](int i) { pod_cycle(i, false); });
    done = true;
    for (auto& t : pollers) t.join();
  }

  // pods-up leaves `iterations` pods running (each with one running
  // container when --container-image or --image is given) and writes their
  // ids to --ids-file; pods-down stops and removes the pods listed there.
  // Together they let a caller measure a daemon while many pods are up.
  void scenario_pods_up() {
    std::mutex mu;
    std::vector<std::string> ids;
    parallel([&](int i) {
      auto cfg = pod_config(i);
      std::string id = run_pod(cfg);
      if (id.empty()) return;
      bool started = false;
      if (!opts_.container_image.empty()) start_container(id, cfg, i, &started);
      std::lock_guard lock(mu);
      ids.push_back(id);
    });
    std::ofstream out(opts_.ids_file, std::ios::trunc);
    for (const auto& id : ids) out << id << "\n";
  }

  void scenario_pods_down() {
    std::ifstream in(opts_.ids_file);
    std::vector<std::string> ids;
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) ids.push_back(line);
    opts_.iterations = static_cast<int>(ids.size());
    parallel([&](int i) { stop_and_remove_pod(ids[static_cast<size_t>(i)]); });
  }

  // Stops and removes every pod in cri-bench's namespace: the cleanup after
  // an interrupted run.
  void scenario_remove_all() {
    v1::ListPodSandboxRequest req;
    v1::ListPodSandboxResponse resp;
    if (!timed("ListPodSandbox", [&](auto& ctx) {
           return runtime_->ListPodSandbox(&ctx, req, &resp);
         }).ok())
      return;
    std::vector<std::string> ids;
    for (const auto& p : resp.items())
      if (p.metadata().namespace_() == "cri-bench") ids.push_back(p.id());
    opts_.iterations = static_cast<int>(ids.size());
    parallel([&](int i) { stop_and_remove_pod(ids[static_cast<size_t>(i)]); });
  }

  void run() {
    const std::string& s = opts_.scenario;
    if (s == "pull")
      scenario_pull();
    else if (s == "pod")
      parallel([&](int i) { pod_cycle(i, false); });
    else if (s == "lifecycle")
      parallel([&](int i) { pod_cycle(i, true); });
    else if (s == "exec-sync")
      scenario_exec_sync();
    else if (s == "status-storm")
      scenario_status_storm();
    else if (s == "pods-up")
      scenario_pods_up();
    else if (s == "pods-down")
      scenario_pods_down();
    else if (s == "remove-all")
      scenario_remove_all();
  }

 private:
  Options opts_;
  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<v1::ImageService::Stub> images_;
  Recorder rec_;
  std::string run_tag_;
};

// Stderr progress while the run lasts: a rewritten line on a terminal, a
// line every 10 s otherwise (logs of long runs stay short).
class Progress {
 public:
  Progress(const Recorder& rec, std::string label) : rec_(rec), label_(std::move(label)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Progress() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    if (printed_ && tty_) std::fputc('\n', stderr);
  }

 private:
  void loop() {
    auto start = Clock::now();
    std::unique_lock lock(mu_);
    auto period = tty_ ? std::chrono::seconds(1) : std::chrono::seconds(10);
    while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
      double s = std::chrono::duration<double>(Clock::now() - start).count();
      std::fprintf(stderr, "%s[%s] %.0fs: %ld calls, %ld errors%s", tty_ ? "\r" : "",
                   label_.c_str(), s, rec_.calls(), rec_.errors(), tty_ ? "   " : "\n");
      printed_ = true;
    }
  }

  const Recorder& rec_;
  std::string label_;
  bool tty_ = ::isatty(2) != 0;
  bool printed_ = false;
  bool stop_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

nlohmann::json summarize(const std::map<std::string, OpStats>& ops, const Options& o,
                         double wall_s) {
  nlohmann::json j;
  j["label"] = o.label;
  j["endpoint"] = o.endpoint;
  j["scenario"] = o.scenario;
  j["image"] = o.image;
  j["cold"] = o.cold;
  j["iterations"] = o.iterations;
  j["concurrency"] = o.concurrency;
  j["wall_seconds"] = wall_s;
  for (const auto& [name, s] : ops) {
    auto v = s.ms;
    std::sort(v.begin(), v.end());
    j["ops"][name] = {{"count", v.size()},
                      {"errors", s.errors},
                      {"median_ms", percentile(v, 50)},
                      {"p90_ms", percentile(v, 90)},
                      {"p99_ms", percentile(v, 99)},
                      {"max_ms", v.empty() ? 0.0 : v.back()},
                      {"first_error", s.first_error},
                      {"samples_ms", s.ms}};
  }
  return j;
}

void print_table(const nlohmann::json& j) {
  std::cout << fmt::format("{} scenario={} iterations={} concurrency={} wall={:.2f}s\n",
                           j["label"].get<std::string>(), j["scenario"].get<std::string>(),
                           j["iterations"].get<int>(), j["concurrency"].get<int>(),
                           j["wall_seconds"].get<double>());
  std::cout << fmt::format("{:<18} {:>6} {:>6} {:>10} {:>10} {:>10} {:>10}\n", "operation", "count",
                           "errors", "median ms", "p90 ms", "p99 ms", "max ms");
  if (!j.contains("ops")) return;
  for (const auto& [name, s] : j["ops"].items()) {
    std::cout << fmt::format("{:<18} {:>6} {:>6} {:>10.2f} {:>10.2f} {:>10.2f} {:>10.2f}\n", name,
                             s["count"].get<int>(), s["errors"].get<int>(),
                             s["median_ms"].get<double>(), s["p90_ms"].get<double>(),
                             s["p99_ms"].get<double>(), s["max_ms"].get<double>());
    if (!s["first_error"].get<std::string>().empty())
      std::cout << "    first error: " << s["first_error"].get<std::string>() << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"cri-bench: latency of CRI operations against any CRI endpoint"};
  app.add_option("--endpoint", o.endpoint, "CRI endpoint, unix:///path/to.sock")->required();
  app.add_option("--scenario", o.scenario,
                 "pull, pod, lifecycle, exec-sync, status-storm, pods-up, pods-down, remove-all")
      ->check(CLI::IsMember({"pull", "pod", "lifecycle", "exec-sync", "status-storm", "pods-up",
                             "pods-down", "remove-all"}));
  app.add_option("--image", o.image, "Image to pull (pull scenario)");
  app.add_option("--container-image", o.container_image,
                 "Image of containers (lifecycle, exec-sync); defaults to --image");
  app.add_flag("--cold", o.cold, "pull: RemoveImage before every pull");
  app.add_option("--iterations", o.iterations, "Operations (or pod lifecycles) in total")
      ->check(CLI::PositiveNumber);
  app.add_option("--concurrency", o.concurrency, "Parallel workers")->check(CLI::PositiveNumber);
  app.add_option("--timeout", o.timeout_s, "Deadline of each call, seconds");
  app.add_option("--json", o.json_path, "Also write the figures as JSON to this file");
  app.add_option("--label", o.label, "Name of the runtime under test, shown in the output");
  app.add_option("--ids-file", o.ids_file, "pods-up writes pod ids here; pods-down reads them");
  app.add_option("--log-dir", o.log_dir, "Parent of the pods' log directories");
  app.add_option("--cgroup-parent", o.cgroup_parent,
                 "Cgroup parent of the pods (empty: the runtime's default)");
  app.add_option("--mount", o.mounts,
                 "Bind mount of every container, HOST:CONTAINER[:ro] (repeatable)");
  CLI11_PARSE(app, argc, argv);
  for (const auto& m : o.mounts)
    if (m.find(':') == std::string::npos || m.front() != '/') {
      std::cerr << "cri-bench: --mount " << m << ": expected /HOST:/CONTAINER[:ro]\n";
      return 2;
    }
  if (o.container_image.empty()) o.container_image = o.image;
  if (o.label.empty()) o.label = o.endpoint;
  if ((o.scenario == "pods-up" || o.scenario == "pods-down") && o.ids_file.empty()) {
    std::cerr << "cri-bench: --scenario " << o.scenario << " needs --ids-file\n";
    return 2;
  }
  if ((o.scenario == "lifecycle" || o.scenario == "exec-sync") && o.container_image.empty()) {
    std::cerr << "cri-bench: --scenario " << o.scenario << " needs --image or --container-image\n";
    return 2;
  }
  if (o.scenario == "pull" && o.image.empty()) {
    std::cerr << "cri-bench: --scenario pull needs --image\n";
    return 2;
  }

  Bench bench(o);
  auto start = Clock::now();
  {
    Progress progress(bench.recorder(), o.label + " " + o.scenario);
    bench.run();
  }
  double wall = std::chrono::duration<double>(Clock::now() - start).count();
  auto j = summarize(bench.recorder().snapshot(), o, wall);
  print_table(j);
  if (!o.json_path.empty()) {
    std::ofstream f(o.json_path, std::ios::trunc);
    f << j.dump(2) << "\n";
    if (!f) {
      std::cerr << "cri-bench: cannot write " << o.json_path << "\n";
      return 1;
    }
  }
  return 0;
}
