// The streaming server on loopback: routing by token, refusals, limits,
// TLS, and no threads or descriptors left behind.
#include "stream/stream_server.h"

#include <dirent.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <thread>

#include "fake_stream_backend.h"
#include "integration/support/spdy_client.h"
#include "util/process.h"

namespace crid::stream {
namespace {

using namespace std::chrono_literals;
using testing::SpdyClient;

ExecRequest echo_exec() {
  ExecRequest r;
  r.container_id = "ctr";
  r.cmd = {"echo"};
  r.stdin = r.stdout = true;
  return r;
}

std::unique_ptr<StreamServer> start(FakeStreamBackend& backend, StreamServerOptions opts = {}) {
  auto s = StreamServer::start(std::move(opts), backend);
  EXPECT_TRUE(s) << s.error().message();
  return s ? std::move(s).value() : nullptr;
}

Result<testing::HttpResponseHead> request(const std::string& url, SpdyClient** keep = nullptr) {
  CRID_ASSIGN(UniqueFd fd, SpdyClient::dial(url));
  auto client = std::make_unique<SpdyClient>(std::move(fd));
  auto head = client->upgrade(SpdyClient::path_of(url), {"v4.channel.k8s.io"});
  if (keep) *keep = client.release();
  return head;
}

// One exec through the server: echo "hi" and a Success status.
void run_echo(StreamServer& server) {
  auto url = server.get_url(echo_exec());
  ASSERT_TRUE(url);
  auto fd = SpdyClient::dial(*url);
  ASSERT_TRUE(fd);
  SpdyClient c(std::move(*fd));
  auto head = c.upgrade(SpdyClient::path_of(*url), {"v4.channel.k8s.io"});
  ASSERT_TRUE(head && head->code == 101) << (head ? head->body : head.error().message());
  auto err = c.open_stream({{"streamtype", "error"}});
  auto in = c.open_stream({{"streamtype", "stdin"}});
  auto out = c.open_stream({{"streamtype", "stdout"}});
  ASSERT_TRUE(err && in && out);
  ASSERT_TRUE(c.send(*in, "hi", true));
  EXPECT_EQ(c.read_all(*out), "hi");
  EXPECT_EQ(c.read_all(*err), R"({"metadata":{},"status":"Success"})");
}

TEST(StreamServer, UrlsNameKindAndTokenAndServeOnce) {
  FakeStreamBackend backend;
  auto server = start(backend);
  ASSERT_TRUE(server);
  auto url = server->get_url(echo_exec());
  ASSERT_TRUE(url);
  EXPECT_EQ(url->rfind(server->base_url() + "/exec/", 0), 0u) << *url;
  EXPECT_EQ(server->base_url(), "http://127.0.0.1:" + std::to_string(server->port()));
  auto pf = server->get_url(PortForwardRequest{"pod", {80}});
  ASSERT_TRUE(pf);
  EXPECT_NE(pf->find("/portforward/"), std::string::npos);
  run_echo(*server);
  EXPECT_EQ(backend.execs, 1);
}

TEST(StreamServer, UnknownReusedExpiredAndMismatchedTokensGet404) {
  FakeStreamBackend backend;
  auto now = std::make_shared<std::chrono::steady_clock::time_point>();
  StreamServerOptions opts;
  opts.clock = [now] { return *now; };
  auto server = start(backend, opts);
  ASSERT_TRUE(server);

  auto unknown = request(server->base_url() + "/exec/AAAAAAAAAAAAAAAAAAAAAA");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->code, 404);

  auto url = server->get_url(echo_exec());
  ASSERT_TRUE(url);
  SpdyClient* first = nullptr;
  auto used = request(*url, &first);
  std::unique_ptr<SpdyClient> keep(first);
  ASSERT_TRUE(used);
  EXPECT_EQ(used->code, 101);
  auto again = request(*url);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->code, 404);
  keep.reset();

  auto expiring = server->get_url(echo_exec());
  ASSERT_TRUE(expiring);
  *now += 61s;
  auto late = request(*expiring);
  ASSERT_TRUE(late);
  EXPECT_EQ(late->code, 404);

  // A token for exec presented at /attach/ is not honoured (and is spent).
  auto exec_url = server->get_url(echo_exec());
  ASSERT_TRUE(exec_url);
  std::string wrong = *exec_url;
  wrong.replace(wrong.find("/exec/"), 6, "/attach/");
  auto mismatched = request(wrong);
  ASSERT_TRUE(mismatched);
  EXPECT_EQ(mismatched->code, 404);
  EXPECT_EQ(backend.execs, 0);
}

TEST(StreamServer, RequestWithoutUpgradeIsRefused) {
  FakeStreamBackend backend;
  auto server = start(backend);
  ASSERT_TRUE(server);
  auto url = server->get_url(echo_exec());
  ASSERT_TRUE(url);
  auto fd = SpdyClient::dial(*url);
  ASSERT_TRUE(fd);
  SpdyClient c(std::move(*fd));
  ASSERT_TRUE(c.send_raw("GET " + SpdyClient::path_of(*url) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.read_response();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->code, 400);
}

TEST(StreamServer, SessionsOverTheCapGet503) {
  FakeStreamBackend backend;
  StreamServerOptions opts;
  opts.max_sessions = 1;
  auto server = start(backend, opts);
  ASSERT_TRUE(server);
  ExecRequest wait = echo_exec();
  wait.cmd = {"wait"};
  auto url = server->get_url(wait);
  ASSERT_TRUE(url);
  SpdyClient* holder = nullptr;
  auto held = request(*url, &holder);
  std::unique_ptr<SpdyClient> keep(holder);
  ASSERT_TRUE(held && held->code == 101);
  auto second = server->get_url(echo_exec());
  ASSERT_TRUE(second);
  auto refused = request(*second);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, 503);
  // The refused token was not spent: once the first session ends it works.
  keep.reset();
  for (int i = 0; i < 400 && server->active_sessions() > 0; ++i) std::this_thread::sleep_for(10ms);
  auto later = request(*second);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->code, 101);
}

size_t count_entries(const char* dir) {
  size_t n = 0;
  if (DIR* d = ::opendir(dir)) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n;
}

TEST(StreamServer, ManySessionsLeaveNoThreadsOrDescriptors) {
  FakeStreamBackend backend;
  auto server = start(backend);
  ASSERT_TRUE(server);
  run_echo(*server);  // warm up lazily created state (logger, TLS tables)
  auto settled = [&] {
    for (int i = 0; i < 500 && server->active_sessions() > 0; ++i) std::this_thread::sleep_for(10ms);
    // The acceptor reaps finished session threads on its next wake-up.
    std::this_thread::sleep_for(700ms);
  };
  settled();
  size_t fds = count_entries("/proc/self/fd");
  size_t tasks = count_entries("/proc/self/task");
  for (int i = 0; i < 40; ++i) run_echo(*server);
  settled();
  EXPECT_EQ(count_entries("/proc/self/fd"), fds);
  EXPECT_EQ(count_entries("/proc/self/task"), tasks);
  EXPECT_EQ(backend.execs, 41);
}

TEST(StreamServer, ServesTlsWhenGivenACertificate) {
  char tmpl[] = "/tmp/crid-stream-tls-XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  std::string dir = tmpl;
  SpawnOptions gen;
  gen.argv = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
              "-subj", "/CN=127.0.0.1", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"};
  gen.argv[0] = "/usr/bin/openssl";
  auto made = run_process(gen);
  if (!made || !made->success()) GTEST_SKIP() << "openssl cannot make a test certificate";

  FakeStreamBackend backend;
  StreamServerOptions opts;
  opts.tls_cert = dir + "/cert.pem";
  opts.tls_key = dir + "/key.pem";
  auto server = start(backend, opts);
  ASSERT_TRUE(server);
  EXPECT_EQ(server->base_url().rfind("https://127.0.0.1:", 0), 0u);
  auto url = server->get_url(echo_exec());
  ASSERT_TRUE(url);

  auto fd = SpdyClient::dial("http://" + url->substr(8));
  ASSERT_TRUE(fd);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd->get());
  ASSERT_EQ(SSL_connect(ssl), 1);
  std::string req = "POST " + SpdyClient::path_of(*url) +
                    " HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                    "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n";
  ASSERT_EQ(SSL_write(ssl, req.data(), static_cast<int>(req.size())), static_cast<int>(req.size()));
  char buf[512];
  int n = SSL_read(ssl, buf, sizeof(buf));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 101 Switching Protocols", 0), 0u);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  fd->reset();

  // Without the right key the server does not start.
  StreamServerOptions broken = opts;
  broken.tls_key = dir + "/missing.pem";
  auto failed = StreamServer::start(broken, backend);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message().find("missing.pem"), std::string::npos);
  (void)run_process(SpawnOptions{{"/bin/rm", "-rf", dir}});
}

}  // namespace
}  // namespace crid::stream
