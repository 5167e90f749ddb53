#include "stream/http_head.h"

#include <algorithm>
#include <cctype>

namespace crid::stream {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

Error bad(std::string_view what) {
  return make_error(ErrorKind::kInvalidArgument, "malformed HTTP request: {}", what);
}

}  // namespace

std::optional<std::string> HttpRequest::header(std::string_view name) const {
  std::optional<std::string> out;
  for (auto& [k, v] : headers) {
    if (!iequals(k, name)) continue;
    if (out)
      *out += ", " + v;
    else
      out = v;
  }
  return out;
}

std::vector<std::string> HttpRequest::query_values(std::string_view name) const {
  std::vector<std::string> out;
  for (auto& [k, v] : query)
    if (k == name) out.push_back(v);
  return out;
}

bool percent_decode(std::string_view in, std::string* out, bool plus_is_space) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

Result<HttpRequest> parse_http_request_head(std::string_view head) {
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n")
    return bad("head does not end with an empty line");
  head.remove_suffix(2);  // keep the last line's CRLF
  HttpRequest req;
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return bad("request line is not 'METHOD TARGET VERSION'");
  req.method = std::string(line.substr(0, sp1));
  req.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  std::string_view version = line.substr(sp2 + 1);
  if (req.method.empty() || !std::all_of(req.method.begin(), req.method.end(), is_token_char))
    return bad("bad method");
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return bad("not HTTP/1.x");
  if (req.target.empty() || req.target[0] != '/') return bad("target is not an absolute path");
  for (char c : req.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("control byte in target");

  std::string_view target = req.target;
  size_t q = target.find('?');
  if (!percent_decode(target.substr(0, q), &req.path, false)) return bad("bad escape in path");
  if (q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      std::string k, v;
      if (!percent_decode(pair.substr(0, eq), &k, true) ||
          !percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1),
                          &v, true))
        return bad("bad escape in query");
      req.query.emplace_back(std::move(k), std::move(v));
    }
  }

  size_t at = eol + 2;
  while (at < head.size()) {
    size_t end = head.find("\r\n", at);
    if (end == std::string_view::npos) return bad("header line without CRLF");
    std::string_view h = head.substr(at, end - at);
    at = end + 2;
    if (!h.empty() && (h[0] == ' ' || h[0] == '\t')) return bad("folded header line");
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return bad("header line without a name");
    std::string_view name = h.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char)) return bad("bad header name");
    std::string_view value = trim(h.substr(colon + 1));
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
        return bad("control byte in a header value");
    req.headers.emplace_back(std::string(name), std::string(value));
  }
  return req;
}

std::string http_response(int code, std::string_view reason, std::string_view body,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", code, reason);
  for (auto& [k, v] : headers) out += fmt::format("{}: {}\r\n", k, v);
  out += fmt::format(
      "Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
      body.size());
  out += body;
  return out;
}

}  // namespace crid::stream
