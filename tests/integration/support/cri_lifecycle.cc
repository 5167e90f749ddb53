#include "support/cri_lifecycle.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include <gtest/gtest.h>

namespace crid::testing {

SharedBusybox& SharedBusybox::get() {
  static SharedBusybox env;
  return env;
}

SharedBusybox::SharedBusybox() {
  if (::geteuid() != 0) {
    error_ = "needs root";
    return;
  }
  if (!registry_.start(&error_)) return;
  ImageConfigSpec spec;
  spec.cmd = {"/bin/sh"};
  error_ = push_busybox_image(dir_.file("layout"), registry_, "it/lifecycle", spec);
}

std::string SharedBusybox::image() const { return registry_.host() + "/it/lifecycle:latest"; }

std::string CriLifecycle::run_pod(const std::string& name) {
  v1::RunPodSandboxRequest req;
  auto* c = req.mutable_config();
  c->mutable_metadata()->set_name(name);
  c->mutable_metadata()->set_namespace_("it");
  c->mutable_metadata()->set_uid("uid-" + name);
  c->set_hostname(name);
  c->set_log_directory(crid_.dir().file("logs/" + name));
  c->mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(v1::NODE);
  (*c->mutable_labels())["it-pod"] = name;
  v1::RunPodSandboxResponse resp;
  auto st = crid_.runtime().RunPodSandbox(call_context().get(), req, &resp);
  EXPECT_TRUE(st.ok()) << "RunPodSandbox " << name << ": " << st.error_message();
  if (st.ok()) pods_[resp.pod_sandbox_id()] = *c;
  return resp.pod_sandbox_id();
}

std::string CriLifecycle::create(const std::string& pod, const std::string& name,
                                 std::vector<std::string> command) {
  v1::CreateContainerRequest req;
  req.set_pod_sandbox_id(pod);
  auto* c = req.mutable_config();
  c->mutable_metadata()->set_name(name);
  c->mutable_image()->set_image(image_);
  for (auto& a : command) c->add_command(a);
  c->set_log_path(name + ".log");
  (*c->mutable_labels())["it-ctr"] = name;
  auto it = pods_.find(pod);
  if (it != pods_.end()) *req.mutable_sandbox_config() = it->second;
  v1::CreateContainerResponse resp;
  auto st = crid_.runtime().CreateContainer(call_context().get(), req, &resp);
  EXPECT_TRUE(st.ok()) << "CreateContainer " << name << ": " << st.error_message();
  return resp.container_id();
}

grpc::Status CriLifecycle::start(const std::string& id) {
  v1::StartContainerRequest req;
  req.set_container_id(id);
  v1::StartContainerResponse resp;
  return crid_.runtime().StartContainer(call_context().get(), req, &resp);
}

grpc::Status CriLifecycle::stop(const std::string& id, int64_t timeout_seconds) {
  v1::StopContainerRequest req;
  req.set_container_id(id);
  req.set_timeout(timeout_seconds);
  v1::StopContainerResponse resp;
  return crid_.runtime().StopContainer(call_context(std::chrono::seconds(120)).get(), req, &resp);
}

grpc::Status CriLifecycle::remove(const std::string& id) {
  v1::RemoveContainerRequest req;
  req.set_container_id(id);
  v1::RemoveContainerResponse resp;
  return crid_.runtime().RemoveContainer(call_context(std::chrono::seconds(120)).get(), req, &resp);
}

void CriLifecycle::remove_all_pods() {
  v1::ListPodSandboxResponse pods;
  crid_.runtime().ListPodSandbox(call_context().get(), v1::ListPodSandboxRequest(), &pods);
  for (const auto& p : pods.items()) {
    v1::RemovePodSandboxRequest r;
    r.set_pod_sandbox_id(p.id());
    v1::RemovePodSandboxResponse resp;
    crid_.runtime().RemovePodSandbox(call_context(std::chrono::seconds(300)).get(), r, &resp);
  }
  pods_.clear();
}

namespace {

int connect_to(const std::string& address, std::string* error) {
  int fd = -1;
  if (address.rfind("unix://", 0) == 0) {
    std::string path = address.substr(7);
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) return fd;
  } else {
    auto colon = address.rfind(':');
    std::string host = address.substr(0, colon);
    int port = std::stoi(address.substr(colon + 1));
    if (host.size() > 1 && host.front() == '[') {
      host = host.substr(1, host.size() - 2);
      sockaddr_in6 sa{};
      sa.sin6_family = AF_INET6;
      sa.sin6_port = htons(port);
      inet_pton(AF_INET6, host.c_str(), &sa.sin6_addr);
      fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) return fd;
    } else {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(port);
      inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
      fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) return fd;
    }
  }
  if (error) *error = "connecting to " + address + ": " + std::strerror(errno);
  if (fd >= 0) ::close(fd);
  return -1;
}

}  // namespace

std::string http_exchange(const std::string& address, const std::string& req, std::string* error) {
  int fd = connect_to(address, error);
  if (fd < 0) return "";
  (void)!::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string resp;
  char buf[8192];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    resp.append(buf, n);
  }
  ::close(fd);
  if (resp.empty() && error) *error = "no answer from " + address;
  return resp;
}

std::string scrape_metrics(const std::string& address, std::string* error) {
  std::string resp = http_exchange(address, "GET /metrics HTTP/1.1\r\nHost: crid\r\nConnection: close\r\n\r\n", error);
  if (resp.empty()) return "";
  auto body = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) {
    if (error) *error = "unexpected answer from " + address + ": " + resp.substr(0, 200);
    return "";
  }
  return resp.substr(body + 4);
}

double sample_value(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

}  // namespace crid::testing
