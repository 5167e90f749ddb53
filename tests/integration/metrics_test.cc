// The Prometheus endpoint end to end: a real crid serving /metrics on
// loopback or a unix socket, scraped over HTTP and parsed by Python's
// prometheus_client (a parser that is not ours); its counters must move
// with the calls made.
#include <sys/stat.h>

#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "support/cri_lifecycle.h"

namespace crid::testing {
namespace {

using namespace std::chrono_literals;

// Samples as prometheus_client parsed them: `name{sorted labels}` -> value;
// `types` holds each family's type.
struct Parsed {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  double at(const std::string& series) const {
    auto it = samples.find(series);
    return it == samples.end() ? 0 : it->second;
  }
};

std::string parser_script() { return std::string(CRID_IT_SUPPORT_DIR) + "/parse_prometheus.py"; }

Parsed parse(const std::string& text) {
  Parsed p;
  auto r = run_command({"/usr/bin/python3", parser_script()}, text);
  EXPECT_EQ(r.status, 0) << "prometheus_client rejected the exposition: " << r.output << "\n" << text;
  std::istringstream in(r.output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# family ", 0) == 0) {
      std::istringstream f(line.substr(9));
      std::string name, type;
      f >> name >> type;
      p.types[name] = type;
      continue;
    }
    auto sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    p.samples[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return p;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override { CRID_REQUIRE_ROOT(); }

  void start_crid(const std::string& address) {
    auto& env = SharedBusybox::get();
    ASSERT_EQ(env.error(), "");
    address_ = address;
    crid_ = std::make_unique<CridProcess>(insecure_registry_conf(env.registry()) +
                                          "\n[metrics]\nmetrics_address = \"" + address + "\"\n");
    std::string err;
    ASSERT_TRUE(crid_->start(&err)) << err;
    cri_ = std::make_unique<CriLifecycle>(*crid_, env.image());
  }

  void TearDown() override {
    if (!crid_) return;
    if (HasFailure()) std::cerr << "---- crid log ----\n" << crid_->log() << "\n";
    cri_->remove_all_pods();
    crid_->stop();
  }

  Parsed scrape() {
    std::string err;
    std::string text = scrape_metrics(address_, &err);
    EXPECT_NE(text, "") << err;
    return parse(text);
  }

  void call_version(int times) {
    for (int i = 0; i < times; ++i) {
      v1::VersionResponse resp;
      ASSERT_TRUE(crid_->runtime().Version(call_context().get(), v1::VersionRequest(), &resp).ok());
    }
  }

  std::unique_ptr<CridProcess> crid_;
  std::unique_ptr<CriLifecycle> cri_;
  std::string address_;
};

TEST_F(MetricsTest, LoopbackScrapeParsesAndCountersMoveWithCalls) {
  start_crid("127.0.0.1:" + std::to_string(free_loopback_port()));
  Parsed before = scrape();
  EXPECT_EQ(before.types["crid_operations"], "counter");
  EXPECT_EQ(before.types["crid_operations_latency_seconds"], "histogram");
  EXPECT_EQ(before.types["crid_pods_running"], "gauge");
  EXPECT_EQ(before.types["crid_containers_running"], "gauge");
  EXPECT_EQ(before.types["crid_image_pull_duration_seconds"], "histogram");
  EXPECT_EQ(before.types["crid_containers_oom_killed"], "counter");
  EXPECT_EQ(before.types["crid_container_events_dropped"], "counter");

  call_version(7);
  // A call that fails: an unknown container is NotFound.
  v1::ContainerStatusRequest req;
  req.set_container_id("0123456789abcdef");
  v1::ContainerStatusResponse resp;
  ASSERT_EQ(crid_->runtime().ContainerStatus(call_context().get(), req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);

  Parsed after = scrape();
  const std::string version = "crid_operations_total{method=\"Version\"}";
  EXPECT_EQ(after.at(version) - before.at(version), 7);
  EXPECT_EQ(after.at("crid_operations_latency_seconds_count{method=\"Version\"}") -
                before.at("crid_operations_latency_seconds_count{method=\"Version\"}"),
            7);
  EXPECT_EQ(after.at("crid_operations_total{method=\"ContainerStatus\"}"), 1);
  EXPECT_EQ(after.at("crid_operations_errors_total{code=\"NotFound\",method=\"ContainerStatus\"}"), 1);
  EXPECT_EQ(after.samples.count("crid_operations_errors_total{code=\"OK\",method=\"Version\"}"), 0u);
}

TEST_F(MetricsTest, PullsAndRunningObjectsShowUp) {
  start_crid("127.0.0.1:" + std::to_string(free_loopback_port()));
  Parsed before = scrape();
  EXPECT_EQ(before.at("crid_pods_running"), 0);
  EXPECT_EQ(before.at("crid_image_pull_bytes_total"), 0);

  ASSERT_EQ(pull_image(*crid_, SharedBusybox::get().image()), "");
  EXPECT_NE(pull_image(*crid_, SharedBusybox::get().registry().host() + "/it/no-such-image:latest"), "");
  std::string pod = cri_->run_pod("metrics-pod");
  std::string running = cri_->create(pod, "runs", {"/bin/sleep", "3600"});
  ASSERT_TRUE(cri_->start(running).ok());
  cri_->create(pod, "only-created", {"/bin/sleep", "3600"});

  Parsed after = scrape();
  EXPECT_EQ(after.at("crid_image_pulls_success_total"), 1);
  EXPECT_EQ(after.at("crid_image_pulls_failure_total"), 1);
  EXPECT_EQ(after.at("crid_image_pull_duration_seconds_count"), 2);
  EXPECT_GT(after.at("crid_image_pull_bytes_total"), 100000) << "the busybox layer crossed the wire";
  EXPECT_EQ(after.at("crid_pods_running"), 1);
  EXPECT_EQ(after.at("crid_containers_running"), 1);

  ASSERT_TRUE(cri_->stop(running, 0).ok());
  EXPECT_EQ(scrape().at("crid_containers_running"), 0);
}

TEST_F(MetricsTest, UnixSocketScrape) {
  TempDir dir("crid-it-metrics");
  std::string path = dir.file("metrics.sock");
  start_crid("unix://" + path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  call_version(3);
  Parsed p = scrape();
  // CridProcess::start() itself called Version until the daemon answered.
  EXPECT_GE(p.at("crid_operations_total{method=\"Version\"}"), 4);
  crid_->stop();
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "the socket is removed at shutdown";
  crid_.reset();
}

TEST_F(MetricsTest, Ipv6Loopback) {
  start_crid("[::1]:" + std::to_string(free_loopback_port()));
  std::string err;
  std::string text = scrape_metrics(address_, &err);
  if (text.empty() && err.find("connecting") != std::string::npos) GTEST_SKIP() << "no IPv6 loopback: " << err;
  ASSERT_NE(text, "") << err;
  EXPECT_GE(parse(text).at("crid_operations_total{method=\"Version\"}"), 1);
}

TEST_F(MetricsTest, ABadAddressStopsStartUpWithAClearError) {
  auto& env = SharedBusybox::get();
  ASSERT_EQ(env.error(), "");
  CridProcess crid(insecure_registry_conf(env.registry()) + "\n[metrics]\nmetrics_address = \"example.com:9090\"\n");
  std::string err;
  EXPECT_FALSE(crid.start(&err));
  EXPECT_NE(err.find("metrics_address"), std::string::npos) << err;
  EXPECT_NE(err.find("example.com"), std::string::npos) << err;
}

TEST_F(MetricsTest, OtherPathsAndMethodsAreRefused) {
  start_crid("127.0.0.1:" + std::to_string(free_loopback_port()));
  std::string err;
  std::string r = http_exchange(address_, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", &err);
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 404") << err;
  r = http_exchange(address_, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &err);
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 405") << err;
  r = http_exchange(address_, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &err);
  EXPECT_NE(r.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos) << r;
  // Not HTTP at all.
  r = http_exchange(address_, "hello\r\n\r\n", &err);
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 400") << err;
  // The endpoint still serves after all that.
  EXPECT_NE(scrape_metrics(address_, &err), "") << err;
}

}  // namespace
}  // namespace crid::testing
