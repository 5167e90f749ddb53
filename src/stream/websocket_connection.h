// One WebSocket connection after the handshake, over a ByteStream: turns
// the bytes the client sends into messages (answering pings and the close
// handshake on the way) and sends messages as single frames. Used from one
// thread, the session's event loop.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "stream/byte_stream.h"
#include "stream/websocket_frame.h"
#include "util/result.h"

namespace crid::stream::ws {

class Connection {
 public:
  Connection(ByteStream& stream, size_t max_message);

  struct Received {
    std::vector<Message> messages;  // data messages and the client's close, if any
    bool ended = false;             // the client closed the TCP stream
  };
  // One read() from the stream and the messages it completed. Pings are
  // answered with pongs here and pongs dropped; a close frame is answered
  // (once) and returned so the session knows. A protocol violation is an
  // error after which the session sends fail() and stops.
  Result<Received> receive();

  // Whether receive() should be called without waiting for poll(): bytes
  // are buffered inside the stream (TLS).
  bool has_pending() const { return stream_.pending() > 0; }
  int fd() const { return stream_.fd(); }

  Status send(const Message& message);
  // Sends a close frame unless one was sent already.
  Status close(uint16_t code, std::string_view reason);
  // For a protocol error: the close code that fits it, then stop.
  void fail(const Error& error);

  // After close(): waits up to `timeout` for the client's close frame or
  // end of stream, dropping data, so the client sees a clean close.
  void await_close(std::chrono::milliseconds timeout);

  bool close_sent() const { return close_sent_; }
  bool close_received() const { return close_received_; }

 private:
  ByteStream& stream_;
  FrameLimits limits_;
  MessageAssembler assembler_;
  std::string inbuf_;
  bool close_sent_ = false;
  bool close_received_ = false;
};

}  // namespace crid::stream::ws
