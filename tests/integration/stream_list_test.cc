// The Stream* list RPCs page through large result sets: with a small
// list_stream_batch, StreamPodSandboxes, StreamContainers and StreamImages
// answer in several messages that together hold exactly what their List
// twins return.
#include <algorithm>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "support/cri_lifecycle.h"

namespace crid::testing {
namespace {

constexpr int kBatch = 4;
constexpr int kPods = 9;
constexpr int kContainersPerPod = 3;

template <typename T>
void sort_by_id(std::vector<T>& v) {
  std::sort(v.begin(), v.end(), [](const T& a, const T& b) { return a.id() < b.id(); });
}

template <typename T>
void expect_same(std::vector<T> streamed, std::vector<T> listed, const char* what) {
  ASSERT_EQ(streamed.size(), listed.size()) << what;
  sort_by_id(streamed);
  sort_by_id(listed);
  for (size_t i = 0; i < listed.size(); ++i)
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(streamed[i], listed[i]))
        << what << " differ:\n" << streamed[i].DebugString() << "vs\n" << listed[i].DebugString();
}

// Reads a whole Stream* answer: every item and the size of every page.
template <typename Response, typename Item, typename Items>
grpc::Status read_all(grpc::ClientReader<Response>& reader, Items items, std::vector<Item>* out,
                      std::vector<int>* pages) {
  Response page;
  while (reader.Read(&page)) {
    pages->push_back(items(page).size());
    for (const auto& it : items(page)) out->push_back(it);
  }
  return reader.Finish();
}

class StreamListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CRID_REQUIRE_ROOT();
    auto& env = SharedBusybox::get();
    ASSERT_EQ(env.error(), "");
    crid_ = std::make_unique<CridProcess>(insecure_registry_conf(env.registry()) +
                                          "\n[runtime]\nlist_stream_batch = " + std::to_string(kBatch) + "\n");
    std::string err;
    ASSERT_TRUE(crid_->start(&err)) << err;
    ASSERT_EQ(pull_image(*crid_, env.image()), "");
    cri_ = std::make_unique<CriLifecycle>(*crid_, env.image());
  }

  void TearDown() override {
    if (!crid_) return;
    if (HasFailure()) std::cerr << "---- crid log ----\n" << crid_->log() << "\n";
    cri_->remove_all_pods();
    crid_->stop();
  }

  std::unique_ptr<CridProcess> crid_;
  std::unique_ptr<CriLifecycle> cri_;
};

TEST_F(StreamListTest, StreamsMatchTheirListTwinsAcrossPages) {
  std::vector<std::string> pods;
  for (int p = 0; p < kPods; ++p) {
    pods.push_back(cri_->run_pod("page-" + std::to_string(p)));
    // Created, never started: paging is about counts, not running work.
    for (int c = 0; c < kContainersPerPod; ++c)
      ASSERT_NE(cri_->create(pods.back(), "c" + std::to_string(c), {"/bin/sleep", "3600"}), "");
  }
  auto& rt = crid_->runtime();

  // Pods.
  v1::ListPodSandboxResponse listed_pods;
  ASSERT_TRUE(rt.ListPodSandbox(call_context().get(), v1::ListPodSandboxRequest(), &listed_pods).ok());
  ASSERT_EQ(listed_pods.items_size(), kPods);
  {
    auto ctx = call_context();
    auto reader = rt.StreamPodSandboxes(ctx.get(), v1::StreamPodSandboxesRequest());
    std::vector<v1::PodSandbox> streamed;
    std::vector<int> pages;
    auto st = read_all<v1::StreamPodSandboxesResponse, v1::PodSandbox>(
        *reader, [](const auto& r) { return r.pod_sandboxes(); }, &streamed, &pages);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(pages, (std::vector<int>{4, 4, 1}));
    expect_same(streamed, {listed_pods.items().begin(), listed_pods.items().end()}, "pods");
  }

  // Containers, all of them and then one pod's.
  v1::ListContainersResponse listed;
  ASSERT_TRUE(rt.ListContainers(call_context().get(), v1::ListContainersRequest(), &listed).ok());
  ASSERT_EQ(listed.containers_size(), kPods * kContainersPerPod);
  {
    auto ctx = call_context();
    auto reader = rt.StreamContainers(ctx.get(), v1::StreamContainersRequest());
    std::vector<v1::Container> streamed;
    std::vector<int> pages;
    auto st = read_all<v1::StreamContainersResponse, v1::Container>(
        *reader, [](const auto& r) { return r.containers(); }, &streamed, &pages);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(pages.size(), 7u);  // 27 in pages of 4
    for (int n : pages) EXPECT_LE(n, kBatch);
    expect_same(streamed, {listed.containers().begin(), listed.containers().end()}, "containers");
  }
  {
    v1::ListContainersRequest lreq;
    lreq.mutable_filter()->set_pod_sandbox_id(pods[4]);
    v1::ListContainersResponse one_pod;
    ASSERT_TRUE(rt.ListContainers(call_context().get(), lreq, &one_pod).ok());
    ASSERT_EQ(one_pod.containers_size(), kContainersPerPod);
    v1::StreamContainersRequest sreq;
    sreq.mutable_filter()->set_pod_sandbox_id(pods[4]);
    auto ctx = call_context();
    auto reader = rt.StreamContainers(ctx.get(), sreq);
    std::vector<v1::Container> streamed;
    std::vector<int> pages;
    auto st = read_all<v1::StreamContainersResponse, v1::Container>(
        *reader, [](const auto& r) { return r.containers(); }, &streamed, &pages);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(pages, std::vector<int>{3});
    expect_same(streamed, {one_pod.containers().begin(), one_pod.containers().end()}, "one pod's containers");
  }

  // Images: five more, each its own config (and so its own id).
  TempDir layouts("crid-it-pages");
  for (int i = 0; i < 5; ++i) {
    ImageConfigSpec spec;
    spec.env = {"PATH=/bin", "PAGE=" + std::to_string(i)};
    std::string repo = "it/page-" + std::to_string(i);
    ASSERT_EQ(push_busybox_image(layouts.file(repo), SharedBusybox::get().registry(), repo, spec), "");
    ASSERT_EQ(pull_image(*crid_, SharedBusybox::get().registry().host() + "/" + repo + ":latest"), "");
  }
  v1::ListImagesResponse images;
  ASSERT_TRUE(crid_->images().ListImages(call_context().get(), v1::ListImagesRequest(), &images).ok());
  {
    auto ctx = call_context();
    auto reader = crid_->images().StreamImages(ctx.get(), v1::StreamImagesRequest());
    std::vector<v1::Image> streamed;
    std::vector<int> pages;
    auto st = read_all<v1::StreamImagesResponse, v1::Image>(*reader, [](const auto& r) { return r.images(); },
                                                           &streamed, &pages);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(images.images_size(), 6);
    EXPECT_EQ(pages, (std::vector<int>{4, 2}));
    expect_same(streamed, {images.images().begin(), images.images().end()}, "images");
  }
}

TEST_F(StreamListTest, AnEmptyResultIsAnEmptyStream) {
  auto ctx = call_context();
  auto reader = crid_->runtime().StreamContainers(ctx.get(), v1::StreamContainersRequest());
  v1::StreamContainersResponse page;
  EXPECT_FALSE(reader->Read(&page));
  EXPECT_TRUE(reader->Finish().ok());
}

}  // namespace
}  // namespace crid::testing
