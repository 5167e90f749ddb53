// PullImage when the client stops waiting: a real crid pulls a large image
// (busybox plus tens of MiB of random bytes, pushed with skopeo to Debian's
// docker-registry) through a throttling loopback proxy, and the test cancels
// the call or lets its deadline pass mid-transfer. The daemon must stop the
// transfer, keep no image and no temporary file, close what it opened, and
// pull the same image whole on the next try.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "support/crid_process.h"
#include "support/registry.h"
#include "support/test_images.h"
#include "support/throttling_proxy.h"

namespace crid::testing {
namespace {

namespace fsys = std::filesystem;
using namespace std::chrono_literals;

constexpr size_t kRandomBytes = 24 << 20;
constexpr int64_t kSlowRate = 2 << 20;  // bytes per second through the proxy

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  std::ifstream in("/dev/urandom", std::ios::binary);
  in.read(out.data(), static_cast<std::streamsize>(n));
  return out;
}

// Polls `cond` (a guard against hanging, not a timing assertion).
template <typename F>
bool eventually(F cond) {
  for (int i = 0; i < 3000; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

size_t entries(const std::string& dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = fsys::directory_iterator(dir, ec); !ec && it != fsys::directory_iterator(); ++it) ++n;
  return n;
}

class ImagePullCancelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CRID_REQUIRE_ROOT();
    std::string err;
    ASSERT_TRUE(registry_.start(&err)) << err;
    proxy_ = std::make_unique<ThrottlingProxy>(registry_.port(), 0);
    OciLayout layout(work_.file("layout"));
    Platform platform{"linux", host_architecture(), ""};
    small_ = layout.add_image({busybox_layer(Compression::kGzip)}, platform, "small", "1000");
    ASSERT_EQ(skopeo_push(layout.dir(), "small", registry_.host() + "/small:v1"), "");
    TestLayer big = busybox_layer(Compression::kNone);
    big.entries.push_back({LayerEntry::kFile, "random.bin", random_bytes(kRandomBytes), "", 0644});
    big_ = layout.add_image({big}, platform, "big", "1000");
    ASSERT_EQ(skopeo_push(layout.dir(), "big", registry_.host() + "/big:v1"), "");

    crid_ = std::make_unique<CridProcess>("[image]\npull_progress_timeout = \"60s\"\n[image.registries.\"" +
                                          proxy_->host() + "\"]\ninsecure = true\n");
    ASSERT_TRUE(crid_->start(&err)) << err;
    // A first pull opens what the daemon keeps open (database readers,
    // spool dir): the fd count after it is the baseline.
    v1::PullImageResponse resp;
    auto st = crid_->images().PullImage(call_context(120s).get(), request(small_ref()), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    baseline_fds_ = fd_count();
    baseline_targets_ = fd_targets();
    proxy_->set_rate(kSlowRate);
  }

  std::string small_ref() const { return proxy_->host() + "/small:v1"; }
  std::string big_ref() const { return proxy_->host() + "/big:v1"; }
  static v1::PullImageRequest request(const std::string& ref) {
    v1::PullImageRequest req;
    req.mutable_image()->set_image(ref);
    return req;
  }

  // A pull of the big image on another thread, with `ctx` the test can cancel.
  std::future<grpc::Status> pull_big(grpc::ClientContext& ctx) {
    return std::async(std::launch::async, [this, &ctx] {
      v1::PullImageResponse resp;
      return crid_->images().PullImage(&ctx, request(big_ref()), &resp);
    });
  }
  // The random layer is on the wire (manifest, config are a few KiB).
  bool big_layer_flowing() const { return proxy_->bytes_relayed() > (2 << 20); }

  // The daemon's open fds, leaving out the database's: it pools a reader
  // connection per concurrently live statement, so their number follows
  // the concurrency seen so far, not leaks.
  std::vector<std::string> fds() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto& e : fsys::directory_iterator("/proc/" + std::to_string(crid_->pid()) + "/fd", ec)) {
      std::string target = fsys::read_symlink(e.path(), ec).string();
      if (target.find("/crid.db") == std::string::npos) out.push_back(target);
    }
    return out;
  }
  size_t fd_count() const { return fds().size(); }
  std::string fd_targets() const {
    std::string out;
    for (auto& t : fds()) out += t + "\n";
    return out;
  }

  bool big_image_listed() {
    v1::ListImagesResponse list;
    EXPECT_TRUE(crid_->images().ListImages(call_context().get(), v1::ListImagesRequest(), &list).ok());
    for (auto& img : list.images())
      if (img.id() == big_.config_digest) return true;
    return false;
  }

  // The daemon stopped the pull and left nothing of it behind.
  void expect_pull_stopped_without_trace() {
    // The transfer ended (the daemon closed its connection) short of the blob.
    ASSERT_TRUE(eventually([&] { return proxy_->open_connections() == 0; })) << crid_->log();
    EXPECT_LT(proxy_->bytes_relayed(), static_cast<int64_t>(kRandomBytes));
    EXPECT_FALSE(big_image_listed());
    v1::ImageStatusResponse status;
    ASSERT_TRUE(crid_->images().ImageStatus(call_context().get(), [&] {
      v1::ImageStatusRequest r;
      r.mutable_image()->set_image(big_ref());
      return r;
    }(), &status).ok());
    EXPECT_FALSE(status.has_image());
    EXPECT_EQ(entries(crid_->root() + "/tmp"), 0u) << "spool files left";
    for (auto& e : fsys::directory_iterator(crid_->root() + "/layers"))
      EXPECT_NE(e.path().filename().string().rfind("tmp-", 0), 0u) << "unpack dir left: " << e.path();
    EXPECT_EQ(entries(crid_->root() + "/layers"), 2u) << "only l/ and the small image's layer";
    EXPECT_TRUE(eventually([&] { return fd_count() <= baseline_fds_; }))
        << fd_count() << " fds open, " << baseline_fds_ << " before the pull:\n" << fd_targets() << "before:\n"
        << baseline_targets_;
  }

  // With the network fast again the same pull goes through whole.
  void expect_next_pull_succeeds() {
    proxy_->set_rate(0);
    v1::PullImageResponse resp;
    auto st = crid_->images().PullImage(call_context(120s).get(), request(big_ref()), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message() << "\n" << crid_->log();
    EXPECT_EQ(resp.image_ref(), big_.config_digest);
    EXPECT_TRUE(big_image_listed());
  }

  TempDir work_{"crid-it-pull-cancel"};
  LocalRegistry registry_;
  std::unique_ptr<ThrottlingProxy> proxy_;
  BuiltImage small_, big_;
  std::unique_ptr<CridProcess> crid_;
  size_t baseline_fds_ = 0;
  std::string baseline_targets_;
};

TEST_F(ImagePullCancelTest, CancelledCallStopsTheTransferAndLeavesNothing) {
  auto ctx = call_context(120s);
  auto result = pull_big(*ctx);
  ASSERT_TRUE(eventually([&] { return big_layer_flowing(); }));
  ctx->TryCancel();
  auto st = result.get();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED) << st.error_message();
  expect_pull_stopped_without_trace();
  EXPECT_NE(crid_->log().find("every caller gave up"), std::string::npos) << crid_->log();
  expect_next_pull_succeeds();
}

TEST_F(ImagePullCancelTest, PassedDeadlineStopsThePull) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 1500ms);
  auto st = pull_big(ctx).get();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << st.error_message();
  expect_pull_stopped_without_trace();
  expect_next_pull_succeeds();
}

TEST_F(ImagePullCancelTest, ACancelledCallerLeavesTheSharedPullToTheOther) {
  auto leaving = call_context(120s);
  auto staying = call_context(120s);
  auto first = pull_big(*leaving);
  ASSERT_TRUE(eventually([&] { return big_layer_flowing(); }));
  auto second = pull_big(*staying);
  ASSERT_TRUE(eventually([&] { return crid_->log().find("joining the pull already in progress") != std::string::npos; }))
      << crid_->log();
  leaving->TryCancel();
  EXPECT_EQ(first.get().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_NE(second.wait_for(0s), std::future_status::ready) << "the other caller's pull was stopped";
  proxy_->set_rate(0);
  auto st = second.get();
  ASSERT_TRUE(st.ok()) << st.error_message() << "\n" << crid_->log();
  EXPECT_TRUE(big_image_listed());
  // One download served both callers: the config and the layer blob once
  // each (skopeo may have compressed the layer: its digest is the registry's).
  EXPECT_EQ(registry_.count_requests("GET /v2/big/blobs/"), 2) << registry_.log();
}

}  // namespace
}  // namespace crid::testing
