// GetContainerEvents end to end: real crid, runc and conmon. Subscribers
// are real gRPC streams; a subscriber that stops reading is a stream whose
// client never calls Read (and whose flow-control window is small), so the
// daemon's writes to it really block.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "support/cri_lifecycle.h"

namespace crid::testing {
namespace {

using namespace std::chrono_literals;

// Reads a GetContainerEvents stream on its own thread, keeping every event.
class EventReader {
 public:
  explicit EventReader(v1::RuntimeService::Stub& stub) {
    stream_ = stub.GetContainerEvents(&ctx_, v1::GetEventsRequest());
    thread_ = std::thread([this] {
      v1::ContainerEventResponse ev;
      while (stream_->Read(&ev)) {
        std::lock_guard lock(mu_);
        events_.push_back(ev);
        cv_.notify_all();
      }
      std::lock_guard lock(mu_);
      ended_ = true;
      cv_.notify_all();
    });
  }
  ~EventReader() {
    ctx_.TryCancel();
    thread_.join();
  }

  // Waits until `pred(events)` holds; false after `limit`.
  template <typename Pred>
  bool wait(Pred pred, std::chrono::seconds limit = 60s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return pred(events_); });
  }

  // The event types seen for one container, in arrival order.
  std::vector<v1::ContainerEventType> types_of(const std::string& id) {
    std::lock_guard lock(mu_);
    std::vector<v1::ContainerEventType> out;
    for (auto& e : events_)
      if (e.container_id() == id) out.push_back(e.container_event_type());
    return out;
  }

  std::vector<v1::ContainerEventResponse> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

  bool ended() {
    std::lock_guard lock(mu_);
    return ended_;
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::ContainerEventResponse>> stream_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::ContainerEventResponse> events_;
  bool ended_ = false;
  std::thread thread_;
};

bool saw(const std::vector<v1::ContainerEventResponse>& evs, const std::string& id, v1::ContainerEventType t) {
  return std::any_of(evs.begin(), evs.end(),
                     [&](auto& e) { return e.container_id() == id && e.container_event_type() == t; });
}

const std::vector<v1::ContainerEventType> kFullLifecycle = {
    v1::CONTAINER_CREATED_EVENT, v1::CONTAINER_STARTED_EVENT, v1::CONTAINER_STOPPED_EVENT,
    v1::CONTAINER_DELETED_EVENT};

class EventsTest : public ::testing::Test {
 protected:
  void start_crid(const std::string& extra = "") {
    auto& env = SharedBusybox::get();
    ASSERT_EQ(env.error(), "");
    crid_ = std::make_unique<CridProcess>(insecure_registry_conf(env.registry()) + extra);
    std::string err;
    ASSERT_TRUE(crid_->start(&err)) << err;
    ASSERT_EQ(pull_image(*crid_, env.image()), "");
    cri_ = std::make_unique<CriLifecycle>(*crid_, env.image());
  }

  void SetUp() override { CRID_REQUIRE_ROOT(); }

  void TearDown() override {
    if (!crid_) return;
    if (HasFailure()) std::cerr << "---- crid log ----\n" << crid_->log() << "\n";
    cri_->remove_all_pods();
    crid_->stop();
  }

  // Blocks until every reader has seen the CREATED event of a fresh
  // container: from then on, they are subscribed.
  void sync_readers(const std::string& pod, std::vector<EventReader*> readers) {
    std::string id = cri_->create(pod, "sync-" + std::to_string(++syncs_), {"/bin/sleep", "3600"});
    for (auto* r : readers)
      ASSERT_TRUE(r->wait([&](auto& evs) { return saw(evs, id, v1::CONTAINER_CREATED_EVENT); }))
          << "a subscriber never saw CREATED of " << id;
    ASSERT_TRUE(cri_->remove(id).ok());
    for (auto* r : readers)
      ASSERT_TRUE(r->wait([&](auto& evs) { return saw(evs, id, v1::CONTAINER_DELETED_EVENT); }));
  }

  std::unique_ptr<CridProcess> crid_;
  std::unique_ptr<CriLifecycle> cri_;
  int syncs_ = 0;
};

TEST_F(EventsTest, TwoSubscribersSeeAFullLifecycleInOrder) {
  start_crid();
  std::string pod = cri_->run_pod("events-life");
  EventReader a(crid_->runtime()), b(crid_->runtime());
  sync_readers(pod, {&a, &b});

  std::string id = cri_->create(pod, "life", {"/bin/sleep", "3600"});
  ASSERT_TRUE(cri_->start(id).ok());
  ASSERT_TRUE(cri_->stop(id, 10).ok());
  ASSERT_TRUE(cri_->remove(id).ok());

  for (auto* r : {&a, &b}) {
    ASSERT_TRUE(r->wait([&](auto& evs) { return saw(evs, id, v1::CONTAINER_DELETED_EVENT); }));
    EXPECT_EQ(r->types_of(id), kFullLifecycle);
    for (auto& ev : r->events()) {
      if (ev.container_id() != id) continue;
      // What the kubelet's evented PLEG reads: the pod (its id and uid) and
      // the pod's container statuses at that moment.
      EXPECT_EQ(ev.pod_sandbox_status().id(), pod);
      EXPECT_EQ(ev.pod_sandbox_status().metadata().uid(), "uid-events-life");
      EXPECT_EQ(ev.pod_sandbox_status().state(), v1::SANDBOX_READY);
      EXPECT_GT(ev.created_at(), 0);
      auto mine = std::find_if(ev.containers_statuses().begin(), ev.containers_statuses().end(),
                               [&](auto& s) { return s.id() == id; });
      switch (ev.container_event_type()) {
        case v1::CONTAINER_CREATED_EVENT:
          ASSERT_NE(mine, ev.containers_statuses().end());
          EXPECT_EQ(mine->state(), v1::CONTAINER_CREATED);
          EXPECT_EQ(mine->metadata().name(), "life");
          break;
        case v1::CONTAINER_STARTED_EVENT:
          ASSERT_NE(mine, ev.containers_statuses().end());
          EXPECT_EQ(mine->state(), v1::CONTAINER_RUNNING);
          EXPECT_GT(mine->started_at(), 0);
          break;
        case v1::CONTAINER_STOPPED_EVENT:
          ASSERT_NE(mine, ev.containers_statuses().end());
          EXPECT_EQ(mine->state(), v1::CONTAINER_EXITED);
          EXPECT_GT(mine->finished_at(), 0);
          break;
        case v1::CONTAINER_DELETED_EVENT:
          EXPECT_EQ(mine, ev.containers_statuses().end()) << "a deleted container is gone from its pod";
          break;
        default:
          ADD_FAILURE() << "unexpected event type " << ev.container_event_type();
      }
    }
  }
  // Events are stamped in order.
  auto evs = a.events();
  for (size_t i = 1; i < evs.size(); ++i) EXPECT_GE(evs[i].created_at(), evs[i - 1].created_at());
}

// The kubelet's evented PLEG also reads the sandbox's own events (container
// id = pod id): on DELETED it drops the pod from its cache, so that event
// must carry the pod's last status.
TEST_F(EventsTest, APodSandboxHasItsOwnLifecycleEvents) {
  start_crid();
  std::string sync_pod = cri_->run_pod("events-sync");
  EventReader r(crid_->runtime());
  sync_readers(sync_pod, {&r});

  std::string pod = cri_->run_pod("events-pod");
  std::string id = cri_->create(pod, "inside", {"/bin/sleep", "3600"});
  ASSERT_TRUE(cri_->start(id).ok());
  {
    grpc::ClientContext ctx;
    v1::StopPodSandboxRequest req;
    req.set_pod_sandbox_id(pod);
    v1::StopPodSandboxResponse resp;
    ASSERT_TRUE(crid_->runtime().StopPodSandbox(&ctx, req, &resp).ok());
  }
  {
    grpc::ClientContext ctx;
    v1::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(pod);
    v1::RemovePodSandboxResponse resp;
    ASSERT_TRUE(crid_->runtime().RemovePodSandbox(&ctx, req, &resp).ok());
  }
  ASSERT_TRUE(r.wait([&](auto& evs) { return saw(evs, pod, v1::CONTAINER_DELETED_EVENT); }));
  EXPECT_EQ(r.types_of(pod), kFullLifecycle);

  auto evs = r.events();
  auto index_of = [&](const std::string& object, v1::ContainerEventType t) {
    for (size_t i = 0; i < evs.size(); ++i)
      if (evs[i].container_id() == object && evs[i].container_event_type() == t) return i;
    return evs.size();
  };
  // Its containers go first: stopped before the pod stops, deleted before it is.
  EXPECT_LT(index_of(id, v1::CONTAINER_STOPPED_EVENT), index_of(pod, v1::CONTAINER_STOPPED_EVENT));
  EXPECT_LT(index_of(id, v1::CONTAINER_DELETED_EVENT), index_of(pod, v1::CONTAINER_DELETED_EVENT));
  EXPECT_LT(index_of(pod, v1::CONTAINER_STARTED_EVENT), index_of(id, v1::CONTAINER_CREATED_EVENT));

  for (auto& ev : evs) {
    if (ev.container_id() != pod) continue;
    EXPECT_EQ(ev.pod_sandbox_status().id(), pod);
    EXPECT_EQ(ev.pod_sandbox_status().metadata().uid(), "uid-events-pod");
    switch (ev.container_event_type()) {
      case v1::CONTAINER_CREATED_EVENT:
      case v1::CONTAINER_STARTED_EVENT:
        EXPECT_EQ(ev.pod_sandbox_status().state(), v1::SANDBOX_READY);
        EXPECT_EQ(ev.containers_statuses_size(), 0);
        break;
      case v1::CONTAINER_STOPPED_EVENT:
        EXPECT_EQ(ev.pod_sandbox_status().state(), v1::SANDBOX_NOTREADY);
        ASSERT_EQ(ev.containers_statuses_size(), 1);
        EXPECT_EQ(ev.containers_statuses(0).id(), id);
        EXPECT_EQ(ev.containers_statuses(0).state(), v1::CONTAINER_EXITED);
        break;
      case v1::CONTAINER_DELETED_EVENT:
        EXPECT_EQ(ev.pod_sandbox_status().state(), v1::SANDBOX_NOTREADY);
        EXPECT_EQ(ev.containers_statuses_size(), 0);
        break;
      default:
        ADD_FAILURE() << "unexpected event type " << ev.container_event_type();
    }
  }
}

TEST_F(EventsTest, AContainerExitingOnItsOwnIsStopped) {
  start_crid();
  std::string pod = cri_->run_pod("events-exit");
  EventReader r(crid_->runtime());
  sync_readers(pod, {&r});
  std::string id = cri_->create(pod, "quick", {"/bin/sh", "-c", "exit 3"});
  ASSERT_TRUE(cri_->start(id).ok());
  // No StopContainer: the exit watcher reports it.
  ASSERT_TRUE(r.wait([&](auto& evs) { return saw(evs, id, v1::CONTAINER_STOPPED_EVENT); }));
  EXPECT_EQ(r.types_of(id), std::vector<v1::ContainerEventType>(kFullLifecycle.begin(), kFullLifecycle.end() - 1));
  for (auto& ev : r.events())
    if (ev.container_id() == id && ev.container_event_type() == v1::CONTAINER_STOPPED_EVENT)
      for (auto& s : ev.containers_statuses())
        if (s.id() == id) EXPECT_EQ(s.exit_code(), 3);
}

TEST_F(EventsTest, ABurstOfFiftyLifecyclesLosesNothing) {
  start_crid();
  std::string pod = cri_->run_pod("events-burst");
  EventReader r(crid_->runtime());
  sync_readers(pod, {&r});

  // Four clients at once; half the containers exit on their own right
  // after starting (racing their own start), half are stopped.
  std::vector<std::string> ids(50);
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&, w] {
      for (int i = w; i < 50; i += 4) {
        bool quick = i % 2;
        ids[i] = cri_->create(pod, "burst-" + std::to_string(i),
                              quick ? std::vector<std::string>{"/bin/true"}
                                    : std::vector<std::string>{"/bin/sleep", "3600"});
        EXPECT_TRUE(cri_->start(ids[i]).ok());
        if (!quick) EXPECT_TRUE(cri_->stop(ids[i], 0).ok());
        EXPECT_TRUE(cri_->remove(ids[i]).ok());
      }
    });
  for (auto& t : workers) t.join();
  ASSERT_TRUE(r.wait([&](auto& evs) {
    return std::all_of(ids.begin(), ids.end(),
                       [&](auto& id) { return saw(evs, id, v1::CONTAINER_DELETED_EVENT); });
  })) << "not every DELETED event arrived";
  for (auto& id : ids) EXPECT_EQ(r.types_of(id), kFullLifecycle) << "container " << id;
  EXPECT_FALSE(r.ended());
}

TEST_F(EventsTest, ASubscriberThatStopsReadingIsDroppedWithoutStallingOthers) {
  // The metrics endpoint tells how many subscribers were dropped.
  TempDir sock_dir("crid-it-ev");
  std::string metrics_sock = sock_dir.file("metrics.sock");
  start_crid("\n[runtime]\nevent_queue_length = 16\n[metrics]\nmetrics_address = \"unix://" + metrics_sock +
             "\"\n");
  std::string pod = cri_->run_pod("events-slow");
  // Idle containers make every event of this pod carry many statuses, so
  // the stalled stream's flow-control window fills quickly.
  for (int i = 0; i < 10; ++i) cri_->create(pod, "idle-" + std::to_string(i), {"/bin/sleep", "3600"});

  // The stalled subscriber: its own connection with a small window and no
  // window growth, and nobody calling Read.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  auto slow_channel = grpc::CreateCustomChannel("unix://" + crid_->socket(), grpc::InsecureChannelCredentials(), args);
  auto slow_stub = v1::RuntimeService::NewStub(slow_channel);
  grpc::ClientContext slow_ctx;
  slow_ctx.set_deadline(std::chrono::system_clock::now() + 600s);
  auto slow = slow_stub->GetContainerEvents(&slow_ctx, v1::GetEventsRequest());

  EventReader reader(crid_->runtime());
  sync_readers(pod, {&reader});
  // The stalled stream cannot show it has subscribed; the gauge can.
  std::string err;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (sample_value(scrape_metrics("unix://" + metrics_sock, &err), "crid_container_event_subscribers") != 2) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the stalled subscriber never subscribed " << err;
    std::this_thread::sleep_for(50ms);
  }

  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) {
    std::string id = cri_->create(pod, "churn-" + std::to_string(i), {"/bin/sleep", "3600"});
    ASSERT_TRUE(cri_->start(id).ok());
    ASSERT_TRUE(cri_->stop(id, 0).ok());
    ASSERT_TRUE(cri_->remove(id).ok());
    ids.push_back(id);
  }
  // The reading subscriber got everything, in order.
  ASSERT_TRUE(reader.wait([&](auto& evs) { return saw(evs, ids.back(), v1::CONTAINER_DELETED_EVENT); }));
  for (auto& id : ids) EXPECT_EQ(reader.types_of(id), kFullLifecycle) << "container " << id;
  EXPECT_FALSE(reader.ended());

  // The stalled one was dropped, and counted.
  std::string text = scrape_metrics("unix://" + metrics_sock, &err);
  ASSERT_NE(text, "") << err;
  EXPECT_EQ(sample_value(text, "crid_container_events_dropped_total"), 1) << text;
  EXPECT_EQ(sample_value(text, "crid_container_event_subscribers"), 1) << text;
  EXPECT_NE(crid_->log().find("dropped: its queue of 16 events is full"), std::string::npos);
  // Its stream ends with an error once it reads again (after what was
  // already in flight to it).
  v1::ContainerEventResponse ev;
  int drained = 0;
  while (slow->Read(&ev)) ++drained;
  auto st = slow->Finish();
  EXPECT_FALSE(st.ok()) << "the stalled stream ended cleanly after " << drained << " events";
  EXPECT_LT(drained, static_cast<int>(ids.size()) * 4) << "it cannot have received everything";
}

}  // namespace
}  // namespace crid::testing
