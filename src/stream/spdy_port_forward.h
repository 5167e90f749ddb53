// The Kubernetes port-forward protocol (portforward.k8s.io) over SPDY.
// Per forwarded connection the client opens an error stream and a data
// stream, both carrying `port` and `requestID` headers. Once a pair is
// complete the backend connects to the port inside the pod and bytes flow
// both ways; a failure is a message on the error stream. Pairs run
// concurrently, each on its own thread, until the client closes the
// connection.
#pragma once

#include <atomic>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "stream/requests.h"
#include "stream/spdy_connection.h"
#include "stream/spdy_pump.h"
#include "stream/stream_backend.h"

namespace crid::stream::spdy {

inline constexpr const char* kPortForwardProtocol = "portforward.k8s.io";

class PortForwardHandler final : public StreamHandler {
 public:
  PortForwardHandler(Connection& conn, PortForwardRequest req, StreamBackend& backend);
  ~PortForwardHandler() override;

  bool accept(const Stream& s) override;
  void opened(const StreamPtr& s) override;
  void connection_closed() override;

  // Stops every pair and joins their threads (after run() returned).
  void stop_all();

 private:
  struct Pair {
    std::string request_id;
    uint16_t port = 0;
    StreamPtr data, error;
    StopSignal stop;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void forward(Pair& p);
  void reap_finished();  // with mu_ held

  Connection& conn_;
  PortForwardRequest req_;
  StreamBackend& backend_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Pair>> waiting_;  // by request id
  std::list<std::shared_ptr<Pair>> running_;
  bool closed_ = false;
};

}  // namespace crid::stream::spdy
