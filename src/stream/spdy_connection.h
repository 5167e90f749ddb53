// stream::spdy::Connection: the server side of one SPDY/3.1 connection
// over a ByteStream. The thread calling run() reads and dispatches frames
// (replying to SYN_STREAM, answering PING, honouring RST_STREAM and GOAWAY)
// and queues each stream's DATA; worker threads take that data with
// next_chunk() and send with write()/close_stream(). Only client-initiated
// streams exist: the Kubernetes protocols never push.
//
// Flow control: Kubernetes' client (moby/spdystream) neither sends
// WINDOW_UPDATE nor waits for one, so the send side ignores windows (a
// client that enforced them would stall at 64 KiB); the receive side sends
// WINDOW_UPDATE as data is consumed, and a stream's queue is bounded: when
// it is full the reader stops reading the socket (TCP backpressure).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "stream/byte_stream.h"
#include "stream/spdy_frame.h"

namespace crid::stream::spdy {

struct Stream {
  uint32_t id = 0;
  HeaderList headers;

  std::optional<std::string> header(std::string_view name) const {
    return find_header(headers, name);
  }

  // Guarded by Connection's mutex.
  std::deque<std::string> inbound;
  size_t queued = 0;
  size_t unacked = 0;          // consumed, not yet announced in WINDOW_UPDATE
  bool remote_closed = false;  // FIN or RST from the peer, or the connection ended
  bool local_closed = false;   // we sent FIN or RST
  bool discard = false;        // nobody will read: drop inbound data
};
using StreamPtr = std::shared_ptr<Stream>;

class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  // Called by the reader before the SYN_REPLY: false refuses the stream
  // (RST_STREAM REFUSED_STREAM). Headers are available; no data yet.
  virtual bool accept(const Stream& s) = 0;
  // After the SYN_REPLY went out: the stream can be written now.
  virtual void opened(const StreamPtr& s) = 0;
  // The connection ended (peer gone, protocol error, idle timeout).
  virtual void connection_closed() = 0;
};

struct ConnectionLimits {
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(15)};
  size_t max_frame_payload = 1 << 20;
  size_t max_queued_per_stream = 1 << 20;
  size_t max_streams = 1000;
};

class Connection {
 public:
  Connection(ByteStream& conn, ConnectionLimits limits);
  ~Connection();

  // Reads frames until the peer closes, a protocol error (GOAWAY with
  // PROTOCOL_ERROR first), the idle timeout, or finish()'s linger ends.
  // Calls handler.connection_closed() before returning.
  void run(StreamHandler& handler);

  // The next piece of inbound data, or nullopt at the stream's end (FIN,
  // RST, connection gone) or once `stop` is set (then call wake()).
  std::optional<std::string> next_chunk(Stream& s, const std::atomic<bool>& stop);
  // Wakes next_chunk() callers so they re-check their stop flags.
  void wake();
  // Marks a stream nobody reads any more: queued and later data is dropped.
  void abandon(Stream& s);

  // DATA frames (split in 32 KiB pieces). Fails once the stream is closed
  // on our side or reset by the peer, or the socket write fails.
  Status write(Stream& s, std::string_view data);
  // DATA with FIN (no-op when already closed on our side).
  Status close_stream(Stream& s);
  Status reset_stream(Stream& s, uint32_t status);

  // Sends GOAWAY; run() returns once the peer closes or after `linger`, so
  // frames already written reach it before the socket closes.
  void finish(std::chrono::milliseconds linger);
  // Ends run() now and unblocks everything.
  void abort();
  bool ended() const { return ended_.load(); }

 private:
  Status send(std::string_view bytes);
  Status handle(Frame f, StreamHandler& handler);
  void on_syn_stream(SynStreamFrame& f, StreamHandler& handler);
  StreamPtr find(uint32_t id);
  void touch();
  void end_all_streams();

  ByteStream& conn_;
  ConnectionLimits limits_;

  std::mutex send_mu_;  // orders compression state with wire order
  HeaderCompressor compressor_;
  HeaderDecompressor decompressor_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint32_t, StreamPtr> streams_;
  uint32_t last_stream_id_ = 0;

  std::atomic<int64_t> last_activity_ns_{0};
  std::atomic<int64_t> linger_deadline_ns_{0};  // 0: not finishing
  std::atomic<bool> ended_{false};
  std::atomic<bool> goaway_sent_{false};
};

}  // namespace crid::stream::spdy
