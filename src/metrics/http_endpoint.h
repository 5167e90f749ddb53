// The Prometheus endpoint: a tiny HTTP/1.1 server answering `GET /metrics`
// with the registry in the text format, one request per connection
// (Connection: close). Scrapes are rare and small, so one thread serves
// them one after another, each bounded by a deadline so a stuck client
// cannot hold the endpoint.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "metrics/listen_address.h"
#include "util/result.h"
#include "util/unique_fd.h"

namespace crid::metrics {

using RenderFn = std::function<std::string()>;

// The whole HTTP response for one request head (request line + headers):
// 200 with the rendered text for GET or HEAD /metrics, 404 for other
// paths, 405 for other methods, 400 for what is not HTTP.
std::string http_response(std::string_view request_head, const RenderFn& render);

class MetricsEndpoint {
 public:
  static Result<std::unique_ptr<MetricsEndpoint>> start(const ListenAddress& addr, RenderFn render);
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Where it listens (with the kernel's port when 0 was asked for).
  const ListenAddress& address() const { return addr_; }

 private:
  MetricsEndpoint(ListenAddress addr, RenderFn render) : addr_(std::move(addr)), render_(std::move(render)) {}
  void run();
  void serve(int fd);

  ListenAddress addr_;
  RenderFn render_;
  UniqueFd listen_;
  UniqueFd wake_;  // eventfd that ends run()
  std::thread thread_;
};

}  // namespace crid::metrics
