#include "metrics/registry.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace crid::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
    throw std::invalid_argument("histogram bounds must be strictly ascending");
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
  // le is inclusive: v lands in the first bucket whose bound is >= v.
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // The count is the +Inf bucket, so the two always agree in one scrape.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> default_latency_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

const char* to_string(Type t) {
  switch (t) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

void Family::render(std::string& out) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, escape_help(help_), name_, to_string(type_));
  render_samples(out);
}

namespace {

LabelPairs pairs(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  LabelPairs out;
  for (size_t i = 0; i < names.size(); ++i) out.emplace_back(names[i], values[i]);
  return out;
}

void sample(std::string& out, const std::string& name, const LabelPairs& labels, double v) {
  out += name;
  out += format_labels(labels);
  out += ' ';
  out += format_value(v);
  out += '\n';
}

void render_one(std::string& out, const std::string& name, const LabelPairs& labels, const Counter& c) {
  sample(out, name, labels, static_cast<double>(c.value()));
}

void render_one(std::string& out, const std::string& name, const LabelPairs& labels, const Gauge& g) {
  sample(out, name, labels, g.value());
}

void render_one(std::string& out, const std::string& name, const LabelPairs& labels, const Histogram& h) {
  auto s = h.snapshot();
  for (size_t i = 0; i <= s.bounds.size(); ++i) {
    LabelPairs with_le = labels;
    with_le.emplace_back("le", i < s.bounds.size() ? format_value(s.bounds[i]) : "+Inf");
    sample(out, name + "_bucket", with_le, static_cast<double>(s.cumulative[i]));
  }
  sample(out, name + "_sum", labels, s.sum);
  sample(out, name + "_count", labels, static_cast<double>(s.count));
}

// A value read when scraped.
class FuncFamily final : public Family {
 public:
  FuncFamily(std::string name, std::string help, Type type, std::function<double()> read)
      : Family(std::move(name), std::move(help), type), read_(std::move(read)) {}

 private:
  void render_samples(std::string& out) const override { sample(out, name_, {}, read_()); }
  std::function<double()> read_;
};

void check_names(const std::string& name, const std::vector<std::string>& labels) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name " + name);
  for (auto& l : labels)
    if (!valid_label_name(l) || l == "le") throw std::invalid_argument("invalid label name " + l + " of " + name);
}

}  // namespace

template <typename M>
LabelledFamily<M>::LabelledFamily(std::string name, std::string help, Type type,
                                  std::vector<std::string> label_names, Factory make)
    : Family(std::move(name), std::move(help), type), label_names_(std::move(label_names)), make_(std::move(make)) {}

template <typename M>
M& LabelledFamily<M>::with(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size())
    throw std::invalid_argument(fmt::format("{}: {} label values for {} labels", name_, values.size(),
                                            label_names_.size()));
  {
    std::shared_lock lock(mu_);
    auto it = children_.find(values);
    if (it != children_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& slot = children_[values];
  if (!slot) slot = make_();
  return *slot;
}

template <typename M>
void LabelledFamily<M>::render_samples(std::string& out) const {
  std::shared_lock lock(mu_);
  for (auto& [values, child] : children_) render_one(out, name_, pairs(label_names_, values), *child);
}

template class LabelledFamily<Counter>;
template class LabelledFamily<Gauge>;
template class LabelledFamily<Histogram>;

template <typename F>
F& Registry::add(std::unique_ptr<F> family) {
  std::lock_guard lock(mu_);
  for (auto& f : families_)
    if (f->name() == family->name()) throw std::invalid_argument("metric " + family->name() + " registered twice");
  F& ref = *family;
  families_.push_back(std::move(family));
  return ref;
}

CounterFamily& Registry::counter_family(std::string name, std::string help, std::vector<std::string> labels) {
  check_names(name, labels);
  return add(std::make_unique<CounterFamily>(std::move(name), std::move(help), Type::kCounter, std::move(labels),
                                             [] { return std::make_unique<Counter>(); }));
}

GaugeFamily& Registry::gauge_family(std::string name, std::string help, std::vector<std::string> labels) {
  check_names(name, labels);
  return add(std::make_unique<GaugeFamily>(std::move(name), std::move(help), Type::kGauge, std::move(labels),
                                           [] { return std::make_unique<Gauge>(); }));
}

HistogramFamily& Registry::histogram_family(std::string name, std::string help, std::vector<std::string> labels,
                                            std::vector<double> bounds) {
  check_names(name, labels);
  Histogram probe(bounds);  // validates the bounds now, not on first use
  return add(std::make_unique<HistogramFamily>(std::move(name), std::move(help), Type::kHistogram,
                                               std::move(labels),
                                               [bounds] { return std::make_unique<Histogram>(bounds); }));
}

Counter& Registry::counter(std::string name, std::string help) {
  return counter_family(std::move(name), std::move(help), {}).with({});
}

Gauge& Registry::gauge(std::string name, std::string help) {
  return gauge_family(std::move(name), std::move(help), {}).with({});
}

Histogram& Registry::histogram(std::string name, std::string help, std::vector<double> bounds) {
  return histogram_family(std::move(name), std::move(help), {}, std::move(bounds)).with({});
}

void Registry::counter_func(std::string name, std::string help, std::function<double()> read) {
  check_names(name, {});
  add(std::make_unique<FuncFamily>(std::move(name), std::move(help), Type::kCounter, std::move(read)));
}

void Registry::gauge_func(std::string name, std::string help, std::function<double()> read) {
  check_names(name, {});
  add(std::make_unique<FuncFamily>(std::move(name), std::move(help), Type::kGauge, std::move(read)));
}

std::string Registry::render() const {
  std::vector<const Family*> all;
  {
    std::lock_guard lock(mu_);
    for (auto& f : families_) all.push_back(f.get());
  }
  std::string out;
  for (auto* f : all) f->render(out);
  return out;
}

}  // namespace crid::metrics
