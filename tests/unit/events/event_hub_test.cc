#include "events/event_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace crid::events {
namespace {

using namespace std::chrono_literals;
using Next = Subscription::Next;

EventPtr event(int n, ContainerEventType type = ContainerEventType::kCreated) {
  auto ev = std::make_shared<ContainerEvent>();
  ev->type = type;
  ev->container_id = "c" + std::to_string(n);
  ev->created_ns = n;
  return ev;
}

// Reads exactly `n` events (or fails the test); returns their numbers.
std::vector<int64_t> read(Subscription& sub, int n) {
  std::vector<int64_t> got;
  for (int i = 0; i < n; ++i) {
    EventPtr ev;
    auto r = sub.next(ev, 10s);
    if (r != Next::kEvent) {
      ADD_FAILURE() << "event " << i << " of " << n << " did not arrive (" << static_cast<int>(r) << ")";
      break;
    }
    got.push_back(ev->created_ns);
  }
  return got;
}

std::vector<int64_t> range(int from, int to) {
  std::vector<int64_t> v;
  for (int i = from; i < to; ++i) v.push_back(i);
  return v;
}

TEST(EventHub, DeliversInPublishOrder) {
  EventHub hub(100);
  auto sub = hub.subscribe("a");
  for (int i = 0; i < 50; ++i) hub.publish(event(i));
  EXPECT_EQ(read(*sub, 50), range(0, 50));
  EventPtr ev;
  EXPECT_EQ(sub->next(ev, 0ms), Next::kTimeout);
  EXPECT_EQ(hub.published_total(), 50u);
}

TEST(EventHub, WithoutSubscribersPublishingIsANoOp) {
  EventHub hub(4);
  EXPECT_FALSE(hub.has_subscribers());
  for (int i = 0; i < 10; ++i) hub.publish(event(i));
  EXPECT_EQ(hub.dropped_total(), 0u);
  auto sub = hub.subscribe("late");
  EXPECT_TRUE(hub.has_subscribers());
  // A subscriber sees only what is published after it subscribed.
  hub.publish(event(99));
  EXPECT_EQ(read(*sub, 1), std::vector<int64_t>{99});
}

TEST(EventHub, EverySubscriberGetsEverythingInTheSameOrder) {
  EventHub hub(10000);
  std::vector<std::shared_ptr<Subscription>> subs;
  for (int i = 0; i < 8; ++i) subs.push_back(hub.subscribe("s" + std::to_string(i)));
  // Four publishers at once: the interleaving is arbitrary, but every
  // subscriber must see the same one.
  std::vector<std::thread> pubs;
  for (int p = 0; p < 4; ++p)
    pubs.emplace_back([&, p] {
      for (int i = 0; i < 500; ++i) hub.publish(event(p * 1000 + i));
    });
  for (auto& t : pubs) t.join();
  auto first = read(*subs[0], 2000);
  ASSERT_EQ(first.size(), 2000u);
  // Each publisher's own events stay in its order.
  for (int p = 0; p < 4; ++p) {
    int64_t last = -1;
    for (auto n : first)
      if (n / 1000 == p) {
        EXPECT_GT(n, last);
        last = n;
      }
  }
  for (size_t s = 1; s < subs.size(); ++s) EXPECT_EQ(read(*subs[s], 2000), first) << "subscriber " << s;
}

TEST(EventHub, SlowSubscriberIsDroppedWhileOthersReceiveEverything) {
  EventHub hub(8);
  auto slow = hub.subscribe("slow");
  auto fast = hub.subscribe("fast");
  std::atomic<bool> ended_callback{false};
  slow->set_on_end([&] { ended_callback = true; });
  std::vector<int64_t> fast_got;
  std::thread reader([&] { fast_got = read(*fast, 100); });
  for (int i = 0; i < 100; ++i) {
    hub.publish(event(i));
    // Keep the fast reader's queue from filling: it is a reader, not a race.
    while (fast->pending() >= 4) std::this_thread::yield();
  }
  reader.join();
  EXPECT_EQ(fast_got, range(0, 100));
  EventPtr ev;
  EXPECT_EQ(slow->next(ev, 0ms), Next::kDropped);
  EXPECT_TRUE(ended_callback);
  EXPECT_EQ(hub.dropped_total(), 1u);
  EXPECT_EQ(hub.subscriber_count(), 1u);
}

TEST(EventHub, DroppedExactlyWhenTheQueueOverflows) {
  EventHub hub(3);
  auto sub = hub.subscribe("s");
  for (int i = 0; i < 3; ++i) hub.publish(event(i));
  EXPECT_EQ(hub.dropped_total(), 0u);
  EXPECT_EQ(read(*sub, 1), std::vector<int64_t>{0});
  hub.publish(event(3));  // fits again: one was read
  EXPECT_EQ(hub.dropped_total(), 0u);
  hub.publish(event(4));  // the fourth unread one
  EXPECT_EQ(hub.dropped_total(), 1u);
  EventPtr ev;
  EXPECT_EQ(sub->next(ev, 0ms), Next::kDropped);
}

TEST(EventHub, UnsubscribeDuringPublishDoesNotDeadlock) {
  EventHub hub(1 << 20);
  std::atomic<bool> stop{false};
  std::vector<std::thread> pubs;
  for (int p = 0; p < 2; ++p)
    pubs.emplace_back([&] {
      int i = 0;
      while (!stop) hub.publish(event(i++));
    });
  // Subscribers come and go, some reading, while publishers run flat out.
  for (int round = 0; round < 200; ++round) {
    auto sub = hub.subscribe("churn");
    EventPtr ev;
    if (round % 2) EXPECT_NE(sub->next(ev, 10s), Next::kTimeout);
    hub.unsubscribe(sub);
  }
  stop = true;
  for (auto& t : pubs) t.join();
  EXPECT_EQ(hub.subscriber_count(), 0u);
}

TEST(EventHub, EndCallbackMayUnsubscribe) {
  // The gRPC handler's callback runs on the publisher's thread; it must be
  // able to call back into the hub without deadlocking.
  EventHub hub(1);
  auto sub = hub.subscribe("s");
  sub->set_on_end([&] { hub.unsubscribe(sub); });
  hub.publish(event(0));
  hub.publish(event(1));
  EXPECT_EQ(hub.dropped_total(), 1u);
}

TEST(EventHub, CloseEndsWaitingSubscribersAndRefusesNewOnes) {
  EventHub hub(10);
  auto sub = hub.subscribe("s");
  Next got = Next::kEvent;
  std::thread waiter([&] {
    EventPtr ev;
    got = sub->next(ev, 30s);
  });
  hub.close();
  waiter.join();
  EXPECT_EQ(got, Next::kClosed);
  auto late = hub.subscribe("late");
  EventPtr ev;
  EXPECT_EQ(late->next(ev, 0ms), Next::kClosed);
  EXPECT_FALSE(hub.has_subscribers());
}

TEST(EventHub, SetOnEndAfterTheEndRunsAtOnce) {
  EventHub hub(1);
  auto sub = hub.subscribe("s");
  hub.close();
  bool ran = false;
  sub->set_on_end([&] { ran = true; });
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace crid::events
