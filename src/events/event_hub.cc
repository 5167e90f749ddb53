#include "events/event_hub.h"

#include <algorithm>

#include "util/log.h"

namespace crid::events {

Subscription::Next Subscription::next(EventPtr& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!ready_.wait_for(lock, timeout, [&] { return ended_ != Next::kEvent || !queue_.empty(); }))
    return Next::kTimeout;
  if (ended_ != Next::kEvent) return ended_;
  out = std::move(queue_.front());
  queue_.pop_front();
  return Next::kEvent;
}

void Subscription::set_on_end(std::function<void()> cb) {
  bool run_now = false;
  {
    std::lock_guard lock(mu_);
    if (ended_ == Next::kEvent)
      on_end_ = std::move(cb);
    else
      run_now = true;
  }
  if (run_now && cb) cb();
}

size_t Subscription::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

bool Subscription::ended() const {
  std::lock_guard lock(mu_);
  return ended_ != Next::kEvent;
}

bool Subscription::push(const EventPtr& ev) {
  std::lock_guard lock(mu_);
  if (ended_ != Next::kEvent) return true;  // being ended elsewhere; nothing to do
  if (queue_.size() >= capacity_) return false;
  queue_.push_back(ev);
  ready_.notify_one();
  return true;
}

void Subscription::end(Next why) {
  std::function<void()> cb;
  {
    std::lock_guard lock(mu_);
    if (ended_ != Next::kEvent) return;
    ended_ = why;
    queue_.clear();
    cb = std::move(on_end_);
    ready_.notify_all();
  }
  if (cb) cb();
}

EventHub::EventHub(size_t queue_capacity) : capacity_(std::max<size_t>(queue_capacity, 1)) {}

EventHub::~EventHub() { close(); }

std::shared_ptr<Subscription> EventHub::subscribe(std::string name) {
  auto sub = std::make_shared<Subscription>(std::move(name), capacity_);
  {
    std::lock_guard lock(mu_);
    if (!closed_) {
      subs_.push_back(sub);
      count_.store(subs_.size(), std::memory_order_relaxed);
      return sub;
    }
  }
  sub->end(Subscription::Next::kClosed);
  return sub;
}

void EventHub::unsubscribe(const std::shared_ptr<Subscription>& sub) {
  std::lock_guard lock(mu_);
  std::erase(subs_, sub);
  count_.store(subs_.size(), std::memory_order_relaxed);
}

void EventHub::publish(EventPtr ev) {
  std::vector<std::shared_ptr<Subscription>> dropped;
  {
    // One lock around the whole fan-out: every subscriber gets events in
    // the same order. Each push is a bounded append, never a wait.
    std::lock_guard lock(mu_);
    for (auto it = subs_.begin(); it != subs_.end();) {
      if ((*it)->push(ev)) {
        ++it;
        continue;
      }
      dropped.push_back(std::move(*it));
      it = subs_.erase(it);
    }
    count_.store(subs_.size(), std::memory_order_relaxed);
  }
  published_.fetch_add(1, std::memory_order_relaxed);
  for (auto& sub : dropped) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("[GetContainerEvents {}] dropped: its queue of {} events is full; its stream ends",
                 sub->name(), capacity_);
    sub->end(Subscription::Next::kDropped);
  }
}

void EventHub::close() {
  std::vector<std::shared_ptr<Subscription>> all;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    all.swap(subs_);
    count_.store(0, std::memory_order_relaxed);
  }
  for (auto& sub : all) sub->end(Subscription::Next::kClosed);
}

}  // namespace crid::events
