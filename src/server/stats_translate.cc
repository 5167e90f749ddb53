#include "server/stats_translate.h"

#include "server/pod_sandbox_translate.h"

namespace crid::server {

namespace v1 = ::runtime::v1;

namespace {

void to_cri(const stats::CpuStats& in, v1::CpuUsage* out) {
  out->set_timestamp(in.timestamp_ns);
  out->mutable_usage_core_nano_seconds()->set_value(in.usage_core_ns);
  if (in.usage_nano_cores) out->mutable_usage_nano_cores()->set_value(*in.usage_nano_cores);
}

void to_cri(const stats::MemoryStats& in, v1::MemoryUsage* out) {
  out->set_timestamp(in.timestamp_ns);
  out->mutable_working_set_bytes()->set_value(in.working_set_bytes);
  if (in.available_bytes) out->mutable_available_bytes()->set_value(*in.available_bytes);
  out->mutable_usage_bytes()->set_value(in.usage_bytes);
  out->mutable_rss_bytes()->set_value(in.rss_bytes);
  out->mutable_page_faults()->set_value(in.page_faults);
  out->mutable_major_page_faults()->set_value(in.major_page_faults);
}

void to_cri(const stats::InterfaceCounters& in, v1::NetworkInterfaceUsage* out) {
  out->set_name(in.name);
  out->mutable_rx_bytes()->set_value(in.rx_bytes);
  out->mutable_rx_errors()->set_value(in.rx_errors);
  out->mutable_tx_bytes()->set_value(in.tx_bytes);
  out->mutable_tx_errors()->set_value(in.tx_errors);
}

void to_cri(const stats::MetricSample& in, v1::Metric* out) {
  out->set_name(in.name);
  out->set_timestamp(in.timestamp_ns);
  out->set_metric_type(in.kind == stats::MetricKind::kCounter ? v1::COUNTER : v1::GAUGE);
  for (const auto& v : in.label_values) out->add_label_values(v);
  out->mutable_value()->set_value(in.value);
}

}  // namespace

container::ContainerFilter to_container_filter(const v1::ContainerStatsFilter& in) {
  container::ContainerFilter f;
  f.id_prefix = in.id();
  f.pod_id_prefix = in.pod_sandbox_id();
  f.labels.insert(in.label_selector().begin(), in.label_selector().end());
  return f;
}

sandbox::PodFilter to_pod_filter(const v1::PodSandboxStatsFilter& in) {
  sandbox::PodFilter f;
  f.id_prefix = in.id();
  f.labels.insert(in.label_selector().begin(), in.label_selector().end());
  return f;
}

void to_cri(const stats::ContainerStats& in, v1::ContainerStats* out) {
  const auto& r = in.container;
  auto* attr = out->mutable_attributes();
  attr->set_id(r.id);
  attr->mutable_metadata()->set_name(r.name);
  attr->mutable_metadata()->set_attempt(r.attempt);
  attr->mutable_labels()->insert(r.labels.begin(), r.labels.end());
  attr->mutable_annotations()->insert(r.annotations.begin(), r.annotations.end());
  if (in.cpu) to_cri(*in.cpu, out->mutable_cpu());
  if (in.memory) to_cri(*in.memory, out->mutable_memory());
  if (in.writable_layer) {
    auto* fs = out->mutable_writable_layer();
    fs->set_timestamp(in.writable_layer->timestamp_ns);
    fs->mutable_fs_id()->set_mountpoint(in.writable_layer->mountpoint);
    fs->mutable_used_bytes()->set_value(in.writable_layer->used_bytes);
    fs->mutable_inodes_used()->set_value(in.writable_layer->inodes_used);
  }
}

void to_cri(const stats::PodStats& in, v1::PodSandboxStats* out) {
  const auto& p = in.pod;
  auto* attr = out->mutable_attributes();
  attr->set_id(p.id);
  to_cri(p.config.metadata, attr->mutable_metadata());
  attr->mutable_labels()->insert(p.config.labels.begin(), p.config.labels.end());
  attr->mutable_annotations()->insert(p.config.annotations.begin(), p.config.annotations.end());
  auto* lx = out->mutable_linux();
  if (in.cpu) to_cri(*in.cpu, lx->mutable_cpu());
  if (in.memory) to_cri(*in.memory, lx->mutable_memory());
  if (in.network) {
    auto* net = lx->mutable_network();
    net->set_timestamp(in.network->timestamp_ns);
    for (const auto& i : in.network->interfaces) {
      to_cri(i, net->add_interfaces());
      if (i.name == in.network->default_interface) to_cri(i, net->mutable_default_interface());
    }
  }
  if (in.process) {
    lx->mutable_process()->set_timestamp(in.process->timestamp_ns);
    lx->mutable_process()->mutable_process_count()->set_value(in.process->count);
  }
  for (const auto& c : in.containers) to_cri(c, lx->add_containers());
}

void to_cri(const stats::MetricDescriptor& in, v1::MetricDescriptor* out) {
  out->set_name(in.name);
  out->set_help(in.help);
  for (const auto& k : in.label_keys) out->add_label_keys(k);
}

void to_cri(const stats::PodMetrics& in, v1::PodSandboxMetrics* out) {
  out->set_pod_sandbox_id(in.pod_id);
  for (const auto& m : in.metrics) to_cri(m, out->add_metrics());
  for (const auto& c : in.containers) {
    auto* cm = out->add_container_metrics();
    cm->set_container_id(c.container_id);
    for (const auto& m : c.metrics) to_cri(m, cm->add_metrics());
  }
}

}  // namespace crid::server
