// EventHub: fans container lifecycle events out to any number of
// subscribers (GetContainerEvents streams), each with its own bounded queue.
//
// The publisher never waits for a subscriber: an event is appended to every
// queue under one short lock (so all subscribers see the same order), and a
// subscriber whose queue is full is dropped on the spot — its stream ends
// with an error, a log line names it and dropped_total() counts it. The
// subscriber side waits on its own queue only, so unsubscribing or a slow
// reader never blocks a publish.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "events/container_event.h"

namespace crid::events {

using EventPtr = std::shared_ptr<const ContainerEvent>;

class Subscription {
 public:
  enum class Next { kEvent, kTimeout, kDropped, kClosed };

  Subscription(std::string name, size_t capacity) : name_(std::move(name)), capacity_(capacity) {}

  // The next event, waiting up to `timeout`. Once dropped or closed, that is
  // the answer (events still queued are discarded: the stream is broken).
  Next next(EventPtr& out, std::chrono::milliseconds timeout);
  // Runs once, on the thread that ends the subscription (a publisher, or
  // close()), with no hub lock held; it must not block. The gRPC handler
  // uses it to cancel a write stuck on a reader that stopped reading.
  void set_on_end(std::function<void()> cb);

  const std::string& name() const { return name_; }
  size_t pending() const;
  bool ended() const;

 private:
  friend class EventHub;
  // False when the queue is full.
  bool push(const EventPtr& ev);
  void end(Next why);

  const std::string name_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<EventPtr> queue_;
  Next ended_ = Next::kEvent;  // kDropped or kClosed once ended
  std::function<void()> on_end_;
};

class EventHub {
 public:
  // `queue_capacity`: events a subscriber may have unread before it is dropped.
  explicit EventHub(size_t queue_capacity);
  ~EventHub();

  // `name` identifies the subscriber in log lines (e.g. the client's peer).
  std::shared_ptr<Subscription> subscribe(std::string name);
  void unsubscribe(const std::shared_ptr<Subscription>& sub);

  // Delivers `ev` to every subscriber; never blocks on them.
  void publish(EventPtr ev);
  // Cheap check so publishers can skip building events nobody reads.
  bool has_subscribers() const { return count_.load(std::memory_order_relaxed) > 0; }

  // Ends every subscription (kClosed) and refuses new ones: at shutdown, so
  // that open streams do not hold the gRPC server up.
  void close();

  uint64_t dropped_total() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t published_total() const { return published_.load(std::memory_order_relaxed); }
  size_t subscriber_count() const { return count_.load(std::memory_order_relaxed); }
  size_t queue_capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::vector<std::shared_ptr<Subscription>> subs_;
  bool closed_ = false;
  std::atomic<size_t> count_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> published_{0};
};

}  // namespace crid::events
