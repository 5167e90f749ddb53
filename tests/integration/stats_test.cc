// Container and pod statistics end to end: a real crid, runc under conmon,
// real cgroups, overlay upper dirs and CNI pod networks. Pods get a cgroup
// parent of their own (as the kubelet gives them), so pod-level counters
// come from the pod's cgroup.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "runtime/monitor_cgroup.h"
#include "support/busybox_image.h"
#include "support/crid_process.h"
#include "support/registry.h"
#include "support/test_network.h"

namespace crid::testing {
namespace {

using namespace std::chrono_literals;

const char* kRepo = "it/stats";

struct ImageEnv {
  static ServedImage& get() {
    static ServedImage env(kRepo, ImageConfigSpec{});
    return env;
  }
};

class StatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CRID_REQUIRE_ROOT();
    auto& env = ImageEnv::get();
    ASSERT_EQ(env.error(), "");
    crid_ = std::make_unique<CridProcess>(insecure_registry_conf(env.registry()));
    net_ = std::make_unique<TestNetwork>(crid_->cni_conf_dir(), crid_->dir());
    std::string err;
    ASSERT_TRUE(crid_->start(&err)) << err;
    ASSERT_EQ(pull_image(*crid_, env.image()), "");
    cgroup_top_ = "/crid-it-stats-" + std::to_string(::getpid());
  }

  void TearDown() override {
    if (!crid_) return;
    if (HasFailure()) std::cerr << "---- crid log ----\n" << crid_->log() << "\n";
    v1::ListPodSandboxResponse pods;
    rt().ListPodSandbox(call_context().get(), v1::ListPodSandboxRequest(), &pods);
    for (const auto& p : pods.items()) {
      v1::RemovePodSandboxRequest r;
      r.set_pod_sandbox_id(p.id());
      v1::RemovePodSandboxResponse resp;
      EXPECT_TRUE(rt().RemovePodSandbox(call_context().get(), r, &resp).ok());
    }
    crid_->stop();
    // The pods' cgroups are the kubelet's to remove; here the test is the kubelet.
    for (const auto& [name, cfg] : pod_configs_)
      if (!cfg.linux().cgroup_parent().empty())
        EXPECT_TRUE(runtime::remove_cgroup(cfg.linux().cgroup_parent()));
    EXPECT_TRUE(runtime::remove_cgroup(cgroup_top_));
  }

  v1::RuntimeService::Stub& rt() { return crid_->runtime(); }

  // `own_cgroup`: a cgroup parent of its own, as the kubelet gives pods;
  // else the daemon's default parent, shared by every such pod.
  std::string run_pod(const std::string& name, bool own_cgroup = true) {
    v1::RunPodSandboxRequest req;
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_metadata()->set_namespace_("it");
    c->mutable_metadata()->set_uid("uid-" + name);
    c->set_hostname(name);
    c->set_log_directory(crid_->dir().file("logs/" + name));
    (*c->mutable_labels())["pod"] = name;
    if (own_cgroup) c->mutable_linux()->set_cgroup_parent(cgroup_top_ + "/" + name);
    pod_configs_[name] = *c;
    v1::RunPodSandboxResponse resp;
    auto st = rt().RunPodSandbox(call_context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    pod_names_[resp.pod_sandbox_id()] = name;
    return resp.pod_sandbox_id();
  }

  std::string run_container(const std::string& pod, const std::string& name, const std::string& sh) {
    v1::CreateContainerRequest req;
    req.set_pod_sandbox_id(pod);
    auto* c = req.mutable_config();
    c->mutable_metadata()->set_name(name);
    c->mutable_image()->set_image(ImageEnv::get().image());
    for (const char* a : {"/bin/sh", "-c"}) c->add_command(a);
    c->add_command(sh);
    c->set_log_path(name + ".log");
    (*c->mutable_labels())["ctr"] = name;
    *req.mutable_sandbox_config() = pod_configs_[pod_names_[pod]];
    v1::CreateContainerResponse resp;
    auto st = rt().CreateContainer(call_context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    v1::StartContainerRequest start;
    start.set_container_id(resp.container_id());
    v1::StartContainerResponse sresp;
    st = rt().StartContainer(call_context().get(), start, &sresp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.container_id();
  }

  v1::ContainerStats container_stats(const std::string& id) {
    v1::ContainerStatsRequest req;
    req.set_container_id(id);
    v1::ContainerStatsResponse resp;
    auto st = rt().ContainerStats(call_context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.stats();
  }

  v1::PodSandboxStats pod_stats(const std::string& id) {
    v1::PodSandboxStatsRequest req;
    req.set_pod_sandbox_id(id);
    v1::PodSandboxStatsResponse resp;
    auto st = rt().PodSandboxStats(call_context().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.stats();
  }

  std::string pod_ip(const std::string& id) {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(id);
    v1::PodSandboxStatusResponse resp;
    EXPECT_TRUE(rt().PodSandboxStatus(call_context().get(), req, &resp).ok());
    return resp.status().network().ip();
  }

  // Polls `probe` until it holds or `limit` passes.
  template <typename F>
  bool eventually(F probe, std::chrono::seconds limit = 60s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (probe()) return true;
      std::this_thread::sleep_for(250ms);
    }
    return probe();
  }

  std::unique_ptr<CridProcess> crid_;
  std::unique_ptr<TestNetwork> net_;
  std::string cgroup_top_;
  std::map<std::string, v1::PodSandboxConfig> pod_configs_;  // by pod name
  std::map<std::string, std::string> pod_names_;             // pod id -> name
};

const v1::NetworkInterfaceUsage* iface(const v1::PodSandboxStats& s, const std::string& name) {
  for (const auto& i : s.linux().network().interfaces())
    if (i.name() == name) return &i;
  return nullptr;
}

TEST_F(StatsTest, CpuBurnerShowsRisingCpuAndNanoCores) {
  std::string pod = run_pod("cpu");
  std::string id = run_container(pod, "burn", "while :; do :; done");
  auto first = container_stats(id);
  ASSERT_TRUE(first.has_cpu());
  EXPECT_EQ(first.attributes().id(), id);
  EXPECT_EQ(first.attributes().metadata().name(), "burn");
  EXPECT_EQ(first.attributes().labels().at("ctr"), "burn");
  EXPECT_GT(first.cpu().timestamp(), 0);
  uint64_t last = first.cpu().usage_core_nano_seconds().value();
  v1::ContainerStats later;
  // A busy loop gains CPU time whenever it runs; the rate needs two samples.
  ASSERT_TRUE(eventually([&] {
    later = container_stats(id);
    return later.cpu().usage_core_nano_seconds().value() > last &&
           later.cpu().has_usage_nano_cores() && later.cpu().usage_nano_cores().value() > 0;
  }));
  EXPECT_GT(later.cpu().timestamp(), first.cpu().timestamp());

  // The pod's own cgroup holds the container, so it used at least as much.
  auto ps = pod_stats(pod);
  ASSERT_TRUE(ps.linux().has_cpu());
  EXPECT_GE(ps.linux().cpu().usage_core_nano_seconds().value(),
            later.cpu().usage_core_nano_seconds().value());
  EXPECT_GE(ps.linux().process().process_count().value(), 1u);
  ASSERT_EQ(ps.linux().containers_size(), 1);
  EXPECT_EQ(ps.linux().containers(0).attributes().id(), id);
  EXPECT_EQ(ps.attributes().id(), pod);
  EXPECT_EQ(ps.attributes().metadata().name(), "cpu");
  EXPECT_EQ(ps.attributes().labels().at("pod"), "cpu");
}

TEST_F(StatsTest, AllocatedMemoryShowsInWorkingSet) {
  std::string pod = run_pod("mem");
  // tail keeps a newline-free input whole while waiting for its end.
  std::string idle = run_container(pod, "idle", "sleep 3600");
  std::string hog = run_container(
      pod, "hog", "(dd if=/dev/zero bs=1048576 count=64 2>/dev/null; sleep 3600) | tail");
  v1::ContainerStats s;
  ASSERT_TRUE(eventually([&] {
    s = container_stats(hog);
    return s.memory().working_set_bytes().value() >= 60u << 20;
  })) << "working set " << s.memory().working_set_bytes().value();
  EXPECT_GE(s.memory().usage_bytes().value(), s.memory().working_set_bytes().value());
  EXPECT_GE(s.memory().rss_bytes().value(), 60u << 20);
  EXPECT_GT(s.memory().page_faults().value(), 0u);
  EXPECT_GT(s.memory().timestamp(), 0);
  EXPECT_FALSE(s.memory().has_available_bytes()) << "no limit was set";
  EXPECT_LT(container_stats(idle).memory().working_set_bytes().value(), 16u << 20);
  auto ps = pod_stats(pod);
  EXPECT_GE(ps.linux().memory().working_set_bytes().value(), 60u << 20);
  EXPECT_EQ(ps.linux().containers_size(), 2);
}

TEST_F(StatsTest, RootfsWritesShowInWritableLayer) {
  std::string pod = run_pod("disk");
  std::string id = run_container(pod, "writer", "sleep 2; dd if=/dev/urandom of=/big bs=1048576 count=8; sleep 3600");
  auto first = container_stats(id);
  ASSERT_TRUE(first.has_writable_layer());
  EXPECT_LT(first.writable_layer().used_bytes().value(), 8u << 20);
  EXPECT_FALSE(first.writable_layer().fs_id().mountpoint().empty());
  v1::ContainerStats s;
  // The layer is measured in the background: the bytes show up eventually.
  ASSERT_TRUE(eventually([&] {
    s = container_stats(id);
    return s.writable_layer().used_bytes().value() >= 8u << 20;
  })) << "writable layer " << s.writable_layer().used_bytes().value();
  EXPECT_GT(s.writable_layer().inodes_used().value(), first.writable_layer().inodes_used().value());
}

TEST_F(StatsTest, TrafficBetweenPodsShowsInNetworkCounters) {
  std::string a = run_pod("neta");
  std::string b = run_pod("netb");
  auto before_a = pod_stats(a);
  auto before_b = pod_stats(b);
  ASSERT_NE(iface(before_a, "eth0"), nullptr);
  ASSERT_NE(iface(before_b, "eth0"), nullptr);
  EXPECT_EQ(iface(before_a, "lo"), nullptr) << "loopback is left out";
  EXPECT_EQ(before_a.linux().network().default_interface().name(), "eth0");
  EXPECT_GT(before_a.linux().network().timestamp(), 0);

  // 40 pings of 1400 bytes from pod a's namespace to pod b.
  v1::PodSandboxStatusRequest sreq;
  sreq.set_pod_sandbox_id(a);
  sreq.set_verbose(true);
  v1::PodSandboxStatusResponse sresp;
  ASSERT_TRUE(rt().PodSandboxStatus(call_context().get(), sreq, &sresp).ok());
  std::string netns_a = nlohmann::json::parse(sresp.info().at("info"))["netns"];
  auto ping = run_program({"nsenter", "--net=" + netns_a, "busybox", "ping", "-c", "40", "-i",
                           "0.05", "-s", "1400", "-W", "5", pod_ip(b)});
  ASSERT_EQ(ping.status, 0) << ping.output;

  auto after_a = pod_stats(a);
  auto after_b = pod_stats(b);
  uint64_t sent = 40 * 1400;
  EXPECT_GE(iface(after_a, "eth0")->tx_bytes().value() - iface(before_a, "eth0")->tx_bytes().value(), sent);
  EXPECT_GE(iface(after_a, "eth0")->rx_bytes().value() - iface(before_a, "eth0")->rx_bytes().value(), sent);
  EXPECT_GE(iface(after_b, "eth0")->rx_bytes().value() - iface(before_b, "eth0")->rx_bytes().value(), sent);
  EXPECT_GE(iface(after_b, "eth0")->tx_bytes().value() - iface(before_b, "eth0")->tx_bytes().value(), sent);
  EXPECT_EQ(iface(after_a, "eth0")->rx_errors().value(), 0u);
  EXPECT_EQ(after_a.linux().network().default_interface().rx_bytes().value(),
            iface(after_a, "eth0")->rx_bytes().value());
}

TEST_F(StatsTest, PodOnTheSharedDefaultParentIsTheSumOfItsContainers) {
  std::string pod = run_pod("shared", false);
  std::string other = run_pod("neighbour", false);
  run_container(other, "busy", "while :; do :; done");
  run_container(pod, "burn", "while :; do :; done");
  run_container(pod, "idle", "sleep 3600");
  v1::PodSandboxStats ps;
  ASSERT_TRUE(eventually([&] {
    ps = pod_stats(pod);
    return ps.linux().containers_size() == 2 && ps.linux().has_cpu() &&
           ps.linux().cpu().has_usage_nano_cores();
  }));
  uint64_t cpu = 0, ws = 0, nano = 0;
  for (const auto& c : ps.linux().containers()) {
    cpu += c.cpu().usage_core_nano_seconds().value();
    nano += c.cpu().usage_nano_cores().value();
    ws += c.memory().working_set_bytes().value();
  }
  // Same samples, summed: the neighbour pod's busy loop is not in there.
  EXPECT_EQ(ps.linux().cpu().usage_core_nano_seconds().value(), cpu);
  EXPECT_EQ(ps.linux().cpu().usage_nano_cores().value(), nano);
  EXPECT_EQ(ps.linux().memory().working_set_bytes().value(), ws);
  EXPECT_GE(ps.linux().process().process_count().value(), 2u);
}

TEST_F(StatsTest, UnknownIdsAreNotFoundNamingTheId) {
  v1::ContainerStatsRequest creq;
  creq.set_container_id("feedbeef0000");
  v1::ContainerStatsResponse cresp;
  auto st = rt().ContainerStats(call_context().get(), creq, &cresp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("feedbeef0000"), std::string::npos) << st.error_message();

  v1::PodSandboxStatsRequest preq;
  preq.set_pod_sandbox_id("deadbeef0000");
  v1::PodSandboxStatsResponse presp;
  st = rt().PodSandboxStats(call_context().get(), preq, &presp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("deadbeef0000"), std::string::npos) << st.error_message();

  creq.set_container_id("");
  st = rt().ContainerStats(call_context().get(), creq, &cresp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(StatsTest, ListFiltersByIdPodAndLabels) {
  std::string p1 = run_pod("f1");
  std::string p2 = run_pod("f2");
  std::string c1 = run_container(p1, "one", "sleep 3600");
  std::string c2 = run_container(p2, "two", "sleep 3600");
  auto ids = [&](const v1::ContainerStatsFilter& f) {
    v1::ListContainerStatsRequest req;
    *req.mutable_filter() = f;
    v1::ListContainerStatsResponse resp;
    EXPECT_TRUE(rt().ListContainerStats(call_context().get(), req, &resp).ok());
    std::set<std::string> out;
    for (const auto& s : resp.stats()) out.insert(s.attributes().id());
    return out;
  };
  EXPECT_EQ(ids({}), (std::set<std::string>{c1, c2}));
  v1::ContainerStatsFilter f;
  f.set_id(c1.substr(0, 12));
  EXPECT_EQ(ids(f), std::set<std::string>{c1});
  f.Clear();
  f.set_pod_sandbox_id(p2);
  EXPECT_EQ(ids(f), std::set<std::string>{c2});
  f.Clear();
  (*f.mutable_label_selector())["ctr"] = "one";
  EXPECT_EQ(ids(f), std::set<std::string>{c1});
  (*f.mutable_label_selector())["ctr"] = "none";
  EXPECT_EQ(ids(f), std::set<std::string>{});

  v1::ListPodSandboxStatsRequest preq;
  (*preq.mutable_filter()->mutable_label_selector())["pod"] = "f2";
  v1::ListPodSandboxStatsResponse presp;
  ASSERT_TRUE(rt().ListPodSandboxStats(call_context().get(), preq, &presp).ok());
  ASSERT_EQ(presp.stats_size(), 1);
  EXPECT_EQ(presp.stats(0).attributes().id(), p2);
  ASSERT_EQ(presp.stats(0).linux().containers_size(), 1);
  EXPECT_EQ(presp.stats(0).linux().containers(0).attributes().id(), c2);
  preq.mutable_filter()->Clear();
  preq.mutable_filter()->set_id(p1.substr(0, 10));
  presp.Clear();
  ASSERT_TRUE(rt().ListPodSandboxStats(call_context().get(), preq, &presp).ok());
  ASSERT_EQ(presp.stats_size(), 1);
  EXPECT_EQ(presp.stats(0).attributes().id(), p1);
}

// Which objects and which groups of counters a stats message holds; the
// counters themselves move between two calls.
std::string shape(const v1::ContainerStats& s) {
  return s.attributes().DebugString() + (s.has_cpu() ? " cpu" : "") + (s.has_memory() ? " mem" : "") +
         (s.has_writable_layer() ? " fs" : "");
}

TEST_F(StatsTest, StreamRpcsReturnTheSameObjectsAsTheirListTwins) {
  std::string p1 = run_pod("s1");
  std::string p2 = run_pod("s2");
  run_container(p1, "a", "sleep 3600");
  run_container(p1, "b", "sleep 3600");
  run_container(p2, "c", "sleep 3600");

  v1::ListContainerStatsResponse list;
  ASSERT_TRUE(rt().ListContainerStats(call_context().get(), {}, &list).ok());
  std::multiset<std::string> listed, streamed;
  for (const auto& s : list.stats()) listed.insert(shape(s));
  auto ctx = call_context();
  auto reader = rt().StreamContainerStats(ctx.get(), v1::StreamContainerStatsRequest());
  v1::StreamContainerStatsResponse batch;
  while (reader->Read(&batch))
    for (const auto& s : batch.container_stats()) streamed.insert(shape(s));
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed, streamed);

  v1::ListPodSandboxStatsResponse plist;
  ASSERT_TRUE(rt().ListPodSandboxStats(call_context().get(), {}, &plist).ok());
  std::multiset<std::string> plisted, pstreamed;
  auto pod_shape = [](const v1::PodSandboxStats& s) {
    std::string out = s.attributes().DebugString();
    for (const auto& c : s.linux().containers()) out += shape(c);
    return out + (s.linux().has_network() ? " net" : "") + (s.linux().has_cpu() ? " cpu" : "");
  };
  for (const auto& s : plist.stats()) plisted.insert(pod_shape(s));
  auto pctx = call_context();
  auto preader = rt().StreamPodSandboxStats(pctx.get(), v1::StreamPodSandboxStatsRequest());
  v1::StreamPodSandboxStatsResponse pbatch;
  while (preader->Read(&pbatch))
    for (const auto& s : pbatch.pod_sandbox_stats()) pstreamed.insert(pod_shape(s));
  ASSERT_TRUE(preader->Finish().ok());
  EXPECT_EQ(plisted.size(), 2u);
  EXPECT_EQ(plisted, pstreamed);

  // Metrics: the same pods, containers and series (name + labels).
  auto series = [](const v1::PodSandboxMetrics& m) {
    std::multiset<std::string> out;
    auto add = [&](const std::string& who, const v1::Metric& x) {
      std::string k = who + " " + x.name();
      for (const auto& l : x.label_values()) k += "," + l;
      out.insert(k);
    };
    for (const auto& x : m.metrics()) add(m.pod_sandbox_id(), x);
    for (const auto& c : m.container_metrics())
      for (const auto& x : c.metrics()) add(c.container_id(), x);
    return out;
  };
  v1::ListPodSandboxMetricsResponse mlist;
  ASSERT_TRUE(rt().ListPodSandboxMetrics(call_context().get(), {}, &mlist).ok());
  std::multiset<std::string> mlisted, mstreamed;
  for (const auto& m : mlist.pod_metrics()) mlisted.merge(series(m));
  auto mctx = call_context();
  auto mreader = rt().StreamPodSandboxMetrics(mctx.get(), v1::StreamPodSandboxMetricsRequest());
  v1::StreamPodSandboxMetricsResponse mbatch;
  while (mreader->Read(&mbatch))
    for (const auto& m : mbatch.pod_sandbox_metrics()) mstreamed.merge(series(m));
  ASSERT_TRUE(mreader->Finish().ok());
  EXPECT_FALSE(mlisted.empty());
  EXPECT_EQ(mlisted, mstreamed);
}

TEST_F(StatsTest, PodMetricsFollowTheirDescriptors) {
  std::string pod = run_pod("metrics");
  std::string id = run_container(pod, "burn", "while :; do :; done");
  v1::ListMetricDescriptorsResponse descs;
  ASSERT_TRUE(rt().ListMetricDescriptors(call_context().get(), {}, &descs).ok());
  std::map<std::string, v1::MetricDescriptor> by_name;
  for (const auto& d : descs.descriptors()) by_name[d.name()] = d;
  for (const char* want : {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
                           "container_network_receive_bytes_total", "container_fs_usage_bytes",
                           "container_processes"})
    ASSERT_TRUE(by_name.count(want)) << want;

  // Wait until the burner has a whole second of CPU (the value is integral).
  v1::PodSandboxMetrics pm;
  auto value_of = [](const google::protobuf::RepeatedPtrField<v1::Metric>& ms, const std::string& name) {
    for (const auto& m : ms)
      if (m.name() == name) return static_cast<int64_t>(m.value().value());
    return int64_t{-1};
  };
  ASSERT_TRUE(eventually([&] {
    v1::ListPodSandboxMetricsResponse resp;
    if (!rt().ListPodSandboxMetrics(call_context().get(), {}, &resp).ok()) return false;
    for (const auto& m : resp.pod_metrics())
      if (m.pod_sandbox_id() == pod) pm = m;
    return pm.container_metrics_size() == 1 &&
           value_of(pm.container_metrics(0).metrics(), "container_cpu_usage_seconds_total") >= 1;
  }));
  EXPECT_EQ(pm.container_metrics(0).container_id(), id);
  EXPECT_GE(value_of(pm.container_metrics(0).metrics(), "container_processes"), 1);
  EXPECT_GE(value_of(pm.metrics(), "container_network_receive_bytes_total"), 0) << "pod network";
  auto check = [&](const v1::Metric& m) {
    ASSERT_TRUE(by_name.count(m.name())) << m.name();
    EXPECT_EQ(m.label_values_size(), by_name[m.name()].label_keys_size()) << m.name();
    EXPECT_GT(m.timestamp(), 0) << m.name();
    EXPECT_EQ(m.metric_type(), m.name().ends_with("_total") ? v1::COUNTER : v1::GAUGE) << m.name();
  };
  for (const auto& m : pm.metrics()) check(m);
  for (const auto& m : pm.container_metrics(0).metrics()) {
    check(m);
    EXPECT_EQ(m.label_values(1), id) << m.name();
    EXPECT_EQ(m.label_values(3), "it") << m.name();
    EXPECT_EQ(m.label_values(4), "metrics") << m.name();
  }
}

}  // namespace
}  // namespace crid::testing
