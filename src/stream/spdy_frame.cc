#include "stream/spdy_frame.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "stream/spdy_dictionary.h"
#include "util/printable.h"

namespace crid::stream::spdy {

namespace {

uint32_t get32(std::string_view b, size_t at) {
  auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(b[at + i])); };
  return u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3);
}
void put32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

Error bad(std::string_view what) {
  return make_error(ErrorKind::kInvalidArgument, "malformed SPDY frame: {}", what);
}

std::string control_header(FrameType type, uint8_t flags, size_t length) {
  std::string out;
  out.reserve(kFrameHeaderSize + length);
  put16(out, 0x8000 | kVersion);
  put16(out, static_cast<uint16_t>(type));
  put32(out, static_cast<uint32_t>(flags) << 24 | static_cast<uint32_t>(length));
  return out;
}

bool valid_stream_id(uint32_t id) { return id != 0 && (id & 0x80000000u) == 0; }

}  // namespace

std::optional<std::string> find_header(const HeaderList& h, std::string_view name) {
  for (auto& [k, v] : h) {
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        }))
      return v;
  }
  return std::nullopt;
}

Result<std::optional<RawFrame>> split_frame(std::string_view buf, size_t max_payload) {
  if (buf.size() < kFrameHeaderSize) return std::optional<RawFrame>();
  RawFrame f;
  uint32_t first = get32(buf, 0);
  uint32_t flags_len = get32(buf, 4);
  f.flags = static_cast<uint8_t>(flags_len >> 24);
  size_t len = flags_len & 0xffffff;
  f.control = (first & 0x80000000u) != 0;
  if (f.control) {
    f.version = static_cast<uint16_t>((first >> 16) & 0x7fff);
    f.type = static_cast<uint16_t>(first & 0xffff);
    if (f.version != kVersion)
      return make_error(ErrorKind::kInvalidArgument,
                        "SPDY control frame of version {} (only 3 is spoken)", f.version);
  } else {
    f.stream_id = first & 0x7fffffffu;
  }
  if (len > max_payload)
    return make_error(ErrorKind::kInvalidArgument,
                      "SPDY frame of {} bytes is over the {} byte limit", len, max_payload);
  if (buf.size() < kFrameHeaderSize + len) return std::optional<RawFrame>();
  f.payload = buf.substr(kFrameHeaderSize, len);
  f.size = kFrameHeaderSize + len;
  return std::optional<RawFrame>(f);
}

std::string encode_header_block(const HeaderList& headers) {
  std::string out;
  put32(out, static_cast<uint32_t>(headers.size()));
  for (auto& [name, value] : headers) {
    put32(out, static_cast<uint32_t>(name.size()));
    for (char c : name) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    put32(out, static_cast<uint32_t>(value.size()));
    out.append(value);
  }
  return out;
}

Result<HeaderList> parse_header_block(std::string_view b) {
  if (b.size() < 4) return bad("header block shorter than its count");
  uint32_t count = get32(b, 0);
  // Each pair takes at least 8 bytes of lengths: a count beyond that is a lie.
  if (count > (b.size() - 4) / 8) return bad("header count larger than the block");
  size_t at = 4;
  auto take = [&](std::string* out) -> bool {
    if (b.size() - at < 4) return false;
    uint32_t n = get32(b, at);
    at += 4;
    if (n > b.size() - at) return false;
    out->assign(b.substr(at, n));
    at += n;
    return true;
  };
  HeaderList h;
  h.reserve(count);
  std::set<std::string, std::less<>> seen;
  for (uint32_t i = 0; i < count; ++i) {
    std::string name, value;
    if (!take(&name)) return bad("header name runs past the block");
    if (!take(&value)) return bad("header value runs past the block");
    if (name.empty()) return bad("empty header name");
    for (char c : name)
      if (std::isupper(static_cast<unsigned char>(c)) || c == '\0')
        return bad(fmt::format("header name {} is not lowercase", printable(name)));
    if (!seen.insert(name).second) return bad(fmt::format("header {} sent twice", printable(name)));
    h.emplace_back(std::move(name), std::move(value));
  }
  if (at != b.size()) return bad("bytes left over after the header block");
  return h;
}

struct HeaderCompressor::State {
  z_stream z{};
  bool ok = false;
};

HeaderCompressor::HeaderCompressor() : s_(std::make_unique<State>()) {
  const std::string& dict = header_dictionary();
  s_->ok = deflateInit(&s_->z, Z_DEFAULT_COMPRESSION) == Z_OK &&
           deflateSetDictionary(&s_->z, reinterpret_cast<const Bytef*>(dict.data()),
                                static_cast<uInt>(dict.size())) == Z_OK;
}

HeaderCompressor::~HeaderCompressor() { deflateEnd(&s_->z); }

Result<std::string> HeaderCompressor::compress(const HeaderList& headers) {
  if (!s_->ok) return make_error(ErrorKind::kInternal, "SPDY header compressor did not initialise");
  std::string in = encode_header_block(headers);
  std::string out;
  s_->z.next_in = reinterpret_cast<Bytef*>(in.data());
  s_->z.avail_in = static_cast<uInt>(in.size());
  char buf[4096];
  do {
    s_->z.next_out = reinterpret_cast<Bytef*>(buf);
    s_->z.avail_out = sizeof(buf);
    int rc = deflate(&s_->z, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      s_->ok = false;
      return make_error(ErrorKind::kInternal, "compressing SPDY headers: zlib error {}", rc);
    }
    out.append(buf, sizeof(buf) - s_->z.avail_out);
  } while (s_->z.avail_out == 0);
  return out;
}

struct HeaderDecompressor::State {
  z_stream z{};
  bool ok = false;
};

HeaderDecompressor::HeaderDecompressor(size_t max_block)
    : s_(std::make_unique<State>()), max_block_(max_block) {
  s_->ok = inflateInit(&s_->z) == Z_OK;
}

HeaderDecompressor::~HeaderDecompressor() { inflateEnd(&s_->z); }

Result<HeaderList> HeaderDecompressor::decompress(std::string_view compressed) {
  // A failed block leaves the shared zlib stream out of step with the peer:
  // every later block would be garbage, so the connection must end.
  if (!s_->ok) return bad("header compression stream already broken");
  s_->z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  s_->z.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char buf[4096];
  while (s_->z.avail_in > 0) {
    s_->z.next_out = reinterpret_cast<Bytef*>(buf);
    s_->z.avail_out = sizeof(buf);
    int rc = inflate(&s_->z, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      const std::string& dict = header_dictionary();
      rc = inflateSetDictionary(&s_->z, reinterpret_cast<const Bytef*>(dict.data()),
                                static_cast<uInt>(dict.size()));
      if (rc != Z_OK) {
        s_->ok = false;
        return bad("header block asks for a dictionary other than SPDY/3's");
      }
      continue;
    }
    out.append(buf, sizeof(buf) - s_->z.avail_out);
    if (out.size() > max_block_) {
      s_->ok = false;
      return bad(fmt::format("header block inflates past {} bytes", max_block_));
    }
    if (rc == Z_BUF_ERROR && s_->z.avail_out != 0) break;  // no progress possible
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      s_->ok = false;
      return bad(fmt::format("corrupt compressed header block (zlib {})", rc));
    }
  }
  if (s_->z.avail_in != 0) {
    s_->ok = false;
    return bad("compressed header block not fully consumed");
  }
  auto h = parse_header_block(out);
  if (!h) s_->ok = false;
  return h;
}

Result<Frame> decode_frame(const RawFrame& raw, HeaderDecompressor& headers) {
  std::string_view p = raw.payload;
  if (!raw.control) {
    if (!valid_stream_id(raw.stream_id)) return bad("DATA on stream 0");
    if (raw.flags & ~kFlagFin) return bad("DATA with unknown flags");
    return Frame(DataFrame{raw.stream_id, raw.flags, std::string(p)});
  }
  // Frames with fixed fields define no flags (SPDY/3.1 2.6).
  auto fixed = [&](size_t n, const char* name) -> Status {
    if (raw.flags != 0) return bad(fmt::format("{} with flags {:#x}", name, raw.flags));
    if (p.size() != n)
      return bad(fmt::format("{} of {} bytes (must be {})", name, p.size(), n));
    return Ok();
  };
  switch (static_cast<FrameType>(raw.type)) {
    case FrameType::kSynStream: {
      if (p.size() < 10) return bad("SYN_STREAM shorter than its fixed fields");
      SynStreamFrame f;
      f.stream_id = get32(p, 0) & 0x7fffffffu;
      f.associated_id = get32(p, 4) & 0x7fffffffu;
      f.priority = static_cast<uint8_t>(static_cast<unsigned char>(p[8]) >> 5);
      f.flags = raw.flags;
      if (!valid_stream_id(f.stream_id)) return bad("SYN_STREAM for stream 0");
      CRID_ASSIGN(f.headers, headers.decompress(p.substr(10)));
      return Frame(std::move(f));
    }
    case FrameType::kSynReply:
    case FrameType::kHeaders: {
      if (p.size() < 4) return bad("SYN_REPLY/HEADERS shorter than its stream id");
      uint32_t id = get32(p, 0) & 0x7fffffffu;
      if (!valid_stream_id(id)) return bad("SYN_REPLY/HEADERS for stream 0");
      CRID_ASSIGN(HeaderList h, headers.decompress(p.substr(4)));
      if (raw.type == static_cast<uint16_t>(FrameType::kSynReply))
        return Frame(SynReplyFrame{id, raw.flags, std::move(h)});
      return Frame(HeadersFrame{id, raw.flags, std::move(h)});
    }
    case FrameType::kRstStream: {
      CRID_TRY(fixed(8, "RST_STREAM"));
      RstStreamFrame f{get32(p, 0) & 0x7fffffffu, get32(p, 4)};
      if (!valid_stream_id(f.stream_id)) return bad("RST_STREAM for stream 0");
      if (f.status == 0) return bad("RST_STREAM with status 0");
      return Frame(f);
    }
    case FrameType::kSettings: {
      if (p.size() < 4) return bad("SETTINGS shorter than its count");
      uint32_t n = get32(p, 0);
      if (n > (p.size() - 4) / 8 || p.size() != 4 + size_t{n} * 8)
        return bad("SETTINGS count does not match its length");
      SettingsFrame f;
      f.flags = raw.flags;
      for (uint32_t i = 0; i < n; ++i) {
        uint32_t fid = get32(p, 4 + i * 8);
        f.settings.push_back(
            Setting{static_cast<uint8_t>(fid >> 24), fid & 0xffffff, get32(p, 8 + i * 8)});
      }
      return Frame(std::move(f));
    }
    case FrameType::kPing: {
      CRID_TRY(fixed(4, "PING"));
      return Frame(PingFrame{get32(p, 0)});
    }
    case FrameType::kGoAway: {
      CRID_TRY(fixed(8, "GOAWAY"));
      return Frame(GoAwayFrame{get32(p, 0) & 0x7fffffffu, get32(p, 4)});
    }
    case FrameType::kWindowUpdate: {
      CRID_TRY(fixed(8, "WINDOW_UPDATE"));
      WindowUpdateFrame f{get32(p, 0) & 0x7fffffffu, get32(p, 4) & 0x7fffffffu};
      if (f.delta == 0) return bad("WINDOW_UPDATE with a zero delta");
      return Frame(f);
    }
  }
  return make_error(ErrorKind::kInvalidArgument, "unknown SPDY control frame type {}", raw.type);
}

Result<std::string> encode_data(uint32_t stream_id, uint8_t flags, std::string_view data) {
  if (!valid_stream_id(stream_id)) return bad("DATA for an invalid stream id");
  if (data.size() > kMaxFrameLength) return bad("DATA payload over 16 MiB");
  std::string out;
  out.reserve(kFrameHeaderSize + data.size());
  put32(out, stream_id);
  put32(out, static_cast<uint32_t>(flags) << 24 | static_cast<uint32_t>(data.size()));
  out.append(data);
  return out;
}

namespace {

Result<std::string> with_headers(FrameType type, uint8_t flags, std::string fixed,
                                 const HeaderList& h, HeaderCompressor& headers) {
  CRID_ASSIGN(std::string block, headers.compress(h));
  size_t len = fixed.size() + block.size();
  if (len > kMaxFrameLength) return bad("header block over 16 MiB");
  std::string out = control_header(type, flags, len);
  out += fixed;
  out += block;
  return out;
}

}  // namespace

Result<std::string> encode_syn_stream(const SynStreamFrame& f, HeaderCompressor& headers) {
  if (!valid_stream_id(f.stream_id)) return bad("SYN_STREAM for an invalid stream id");
  std::string fixed;
  put32(fixed, f.stream_id);
  put32(fixed, f.associated_id & 0x7fffffffu);
  fixed.push_back(static_cast<char>((f.priority & 7) << 5));
  fixed.push_back(0);  // slot
  return with_headers(FrameType::kSynStream, f.flags, std::move(fixed), f.headers, headers);
}

Result<std::string> encode_syn_reply(const SynReplyFrame& f, HeaderCompressor& headers) {
  if (!valid_stream_id(f.stream_id)) return bad("SYN_REPLY for an invalid stream id");
  std::string fixed;
  put32(fixed, f.stream_id);
  return with_headers(FrameType::kSynReply, f.flags, std::move(fixed), f.headers, headers);
}

Result<std::string> encode_headers(const HeadersFrame& f, HeaderCompressor& headers) {
  if (!valid_stream_id(f.stream_id)) return bad("HEADERS for an invalid stream id");
  std::string fixed;
  put32(fixed, f.stream_id);
  return with_headers(FrameType::kHeaders, f.flags, std::move(fixed), f.headers, headers);
}

std::string encode_rst_stream(uint32_t stream_id, uint32_t status) {
  std::string out = control_header(FrameType::kRstStream, 0, 8);
  put32(out, stream_id & 0x7fffffffu);
  put32(out, status);
  return out;
}

std::string encode_settings(const SettingsFrame& f) {
  std::string out = control_header(FrameType::kSettings, f.flags, 4 + 8 * f.settings.size());
  put32(out, static_cast<uint32_t>(f.settings.size()));
  for (auto& s : f.settings) {
    put32(out, static_cast<uint32_t>(s.flags) << 24 | (s.id & 0xffffff));
    put32(out, s.value);
  }
  return out;
}

std::string encode_ping(uint32_t id) {
  std::string out = control_header(FrameType::kPing, 0, 4);
  put32(out, id);
  return out;
}

std::string encode_goaway(uint32_t last_good_stream_id, uint32_t status) {
  std::string out = control_header(FrameType::kGoAway, 0, 8);
  put32(out, last_good_stream_id & 0x7fffffffu);
  put32(out, status);
  return out;
}

std::string encode_window_update(uint32_t stream_id, uint32_t delta) {
  std::string out = control_header(FrameType::kWindowUpdate, 0, 8);
  put32(out, stream_id & 0x7fffffffu);
  put32(out, delta & 0x7fffffffu);
  return out;
}

const char* frame_name(const Frame& f) {
  static const char* const names[] = {"DATA", "SYN_STREAM", "SYN_REPLY", "HEADERS", "RST_STREAM",
                                      "SETTINGS", "PING", "GOAWAY", "WINDOW_UPDATE"};
  return names[f.index()];
}

}  // namespace crid::stream::spdy
