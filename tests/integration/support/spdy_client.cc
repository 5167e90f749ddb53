#include "spdy_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "util/printable.h"

namespace crid::testing {

namespace sp = stream::spdy;

std::string HttpResponseHead::header(const std::string& name) const {
  for (auto& [k, v] : headers)
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  return "";
}

SpdyClient::SpdyClient(UniqueFd fd) : fd_(std::move(fd)) {}

SpdyClient::~SpdyClient() {
  close();
  if (reader_.joinable()) reader_.join();
}

std::string SpdyClient::path_of(const std::string& url) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

Result<UniqueFd> SpdyClient::dial(const std::string& url) {
  if (url.rfind("http://", 0) != 0)
    return make_error(ErrorKind::kInvalidArgument, "not a plain http URL: {}", url);
  std::string hostport = url.substr(7, url.find('/', 7) - 7);
  size_t colon = hostport.rfind(':');
  std::string host = hostport.substr(0, colon);
  int port = std::stoi(hostport.substr(colon + 1));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1)
    return make_error(ErrorKind::kInvalidArgument, "not an IPv4 host: {}", host);
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0)
    return sys_error("connecting to {}", hostport);
  return fd;
}

Status SpdyClient::send_raw(std::string_view bytes) {
  std::lock_guard lock(send_mu_);
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return sys_error("sending to the stream server");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

Result<HttpResponseHead> SpdyClient::upgrade(const std::string& path,
                                             const std::vector<std::string>& protocols,
                                             const std::string& method) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n"
                    "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n";
  for (auto& p : protocols) req += "X-Stream-Protocol-Version: " + p + "\r\n";
  req += "\r\n";
  CRID_TRY(send_raw(req));
  return read_response();
}

Result<HttpResponseHead> SpdyClient::read_response() {
  std::string buf;
  char chunk[4096];
  size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 20000) <= 0) return make_error(ErrorKind::kDeadlineExceeded, "no response");
    ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), 0);
    if (n <= 0) return make_error(ErrorKind::kUnavailable, "connection closed before a response");
    buf.append(chunk, static_cast<size_t>(n));
  }
  HttpResponseHead head;
  std::string status_line = buf.substr(0, buf.find("\r\n"));
  if (status_line.rfind("HTTP/1.1 ", 0) != 0)
    return make_error(ErrorKind::kInvalidArgument, "bad status line {}", printable(status_line));
  head.code = std::stoi(status_line.substr(9, 3));
  size_t at = status_line.size() + 2;
  while (at < end) {
    size_t eol = buf.find("\r\n", at);
    std::string line = buf.substr(at, eol - at);
    at = eol + 2;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(' '));
    head.headers.emplace_back(line.substr(0, colon), v);
  }
  std::string rest = buf.substr(end + 4);
  if (head.code != 101) {
    size_t len = 0;
    if (auto cl = head.header("Content-Length"); !cl.empty()) len = std::stoul(cl);
    while (rest.size() < len) {
      ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), 0);
      if (n <= 0) break;
      rest.append(chunk, static_cast<size_t>(n));
    }
    head.body = rest;
    return head;
  }
  pending_ = rest;
  reader_ = std::thread([this] { reader(); });
  return head;
}

void SpdyClient::reader() {
  sp::HeaderDecompressor headers;
  std::string buf = std::move(pending_);
  char chunk[64 * 1024];
  for (;;) {
    bool progress = true;
    while (progress) {
      progress = false;
      auto raw = sp::split_frame(buf, 1 << 24);
      if (!raw || !*raw) break;
      auto frame = sp::decode_frame(**raw, headers);
      buf.erase(0, (*raw)->size);
      progress = true;
      if (!frame) continue;
      std::lock_guard lock(mu_);
      if (auto* d = std::get_if<sp::DataFrame>(&*frame)) {
        auto& s = streams_[d->stream_id];
        s.data += d->data;
        if (d->flags & sp::kFlagFin) s.fin = true;
      } else if (auto* r = std::get_if<sp::SynReplyFrame>(&*frame)) {
        streams_[r->stream_id].replied = true;
        if (r->flags & sp::kFlagFin) streams_[r->stream_id].fin = true;
      } else if (auto* rst = std::get_if<sp::RstStreamFrame>(&*frame)) {
        streams_[rst->stream_id].reset = true;
      } else if (auto* p = std::get_if<sp::PingFrame>(&*frame)) {
        pings_.push_back(p->id);
      } else if (std::holds_alternative<sp::GoAwayFrame>(*frame)) {
        goaway_ = true;
      }
      cv_.notify_all();
    }
    ssize_t n = ::recv(fd_.get(), chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
  }
  std::lock_guard lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

Result<uint32_t> SpdyClient::open_stream(const sp::HeaderList& headers, bool fin) {
  uint32_t id;
  {
    std::lock_guard lock(send_mu_);
    id = next_id_;
    next_id_ += 2;
    auto frame = sp::encode_syn_stream(
        sp::SynStreamFrame{id, 0, 0, static_cast<uint8_t>(fin ? sp::kFlagFin : 0), headers},
        compressor_);
    if (!frame) return frame.error();
    std::string_view bytes = *frame;
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return sys_error("sending SYN_STREAM");
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, kWait, [&] {
    auto& s = streams_[id];
    return s.replied || s.reset || closed_;
  });
  auto& s = streams_[id];
  if (!s.replied)
    return make_error(ErrorKind::kUnavailable, "stream {} was {}", id,
                      s.reset ? "reset" : "not answered");
  return id;
}

Status SpdyClient::send(uint32_t id, std::string_view data, bool fin) {
  CRID_ASSIGN(std::string frame, sp::encode_data(id, fin ? sp::kFlagFin : 0, data));
  return send_raw(frame);
}

std::string SpdyClient::read(uint32_t id, size_t n, std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, wait, [&] {
    auto& s = streams_[id];
    return s.data.size() >= n || s.fin || s.reset || closed_;
  });
  return std::exchange(streams_[id].data, "");
}

std::string SpdyClient::read_all(uint32_t id, std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, wait, [&] {
    auto& s = streams_[id];
    return s.fin || s.reset || closed_;
  });
  return std::exchange(streams_[id].data, "");
}

bool SpdyClient::finished(uint32_t id) {
  std::lock_guard lock(mu_);
  return streams_[id].fin || streams_[id].reset;
}

bool SpdyClient::was_reset(uint32_t id) {
  std::lock_guard lock(mu_);
  return streams_[id].reset;
}

bool SpdyClient::ping(uint32_t id, std::chrono::milliseconds wait) {
  if (!send_raw(sp::encode_ping(id))) return false;
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, wait, [&] {
    return std::find(pings_.begin(), pings_.end(), id) != pings_.end();
  });
}

bool SpdyClient::goaway_received(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, wait, [&] { return goaway_ || closed_; }) && goaway_;
}

bool SpdyClient::wait_closed(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, wait, [&] { return closed_; });
}

void SpdyClient::close() {
  if (fd_.valid()) ::shutdown(fd_.get(), SHUT_RDWR);
}

}  // namespace crid::testing
