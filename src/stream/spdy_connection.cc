#include "stream/spdy_connection.h"

#include <poll.h>

#include <spdlog/spdlog.h>

namespace crid::stream::spdy {

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr size_t kMaxDataChunk = 32 * 1024;
constexpr size_t kWindowUpdateThreshold = 32 * 1024;
constexpr uint32_t kGoAwayOk = 0;
constexpr uint32_t kGoAwayProtocolError = 1;

}  // namespace

Connection::Connection(ByteStream& conn, ConnectionLimits limits)
    : conn_(conn), limits_(limits) {
  touch();
}

Connection::~Connection() = default;

void Connection::touch() { last_activity_ns_.store(now_ns()); }

Status Connection::send(std::string_view bytes) {
  Status st = conn_.write_all(bytes.data(), bytes.size());
  if (st) touch();
  return st;
}

StreamPtr Connection::find(uint32_t id) {
  std::lock_guard lock(mu_);
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

void Connection::run(StreamHandler& handler) {
  std::string buf;
  char chunk[64 * 1024];
  const int64_t idle_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(limits_.idle_timeout).count();
  std::string why;
  while (!ended_.load()) {
    if (conn_.pending() == 0) {
      int64_t now = now_ns();
      int64_t deadline = last_activity_ns_.load() + idle_ns;
      int64_t linger = linger_deadline_ns_.load();
      if (linger != 0 && linger < deadline) deadline = linger;
      if (now >= deadline) {
        why = linger != 0 && linger <= now ? "" : "idle timeout";
        break;
      }
      // Wake at least every second: writes by workers move the idle
      // deadline, and abort() must be noticed.
      int wait_ms = static_cast<int>(std::min<int64_t>((deadline - now) / 1000000 + 1, 1000));
      pollfd p{conn_.fd(), POLLIN, 0};
      int rc = ::poll(&p, 1, wait_ms);
      if (rc < 0 && errno != EINTR) {
        why = "poll failed";
        break;
      }
      if (rc <= 0) continue;
    }
    auto n = conn_.read(chunk, sizeof(chunk));
    if (!n || *n == 0) break;  // peer closed or connection reset
    touch();
    buf.append(chunk, *n);
    size_t used = 0;
    bool fatal = false;
    while (!fatal) {
      auto raw = split_frame(std::string_view(buf).substr(used), limits_.max_frame_payload);
      if (!raw) {
        why = raw.error().message();
        fatal = true;
        break;
      }
      if (!*raw) break;
      RawFrame r = **raw;
      used += r.size;
      auto frame = decode_frame(r, decompressor_);
      Status st = frame ? handle(std::move(*frame), handler) : Status(frame.error());
      if (!st) {
        why = st.error().message();
        fatal = true;
      }
    }
    if (fatal) {
      if (!goaway_sent_.exchange(true)) {
        std::lock_guard lock(send_mu_);
        (void)send(encode_goaway(last_stream_id_, kGoAwayProtocolError));
      }
      break;
    }
    buf.erase(0, used);
  }
  if (!why.empty()) spdlog::info("[stream {}] SPDY connection closed: {}", conn_.peer(), why);
  ended_.store(true);
  end_all_streams();
  handler.connection_closed();
}

void Connection::end_all_streams() {
  std::lock_guard lock(mu_);
  for (auto& [id, s] : streams_) {
    s->remote_closed = true;
    s->local_closed = true;
  }
  cv_.notify_all();
}

Status Connection::handle(Frame f, StreamHandler& handler) {
  if (auto* d = std::get_if<DataFrame>(&f)) {
    StreamPtr s = find(d->stream_id);
    if (!s) {
      // Data for a stream we never saw is a stream error; for one already
      // gone (reset, both sides closed) it is a late frame to drop.
      if (d->stream_id > last_stream_id_) {
        std::lock_guard lock(send_mu_);
        return send(encode_rst_stream(d->stream_id, kInvalidStream));
      }
      return Ok();
    }
    std::unique_lock lock(mu_);
    if (s->remote_closed) return Ok();
    // Backpressure: wait for the consumer rather than buffer without end.
    cv_.wait(lock, [&] {
      return s->queued < limits_.max_queued_per_stream || s->discard || ended_.load();
    });
    if (!d->data.empty() && !s->discard) {
      s->queued += d->data.size();
      s->inbound.push_back(std::move(d->data));
    }
    if (d->flags & kFlagFin) s->remote_closed = true;
    cv_.notify_all();
    return Ok();
  }
  if (auto* syn = std::get_if<SynStreamFrame>(&f)) {
    on_syn_stream(*syn, handler);
    return Ok();
  }
  if (auto* rst = std::get_if<RstStreamFrame>(&f)) {
    if (StreamPtr s = find(rst->stream_id)) {
      std::lock_guard lock(mu_);
      s->remote_closed = s->local_closed = true;
      s->inbound.clear();
      s->queued = 0;
      streams_.erase(rst->stream_id);
      cv_.notify_all();
    }
    return Ok();
  }
  if (auto* ping = std::get_if<PingFrame>(&f)) {
    // Odd ids are the client's: echo them. Even ones would answer our own
    // pings, and we send none.
    if (ping->id % 2 == 1) {
      std::lock_guard lock(send_mu_);
      return send(encode_ping(ping->id));
    }
    return Ok();
  }
  if (std::holds_alternative<GoAwayFrame>(f)) {
    // The client opens no more streams; the open ones run to their end and
    // the client closes the socket.
    return Ok();
  }
  if (std::holds_alternative<SynReplyFrame>(f))
    return make_error(ErrorKind::kInvalidArgument, "SYN_REPLY from a client (we open no streams)");
  // SETTINGS, WINDOW_UPDATE, HEADERS: nothing we act on (see the header).
  return Ok();
}

void Connection::on_syn_stream(SynStreamFrame& f, StreamHandler& handler) {
  std::lock_guard send_lock(send_mu_);
  auto refuse = [&](uint32_t status, std::string_view why) {
    spdlog::debug("[stream {}] refusing SPDY stream {}: {}", conn_.peer(), f.stream_id, why);
    (void)send(encode_rst_stream(f.stream_id, status));
  };
  // Client streams have odd ids, each larger than the last.
  if (f.stream_id % 2 == 0 || f.stream_id <= last_stream_id_)
    return refuse(kProtocolError, "stream id out of order");
  last_stream_id_ = f.stream_id;
  auto s = std::make_shared<Stream>();
  s->id = f.stream_id;
  s->headers = std::move(f.headers);
  s->remote_closed = (f.flags & kFlagFin) != 0;
  s->local_closed = (f.flags & kFlagUnidirectional) != 0;
  {
    std::lock_guard lock(mu_);
    if (streams_.size() >= limits_.max_streams) return refuse(kRefusedStream, "too many streams");
  }
  if (!handler.accept(*s)) return refuse(kRefusedStream, "not wanted by the protocol");
  {
    std::lock_guard lock(mu_);
    streams_[s->id] = s;
  }
  auto reply = encode_syn_reply(SynReplyFrame{s->id, 0, {}}, compressor_);
  if (!reply || !send(*reply)) return;
  handler.opened(s);
}

std::optional<std::string> Connection::next_chunk(Stream& s, const std::atomic<bool>& stop) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !s.inbound.empty() || s.remote_closed || stop.load(); });
  if (stop.load() || s.inbound.empty()) return std::nullopt;
  std::string out = std::move(s.inbound.front());
  s.inbound.pop_front();
  s.queued -= out.size();
  s.unacked += out.size();
  cv_.notify_all();  // the reader may wait for room
  uint32_t ack = 0;
  if (s.unacked >= kWindowUpdateThreshold && !s.remote_closed) {
    ack = static_cast<uint32_t>(s.unacked);
    s.unacked = 0;
  }
  lock.unlock();
  if (ack != 0) {
    std::lock_guard send_lock(send_mu_);
    (void)send(encode_window_update(s.id, ack));
  }
  return out;
}

void Connection::wake() {
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

void Connection::abandon(Stream& s) {
  std::lock_guard lock(mu_);
  s.discard = true;
  s.inbound.clear();
  s.queued = 0;
  cv_.notify_all();
}

Status Connection::write(Stream& s, std::string_view data) {
  while (!data.empty()) {
    std::string_view piece = data.substr(0, kMaxDataChunk);
    {
      std::lock_guard lock(mu_);
      if (s.local_closed)
        return make_error(ErrorKind::kCancelled, "SPDY stream {} is closed", s.id);
    }
    CRID_ASSIGN(std::string frame, encode_data(s.id, 0, piece));
    std::lock_guard send_lock(send_mu_);
    CRID_TRY(send(frame));
    data.remove_prefix(piece.size());
  }
  return Ok();
}

Status Connection::close_stream(Stream& s) {
  {
    std::lock_guard lock(mu_);
    if (s.local_closed) return Ok();
    s.local_closed = true;
  }
  CRID_ASSIGN(std::string frame, encode_data(s.id, kFlagFin, {}));
  std::lock_guard send_lock(send_mu_);
  return send(frame);
}

Status Connection::reset_stream(Stream& s, uint32_t status) {
  {
    std::lock_guard lock(mu_);
    if (s.local_closed && s.remote_closed) return Ok();
    s.local_closed = s.remote_closed = true;
    cv_.notify_all();
  }
  std::lock_guard send_lock(send_mu_);
  return send(encode_rst_stream(s.id, status));
}

void Connection::finish(std::chrono::milliseconds linger) {
  if (!goaway_sent_.exchange(true)) {
    std::lock_guard send_lock(send_mu_);
    (void)send(encode_goaway(last_stream_id_, kGoAwayOk));
  }
  linger_deadline_ns_.store(now_ns() +
                            std::chrono::duration_cast<std::chrono::nanoseconds>(linger).count());
}

void Connection::abort() {
  ended_.store(true);
  conn_.shutdown();
  end_all_streams();
}

}  // namespace crid::stream::spdy
