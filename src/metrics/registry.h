// A small Prometheus metrics registry: counters, gauges and histograms,
// optionally in labelled families, plus values computed at scrape time.
//
// The hot path is lock-free: incrementing a counter or observing a
// histogram touches atomics only. Looking a labelled child up takes a
// shared lock (a map find); only the first use of a label combination
// takes the exclusive one. Children live as long as the registry, so a
// caller may keep the reference it got.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "metrics/exposition.h"

namespace crid::metrics {

class Counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  void add(double d) { v_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  // `bounds`: upper bounds of the buckets, ascending; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf last
    double sum = 0;
    uint64_t count = 0;  // == cumulative.back()
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Seconds buckets for RPC latencies (Prometheus client defaults).
std::vector<double> default_latency_buckets();

enum class Type { kCounter, kGauge, kHistogram };
const char* to_string(Type t);

// One metric name with its HELP and TYPE, and its samples.
class Family {
 public:
  Family(std::string name, std::string help, Type type) : name_(std::move(name)), help_(std::move(help)), type_(type) {}
  virtual ~Family() = default;
  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  // HELP, TYPE and the samples, each line ending in '\n'.
  void render(std::string& out) const;

 protected:
  virtual void render_samples(std::string& out) const = 0;
  const std::string name_;
  const std::string help_;
  const Type type_;
};

// A family whose children are keyed by label values, in label-name order.
template <typename M>
class LabelledFamily final : public Family {
 public:
  using Factory = std::function<std::unique_ptr<M>()>;
  LabelledFamily(std::string name, std::string help, Type type, std::vector<std::string> label_names,
                 Factory make);
  // The child for these values (as many as label names), created on first use.
  M& with(const std::vector<std::string>& values);
  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  void render_samples(std::string& out) const override;
  const std::vector<std::string> label_names_;
  Factory make_;
  mutable std::shared_mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<M>> children_;
};

using CounterFamily = LabelledFamily<Counter>;
using GaugeFamily = LabelledFamily<Gauge>;
using HistogramFamily = LabelledFamily<Histogram>;

class Registry {
 public:
  // Names must be valid and unique; a mistake here is a programming error
  // and throws std::invalid_argument at start-up.
  CounterFamily& counter_family(std::string name, std::string help, std::vector<std::string> labels);
  GaugeFamily& gauge_family(std::string name, std::string help, std::vector<std::string> labels);
  HistogramFamily& histogram_family(std::string name, std::string help, std::vector<std::string> labels,
                                    std::vector<double> bounds);
  // Unlabelled shorthands.
  Counter& counter(std::string name, std::string help);
  Gauge& gauge(std::string name, std::string help);
  Histogram& histogram(std::string name, std::string help, std::vector<double> bounds);
  // Values read from elsewhere when scraped (e.g. a count a component keeps,
  // or a gauge computed from the current state). `read` must not block long.
  void counter_func(std::string name, std::string help, std::function<double()> read);
  void gauge_func(std::string name, std::string help, std::function<double()> read);

  // The whole registry in the text exposition format 0.0.4.
  std::string render() const;

 private:
  template <typename F>
  F& add(std::unique_ptr<F> family);

  mutable std::mutex mu_;  // guards the list of families, not their values
  std::vector<std::unique_ptr<Family>> families_;
};

}  // namespace crid::metrics
