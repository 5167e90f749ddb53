#include "stream/websocket_connection.h"

#include <poll.h>

namespace crid::stream::ws {
namespace {
constexpr size_t kReadChunk = 64 * 1024;
}

Connection::Connection(ByteStream& stream, size_t max_message)
    : stream_(stream), assembler_(max_message) {
  limits_.masking = Masking::kRequired;
  limits_.max_payload = max_message;
}

Result<Connection::Received> Connection::receive() {
  Received out;
  char buf[kReadChunk];
  CRID_ASSIGN(size_t n, stream_.read(buf, sizeof(buf)));
  if (n == 0) {
    out.ended = true;
    return out;
  }
  // Once the client's close arrived nothing it sends means anything.
  if (close_received_) return out;
  inbuf_.append(buf, n);

  size_t used = 0;
  while (used < inbuf_.size()) {
    auto parsed = parse_frame(std::string_view(inbuf_).substr(used), limits_);
    if (!parsed) return parsed.error();
    if (!*parsed) break;
    used += (*parsed)->size;
    CRID_ASSIGN(auto message, assembler_.add(std::move((*parsed)->frame)));
    if (!message) continue;
    switch (message->opcode) {
      case Opcode::kPing:
        if (!close_sent_) CRID_TRY(send(Message{Opcode::kPong, message->payload}));
        break;
      case Opcode::kPong:
        break;
      case Opcode::kClose: {
        close_received_ = true;
        auto info = parse_close_payload(message->payload);
        if (!info) return info.error();
        // Echo the client's code (RFC 6455 section 5.5.1); an empty close
        // gets a normal one.
        CRID_TRY(close(info->code.value_or(close_code::kNormal), ""));
        out.messages.push_back(std::move(*message));
        inbuf_.clear();
        return out;
      }
      default:
        out.messages.push_back(std::move(*message));
    }
  }
  inbuf_.erase(0, used);
  return out;
}

Status Connection::send(const Message& message) {
  if (close_sent_) return make_error(ErrorKind::kFailedPrecondition, "websocket already closed");
  std::string frame = encode_frame(message.opcode, message.payload);
  return stream_.write_all(frame.data(), frame.size());
}

Status Connection::close(uint16_t code, std::string_view reason) {
  if (close_sent_) return Ok();
  close_sent_ = true;
  std::string frame = encode_frame(Opcode::kClose, close_payload(code, reason));
  return stream_.write_all(frame.data(), frame.size());
}

void Connection::fail(const Error& error) {
  (void)close(close_code_for(error), error.message());
}

void Connection::await_close(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!close_received_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    if (!has_pending()) {
      pollfd p{fd(), POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r <= 0) return;
    }
    auto got = receive();
    if (!got || got->ended) return;
  }
}

}  // namespace crid::stream::ws
