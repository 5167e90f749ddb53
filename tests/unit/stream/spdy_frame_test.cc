#include "stream/spdy_frame.h"

#include <gtest/gtest.h>

#include "stream/spdy_dictionary.h"

namespace crid::stream::spdy {
namespace {

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// Cuts and decodes exactly one frame.
Result<Frame> one(std::string_view bytes, HeaderDecompressor& d) {
  auto raw = split_frame(bytes, kMaxFrameLength);
  if (!raw) return raw.error();
  if (!*raw) return make_error(ErrorKind::kInvalidArgument, "incomplete");
  EXPECT_EQ((*raw)->size, bytes.size());
  return decode_frame(**raw, d);
}

TEST(SpdyDictionary, IsTheSpdy3Dictionary) {
  const std::string& d = header_dictionary();
  EXPECT_EQ(d.size(), 1423u);
  EXPECT_EQ(d.substr(0, 11), std::string("\0\0\0\x07options", 11));
  EXPECT_EQ(d.substr(d.size() - 7), ",enq=0.");
}

// SYN_STREAM frames written by the SPDY framer Kubernetes' client uses
// (moby/spdystream, Go's zlib at best compression), for streams 1 and 3
// with headers {streamtype: error} and {streamtype: stdout}, then a
// SYN_REPLY on stream 3, all from one compression context.
constexpr std::string_view kGoFrames[] = {
    "80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800"
    "000000ffff",
    "800300010000001900000003000000000000c22ac5565c92925f5a02000000ffff",
    "800300020000000e000000036260606000000000ffff",
};

TEST(SpdyFrame, DecodesHeaderBlocksCompressedByTheKubernetesClient) {
  HeaderDecompressor d;
  auto f1 = one(unhex(kGoFrames[0]), d);
  ASSERT_TRUE(f1) << f1.error().message();
  auto& s1 = std::get<SynStreamFrame>(*f1);
  EXPECT_EQ(s1.stream_id, 1u);
  EXPECT_EQ(s1.headers, (HeaderList{{"streamtype", "error"}}));
  auto f2 = one(unhex(kGoFrames[1]), d);
  ASSERT_TRUE(f2) << f2.error().message();
  EXPECT_EQ(std::get<SynStreamFrame>(*f2).stream_id, 3u);
  EXPECT_EQ(std::get<SynStreamFrame>(*f2).headers, (HeaderList{{"streamtype", "stdout"}}));
  EXPECT_EQ(find_header(std::get<SynStreamFrame>(*f2).headers, "streamType"), "stdout");
  auto f3 = one(unhex(kGoFrames[2]), d);
  ASSERT_TRUE(f3) << f3.error().message();
  EXPECT_EQ(std::get<SynReplyFrame>(*f3).stream_id, 3u);
  EXPECT_TRUE(std::get<SynReplyFrame>(*f3).headers.empty());
}

TEST(SpdyFrame, SecondBlockNeedsTheSharedContext) {
  // Decoded without the first block, the second refers to history the
  // fresh stream does not have.
  HeaderDecompressor fresh;
  EXPECT_FALSE(one(unhex(kGoFrames[1]), fresh));
}

TEST(SpdyFrame, OurCompressedBlocksNameTheDictionaryAndSyncFlush) {
  HeaderCompressor c;
  auto block = c.compress({{"streamtype", "error"}});
  ASSERT_TRUE(block);
  ASSERT_GE(block->size(), 10u);
  // zlib header: CM 8 with FDICT set, then the dictionary's Adler-32.
  EXPECT_EQ(static_cast<unsigned char>((*block)[0]), 0x78);
  EXPECT_TRUE(static_cast<unsigned char>((*block)[1]) & 0x20);
  EXPECT_EQ(block->substr(2, 4), unhex("e3c6a7c2"));
  EXPECT_EQ(block->substr(block->size() - 4), unhex("0000ffff"));
}

TEST(SpdyFrame, HeaderFramesRoundTripThroughOneContextPerDirection) {
  HeaderCompressor c;
  HeaderDecompressor d;
  for (int i = 0; i < 50; ++i) {
    SynStreamFrame in{static_cast<uint32_t>(2 * i + 1), 0, 3, kFlagFin,
                      {{"streamtype", "data"}, {"port", std::to_string(8000 + i)},
                       {"requestid", std::to_string(i)}, {"multi", std::string("a\0b", 3)}}};
    auto bytes = encode_syn_stream(in, c);
    ASSERT_TRUE(bytes);
    auto out = one(*bytes, d);
    ASSERT_TRUE(out) << out.error().message();
    auto& s = std::get<SynStreamFrame>(*out);
    EXPECT_EQ(s.stream_id, in.stream_id);
    EXPECT_EQ(s.priority, 3);
    EXPECT_EQ(s.flags, kFlagFin);
    EXPECT_EQ(s.headers, in.headers);
  }
  auto reply = encode_syn_reply(SynReplyFrame{7, 0, {{"a", "b"}}}, c);
  auto hdrs = encode_headers(HeadersFrame{7, kFlagFin, {{"c", "d"}}}, c);
  ASSERT_TRUE(reply && hdrs);
  auto r = one(*reply, d);
  auto h = one(*hdrs, d);
  ASSERT_TRUE(r && h);
  EXPECT_EQ(std::get<SynReplyFrame>(*r).headers, (HeaderList{{"a", "b"}}));
  EXPECT_EQ(std::get<HeadersFrame>(*h).flags, kFlagFin);
}

TEST(SpdyFrame, FixedControlFramesRoundTrip) {
  HeaderDecompressor d;
  auto rst = one(encode_rst_stream(5, kCancel), d);
  ASSERT_TRUE(rst);
  EXPECT_EQ(std::get<RstStreamFrame>(*rst).stream_id, 5u);
  EXPECT_EQ(std::get<RstStreamFrame>(*rst).status, uint32_t{kCancel});
  auto ping = one(encode_ping(0xdeadbeef), d);
  ASSERT_TRUE(ping);
  EXPECT_EQ(std::get<PingFrame>(*ping).id, 0xdeadbeefu);
  auto ga = one(encode_goaway(9, 1), d);
  ASSERT_TRUE(ga);
  EXPECT_EQ(std::get<GoAwayFrame>(*ga).last_good_stream_id, 9u);
  EXPECT_EQ(std::get<GoAwayFrame>(*ga).status, 1u);
  auto wu = one(encode_window_update(3, 65536), d);
  ASSERT_TRUE(wu);
  EXPECT_EQ(std::get<WindowUpdateFrame>(*wu).delta, 65536u);
  SettingsFrame s{0, {{0, 4, 100}, {1, 7, 65536}}};
  auto st = one(encode_settings(s), d);
  ASSERT_TRUE(st);
  auto& got = std::get<SettingsFrame>(*st).settings;
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].id, 7u);
  EXPECT_EQ(got[1].flags, 1);
  EXPECT_EQ(got[1].value, 65536u);
}

TEST(SpdyFrame, DataRoundTripsAndKnownBytes) {
  auto bytes = encode_data(3, kFlagFin, "hi");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, unhex("0000000301000002") + "hi");
  HeaderDecompressor d;
  auto f = one(*bytes, d);
  ASSERT_TRUE(f);
  EXPECT_EQ(std::get<DataFrame>(*f).data, "hi");
  EXPECT_EQ(std::get<DataFrame>(*f).flags, kFlagFin);
  EXPECT_FALSE(encode_data(0, 0, "x"));
  EXPECT_FALSE(encode_data(1, 0, std::string(kMaxFrameLength + 1, 'x')));
}

TEST(SpdyFrame, IncompleteFramesWaitForMoreBytes) {
  std::string bytes = *encode_data(1, 0, "hello");
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto raw = split_frame(std::string_view(bytes).substr(0, n), 1024);
    ASSERT_TRUE(raw);
    EXPECT_FALSE(*raw) << n;
  }
  // Two frames back to back: the first is cut off alone.
  std::string two = bytes + encode_ping(1);
  auto raw = split_frame(two, 1024);
  ASSERT_TRUE(raw && *raw);
  EXPECT_EQ((*raw)->size, bytes.size());
}

TEST(SpdyFrame, OversizedFramesAreRefusedBeforeTheirPayload) {
  // Only the header of a 1 MiB DATA frame: refused without waiting.
  std::string head = unhex("0000000100100000");
  auto raw = split_frame(head, 64 * 1024);
  ASSERT_FALSE(raw);
  EXPECT_NE(raw.error().message().find("limit"), std::string::npos);
}

TEST(SpdyFrame, MalformedFramesAreRejected) {
  HeaderDecompressor d;
  const std::string bad[] = {
      unhex("8002000100000000"),                  // version 2
      unhex("800300030000000400000001"),          // RST_STREAM too short
      unhex("80030003000000080000000100000000"),  // RST_STREAM status 0
      unhex("80030003000000080000000000000001"),  // RST_STREAM stream 0
      unhex("8003000600000005000000010a"),        // PING of 5 bytes
      unhex("800300070000000400000001"),          // GOAWAY too short
      unhex("80030009000000080000000100000000"),  // WINDOW_UPDATE delta 0
      unhex("80030004000000040000000a"),          // SETTINGS count past the end
      unhex("800300ff00000000"),                  // unknown type
      unhex("800300010000000200000000"),          // SYN_STREAM too short
      unhex("0000000000000001") + "x",            // DATA on stream 0
      unhex("0000000102000001") + "x",            // DATA with unknown flags
  };
  for (auto& b : bad) {
    auto raw = split_frame(b, 1024);
    if (!raw || !*raw) continue;  // refused at the framing level: fine too
    EXPECT_FALSE(decode_frame(**raw, d)) << b.size();
  }
  EXPECT_FALSE(split_frame(bad[0], 1024));
}

TEST(SpdyFrame, CorruptCompressedHeadersAreRejected) {
  HeaderDecompressor d;
  std::string frame = unhex(kGoFrames[0]);
  frame[frame.size() - 8] ^= 0x55;
  EXPECT_FALSE(one(frame, d));
  // The shared stream is now unusable: later blocks fail too.
  HeaderCompressor c;
  EXPECT_FALSE(one(*encode_syn_stream(SynStreamFrame{1, 0, 0, 0, {{"a", "b"}}}, c), d));
}

TEST(SpdyFrame, ZlibBombIsCapped) {
  HeaderCompressor c;
  HeaderDecompressor d(4096);
  auto bytes = encode_syn_stream(SynStreamFrame{1, 0, 0, 0, {{"a", std::string(100000, 'x')}}}, c);
  ASSERT_TRUE(bytes);
  EXPECT_LT(bytes->size(), 2000u);  // compresses well...
  auto f = one(*bytes, d);
  ASSERT_FALSE(f);  // ...but inflates past the cap
  EXPECT_NE(f.error().message().find("inflates past"), std::string::npos);
}

TEST(SpdyHeaderBlock, StrictParsing) {
  EXPECT_EQ(parse_header_block(encode_header_block({{"a", "1"}, {"b", ""}})).value(),
            (HeaderList{{"a", "1"}, {"b", ""}}));
  EXPECT_FALSE(parse_header_block(""));
  EXPECT_FALSE(parse_header_block(unhex("ffffffff")));                      // count lies
  EXPECT_FALSE(parse_header_block(unhex("00000001000000ff610000000162")));  // name past end
  EXPECT_FALSE(parse_header_block(unhex("0000000100000001610000ffff62")));  // value past end
  EXPECT_FALSE(parse_header_block(unhex("000000010000000000000000")));      // empty name
  EXPECT_FALSE(parse_header_block(unhex("00000001000000014100000000")));    // uppercase
  EXPECT_FALSE(parse_header_block(encode_header_block({{"a", "1"}}) + "x"));  // trailing
  std::string dup = unhex("00000002") + unhex("0000000161") + unhex("00000000") +
                    unhex("0000000161") + unhex("00000000");
  EXPECT_FALSE(parse_header_block(dup));
}

}  // namespace
}  // namespace crid::stream::spdy
