// The zlib dictionary of SPDY/3 header compression, as the SPDY/3 draft
// defines it: 65 length-prefixed header names and values, then a run of
// common status lines, dates and media types. Both ends prime their zlib
// streams with exactly these bytes (its Adler-32, 0xe3c6a7c2, is the DICTID
// in the first compressed block), so a single wrong byte breaks interop.
#include "stream/spdy_dictionary.h"

#include <array>
#include <cstdint>
#include <string_view>

namespace crid::stream::spdy {

namespace {

// Each word goes in as a 4-byte big-endian length followed by the word.
constexpr std::array<std::string_view, 65> kWords = {
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
    "accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
    "cache-control", "connection", "content-base", "content-encoding", "content-language",
    "content-length", "content-location", "content-md5", "content-range", "content-type",
    "date", "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since",
    "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
    "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
    "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent",
    "vary", "via", "warning", "www-authenticate", "method", "get", "status", "200 OK",
    "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
};

// Then these bytes, appended as they are.
constexpr std::string_view kTail =
    "10010120120220520630030230330430530630740240540640740840941041141241341441541641"
    "7502504505203 Non-Authoritative Information204 No Content301 Moved Permanently40"
    "0 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
    "501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept O"
    "ct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,imag"
    "e/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/"
    "javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1"
    ",utf-,*,enq=0.";

std::string build() {
  std::string dict;
  for (std::string_view w : kWords) {
    uint32_t n = static_cast<uint32_t>(w.size());
    dict.push_back(static_cast<char>(n >> 24));
    dict.push_back(static_cast<char>(n >> 16));
    dict.push_back(static_cast<char>(n >> 8));
    dict.push_back(static_cast<char>(n));
    dict.append(w);
  }
  dict.append(kTail);
  return dict;
}

}  // namespace

const std::string& header_dictionary() {
  static const std::string dict = build();
  return dict;
}

}  // namespace crid::stream::spdy
