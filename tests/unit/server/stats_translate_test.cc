#include "server/stats_translate.h"

#include <gtest/gtest.h>

namespace crid::server {
namespace {

namespace v1 = ::runtime::v1;

stats::PodStats sample() {
  stats::PodStats p;
  p.pod.id = "pod1";
  p.pod.config.metadata = {"web", "uid1", "prod", 1};
  p.pod.config.labels = {{"app", "web"}};
  p.cpu = stats::CpuStats{11, 5000, std::nullopt};
  p.network = stats::NetworkStats{
      12, "eth0",
      {stats::InterfaceCounters{"net1", 1, 0, 0, 0, 2, 0, 0, 0},
       stats::InterfaceCounters{"eth0", 100, 5, 1, 0, 200, 6, 2, 0}}};
  p.process = stats::ProcessStats{13, 4};
  stats::ContainerStats c;
  c.container.id = "ctr1";
  c.container.name = "app";
  c.container.attempt = 3;
  c.container.labels = {{"l", "v"}};
  c.memory = stats::MemoryStats{14, 1000, 800, 600, 40, 1, std::nullopt, std::nullopt};
  c.writable_layer = stats::FilesystemStats{15, "/var", 4096, 2};
  p.containers.push_back(c);
  return p;
}

TEST(StatsTranslate, PodStatsCarryEveryGroupWithItsTimestamp) {
  v1::PodSandboxStats out;
  to_cri(sample(), &out);
  EXPECT_EQ(out.attributes().id(), "pod1");
  EXPECT_EQ(out.attributes().metadata().namespace_(), "prod");
  EXPECT_EQ(out.attributes().labels().at("app"), "web");
  const auto& lx = out.linux();
  EXPECT_EQ(lx.cpu().timestamp(), 11);
  EXPECT_EQ(lx.cpu().usage_core_nano_seconds().value(), 5000u);
  EXPECT_FALSE(lx.cpu().has_usage_nano_cores()) << "unknown rate stays unset, not zero";
  EXPECT_FALSE(lx.has_memory());
  EXPECT_EQ(lx.network().timestamp(), 12);
  ASSERT_EQ(lx.network().interfaces_size(), 2);
  EXPECT_EQ(lx.network().default_interface().name(), "eth0");
  EXPECT_EQ(lx.network().default_interface().rx_bytes().value(), 100u);
  EXPECT_EQ(lx.network().default_interface().tx_errors().value(), 2u);
  EXPECT_EQ(lx.process().process_count().value(), 4u);
  ASSERT_EQ(lx.containers_size(), 1);
  const auto& c = lx.containers(0);
  EXPECT_EQ(c.attributes().id(), "ctr1");
  EXPECT_EQ(c.attributes().metadata().attempt(), 3u);
  EXPECT_EQ(c.attributes().labels().at("l"), "v");
  EXPECT_FALSE(c.has_cpu());
  EXPECT_EQ(c.memory().working_set_bytes().value(), 800u);
  EXPECT_FALSE(c.memory().has_available_bytes());
  EXPECT_EQ(c.writable_layer().fs_id().mountpoint(), "/var");
  EXPECT_EQ(c.writable_layer().used_bytes().value(), 4096u);
  EXPECT_EQ(c.writable_layer().inodes_used().value(), 2u);
}

TEST(StatsTranslate, FiltersMapIdPodAndLabels) {
  v1::ContainerStatsFilter f;
  f.set_id("abc");
  f.set_pod_sandbox_id("def");
  (*f.mutable_label_selector())["k"] = "v";
  auto cf = to_container_filter(f);
  EXPECT_EQ(cf.id_prefix, "abc");
  EXPECT_EQ(cf.pod_id_prefix, "def");
  EXPECT_EQ(cf.labels.at("k"), "v");
  v1::PodSandboxStatsFilter pf;
  pf.set_id("p");
  (*pf.mutable_label_selector())["a"] = "b";
  auto sf = to_pod_filter(pf);
  EXPECT_EQ(sf.id_prefix, "p");
  EXPECT_EQ(sf.labels.at("a"), "b");
  EXPECT_FALSE(sf.has_state);
}

TEST(StatsTranslate, MetricsKeepKindsAndLabels) {
  stats::PodMetrics m;
  m.pod_id = "pod1";
  m.metrics.push_back({"container_network_receive_bytes_total", 7, stats::MetricKind::kCounter,
                       {"POD", "pod1", "", "prod", "web", "eth0"}, 100});
  m.containers.push_back({"ctr1", {{"container_processes", 8, stats::MetricKind::kGauge,
                                    {"app", "ctr1", "img", "prod", "web"}, 3}}});
  v1::PodSandboxMetrics out;
  to_cri(m, &out);
  EXPECT_EQ(out.pod_sandbox_id(), "pod1");
  ASSERT_EQ(out.metrics_size(), 1);
  EXPECT_EQ(out.metrics(0).metric_type(), v1::COUNTER);
  EXPECT_EQ(out.metrics(0).label_values_size(), 6);
  EXPECT_EQ(out.metrics(0).value().value(), 100u);
  ASSERT_EQ(out.container_metrics_size(), 1);
  EXPECT_EQ(out.container_metrics(0).container_id(), "ctr1");
  EXPECT_EQ(out.container_metrics(0).metrics(0).metric_type(), v1::GAUGE);
  EXPECT_EQ(out.container_metrics(0).metrics(0).timestamp(), 8);
}

}  // namespace
}  // namespace crid::server
