#include "stats/metrics.h"

#include <map>
#include <set>

#include <gtest/gtest.h>

namespace crid::stats {
namespace {

PodStats sample_pod() {
  PodStats p;
  p.pod.id = "pod1";
  p.pod.config.metadata = {"web", "uid1", "default", 0};
  p.network = NetworkStats{10, "eth0", {InterfaceCounters{"eth0", 100, 2, 0, 0, 50, 1, 0, 0}}};
  ContainerStats c;
  c.container.id = "ctr1";
  c.container.name = "app";
  c.container.image_name = "busybox:latest";
  c.container.started_ns = 1'700'000'000'000'000'000;
  c.cpu = CpuStats{20, 3'500'000'000, 250'000'000};
  c.memory = MemoryStats{20, 1000, 800, 600, 40, 1, 200, 1000};
  c.process = ProcessStats{20, 3};
  c.writable_layer = FilesystemStats{30, "/", 4096, 2};
  p.containers.push_back(c);
  return p;
}

TEST(Metrics, DescriptorNamesAreUniqueAndCadvisorStyle) {
  std::set<std::string> names;
  for (const auto& d : metric_descriptors()) {
    EXPECT_TRUE(names.insert(d.name).second) << d.name;
    EXPECT_TRUE(d.name.starts_with("container_")) << d.name;
    EXPECT_FALSE(d.help.empty()) << d.name;
    if (d.name.ends_with("_total")) {
      EXPECT_EQ(d.kind, MetricKind::kCounter) << d.name;
    }
  }
  for (const char* want : {"container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
                           "container_network_receive_bytes_total", "container_fs_usage_bytes",
                           "container_processes"})
    EXPECT_TRUE(names.count(want)) << want;
}

TEST(Metrics, EverySampleMatchesItsDescriptor) {
  std::map<std::string, MetricDescriptor> by_name;
  for (const auto& d : metric_descriptors()) by_name[d.name] = d;
  PodMetrics m = pod_metrics(sample_pod());
  std::vector<MetricSample> all = m.metrics;
  for (const auto& c : m.containers) all.insert(all.end(), c.metrics.begin(), c.metrics.end());
  ASSERT_FALSE(all.empty());
  for (const auto& s : all) {
    ASSERT_TRUE(by_name.count(s.name)) << s.name;
    EXPECT_EQ(s.label_values.size(), by_name[s.name].label_keys.size()) << s.name;
    EXPECT_EQ(s.kind, by_name[s.name].kind) << s.name;
  }
}

TEST(Metrics, ValuesAndLabelsComeFromTheStats) {
  PodMetrics m = pod_metrics(sample_pod());
  EXPECT_EQ(m.pod_id, "pod1");
  ASSERT_EQ(m.containers.size(), 1u);
  EXPECT_EQ(m.containers[0].container_id, "ctr1");
  auto find = [](const std::vector<MetricSample>& v, const std::string& name) -> const MetricSample* {
    for (const auto& s : v)
      if (s.name == name) return &s;
    return nullptr;
  };
  const auto* cpu = find(m.containers[0].metrics, "container_cpu_usage_seconds_total");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->value, 3u);  // whole seconds: the CRI value is an integer
  EXPECT_EQ(cpu->label_values,
            (std::vector<std::string>{"app", "ctr1", "busybox:latest", "default", "web", "total"}));
  const auto* ws = find(m.containers[0].metrics, "container_memory_working_set_bytes");
  ASSERT_NE(ws, nullptr);
  EXPECT_EQ(ws->value, 800u);
  EXPECT_EQ(ws->timestamp_ns, 20);
  const auto* rx = find(m.metrics, "container_network_receive_bytes_total");
  ASSERT_NE(rx, nullptr);
  EXPECT_EQ(rx->value, 100u);
  EXPECT_EQ(rx->label_values,
            (std::vector<std::string>{"POD", "pod1", "", "default", "web", "eth0"}));
  const auto* fs = find(m.containers[0].metrics, "container_fs_usage_bytes");
  ASSERT_NE(fs, nullptr);
  EXPECT_EQ(fs->value, 4096u);
}

TEST(Metrics, MissingGroupsLeaveTheirSamplesOut) {
  PodStats p = sample_pod();
  p.network.reset();
  p.containers[0].cpu.reset();
  PodMetrics m = pod_metrics(p);
  EXPECT_TRUE(m.metrics.empty());
  for (const auto& s : m.containers[0].metrics)
    EXPECT_NE(s.name, "container_cpu_usage_seconds_total");
}

}  // namespace
}  // namespace crid::stats
