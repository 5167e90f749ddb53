#include "stream/websocket_handshake.h"

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "stream/base64.h"
#include "util/printable.h"

namespace crid::stream::ws {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_list(std::string_view s) {
  std::vector<std::string_view> items;
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view item = trim(s.substr(0, comma));
    if (!item.empty()) items.push_back(item);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return items;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

bool has_token(const std::optional<std::string>& header, std::string_view token) {
  if (!header) return false;
  for (std::string_view item : split_list(*header)) {
    if (iequals(item, token)) return true;
  }
  return false;
}

const char* status_text(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 426: return "Upgrade Required";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

Handshake refuse(int status, std::string reason, std::string_view extra_headers = {}) {
  Handshake h;
  h.status = status;
  h.response = http_error_response(status, reason, extra_headers);
  h.reason = std::move(reason);
  return h;
}

}  // namespace

std::string accept_key(std::string_view client_key) {
  std::string input(client_key);
  input.append(kGuid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha1(), nullptr);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string http_error_response(int status, std::string_view reason,
                                std::string_view extra_headers) {
  std::string body = fmt::format("{}\n", reason);
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: {}\r\nConnection: close\r\n{}\r\n{}",
      status, status_text(status), body.size(), extra_headers, body);
}

Handshake negotiate(const HttpRequest& req, std::span<const std::string_view> supported) {
  if (req.method != "GET") {
    return refuse(400, fmt::format("websocket upgrade needs GET, not {}", req.method));
  }
  auto upgrade = req.header("Upgrade");
  if (!has_token(upgrade, "websocket")) {
    return refuse(400, fmt::format("Upgrade header is {}, not websocket", printable(upgrade.value_or(""))));
  }
  if (!has_token(req.header("Connection"), "upgrade")) {
    return refuse(400, "Connection header does not carry the upgrade token");
  }
  // RFC 6455 section 4.2.2: a version we do not speak gets 426 and the
  // version we do.
  auto version = req.header("Sec-WebSocket-Version");
  if (!version || trim(*version) != "13") {
    return refuse(426,
                  fmt::format("Sec-WebSocket-Version {} is not supported (only 13)",
                              printable(version.value_or(""))),
                  "Sec-WebSocket-Version: 13\r\n");
  }
  auto key = req.header("Sec-WebSocket-Key");
  if (!key) return refuse(400, "Sec-WebSocket-Key header missing");
  auto raw_key = base64_decode(trim(*key));
  if (!raw_key || raw_key->size() != 16) {
    return refuse(400, fmt::format("Sec-WebSocket-Key {} is not 16 bytes in base64", printable(*key)));
  }

  std::vector<std::string_view> offered;
  auto protocols = req.header("Sec-WebSocket-Protocol");
  if (protocols) offered = split_list(*protocols);
  if (offered.empty()) offered.push_back("");
  auto chosen = std::find_if(offered.begin(), offered.end(), [&](std::string_view p) {
    return std::find(supported.begin(), supported.end(), p) != supported.end();
  });
  if (chosen == offered.end()) {
    std::string list;
    for (std::string_view p : supported) {
      if (p.empty()) continue;
      if (!list.empty()) list += ", ";
      list += p;
    }
    return refuse(400, fmt::format("requested subprotocol(s) {} not supported; supported: {}",
                                   printable(protocols.value_or("")), list));
  }

  Handshake h;
  h.protocol.assign(*chosen);
  h.response = fmt::format(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: {}\r\n",
      accept_key(trim(*key)));
  if (!h.protocol.empty()) h.response += fmt::format("Sec-WebSocket-Protocol: {}\r\n", h.protocol);
  h.response += "\r\n";
  return h;
}

}  // namespace crid::stream::ws
