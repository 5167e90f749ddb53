// The puller when its callers give up (a CRI call cancelled or past its
// deadline): a blob held back by a gated mirror keeps the pull in flight
// until the test says which caller leaves.
#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "pull_fixture.h"

namespace crid::image {
namespace {

using crid::testing::LoopbackHttpServer;
using namespace std::chrono_literals;

// A mirror that holds requests for the gated blobs until open() (then
// redirects them to the registry, as it does at once for everything else).
class GatedMirror {
 public:
  GatedMirror(FakeRegistry& reg, std::vector<std::string> gated)
      : gated_(std::move(gated)), server_([this, &reg](const crid::testing::HttpRequest& r) {
          for (auto& g : gated_)
            if (r.path.find(g) != std::string::npos)
              while (!open_ && !closing_) std::this_thread::sleep_for(5ms);
          crid::testing::HttpReply reply;
          reply.status = 307;
          reply.headers.push_back({"Location", reg.url() + r.path});
          return reply;
        }) {}
  ~GatedMirror() { closing_ = true; }

  void open() { open_ = true; }
  std::string url() const { return server_.url(); }
  int count(const std::string& needle) const { return server_.count(needle); }

 private:
  std::vector<std::string> gated_;
  std::atomic<bool> open_{false}, closing_{false};
  LoopbackHttpServer server_;  // last: its handler uses the flags
};

// Polls `cond` (a guard against hanging, not a timing assertion).
template <typename F>
bool eventually(F cond) {
  for (int i = 0; i < 2000; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

// A caller whose call can be cancelled by the test.
struct Caller {
  std::atomic<bool> gone{false};
  std::future<Result<std::string>> result;
  void start(ImageService& service, const std::string& ref) {
    result = std::async(std::launch::async, [&service, ref, this] {
      return service.pull(ref, {}, [this] { return gone.load(); });
    });
  }
  bool finished() { return result.wait_for(0s) == std::future_status::ready; }
};

class PullCancelTest : public PullTest {
 protected:
  void start_with_mirror(FakeRegistry& reg, GatedMirror& mirror) {
    cfg_.registries[reg.host()].mirrors = {mirror.url()};
    cfg_.max_concurrent_downloads = 3;
    // A held request must not end by the no-progress timeout (it would fall
    // back to the origin): only a cancel ends it.
    cfg_.pull_progress_timeout = std::chrono::seconds(120);
    start({reg.host()});
  }
  // What a pull leaves in the spool dir (<root>/tmp) besides nothing.
  size_t spool_entries() {
    std::error_code ec;
    size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(root_ + "/tmp", ec); !ec && it != std::filesystem::directory_iterator(); ++it) ++n;
    return n;
  }
};

TEST_F(PullCancelTest, GivingUpDuringABlobStopsThePullAndLeavesNothing) {
  FakeRegistry reg;
  auto img = push_image(reg, "gone", "v1", {std::string(300000, 'g')});
  GatedMirror mirror(reg, {img.layer_digests[0]});
  start_with_mirror(reg, mirror);

  Caller a;
  a.start(*service_, img.ref);
  ASSERT_TRUE(eventually([&] { return mirror.count(img.layer_digests[0]) >= 1; }));
  a.gone = true;
  ASSERT_TRUE(eventually([&] { return a.finished(); })) << "the pull did not stop";
  auto r = a.result.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kCancelled) << r.error().message();
  EXPECT_NE(r.error().message().find(img.ref), std::string::npos) << r.error().message();
  EXPECT_TRUE(images_->list().empty());
  EXPECT_EQ(layers_->count(), 0u);
  EXPECT_EQ(spool_entries(), 0u);
  EXPECT_EQ(service_->puller().callers_waiting(), 0);
  // A given-up fetch tries no other endpoint (here: the origin behind the mirror).
  EXPECT_EQ(reg.server().count("/blobs/" + img.layer_digests[0]), 0);

  // Nothing half-done is in the way of the next pull.
  mirror.open();
  auto again = service_->pull(img.ref, {});
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(*again, img.config_digest);
  EXPECT_EQ(service_->puller().operations_started(), 2);
}

TEST_F(PullCancelTest, LayersStoredBeforeTheCancelStayAndTheRetryReusesThem) {
  FakeRegistry reg;
  auto img = push_image(reg, "resume", "v1", {std::string(200000, 'b'), std::string(200000, 't')});
  GatedMirror mirror(reg, {img.layer_digests[1]});
  start_with_mirror(reg, mirror);

  Caller a;
  a.start(*service_, img.ref);
  // The bottom layer streams into the store; the top one waits at the gate.
  ASSERT_TRUE(eventually([&] { return layers_->count() == 1 && mirror.count(img.layer_digests[1]) >= 1; }));
  a.gone = true;
  auto r = a.result.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kCancelled) << r.error().message();
  EXPECT_TRUE(images_->list().empty()) << "no image without every layer";
  EXPECT_EQ(layers_->count(), 1u) << "the fully stored bottom layer stays";
  EXPECT_EQ(spool_entries(), 0u);

  mirror.open();
  auto again = service_->pull(img.ref, {});
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(layers_->count(), 2u);
  EXPECT_EQ(reg.server().count("/blobs/" + img.layer_digests[0]), 1) << "the retry reused the bottom layer";
}

TEST_F(PullCancelTest, ACallerGivingUpLeavesTheSharedPullToTheOthers) {
  FakeRegistry reg;
  auto img = push_image(reg, "shared", "v1", {std::string(300000, 's')});
  GatedMirror mirror(reg, {img.layer_digests[0]});
  start_with_mirror(reg, mirror);

  Caller first, second;
  first.start(*service_, img.ref);
  ASSERT_TRUE(eventually([&] { return mirror.count(img.layer_digests[0]) >= 1; }));
  second.start(*service_, img.ref);
  ASSERT_TRUE(eventually([&] { return service_->puller().callers_waiting() == 2; }));

  // The caller that started the pull leaves; the pull goes on for the other.
  first.gone = true;
  ASSERT_TRUE(eventually([&] { return first.finished(); })) << "the first caller was kept waiting";
  auto r1 = first.result.get();
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().kind(), ErrorKind::kCancelled);
  EXPECT_NE(r1.error().message().find(img.ref), std::string::npos) << r1.error().message();
  EXPECT_FALSE(second.finished());

  mirror.open();
  auto r2 = second.result.get();
  ASSERT_TRUE(r2.ok()) << r2.error().message();
  EXPECT_EQ(*r2, img.config_digest);
  EXPECT_EQ(images_->list().size(), 1u);
  EXPECT_EQ(service_->puller().operations_started(), 1);
  EXPECT_EQ(reg.server().count("/blobs/" + img.layer_digests[0]), 1);
}

TEST_F(PullCancelTest, ThePullStopsOnlyWhenTheLastCallerGivesUp) {
  FakeRegistry reg;
  auto img = push_image(reg, "last", "v1", {std::string(300000, 'l')});
  GatedMirror mirror(reg, {img.layer_digests[0]});
  start_with_mirror(reg, mirror);

  Caller first, second;
  first.start(*service_, img.ref);
  ASSERT_TRUE(eventually([&] { return mirror.count(img.layer_digests[0]) >= 1; }));
  second.start(*service_, img.ref);
  ASSERT_TRUE(eventually([&] { return service_->puller().callers_waiting() == 2; }));

  second.gone = true;  // the joiner leaves first
  auto r2 = second.result.get();
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().kind(), ErrorKind::kCancelled);
  EXPECT_FALSE(first.finished()) << "one caller still waits: the pull goes on";

  first.gone = true;
  auto r1 = first.result.get();
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.error().kind(), ErrorKind::kCancelled) << r1.error().message();
  EXPECT_TRUE(images_->list().empty());
  EXPECT_EQ(layers_->count(), 0u);
  EXPECT_EQ(service_->puller().callers_waiting(), 0);

  mirror.open();
  auto again = service_->pull(img.ref, {});
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(service_->puller().operations_started(), 2);
}

TEST_F(PullCancelTest, ACallerThatGaveUpBeforeTheManifestFetchesNothing) {
  FakeRegistry reg;
  auto img = push_image(reg, "never", "v1", {"x"});
  start({reg.host()});
  auto r = service_->pull(img.ref, {}, [] { return true; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kCancelled) << r.error().message();
  EXPECT_NE(r.error().message().find(img.ref), std::string::npos) << r.error().message();
  EXPECT_EQ(reg.server().count("/manifests/"), 0);
  EXPECT_TRUE(images_->list().empty());
}

}  // namespace
}  // namespace crid::image
