// Pod sandboxes end to end: a real crid, the real CNI plugins of
// /usr/lib/cni on a bridge private to each test, real namespaces. Every test
// also checks that nothing is left behind (mounts, pins, veths, host-local
// allocations, CNI cache entries, pod dirs).
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/crid_process.h"
#include "support/test_network.h"

extern char** environ;

namespace crid::testing {
namespace {

v1::PodSandboxConfig pod_config(const std::string& name) {
  v1::PodSandboxConfig c;
  c.mutable_metadata()->set_name(name);
  c.mutable_metadata()->set_namespace_("it");
  c.mutable_metadata()->set_uid("uid-" + name);
  c.set_hostname(name);
  (*c.mutable_labels())["app"] = name;
  return c;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// GET /index.html with a 2 s budget per step; the body, or "" on failure.
// (busybox wget -T crashes in Debian 12's busybox, so the test speaks HTTP.)
std::string http_get(const std::string& ip, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  std::string response;
  auto wait_for = [&](short ev) {
    pollfd p{fd, ev, 0};
    return ::poll(&p, 1, 2000) == 1;
  };
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 ||
            (errno == EINPROGRESS && wait_for(POLLOUT));
  int err = 0;
  socklen_t len = sizeof err;
  if (ok) ok = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
  std::string req = "GET /index.html HTTP/1.0\r\n\r\n";
  if (ok) ok = ::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size());
  while (ok && wait_for(POLLIN)) {
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

class PodSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CRID_REQUIRE_ROOT();
    crid_ = std::make_unique<CridProcess>();
    configure();
    net_ = std::make_unique<TestNetwork>(crid_->cni_conf_dir(), crid_->dir());
    std::string err;
    ASSERT_TRUE(crid_->start(&err)) << err;
  }
  void TearDown() override {
    if (!crid_) return;
    if (crid_->running()) {
      // Whatever a failed test left: remove it, then look for leftovers.
      v1::ListPodSandboxResponse list;
      crid_->runtime().ListPodSandbox(call_context().get(), {}, &list);
      for (auto& p : list.items()) remove(p.id());
    }
    expect_nothing_left();
  }
  // Lets a fixture add drop-ins before the daemon starts.
  virtual void configure() {}

  CridProcess& crid() { return *crid_; }
  TestNetwork& net() { return *net_; }

  grpc::Status run(const v1::PodSandboxConfig& c, std::string* id,
                   const std::string& handler = "") {
    v1::RunPodSandboxRequest req;
    *req.mutable_config() = c;
    req.set_runtime_handler(handler);
    v1::RunPodSandboxResponse resp;
    auto st = crid().runtime().RunPodSandbox(call_context().get(), req, &resp);
    if (id) *id = resp.pod_sandbox_id();
    return st;
  }
  std::string run_ok(const v1::PodSandboxConfig& c) {
    std::string id;
    auto st = run(c, &id);
    EXPECT_TRUE(st.ok()) << st.error_message() << "\n" << crid().log();
    return id;
  }
  grpc::Status status(const std::string& id, v1::PodSandboxStatusResponse* resp) {
    v1::PodSandboxStatusRequest req;
    req.set_pod_sandbox_id(id);
    req.set_verbose(true);
    return crid().runtime().PodSandboxStatus(call_context().get(), req, resp);
  }
  nlohmann::json info(const std::string& id) {
    v1::PodSandboxStatusResponse resp;
    EXPECT_TRUE(status(id, &resp).ok());
    return nlohmann::json::parse(resp.info().at("info"));
  }
  std::string ip_of(const std::string& id) {
    v1::PodSandboxStatusResponse resp;
    EXPECT_TRUE(status(id, &resp).ok());
    return resp.status().network().ip();
  }
  grpc::Status stop(const std::string& id) {
    v1::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::StopPodSandboxResponse resp;
    return crid().runtime().StopPodSandbox(call_context().get(), req, &resp);
  }
  grpc::Status remove(const std::string& id) {
    v1::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(id);
    v1::RemovePodSandboxResponse resp;
    return crid().runtime().RemovePodSandbox(call_context().get(), req, &resp);
  }

  void expect_nothing_left() {
    EXPECT_EQ(mounts_under(crid().runroot()), std::vector<std::string>{});
    EXPECT_EQ(dir_entries(crid().runroot() + "/pods"), std::vector<std::string>{});
    EXPECT_EQ(dir_entries(crid().root() + "/cni-cache"), std::vector<std::string>{});
    EXPECT_EQ(net().veths(), std::vector<std::string>{});
    EXPECT_EQ(net().allocations(), std::vector<std::string>{});
  }

  std::unique_ptr<CridProcess> crid_;
  std::unique_ptr<TestNetwork> net_;
};

TEST_F(PodSandboxTest, PodGetsAnAddressThatAnswersPingFromTheHost) {
  auto c = pod_config("ping");
  c.set_log_directory(crid().dir().file("logs/ping"));
  std::string id = run_ok(c);
  ASSERT_EQ(id.size(), 64u);

  v1::PodSandboxStatusResponse resp;
  ASSERT_TRUE(status(id, &resp).ok());
  const auto& st = resp.status();
  EXPECT_EQ(st.state(), v1::SANDBOX_READY);
  EXPECT_EQ(st.metadata().name(), "ping");
  EXPECT_EQ(st.runtime_handler(), "runc");
  EXPECT_GT(st.created_at(), 0);
  EXPECT_EQ(st.labels().at("app"), "ping");
  EXPECT_EQ(st.linux().namespaces().options().network(), v1::POD);
  std::string ip = st.network().ip();
  ASSERT_TRUE(ip.starts_with(net().subnet_prefix())) << ip;
  EXPECT_TRUE(std::filesystem::is_directory(c.log_directory()));

  auto inf = nlohmann::json::parse(resp.info().at("info"));
  std::string netns = inf["netns"];
  EXPECT_EQ(inf["runtimeHandler"], "runc");
  EXPECT_EQ(inf["cniResult"]["ips"][0]["address"], ip + "/24");
  EXPECT_EQ(net().veths().size(), 1u);

  auto ping = run_program({"busybox", "ping", "-c", "1", "-W", "5", ip});
  EXPECT_EQ(ping.status, 0) << ping.output;
  // Loopback is up in the pod: something in it answers on 127.0.0.1.
  auto lo = run_program({"nsenter", "--net=" + netns, "busybox", "ping", "-c", "1", "-W", "5",
                         "127.0.0.1"});
  EXPECT_EQ(lo.status, 0) << lo.output;

  // Hostname in the pod's UTS namespace and in the files containers mount.
  std::string uts = inf["utsns"];
  auto host = run_program({"nsenter", "--uts=" + uts, "hostname"});
  EXPECT_EQ(trim(host.output), "ping");
  std::string dir = inf["podDir"];
  EXPECT_EQ(read_text(dir + "/hostname"), "ping\n");
  EXPECT_NE(read_text(dir + "/hosts").find(ip + "\tping"), std::string::npos);
  auto shm = mounts_under(dir + "/shm");
  ASSERT_EQ(shm.size(), 1u);
  EXPECT_NE(shm[0].find(" - tmpfs shm "), std::string::npos) << shm[0];
  EXPECT_NE(shm[0].find("size=65536k"), std::string::npos) << shm[0];  // Config::shm_size

  ASSERT_TRUE(stop(id).ok());
  ASSERT_TRUE(stop(id).ok()) << "stop is idempotent";
  ASSERT_TRUE(status(id, &resp).ok());
  EXPECT_EQ(resp.status().state(), v1::SANDBOX_NOTREADY);
  // Found comparing `crictl inspectp` with containerd's: the released address
  // was still reported after stop.
  EXPECT_TRUE(resp.status().has_network());
  EXPECT_EQ(resp.status().network().ip(), "") << "the address went back to IPAM";
  EXPECT_EQ(resp.status().network().additional_ips_size(), 0);
  EXPECT_FALSE(std::filesystem::exists(netns));
  EXPECT_EQ(net().veths(), std::vector<std::string>{});
  EXPECT_EQ(net().allocations(), std::vector<std::string>{});
  EXPECT_EQ(mounts_under(crid().runroot()), std::vector<std::string>{});
  ping = run_program({"busybox", "ping", "-c", "1", "-W", "1", ip});
  EXPECT_NE(ping.status, 0);

  ASSERT_TRUE(remove(id).ok());
  ASSERT_TRUE(remove(id).ok()) << "remove is idempotent";
  EXPECT_EQ(status(id, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(PodSandboxTest, TwoPodsReachEachOther) {
  std::string a = run_ok(pod_config("a"));
  std::string b = run_ok(pod_config("b"));
  std::string ip_b = ip_of(b);
  ASSERT_NE(ip_of(a), ip_b);
  std::string netns_a = info(a)["netns"];
  auto ping = run_program(
      {"nsenter", "--net=" + netns_a, "busybox", "ping", "-c", "1", "-W", "5", ip_b});
  EXPECT_EQ(ping.status, 0) << ping.output;
  // Loopback is up inside the pod.
  ping = run_program({"nsenter", "--net=" + netns_a, "busybox", "ping", "-c", "1", "-W", "5",
                      "127.0.0.1"});
  EXPECT_EQ(ping.status, 0) << ping.output;
}

TEST_F(PodSandboxTest, HostNetworkPodUsesTheHostNamespaces) {
  auto c = pod_config("hostnet");
  c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(
      v1::NODE);
  c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_ipc(v1::NODE);
  std::string id = run_ok(c);
  v1::PodSandboxStatusResponse resp;
  ASSERT_TRUE(status(id, &resp).ok());
  EXPECT_EQ(resp.status().network().ip(), "");
  EXPECT_EQ(resp.status().linux().namespaces().options().network(), v1::NODE);
  auto inf = nlohmann::json::parse(resp.info().at("info"));
  EXPECT_EQ(inf["netns"], "");
  EXPECT_EQ(inf["shm"], "/dev/shm");
  EXPECT_EQ(net().veths(), std::vector<std::string>{});
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  EXPECT_EQ(read_text(std::string(inf["podDir"]) + "/hostname"), std::string(host) + "\n");
  EXPECT_EQ(dir_entries(std::string(inf["podDir"]) + "/ns"), std::vector<std::string>{});

  // net.* sysctls would change the node: refused for host-network pods.
  (*c.mutable_linux()->mutable_sysctls())["net.ipv4.ip_forward"] = "1";
  c.mutable_metadata()->set_name("hostnet2");
  auto st = run(c, nullptr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("net.ipv4.ip_forward"), std::string::npos);
}

TEST_F(PodSandboxTest, HostPortForwardsToAListenerInThePod) {
  auto c = pod_config("web");
  auto* pm = c.add_port_mappings();
  pm->set_container_port(8080);
  pm->set_host_port(18080 + ::getpid() % 1000);
  std::string id = run_ok(c);
  std::string netns = info(id)["netns"];
  std::string www = crid().dir().file("www");
  std::filesystem::create_directories(www);
  std::ofstream(www + "/index.html") << "hello from the pod\n";

  // busybox httpd in the pod's netns (nsenter execs it, so the pid is httpd's).
  std::vector<std::string> args = {"/usr/bin/nsenter", "--net=" + netns, "busybox", "httpd",
                                   "-f", "-p", "8080", "-h", www};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t httpd = -1;
  ASSERT_EQ(posix_spawn(&httpd, argv[0], nullptr, nullptr, argv.data(), environ), 0);

  // Through the host port on the bridge gateway (a host address) and on
  // loopback (portmap enables route_localnet and SNATs for it).
  std::string got_gw, got_lo;
  for (int i = 0; i < 50 && got_gw.empty(); i++) {
    got_gw = http_get(net().gateway(), pm->host_port());
    if (got_gw.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  got_lo = http_get("127.0.0.1", pm->host_port());
  ::kill(httpd, SIGTERM);
  ::waitpid(httpd, nullptr, 0);
  EXPECT_EQ(got_gw, "hello from the pod\n");
  EXPECT_EQ(got_lo, "hello from the pod\n");
  auto rules = run_program({"iptables-save", "-t", "nat"});
  EXPECT_NE(rules.output.find(id), std::string::npos) << rules.output;
  ASSERT_TRUE(remove(id).ok());
  // portmap's DEL removed the forwarding rules of this pod.
  rules = run_program({"iptables-save", "-t", "nat"});
  EXPECT_EQ(rules.status, 0);
  EXPECT_EQ(rules.output.find(id), std::string::npos) << rules.output;
}

TEST_F(PodSandboxTest, DnsConfigLandsInResolvConf) {
  auto c = pod_config("dns");
  c.mutable_dns_config()->add_servers("10.96.0.10");
  c.mutable_dns_config()->add_searches("it.svc.cluster.local");
  c.mutable_dns_config()->add_searches("svc.cluster.local");
  c.mutable_dns_config()->add_options("ndots:5");
  std::string id = run_ok(c);
  EXPECT_EQ(read_text(std::string(info(id)["podDir"]) + "/resolv.conf"),
            "nameserver 10.96.0.10\nsearch it.svc.cluster.local svc.cluster.local\n"
            "options ndots:5\n");

  // Without a DNS config the pod gets the host's resolv.conf.
  std::string plain = run_ok(pod_config("plain"));
  EXPECT_EQ(read_text(std::string(info(plain)["podDir"]) + "/resolv.conf"),
            read_text("/etc/resolv.conf"));

  // A server that is not an address is refused, naming it.
  auto bad = pod_config("baddns");
  bad.mutable_dns_config()->add_servers("8.8.8.8\nnameserver 1.2.3.4");
  auto st = run(bad, nullptr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("DNS server"), std::string::npos);
}

TEST_F(PodSandboxTest, SysctlsAreSetInThePodNamespacesOnly) {
  std::string host_port_start =
      trim(run_program({"sysctl", "-n", "net.ipv4.ip_unprivileged_port_start"}).output);
  std::string host_shmmni = trim(run_program({"sysctl", "-n", "kernel.shmmni"}).output);
  auto c = pod_config("sysctl");
  (*c.mutable_linux()->mutable_sysctls())["net.ipv4.ip_unprivileged_port_start"] = "0";
  (*c.mutable_linux()->mutable_sysctls())["kernel.shmmni"] = "1234";
  std::string id = run_ok(c);
  auto inf = info(id);
  auto r = run_program({"nsenter", "--net=" + std::string(inf["netns"]), "sysctl", "-n",
                        "net.ipv4.ip_unprivileged_port_start"});
  EXPECT_EQ(trim(r.output), "0");
  r = run_program({"nsenter", "--ipc=" + std::string(inf["ipcns"]), "sysctl", "-n",
                   "kernel.shmmni"});
  EXPECT_EQ(trim(r.output), "1234");
  EXPECT_EQ(trim(run_program({"sysctl", "-n", "net.ipv4.ip_unprivileged_port_start"}).output),
            host_port_start);
  EXPECT_EQ(trim(run_program({"sysctl", "-n", "kernel.shmmni"}).output), host_shmmni);

  for (auto [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"kernel.panic", "1"}, {"vm.swappiness", "1"}, {"net..bad", "1"},
           {"net.ipv4.ip_forward", "1\nkernel.panic=1"},
           {"net.ipv4.no_such_knob", "1"}}) {
    auto bad = pod_config("badsysctl");
    (*bad.mutable_linux()->mutable_sysctls())[name] = value;
    auto st = run(bad, nullptr);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << name;
    EXPECT_NE(st.error_message().find(name), std::string::npos) << st.error_message();
  }
}

TEST_F(PodSandboxTest, RequestErrorsAndIdempotence) {
  auto st = run(pod_config("h"), nullptr, "no-such-handler");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("no-such-handler"), std::string::npos);

  std::string id = run_ok(pod_config("dup"));
  std::string id2;
  st = run(pod_config("dup"), &id2);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(st.error_message().find(id), std::string::npos) << st.error_message();
  // Another attempt of the same pod is a different sandbox.
  auto next = pod_config("dup");
  next.mutable_metadata()->set_attempt(1);
  std::string id3 = run_ok(next);
  EXPECT_NE(id3, id);

  std::string crun_pod;
  ASSERT_TRUE(run(pod_config("crun"), &crun_pod, "crun").ok());

  v1::PodSandboxStatusResponse resp;
  EXPECT_EQ(status(std::string(64, 'f'), &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(remove(std::string(64, 'f')).ok());
  EXPECT_TRUE(stop(std::string(64, 'f')).ok());
  // A unique prefix names a pod, as crictl users type it.
  ASSERT_TRUE(status(crun_pod.substr(0, 12), &resp).ok());
  EXPECT_EQ(resp.status().runtime_handler(), "crun");

  // List filters: id prefix, state, labels.
  ASSERT_TRUE(stop(id).ok());
  v1::ListPodSandboxRequest lreq;
  v1::ListPodSandboxResponse list;
  ASSERT_TRUE(crid().runtime().ListPodSandbox(call_context().get(), lreq, &list).ok());
  EXPECT_EQ(list.items_size(), 3);
  lreq.mutable_filter()->mutable_state()->set_state(v1::SANDBOX_NOTREADY);
  list.Clear();
  ASSERT_TRUE(crid().runtime().ListPodSandbox(call_context().get(), lreq, &list).ok());
  ASSERT_EQ(list.items_size(), 1);
  EXPECT_EQ(list.items(0).id(), id);
  lreq.Clear();
  (*lreq.mutable_filter()->mutable_label_selector())["app"] = "crun";
  list.Clear();
  ASSERT_TRUE(crid().runtime().ListPodSandbox(call_context().get(), lreq, &list).ok());
  ASSERT_EQ(list.items_size(), 1);
  EXPECT_EQ(list.items(0).id(), crun_pod);
  lreq.Clear();
  lreq.mutable_filter()->set_id(id3.substr(0, 10));
  list.Clear();
  ASSERT_TRUE(crid().runtime().ListPodSandbox(call_context().get(), lreq, &list).ok());
  ASSERT_EQ(list.items_size(), 1);
  EXPECT_EQ(list.items(0).id(), id3);
}

TEST_F(PodSandboxTest, TwentyConcurrentPodsGetDistinctAddresses) {
  constexpr int kPods = 20;
  std::vector<std::string> ids(kPods);
  std::vector<grpc::Status> results(kPods);
  std::vector<std::thread> threads;
  for (int i = 0; i < kPods; i++)
    threads.emplace_back([&, i] { results[i] = run(pod_config("c" + std::to_string(i)), &ids[i]); });
  for (auto& t : threads) t.join();
  std::set<std::string> ips;
  for (int i = 0; i < kPods; i++) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].error_message();
    std::string ip = ip_of(ids[i]);
    EXPECT_TRUE(ip.starts_with(net().subnet_prefix())) << ip;
    ips.insert(ip);
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kPods));
  EXPECT_EQ(net().veths().size(), static_cast<size_t>(kPods));
  EXPECT_EQ(net().allocations().size(), static_cast<size_t>(kPods));
  threads.clear();
  for (int i = 0; i < kPods; i++)
    threads.emplace_back([&, i] { results[i] = remove(ids[i]); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kPods; i++) EXPECT_TRUE(results[i].ok()) << results[i].error_message();
  expect_nothing_left();
}

TEST_F(PodSandboxTest, DetachWorksAfterARestartWithTheConfDirChanged) {
  std::string id = run_ok(pod_config("restart"));
  ASSERT_EQ(net().veths().size(), 1u);
  crid().stop(SIGKILL);
  std::filesystem::remove(net().conflist_path());
  std::string err;
  ASSERT_TRUE(crid().start(&err)) << err;
  v1::PodSandboxStatusResponse resp;
  ASSERT_TRUE(status(id, &resp).ok());
  EXPECT_EQ(resp.status().state(), v1::SANDBOX_READY);
  ASSERT_TRUE(remove(id).ok());
  EXPECT_EQ(net().veths(), std::vector<std::string>{});
  EXPECT_EQ(net().allocations(), std::vector<std::string>{});
}

TEST_F(PodSandboxTest, MissingPluginFailsNamingItAndLeavesNothing) {
  std::ofstream(net().conflist_path())
      << net().conflist({R"({"type": "crid-no-such-plugin"})"});
  std::string id;
  auto st = run(pod_config("missing"), &id);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error_message().find("crid-no-such-plugin"), std::string::npos)
      << st.error_message();
  expect_nothing_left();
  v1::ListPodSandboxResponse list;
  ASSERT_TRUE(crid().runtime().ListPodSandbox(call_context().get(), {}, &list).ok());
  EXPECT_EQ(list.items_size(), 0);
}

// Live `crid pause [<pod id>]` processes on the machine (zombies excluded).
int running_pauses() {
  int n = 0;
  for (auto& p : std::filesystem::directory_iterator("/proc")) {
    if (p.path().filename().string().find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream cf(p.path() / "cmdline"), sf(p.path() / "stat");
    std::string cmdline((std::istreambuf_iterator<char>(cf)), {});
    std::string stat((std::istreambuf_iterator<char>(sf)), {});
    auto close = stat.rfind(')');
    bool zombie = close != std::string::npos && stat.size() > close + 2 && stat[close + 2] == 'Z';
    if (!zombie && cmdline.find(std::string("/crid\0pause\0", 12)) != std::string::npos) ++n;
  }
  return n;
}

// A pod-wide PID namespace's pause is undone with the rest when a later
// step of RunPodSandbox fails.
TEST_F(PodSandboxTest, FailedRunKillsThePauseOfAPodWidePidNamespace) {
  std::ofstream(net().conflist_path())
      << net().conflist({R"({"type": "crid-no-such-plugin"})"});
  int before = running_pauses();
  auto c = pod_config("pidpod");
  c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  std::string id;
  auto st = run(c, &id);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error_message().find("crid-no-such-plugin"), std::string::npos)
      << st.error_message();
  EXPECT_EQ(running_pauses(), before);
  expect_nothing_left();
}

TEST_F(PodSandboxTest, RestartCleansUpAPodWhoseRunNeverCommitted) {
  // Losing the database row is what a SIGKILL between CNI ADD and the final
  // INSERT looks like: the restarted daemon must tear the pod down.
  std::string id = run_ok(pod_config("orphan"));
  ASSERT_EQ(net().veths().size(), 1u);
  crid().stop(SIGKILL);
  for (auto f : {"crid.db", "crid.db-wal", "crid.db-shm"})
    std::filesystem::remove(crid().root() + "/" + f);
  std::string err;
  ASSERT_TRUE(crid().start(&err)) << err;
  expect_nothing_left();
  EXPECT_NE(crid().log().find("interrupted RunPodSandbox"), std::string::npos);
}

TEST_F(PodSandboxTest, PodsWhoseNamespacesVanishedAreNotReadyAfterRestart) {
  // A reboot wipes the runroot: pins and mounts are gone, rows remain.
  std::string id = run_ok(pod_config("reboot"));
  auto inf = info(id);
  crid().stop(SIGKILL);
  for (std::string k : {"netns", "ipcns", "utsns"}) {
    std::string pin = inf[k];
    ASSERT_EQ(::umount2(pin.c_str(), MNT_DETACH), 0) << pin;
  }
  ASSERT_EQ(::umount2(std::string(inf["shm"]).c_str(), MNT_DETACH), 0);
  std::filesystem::remove_all(std::string(inf["podDir"]));
  std::string err;
  ASSERT_TRUE(crid().start(&err)) << err;
  v1::PodSandboxStatusResponse resp;
  ASSERT_TRUE(status(id, &resp).ok());
  EXPECT_EQ(resp.status().state(), v1::SANDBOX_NOTREADY);
  // Remove still releases the address through the cached CNI result.
  ASSERT_TRUE(remove(id).ok());
  EXPECT_EQ(net().allocations(), std::vector<std::string>{});
}

TEST_F(PodSandboxTest, NetworkReadyNamesAMissingPluginAndStreamListsPods) {
  std::ofstream(net().conflist_path())
      << net().conflist({R"({"type": "crid-no-such-plugin"})"});
  v1::StatusResponse st;
  ASSERT_TRUE(crid().runtime().Status(call_context().get(), {}, &st).ok());
  bool seen = false;
  for (auto& c : st.status().conditions()) {
    if (c.type() != "NetworkReady") continue;
    seen = true;
    EXPECT_FALSE(c.status());
    EXPECT_NE(c.message().find("crid-no-such-plugin"), std::string::npos) << c.message();
  }
  EXPECT_TRUE(seen);

  std::ofstream(net().conflist_path()) << net().conflist({});
  std::string a = run_ok(pod_config("s1"));
  std::string b = run_ok(pod_config("s2"));
  v1::StreamPodSandboxesRequest req;
  auto ctx = call_context();
  auto reader = crid().runtime().StreamPodSandboxes(ctx.get(), req);
  v1::StreamPodSandboxesResponse batch;
  std::set<std::string> ids;
  while (reader->Read(&batch))
    for (auto& p : batch.pod_sandboxes()) ids.insert(p.id());
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(ids, (std::set<std::string>{a, b}));
}

TEST_F(PodSandboxTest, CgroupParentIsRecordedAndSlicesNeedTheSystemdDriver) {
  auto c = pod_config("cg");
  c.mutable_linux()->set_cgroup_parent("/kubepods/besteffort/poduid-cg");
  std::string id = run_ok(c);
  EXPECT_EQ(info(id)["cgroupParent"], "/kubepods/besteffort/poduid-cg");
  auto slice = pod_config("slice");
  slice.mutable_linux()->set_cgroup_parent("kubepods-besteffort.slice");
  auto st = run(slice, nullptr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("kubepods-besteffort.slice"), std::string::npos);
}

// The pause of a pod-wide PID namespace: which program runs it, what it
// shows, and that it joined the pod's network namespace.
struct PauseSeen {
  pid_t pid = 0;
  std::string cmdline, exe;
  bool in_pod_netns = false;
};
PauseSeen look_at_pause(const nlohmann::json& inf) {
  PauseSeen seen;
  seen.pid = inf.value("pid", 0);
  if (seen.pid <= 0) return seen;
  std::string proc = "/proc/" + std::to_string(seen.pid);
  seen.cmdline = read_text(proc + "/cmdline");
  std::error_code ec;
  seen.exe = std::filesystem::read_symlink(proc + "/exe", ec).string();
  struct stat pin {}, joined {};
  seen.in_pod_netns = ::stat(std::string(inf["netns"]).c_str(), &pin) == 0 &&
                      ::stat((proc + "/ns/net").c_str(), &joined) == 0 &&
                      pin.st_ino == joined.st_ino && pin.st_dev == joined.st_dev;
  return seen;
}

// crid runs the small crid-pause installed beside it, under crid's own name.
TEST_F(PodSandboxTest, ThePauseIsCridPauseBesideCridUnderCridsName) {
  auto c = pod_config("pausebin");
  c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  std::string id = run_ok(c);
  PauseSeen seen = look_at_pause(info(id));
  ASSERT_GT(seen.pid, 0);
  std::string crid_path = std::filesystem::weakly_canonical(crid_binary()).string();
  EXPECT_EQ(seen.cmdline, crid_path + std::string("\0pause\0", 7) + id + std::string(1, '\0'));
  EXPECT_EQ(seen.exe, std::filesystem::path(crid_path).parent_path().string() + "/crid-pause");
  EXPECT_TRUE(seen.in_pod_netns);
  ASSERT_TRUE(remove(id).ok());
}

// A crid with no crid-pause beside it (a hard link of the binary alone)
// runs `crid pause` itself, the same way.
class WithoutCridPauseTest : public PodSandboxTest {
 protected:
  void configure() override {
    lone_crid_ = crid().dir().file("bin/crid");
    std::filesystem::create_directories(crid().dir().file("bin"));
    std::error_code ec;
    std::filesystem::create_hard_link(crid_binary(), lone_crid_, ec);
    if (ec) std::filesystem::copy_file(crid_binary(), lone_crid_);
    // sh drops the path of the build's crid and execs the lone one (same pid).
    crid().set_launch_prefix({"/bin/sh", "-c", "shift; exec \"$0\" \"$@\"", lone_crid_});
  }
  std::string lone_crid_;
};

TEST_F(WithoutCridPauseTest, CridRunsThePauseItselfWhenCridPauseIsMissing) {
  ASSERT_FALSE(std::filesystem::exists(crid().dir().file("bin/crid-pause")));
  auto c = pod_config("pauseself");
  c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  std::string id = run_ok(c);
  PauseSeen seen = look_at_pause(info(id));
  ASSERT_GT(seen.pid, 0) << crid().log();
  EXPECT_EQ(seen.cmdline, lone_crid_ + std::string("\0pause\0", 7) + id + std::string(1, '\0'));
  EXPECT_EQ(seen.exe, lone_crid_);
  EXPECT_TRUE(seen.in_pod_netns);
  ASSERT_TRUE(remove(id).ok());
  std::error_code ec;
  EXPECT_FALSE(std::filesystem::exists("/proc/" + std::to_string(seen.pid) + "/cmdline", ec) &&
               read_text("/proc/" + std::to_string(seen.pid) + "/cmdline") == seen.cmdline)
      << "the pause outlived its pod";
}

// Host pids of the live (not zombie) processes in PID namespace `ns_ino`.
std::set<pid_t> live_in_pid_ns(ino_t ns_ino) {
  std::set<pid_t> found;
  for (auto& p : std::filesystem::directory_iterator("/proc")) {
    std::string name = p.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    struct stat st {};
    if (::stat((p.path() / "ns/pid").c_str(), &st) != 0 || st.st_ino != ns_ino) continue;
    std::string stat = read_text(p.path() / "stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos || stat.size() <= close + 2 || stat[close + 2] == 'Z') continue;
    found.insert(static_cast<pid_t>(std::stoi(name)));
  }
  return found;
}

// StopPodSandbox answers only once the pause and everything else in the
// pod's PID namespace are dead (the pause's exit, as seen through its
// pidfd, comes after the kernel has ended the rest of its namespace).
TEST_F(PodSandboxTest, StopReturnsOnlyWhenEveryProcessOfThePodPidNamespaceIsDead) {
  auto c = pod_config("pidstop");
  c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  std::string id = run_ok(c);
  pid_t pause = info(id).value("pid", 0);
  ASSERT_GT(pause, 0);
  struct stat ns {};
  ASSERT_EQ(::stat(("/proc/" + std::to_string(pause) + "/ns/pid").c_str(), &ns), 0);
  // A second process in the pod's PID namespace, its parent (nsenter, which
  // forks for a PID namespace) outside it.
  std::string target = std::to_string(pause);
  std::vector<std::string> args = {"nsenter", "-t", target, "-p", "/bin/busybox", "sleep",
                                   "1000"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t nsenter = 0;
  ASSERT_EQ(::posix_spawnp(&nsenter, "nsenter", nullptr, nullptr, argv.data(), environ), 0);
  std::set<pid_t> inside;
  for (int i = 0; i < 500 && inside.size() < 2; ++i) {
    inside = live_in_pid_ns(ns.st_ino);
    if (inside.size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(inside.size(), 2u) << "the sleep never showed up in the pod's PID namespace";
  EXPECT_TRUE(inside.count(pause));

  ASSERT_TRUE(stop(id).ok());
  EXPECT_EQ(live_in_pid_ns(ns.st_ino), std::set<pid_t>{});
  int status = 0;
  ASSERT_EQ(::waitpid(nsenter, &status, 0), nsenter);
  EXPECT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0))
      << "the sleep inside the pod was not killed";
  // Stopping again finds the pause gone and is fine.
  EXPECT_TRUE(stop(id).ok());
  ASSERT_TRUE(remove(id).ok());
  expect_nothing_left();
}

class SystemdDriverTest : public PodSandboxTest {
 protected:
  void configure() override {
    crid().dir().write("crid.conf.d/50-systemd.conf", "[runtime]\ncgroup_driver = \"systemd\"\n");
  }
};

TEST_F(SystemdDriverTest, SystemdDriverWithoutSystemdIsAFailedPrecondition) {
  if (std::filesystem::exists("/run/systemd/system")) GTEST_SKIP() << "systemd is PID 1 here";
  auto st = run(pod_config("sd"), nullptr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("systemd cgroup driver needs systemd as PID 1"),
            std::string::npos)
      << st.error_message();
}

TEST_F(PodSandboxTest, PodCidrFromUpdateRuntimeConfigReachesIpam) {
  // The file names no range: with the ipRanges capability host-local
  // allocates from the node's pod CIDR that crid hands down.
  std::ofstream(net().conflist_path()) << R"({"cniVersion": "1.0.0", "name": ")" + net().name() +
      R"(", "plugins": [{"type": "bridge", "bridge": ")" + net().bridge() +
      R"(", "isGateway": true, "capabilities": {"ipRanges": true},
      "ipam": {"type": "host-local", "dataDir": ")" + net().ipam_data_dir() + R"("}}]})";
  v1::UpdateRuntimeConfigRequest req;
  req.mutable_runtime_config()->mutable_network_config()->set_pod_cidr(net().subnet_prefix() +
                                                                        "0/24");
  v1::UpdateRuntimeConfigResponse resp;
  ASSERT_TRUE(crid().runtime().UpdateRuntimeConfig(call_context().get(), req, &resp).ok());
  std::string id = run_ok(pod_config("cidr"));
  std::string ip = ip_of(id);
  EXPECT_TRUE(ip.starts_with(net().subnet_prefix())) << ip;
  auto ping = run_program({"busybox", "ping", "-c", "1", "-W", "5", ip});
  EXPECT_EQ(ping.status, 0) << ping.output;
}

TEST_F(PodSandboxTest, BandwidthAnnotationsShapeThePodTraffic) {
  std::ofstream(net().conflist_path())
      << net().conflist({R"({"type": "bandwidth", "capabilities": {"bandwidth": true}})"});
  auto c = pod_config("shaped");
  (*c.mutable_annotations())["kubernetes.io/ingress-bandwidth"] = "1M";
  (*c.mutable_annotations())["kubernetes.io/egress-bandwidth"] = "2M";
  std::string id = run_ok(c);
  // The host end of the pod's veth carries a token bucket filter.
  std::string host_veth, ifb;
  auto inf = info(id);
  for (auto& iface : inf["cniResult"]["interfaces"]) {
    auto name = iface["name"].get<std::string>();
    if (name.starts_with("veth")) host_veth = name;
    if (name.starts_with("bwp")) ifb = name;  // the plugin's egress device
  }
  ASSERT_FALSE(host_veth.empty()) << info(id).dump();
  auto qdisc = run_program({"tc", "qdisc", "show", "dev", host_veth});
  EXPECT_NE(qdisc.output.find("tbf"), std::string::npos) << qdisc.output;
  ASSERT_FALSE(ifb.empty());
  EXPECT_EQ(run_program({"ip", "link", "show", ifb}).status, 0);

  auto bad = pod_config("badshape");
  (*bad.mutable_annotations())["kubernetes.io/egress-bandwidth"] = "fast";
  auto st = run(bad, nullptr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("kubernetes.io/egress-bandwidth"), std::string::npos);

  ASSERT_TRUE(remove(id).ok());
  EXPECT_NE(run_program({"ip", "link", "show", ifb}).status, 0) << "bandwidth DEL left " << ifb;
}

// A plugin that fails ADD with a CNI error object, after bridge attached.
class FailingPluginTest : public PodSandboxTest {
 protected:
  void configure() override {
    std::string bin = bin_.path();
    std::ofstream(bin + "/crid-fail") << R"(#!/bin/sh
cat > /dev/null
if [ "$CNI_COMMAND" = ADD ]; then
  echo '{"cniVersion": "1.0.0", "code": 7, "msg": "refusing this pod", "details": "test plugin"}'
  exit 1
fi
exit 0
)";
    std::filesystem::permissions(bin + "/crid-fail", std::filesystem::perms(0755));
    crid().dir().write("crid.conf.d/50-bins.conf",
                       "[network]\ncni_bin_dirs = [\"" + bin + "\", \"/usr/lib/cni\"]\n");
  }
  TempDir bin_{"crid-it-bin"};
};

TEST_F(FailingPluginTest, FailingPluginErrorIsReportedAndEverythingUndone) {
  std::ofstream(net().conflist_path()) << net().conflist({R"({"type": "crid-fail"})"});
  auto st = run(pod_config("fails"), nullptr);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error_message().find("crid-fail"), std::string::npos) << st.error_message();
  EXPECT_NE(st.error_message().find("refusing this pod: test plugin"), std::string::npos)
      << st.error_message();
  expect_nothing_left();
}

}  // namespace
}  // namespace crid::testing
