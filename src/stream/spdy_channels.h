// The Kubernetes remote-command protocols (exec and attach) over SPDY:
// v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io.
// The client opens one stream per channel, named by its streamType header
// (error, stdin, stdout, stderr, resize); once the expected set is there,
// the backend runs with pipes whose other ends are pumped to and from
// those streams, and the outcome goes on the error stream: a metav1.Status
// in JSON with v4, a plain message (nothing on success) before.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <variant>

#include "stream/requests.h"
#include "stream/spdy_connection.h"
#include "stream/spdy_pump.h"
#include "stream/stream_backend.h"

namespace crid::stream::spdy {

inline constexpr const char* kChannelProtocols[] = {"v4.channel.k8s.io", "v3.channel.k8s.io",
                                                    "v2.channel.k8s.io", "channel.k8s.io"};

// The bytes the error stream carries for an outcome (empty: write nothing).
// exit_code < 0 with `error` set: the backend failed.
std::string channel_status(const std::string& protocol, int exit_code, const std::string& error);

// Reads resize JSON objects ({"Width":80,"Height":24}) from `buffer`,
// removing the complete ones; false for a malformed object.
bool take_resize_events(std::string* buffer, std::vector<TerminalSize>* out);

class ChannelHandler final : public StreamHandler {
 public:
  using Request = std::variant<ExecRequest, AttachRequest>;
  ChannelHandler(Connection& conn, std::string protocol, Request req, StreamBackend& backend,
                 std::chrono::milliseconds stream_creation_timeout,
                 std::chrono::milliseconds output_grace = std::chrono::seconds(2));

  bool accept(const Stream& s) override;
  void opened(const StreamPtr& s) override;
  void connection_closed() override;

  // The session's worker: waits for the streams, runs the backend, writes
  // the status, then finishes the connection.
  void run();

 private:
  bool want(const std::string& type) const;
  bool wait_for_streams();
  void serve();

  Connection& conn_;
  std::string protocol_;
  Request req_;
  StreamBackend& backend_;
  std::chrono::milliseconds creation_timeout_;
  std::chrono::milliseconds output_grace_;
  bool tty_ = false, stdin_ = false, stdout_ = false, stderr_ = false;

  std::mutex mu_;
  std::condition_variable cv_;
  StreamPtr error_, in_, out_, err_, resize_;
  bool closed_ = false;
  StopSignal cancel_;  // the client went away: the backend stops
  UniqueFd backend_cancel_;
};

}  // namespace crid::stream::spdy
