// GetContainerEvents: a server stream of container lifecycle events
// (CREATED, STARTED, STOPPED, DELETED), each with the pod's status and its
// containers' statuses, for the kubelet's evented PLEG. The stream is one
// subscription to the event hub; a subscriber that falls a whole queue
// behind is dropped by the hub and its stream ends with RESOURCE_EXHAUSTED
// (or CANCELLED when its write was stuck on a reader that stopped reading).
#include <atomic>
#include <chrono>
#include <mutex>

#include <fmt/format.h>

#include "server/container_translate.h"
#include "server/pod_sandbox_translate.h"
#include "server/runtime_service.h"

namespace crid::server {

namespace {

using namespace std::chrono_literals;
using events::Subscription;

void event_to_cri(const events::ContainerEvent& ev, v1::ContainerEventResponse* out) {
  out->set_container_id(ev.container_id);
  out->set_container_event_type(static_cast<v1::ContainerEventType>(static_cast<int>(ev.type)));
  out->set_created_at(ev.created_ns);
  if (ev.pod)
    to_cri(*ev.pod, out->mutable_pod_sandbox_status());
  else
    out->mutable_pod_sandbox_status()->set_id(ev.pod_id);
  for (const auto& c : ev.containers) to_cri(c, out->add_containers_statuses());
}

// What the hub's end-of-subscription callback may touch, which can run on a
// publisher's thread after the handler has returned: hence shared, and the
// context pointer cleared on the way out.
struct StreamState {
  std::mutex mu;
  grpc::ServerContext* ctx = nullptr;
  std::atomic<bool> writing{false};
};

}  // namespace

grpc::Status RuntimeServiceImpl::GetContainerEvents(grpc::ServerContext* ctx, const v1::GetEventsRequest*,
                                                    grpc::ServerWriter<v1::ContainerEventResponse>* writer) {
  if (!backend_.events)
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "GetContainerEvents: the event hub is not running");
  auto sub = backend_.events->subscribe(ctx->peer());
  auto state = std::make_shared<StreamState>();
  state->ctx = ctx;
  // A write blocked by flow control on a reader that stopped reading would
  // never see the drop: cancel the call so the thread is freed.
  sub->set_on_end([state] {
    std::lock_guard lock(state->mu);
    if (state->ctx && state->writing.load()) state->ctx->TryCancel();
  });
  struct Leave {
    events::EventHub& hub;
    std::shared_ptr<Subscription>& sub;
    std::shared_ptr<StreamState>& state;
    ~Leave() {
      hub.unsubscribe(sub);
      std::lock_guard lock(state->mu);
      state->ctx = nullptr;
    }
  } leave{*backend_.events, sub, state};

  // Why the stream ends, once the subscription has ended.
  const auto ended = [&](Subscription::Next why) {
    if (why == Subscription::Next::kClosed)
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "GetContainerEvents: crid is shutting down");
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        fmt::format("GetContainerEvents: subscriber {} left {} events unread and was dropped; "
                                    "subscribe again and relist",
                                    sub->name(), backend_.events->queue_capacity()));
  };
  const auto end_reason = [&] {
    events::EventPtr ignored;
    return sub->next(ignored, 0ms);  // answers kDropped or kClosed at once
  };
  for (;;) {
    events::EventPtr ev;
    auto got = sub->next(ev, 1s);
    if (got == Subscription::Next::kTimeout) {
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "GetContainerEvents: cancelled");
      continue;
    }
    if (got != Subscription::Next::kEvent) return ended(got);
    v1::ContainerEventResponse resp;
    event_to_cri(*ev, &resp);
    state->writing.store(true);
    if (sub->ended()) return ended(end_reason());
    bool ok = writer->Write(resp);
    state->writing.store(false);
    if (!ok) {
      if (sub->ended()) return ended(end_reason());
      return grpc::Status(grpc::StatusCode::CANCELLED, "GetContainerEvents: the client went away");
    }
  }
}

}  // namespace crid::server
