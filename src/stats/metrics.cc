#include "stats/metrics.h"

#include <time.h>

#include <map>

namespace crid::stats {

namespace {

// Who a sample is about, as cAdvisor labels containers.
const std::vector<std::string> kBase = {"container", "id", "image", "namespace", "pod"};

std::vector<std::string> with(std::vector<std::string> extra) {
  std::vector<std::string> keys = kBase;
  keys.insert(keys.end(), extra.begin(), extra.end());
  return keys;
}

constexpr uint64_t kNsPerSecond = 1000000000;

}  // namespace

const std::vector<MetricDescriptor>& metric_descriptors() {
  using K = MetricKind;
  static const std::vector<MetricDescriptor> all = {
      {"container_cpu_usage_seconds_total", "Cumulative CPU time consumed, in seconds.",
       with({"cpu"}), K::kCounter},
      {"container_memory_usage_bytes",
       "Current memory usage in bytes, including all memory regardless of when it was accessed.",
       kBase, K::kGauge},
      {"container_memory_working_set_bytes", "Current working set in bytes.", kBase, K::kGauge},
      {"container_memory_rss", "Size of RSS (anonymous memory) in bytes.", kBase, K::kGauge},
      {"container_memory_failures_total", "Cumulative count of memory allocation failures.",
       with({"failure_type", "scope"}), K::kCounter},
      {"container_spec_memory_limit_bytes", "Memory limit of the container in bytes (0: none).",
       kBase, K::kGauge},
      {"container_processes", "Number of processes running inside the container.", kBase,
       K::kGauge},
      {"container_fs_usage_bytes", "Bytes used by the container's writable layer.", kBase,
       K::kGauge},
      {"container_fs_inodes_used", "Inodes used by the container's writable layer.", kBase,
       K::kGauge},
      {"container_start_time_seconds", "Start time of the container since the epoch, in seconds.",
       kBase, K::kGauge},
      {"container_last_seen", "Last time the runtime saw the container, in seconds since the epoch.",
       kBase, K::kGauge},
      {"container_network_receive_bytes_total", "Cumulative count of bytes received.",
       with({"interface"}), K::kCounter},
      {"container_network_receive_packets_total", "Cumulative count of packets received.",
       with({"interface"}), K::kCounter},
      {"container_network_receive_packets_dropped_total",
       "Cumulative count of packets dropped while receiving.", with({"interface"}), K::kCounter},
      {"container_network_receive_errors_total",
       "Cumulative count of errors encountered while receiving.", with({"interface"}), K::kCounter},
      {"container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.",
       with({"interface"}), K::kCounter},
      {"container_network_transmit_packets_total", "Cumulative count of packets transmitted.",
       with({"interface"}), K::kCounter},
      {"container_network_transmit_packets_dropped_total",
       "Cumulative count of packets dropped while transmitting.", with({"interface"}),
       K::kCounter},
      {"container_network_transmit_errors_total",
       "Cumulative count of errors encountered while transmitting.", with({"interface"}),
       K::kCounter},
  };
  return all;
}

namespace {

class SampleWriter {
 public:
  SampleWriter(std::vector<MetricSample>& out, std::vector<std::string> base)
      : out_(out), base_(std::move(base)) {
    for (const auto& d : metric_descriptors()) kinds_[d.name] = d.kind;
  }
  void add(const std::string& name, int64_t ts, uint64_t value,
           std::vector<std::string> extra = {}) {
    MetricSample s;
    s.name = name;
    s.timestamp_ns = ts;
    s.kind = kinds_.at(name);
    s.label_values = base_;
    s.label_values.insert(s.label_values.end(), extra.begin(), extra.end());
    s.value = value;
    out_.push_back(std::move(s));
  }

 private:
  std::vector<MetricSample>& out_;
  std::vector<std::string> base_;
  std::map<std::string, MetricKind> kinds_;
};

void container_samples(const PodStats& pod, const ContainerStats& c, int64_t now,
                       std::vector<MetricSample>& out) {
  const auto& md = pod.pod.config.metadata;
  const auto& r = c.container;
  SampleWriter w(out, {r.name, r.id, r.image_name, md.namespace_, md.name});
  if (c.cpu) w.add("container_cpu_usage_seconds_total", c.cpu->timestamp_ns,
                   c.cpu->usage_core_ns / kNsPerSecond, {"total"});
  if (c.memory) {
    int64_t ts = c.memory->timestamp_ns;
    w.add("container_memory_usage_bytes", ts, c.memory->usage_bytes);
    w.add("container_memory_working_set_bytes", ts, c.memory->working_set_bytes);
    w.add("container_memory_rss", ts, c.memory->rss_bytes);
    for (const char* scope : {"container", "hierarchy"}) {
      w.add("container_memory_failures_total", ts, c.memory->page_faults, {"pgfault", scope});
      w.add("container_memory_failures_total", ts, c.memory->major_page_faults,
            {"pgmajfault", scope});
    }
    w.add("container_spec_memory_limit_bytes", ts, c.memory->limit_bytes.value_or(0));
  }
  if (c.process) w.add("container_processes", c.process->timestamp_ns, c.process->count);
  if (c.writable_layer) {
    w.add("container_fs_usage_bytes", c.writable_layer->timestamp_ns, c.writable_layer->used_bytes);
    w.add("container_fs_inodes_used", c.writable_layer->timestamp_ns, c.writable_layer->inodes_used);
  }
  if (r.started_ns > 0)
    w.add("container_start_time_seconds", now, static_cast<uint64_t>(r.started_ns) / kNsPerSecond);
  w.add("container_last_seen", now, static_cast<uint64_t>(now) / kNsPerSecond);
}

}  // namespace

PodMetrics pod_metrics(const PodStats& stats) {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  int64_t now = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
  PodMetrics out;
  out.pod_id = stats.pod.id;
  const auto& md = stats.pod.config.metadata;
  if (stats.network) {
    // Pod-wide samples use the pause container's conventions: container POD.
    SampleWriter w(out.metrics, {"POD", stats.pod.id, "", md.namespace_, md.name});
    int64_t t = stats.network->timestamp_ns;
    for (const auto& i : stats.network->interfaces) {
      w.add("container_network_receive_bytes_total", t, i.rx_bytes, {i.name});
      w.add("container_network_receive_packets_total", t, i.rx_packets, {i.name});
      w.add("container_network_receive_packets_dropped_total", t, i.rx_dropped, {i.name});
      w.add("container_network_receive_errors_total", t, i.rx_errors, {i.name});
      w.add("container_network_transmit_bytes_total", t, i.tx_bytes, {i.name});
      w.add("container_network_transmit_packets_total", t, i.tx_packets, {i.name});
      w.add("container_network_transmit_packets_dropped_total", t, i.tx_dropped, {i.name});
      w.add("container_network_transmit_errors_total", t, i.tx_errors, {i.name});
    }
  }
  for (const auto& c : stats.containers) {
    ContainerMetrics cm;
    cm.container_id = c.container.id;
    container_samples(stats, c, now, cm.metrics);
    out.containers.push_back(std::move(cm));
  }
  return out;
}

}  // namespace crid::stats
